"""School book swaps: swap days with class codes, pupils who join with a nickname, books
offered by ISBN, wishlists with first refusal, and points moved by the coordinator's
confirmation of each hand-over. No money anywhere.

Pupils are not users. A pupil proves who they are with the random secret kept in their
browser session; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import BookSwapPage, Pupil, SwapBook, SwapBookStatus, SwapClass, SwapDay, SwapDayStatus, SwapWish
from cms.services.access import user_runs_organisation
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import BookRecordSource, User
from marketplace.services.books import book_record_details, book_record_learn
from marketplace.validators import normalise_isbn

BOOK_TABLE = Path(__file__).resolve().parent.parent / "data" / "school_books.json"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 6
NICKNAME_MAX = 20
# A nickname must not smuggle in contact details: no e-mail addresses, no long digit runs.
CONTACT_LIKE = re.compile(r"@|\d{5,}|(?:\d[\s-]?){7,}")


# --- Reading helpers ---------------------------------------------------------------------


@functools.cache
def _book_table() -> dict[str, str]:
    data = json.loads(BOOK_TABLE.read_text(encoding="utf-8"))
    return {normalise_isbn(entry["isbn"]): entry["title"] for entry in data["books"]}


def isbn_title(isbn: str) -> str:
    """The title of a book from the marketplace's book catalogue or the school book table,
    or "" when neither knows it."""
    known = book_record_details(isbn)
    return known.title[:200] if known is not None else _book_table().get(isbn, "")


def _normalised_isbn(value: str) -> str:
    try:
        return normalise_isbn(value.strip())
    except ValidationError as exc:
        raise ValidationFailed(
            _("Check the ISBN: it is the 13-digit number above the barcode."),
            code="invalid_isbn",
            details={"fields": {"isbn": [str(message) for message in exc.messages]}},
        ) from exc


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pupil_from_token(*, token: str | None, day_id: int) -> Pupil | None:
    if not token:
        return None
    return (
        Pupil.objects.select_related("swap_class__swap_day__page")
        .filter(token_hash=token_hash(token), swap_class__swap_day_id=day_id)
        .first()
    )


def points_reserved(pupil: Pupil, cost: int) -> int:
    """Points held by the pupil's claims that wait for a hand-over."""
    return SwapBook.objects.filter(requested_by=pupil, status=SwapBookStatus.REQUESTED).count() * cost


def _require_coordinator(user: User, page: BookSwapPage) -> None:
    if not user_runs_organisation(user=user, organisation_id=page.organisation_id):
        raise PermissionDenied(_("Only the school's coordinators can do this."))


def _open_day(day: SwapDay) -> None:
    if not day.is_open:
        raise ValidationFailed(_("This swap day is closed."), code="day_closed")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# --- Coordinators --------------------------------------------------------------------------


@transaction.atomic
def swap_day_create(
    *, coordinator: User, page_id: int, title: str, date: dt.date, location: str, class_names: Sequence[str]
) -> SwapDay:
    page = BookSwapPage.objects.filter(pk=page_id).first()
    if page is None:
        raise NotFound(_("This book-swap page does not exist."))
    _require_coordinator(coordinator, page)
    names = list(dict.fromkeys(name.strip()[:40] for name in class_names if name.strip()))
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Give the swap day a title.")]
    if not names:
        errors["classes"] = [_("Name at least one class taking part.")]
    if errors:
        raise ValidationFailed(_("Please correct the swap day."), details={"fields": errors})
    day = SwapDay.objects.create(
        page=page, title=title.strip()[:120], date=date, location=location.strip()[:120], created_by=coordinator
    )
    for name in names:
        while True:
            try:
                with transaction.atomic():
                    SwapClass.objects.create(swap_day=day, name=name, code=_new_code())
                break
            except IntegrityError:  # a code already in use: draw again
                continue
    return day


@transaction.atomic
def swap_day_set_status(*, coordinator: User, day_id: int, status: str) -> SwapDay:
    day = SwapDay.objects.select_for_update().select_related("page").filter(pk=day_id).first()
    if day is None:
        raise NotFound(_("This swap day does not exist."))
    _require_coordinator(coordinator, day.page)
    if status not in SwapDayStatus.values:
        raise ValidationFailed(_("Unknown status."))
    day.status = status
    day.save(update_fields=["status"])
    return day


def _locked_book(book_id: int, day_id: int) -> SwapBook:
    book = (
        SwapBook.objects.select_for_update(of=("self",))
        .select_related("swap_day__page", "offered_by__swap_class", "requested_by")
        .filter(pk=book_id, swap_day_id=day_id)
        .first()
    )
    if book is None:
        raise NotFound(_("This book does not exist."))
    return book


@transaction.atomic
def book_handover_confirm(*, coordinator: User, day_id: int, book_id: int, now: dt.datetime | None = None) -> SwapBook:
    """The coordinator saw the book change hands: the giver earns points, the receiver
    spends them, in one transaction with both pupils' rows locked (in id order)."""
    now = now or timezone.now()
    book = _locked_book(book_id, day_id)
    page = book.swap_day.page
    _require_coordinator(coordinator, page)
    if book.status != SwapBookStatus.REQUESTED or book.requested_by_id is None:
        raise Conflict(_("Nobody is waiting to receive this book."), code="not_requested")
    pupils = {
        p.pk: p
        for p in Pupil.objects.select_for_update()
        .filter(pk__in=[book.offered_by_id, book.requested_by_id])
        .order_by("pk")
    }
    giver, receiver = pupils[book.offered_by_id], pupils[book.requested_by_id]
    if receiver.points < page.points_for_receiving:
        raise Conflict(
            _("%(nickname)s does not have enough points for this book.") % {"nickname": receiver.nickname},
            code="not_enough_points",
        )
    giver.points += page.points_for_giving
    receiver.points -= page.points_for_receiving
    giver.save(update_fields=["points"])
    receiver.save(update_fields=["points"])
    book.status = SwapBookStatus.HANDED_OVER
    book.handed_over_at = now
    book.confirmed_by = coordinator
    book.save(update_fields=["status", "handed_over_at", "confirmed_by"])
    SwapWish.objects.filter(pupil=receiver, isbn=book.isbn, fulfilled_at__isnull=True).update(fulfilled_at=now)
    return book


@transaction.atomic
def book_claim_decline(*, coordinator: User, day_id: int, book_id: int) -> SwapBook:
    """The hand-over does not happen (the pupil changed their mind, the book is not
    there): the book is offered again."""
    book = _locked_book(book_id, day_id)
    _require_coordinator(coordinator, book.swap_day.page)
    if book.status != SwapBookStatus.REQUESTED:
        raise Conflict(_("Nobody is waiting to receive this book."), code="not_requested")
    book.status = SwapBookStatus.OFFERED
    book.requested_by = None
    book.requested_at = None
    book.save(update_fields=["status", "requested_by", "requested_at"])
    return book


@transaction.atomic
def leftovers_donate(*, coordinator: User, day_id: int) -> int:
    """Books nobody took go to the library of the giver's class; returns how many."""
    day = SwapDay.objects.select_for_update().select_related("page").filter(pk=day_id).first()
    if day is None:
        raise NotFound(_("This swap day does not exist."))
    _require_coordinator(coordinator, day.page)
    books = list(
        SwapBook.objects.select_for_update(of=("self",))
        .select_related("offered_by__swap_class")
        .filter(swap_day=day, status=SwapBookStatus.OFFERED)
    )
    for book in books:
        book.status = SwapBookStatus.DONATED
        book.donated_to = f"{book.offered_by.swap_class.name} {day.page.library_name}"[:80]
        book.save(update_fields=["status", "donated_to"])
    return len(books)


# --- Pupils --------------------------------------------------------------------------------


@transaction.atomic
def pupil_join(*, code: str, nickname: str) -> tuple[Pupil, str]:
    """Join a swap day with the class code and a nickname. Returns the pupil and the
    secret for the session; nothing else about the pupil is asked for or kept."""
    swap_class = (
        SwapClass.objects.select_related("swap_day__page").filter(code=code.strip().upper().replace(" ", "")).first()
    )
    if swap_class is None:
        raise ValidationFailed(
            _("There is no class with this code. Ask your teacher for it."),
            code="unknown_class_code",
            details={"fields": {"code": [_("Unknown class code.")]}},
        )
    _open_day(swap_class.swap_day)
    nickname = " ".join(nickname.split())[:NICKNAME_MAX]
    if not nickname:
        raise ValidationFailed(
            _("Choose a nickname."), details={"fields": {"nickname": [_("This field is required.")]}}
        )
    if CONTACT_LIKE.search(nickname):
        raise ValidationFailed(
            _("A nickname only, please: no e-mail address or phone number."),
            code="nickname_contact",
            details={"fields": {"nickname": [_("Choose a made-up name.")]}},
        )
    if Pupil.objects.filter(swap_class=swap_class, nickname=nickname).exists():
        raise Conflict(
            _("Someone in your class already uses this nickname; choose another one."),
            code="nickname_taken",
            details={"fields": {"nickname": [_("Already taken in your class.")]}},
        )
    token = secrets.token_urlsafe(32)
    pupil = Pupil.objects.create(
        swap_class=swap_class,
        nickname=nickname,
        token_hash=token_hash(token),
        points=swap_class.swap_day.page.start_points,
    )
    return pupil, token


@transaction.atomic
def book_offer(*, pupil: Pupil, isbn: str, title: str = "", now: dt.datetime | None = None) -> SwapBook:
    """Offer a book. If another pupil of the swap day wished for it, they get first
    refusal: for the page's first-refusal hours only wishers may claim it."""
    now = now or timezone.now()
    day = pupil.swap_class.swap_day
    _open_day(day)
    number = _normalised_isbn(isbn)
    title = title.strip()[:200] or isbn_title(number)
    if not title:
        raise ValidationFailed(
            _("We do not know this ISBN yet: type the book's title."),
            code="title_needed",
            details={"fields": {"title": [_("Type the title.")]}},
        )
    wished = (
        SwapWish.objects.filter(isbn=number, fulfilled_at__isnull=True, pupil__swap_class__swap_day=day)
        .exclude(pupil=pupil)
        .exists()
    )
    hours = day.page.first_refusal_hours
    # The book is in the pupil's hands: its title teaches the catalogue (when it is new there).
    book_record_learn(isbn=number, title=title, source=BookRecordSource.BOOK_SWAP)
    return SwapBook.objects.create(
        swap_day=day,
        offered_by=pupil,
        isbn=number,
        title=title,
        offered_at=now,
        first_refusal_until=now + dt.timedelta(hours=hours) if wished and hours else None,
    )


@transaction.atomic
def book_withdraw(*, pupil: Pupil, book_id: int) -> SwapBook:
    book = _locked_book(book_id, pupil.swap_class.swap_day_id)
    if book.offered_by_id != pupil.pk or book.status != SwapBookStatus.OFFERED:
        raise Conflict(_("You can only take back your own books that nobody claimed."))
    book.status = SwapBookStatus.WITHDRAWN
    book.save(update_fields=["status"])
    return book


@transaction.atomic
def wish_add(*, pupil: Pupil, isbn: str, title: str = "") -> SwapWish:
    _open_day(pupil.swap_class.swap_day)
    number = _normalised_isbn(isbn)
    wish, _created = SwapWish.objects.get_or_create(
        pupil=pupil, isbn=number, defaults={"title": title.strip()[:200] or isbn_title(number)}
    )
    return wish


@transaction.atomic
def wish_remove(*, pupil: Pupil, wish_id: int) -> None:
    SwapWish.objects.filter(pk=wish_id, pupil=pupil).delete()


def first_refusal_applies(*, book: SwapBook, pupil: Pupil, now: dt.datetime) -> bool:
    """True while the book is held for wishers and this pupil is not one of them."""
    if book.first_refusal_until is None or now >= book.first_refusal_until:
        return False
    return not SwapWish.objects.filter(pupil=pupil, isbn=book.isbn, fulfilled_at__isnull=True).exists()


@transaction.atomic
def book_claim(*, pupil: Pupil, book_id: int, now: dt.datetime | None = None) -> SwapBook:
    """Ask for a book; the coordinator confirms the hand-over later."""
    now = now or timezone.now()
    day = pupil.swap_class.swap_day
    _open_day(day)
    book = _locked_book(book_id, day.pk)
    if book.offered_by_id == pupil.pk:
        raise Conflict(_("This is your own book."), code="own_book")
    if book.status != SwapBookStatus.OFFERED:
        raise Conflict(_("Someone else has already claimed this book."), code="already_claimed")
    if first_refusal_applies(book=book, pupil=pupil, now=now):
        until = timezone.localtime(book.first_refusal_until)
        raise Conflict(
            _("A pupil who wished for this book may claim it first, until %(until)s.")
            % {"until": f"{until:%Y-%m-%d %H:%M}"},
            code="first_refusal",
        )
    cost = day.page.points_for_receiving
    locked_pupil = Pupil.objects.select_for_update().get(pk=pupil.pk)
    if locked_pupil.points - points_reserved(locked_pupil, cost) < cost:
        raise Conflict(_("You do not have enough points left. Give a book to earn some."), code="not_enough_points")
    book.status = SwapBookStatus.REQUESTED
    book.requested_by = locked_pupil
    book.requested_at = now
    book.save(update_fields=["status", "requested_by", "requested_at"])
    return book


@transaction.atomic
def book_claim_release(*, pupil: Pupil, book_id: int) -> SwapBook:
    book = _locked_book(book_id, pupil.swap_class.swap_day_id)
    if book.status != SwapBookStatus.REQUESTED or book.requested_by_id != pupil.pk:
        raise Conflict(_("You have not claimed this book."))
    book.status = SwapBookStatus.OFFERED
    book.requested_by = None
    book.requested_at = None
    book.save(update_fields=["status", "requested_by", "requested_at"])
    return book
