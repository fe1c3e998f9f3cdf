"""Online bibliographic lookup by ISBN, optional and pluggable.

`settings.MARKETPLACE_BOOK_LOOKUP` is a dotted path to a provider class (None or empty:
no online lookup, the default, so the embedded run never leaves the machine). A provider
is called with an ISBN-13 and returns `BookDetails` or None when the catalogue does not
know the book; anything that goes wrong (timeout, refused connection, an error status,
a body that is not the JSON we expect) raises `BookLookupUnavailable`, and the seller
types the details instead. What a provider finds is kept in the local catalogue
(marketplace.services.books), so each ISBN is asked for at most once."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class BookDetails:
    isbn: str
    title: str
    authors: tuple[str, ...] = field(default_factory=tuple)
    publisher: str = ""
    year: int | None = None


class BookLookupUnavailable(Exception):
    """The online catalogue could not answer (it is not "the book is unknown")."""


class BookLookupProvider(Protocol):
    def __call__(self, isbn: str) -> BookDetails | None: ...


@functools.cache
def book_lookup_provider() -> BookLookupProvider | None:
    path = getattr(settings, "MARKETPLACE_BOOK_LOOKUP", None)
    if not path:
        return None
    provider: BookLookupProvider = import_string(path)()
    return provider


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("MARKETPLACE_BOOK_LOOKUP"):
        book_lookup_provider.cache_clear()


setting_changed.connect(_reset)


def _year(text: Any) -> int | None:
    """The four-digit year in a free-form date ("1982", "May 2009", "2011-06")."""
    match = re.search(r"\b(1[4-9]\d\d|20\d\d)\b", str(text or ""))
    return int(match.group(1)) if match else None


def _names(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    names = (str(item.get("name", "")).strip() for item in items if isinstance(item, dict))
    return tuple(name for name in names if name)


class OpenLibraryLookup:
    """Open Library's Books API: GET {base}/api/books?bibkeys=ISBN:<isbn>&format=json&jscmd=data.

    Settings: MARKETPLACE_BOOK_LOOKUP_URL (default https://openlibrary.org) and
    MARKETPLACE_BOOK_LOOKUP_TIMEOUT in seconds (default 3), so a slow catalogue costs the
    seller a few seconds at most."""

    def __init__(self) -> None:
        self.base_url = str(getattr(settings, "MARKETPLACE_BOOK_LOOKUP_URL", "") or "https://openlibrary.org")
        self.timeout = float(getattr(settings, "MARKETPLACE_BOOK_LOOKUP_TIMEOUT", 3))

    def __call__(self, isbn: str) -> BookDetails | None:
        key = f"ISBN:{isbn}"
        try:
            with requests.get(
                f"{self.base_url.rstrip('/')}/api/books",
                params={"bibkeys": key, "format": "json", "jscmd": "data"},
                timeout=self.timeout,
                headers={"Accept": "application/json"},
                stream=True,
            ) as response:
                response.raise_for_status()
                body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise BookLookupUnavailable(str(exc)) from exc
        if len(body) > MAX_RESPONSE_BYTES:
            raise BookLookupUnavailable("response too large")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BookLookupUnavailable("not JSON") from exc
        if not isinstance(data, dict):
            raise BookLookupUnavailable("unexpected JSON")
        entry = data.get(key)
        if entry is None:
            return None
        if not isinstance(entry, dict):
            raise BookLookupUnavailable("unexpected JSON")
        title = " ".join(str(entry.get("title") or "").split())
        subtitle = " ".join(str(entry.get("subtitle") or "").split())
        if not title:
            return None
        if subtitle:
            title = f"{title}: {subtitle}"
        publishers = _names(entry.get("publishers"))
        return BookDetails(
            isbn=isbn,
            title=title[:300],
            authors=tuple(name[:200] for name in _names(entry.get("authors"))[:10]),
            publisher=publishers[0][:200] if publishers else "",
            year=_year(entry.get("publish_date")),
        )
