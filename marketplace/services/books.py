"""The local book catalogue: finding what an ISBN is, and learning it.

`book_lookup` answers from the local table first and asks the online provider (if one
is configured) only for ISBNs the table does not know; what the provider finds is kept.
`book_record_learn` keeps the details a seller (or a pupil at a book swap) typed for an
ISBN the table did not know. An existing record is never replaced that way: staff
correct records in the Wagtail admin."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from marketplace.book_lookup import BookDetails, BookLookupUnavailable, book_lookup_provider
from marketplace.errors import ValidationFailed
from marketplace.models import BookRecord, BookRecordSource, User
from marketplace.validators import normalise_isbn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookLookupResult:
    isbn: str  # ISBN-13
    book: BookDetails | None  # None: nobody knows this ISBN yet
    online_failed: bool = False  # the online catalogue was asked and could not answer

    def as_dict(self) -> dict[str, object]:
        book = self.book
        return {
            "isbn": self.isbn,
            "found": book is not None,
            "book": None
            if book is None
            else {"title": book.title, "authors": list(book.authors), "publisher": book.publisher, "year": book.year},
        }


def isbn_normalised(value: str) -> str:
    """ISBN-10 or ISBN-13 as typed (spaces, dashes) → ISBN-13 digits; ValidationFailed
    with a translated message on the `isbn` field otherwise."""
    value = (value or "").strip()
    if not value:
        message = _("Type the ISBN: the 10- or 13-digit number on the back cover, above the barcode.")
        raise ValidationFailed(message, code="invalid_isbn", details={"fields": {"isbn": [message]}})
    try:
        return normalise_isbn(value)
    except ValidationError as exc:
        messages = [str(message) for message in exc.messages]
        raise ValidationFailed(messages[0], code="invalid_isbn", details={"fields": {"isbn": messages}}) from exc


def _details(record: BookRecord) -> BookDetails:
    return BookDetails(
        isbn=record.isbn,
        title=record.title,
        authors=tuple(str(name) for name in record.authors or ()),
        publisher=record.publisher,
        year=record.year,
    )


def book_record_details(isbn: str) -> BookDetails | None:
    """What the local table knows about an ISBN-13 (one query)."""
    record = BookRecord.objects.filter(isbn=isbn).first()
    return _details(record) if record is not None else None


def _blank(value: object) -> bool:
    return value is None or value == "" or value == [] or value == ()


def book_details_filled(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A book's attributes (isbn, book_title, authors, publisher, year) with what the seller
    left blank filled in from the local catalogue when it knows the ISBN; what the seller
    typed is kept. Only the local table is read (no online lookup)."""
    filled = dict(attributes)
    if not _blank(filled.get("book_title")):
        return filled
    try:
        isbn = normalise_isbn(str(filled.get("isbn") or ""))
    except ValidationError:
        return filled  # the form reports the ISBN
    known = book_record_details(isbn)
    if known is None:
        return filled
    catalogue: dict[str, Any] = {
        "book_title": known.title,
        "authors": list(known.authors),
        "publisher": known.publisher,
    }
    if known.year is not None:
        catalogue["year"] = known.year
    for name, value in catalogue.items():
        if _blank(filled.get(name)):
            filled[name] = value
    return filled


def book_lookup(*, isbn: str, online: bool = True) -> BookLookupResult:
    """What an ISBN (as typed) is: the local table, then the online provider if one is set.
    Raises ValidationFailed for an invalid ISBN. Call it outside a transaction: the online
    provider may take a few seconds."""
    number = isbn_normalised(isbn)
    known = book_record_details(number)
    if known is not None or not online:
        return BookLookupResult(isbn=number, book=known)
    provider = book_lookup_provider()
    if provider is None:
        return BookLookupResult(isbn=number, book=None)
    try:
        found = provider(number)
    except BookLookupUnavailable as exc:
        logger.warning("Online book lookup failed for %s: %s", number, exc)
        return BookLookupResult(isbn=number, book=None, online_failed=True)
    if found is None or not found.title.strip():
        return BookLookupResult(isbn=number, book=None)
    record = book_record_learn(
        isbn=number,
        title=found.title,
        authors=found.authors,
        publisher=found.publisher,
        year=found.year,
        source=BookRecordSource.LOOKUP,
    )
    return BookLookupResult(isbn=number, book=_details(record) if record is not None else found)


def _clean_year(year: int | None) -> int | None:
    return year if year is not None and 1450 <= year <= 2100 else None


@transaction.atomic
def book_record_learn(
    *,
    isbn: str,
    title: str,
    authors: Iterable[str] = (),
    publisher: str = "",
    year: int | None = None,
    source: str = BookRecordSource.LISTING,
    actor: User | None = None,
) -> BookRecord | None:
    """Keep the details typed for an ISBN-13 the table does not know yet, for the next
    seller. An existing record stays as it is (the first details win; staff correct them).
    Returns the record for the ISBN, or None when there is nothing to learn (no title)."""
    title = " ".join((title or "").split())[:300]
    existing = BookRecord.objects.filter(isbn=isbn).first()
    if existing is not None or not title:
        return existing
    names = [" ".join(str(name).split())[:200] for name in authors]
    try:
        with transaction.atomic():
            return BookRecord.objects.create(
                isbn=isbn,
                title=title,
                authors=[name for name in names if name][:20],
                publisher=" ".join((publisher or "").split())[:200],
                year=_clean_year(year),
                source=source,
                updated_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError:
        # Another seller taught the same ISBN at the same moment: theirs stays.
        return BookRecord.objects.filter(isbn=isbn).first()
