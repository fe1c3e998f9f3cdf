"""Finding a book by its ISBN while selling it: the "Look up" step of the book sell form
(works without JavaScript, see marketplace.views.listings) and the JSON endpoint the
form's script calls (static/js/book-lookup.js). Both are rate-limited per account, since
a miss may ask the online catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from marketplace.errors import ErrorCode, ValidationFailed
from marketplace.services.books import BookLookupResult, book_lookup

RATE_ACTION = "book_lookup"


def lookup_allowed(request: HttpRequest) -> bool:
    """One more look-up for this account within settings.MARKETPLACE_BOOK_LOOKUP_RATE."""
    rate = getattr(settings, "MARKETPLACE_BOOK_LOOKUP_RATE", "")
    if not rate:
        return True
    usage = ratelimit.consume(
        request,
        app="allauth.account",
        action=RATE_ACTION,
        config={RATE_ACTION: rate},
        user=request.user,
        limit_get=True,
    )
    return usage is not None


def found_message(result: BookLookupResult) -> str:
    if result.book is not None:
        return _("Found “%(title)s”. The details below are filled in from the ISBN; check them.") % {
            "title": result.book.title
        }
    return _(
        "We do not know this ISBN yet. Type the title, authors, publisher and year below; "
        "they are kept for the next seller of this book."
    )


def too_many_message() -> str:
    return _("Too many look-ups. Wait a minute, or type the book's details yourself.")


@dataclass(frozen=True)
class PageLookup:
    """The outcome of pressing "Look up" on the book sell form."""

    result: BookLookupResult | None = None
    error: str = ""  # shown next to the ISBN field
    rate_limited: bool = False

    @property
    def message(self) -> str:
        return found_message(self.result) if self.result is not None else ""

    @property
    def found(self) -> bool:
        return self.result is not None and self.result.book is not None


def page_lookup(request: HttpRequest, isbn: str) -> PageLookup:
    try:
        number_ok = book_lookup(isbn=isbn, online=False)  # invalid ISBNs cost no look-up
    except ValidationFailed as exc:
        return PageLookup(error=exc.message)
    if number_ok.book is not None:
        return PageLookup(result=number_ok)
    if not lookup_allowed(request):
        return PageLookup(error=too_many_message(), rate_limited=True)
    return PageLookup(result=book_lookup(isbn=isbn))


@login_required
@require_GET
def book_isbn_lookup(request: HttpRequest) -> JsonResponse:
    """GET ?isbn=…: {"isbn", "found", "book": {"title", "authors", "publisher", "year"} | null,
    "message"}; an invalid ISBN answers 400 and too many look-ups 429, shaped
    {"code", "message", "details"}."""
    lookup = page_lookup(request, request.GET.get("isbn", ""))
    if lookup.result is None:
        code, status = (str(ErrorCode.RATE_LIMITED), 429) if lookup.rate_limited else ("invalid_isbn", 400)
        return JsonResponse({"code": code, "message": lookup.error, "details": {}}, status=status)
    return JsonResponse({**lookup.result.as_dict(), "message": lookup.message})
