"""Book-swap pages: pupils join with a class code and a nickname (their secret lives in
the session only), offer books, wish for books and claim them; coordinators create swap
days and confirm hand-overs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cms.models import BookSwapPage, Pupil, SwapBook, SwapBookStatus, SwapDay, SwapWish
from cms.selectors import swap_green_estimate
from cms.services.access import user_runs_organisation
from cms.services.bookswap import (
    book_claim,
    book_claim_decline,
    book_claim_release,
    book_handover_confirm,
    book_offer,
    book_withdraw,
    first_refusal_applies,
    leftovers_donate,
    points_reserved,
    pupil_from_token,
    pupil_join,
    swap_day_create,
    swap_day_set_status,
    wish_add,
    wish_remove,
)
from cms.views import show_error
from marketplace.errors import DomainError
from marketplace.models import User

SESSION_KEY = "bookswap_pupils"  # {swap day id: secret}


class JoinForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Class code"), max_length=12)
    nickname = forms.CharField(
        label=gettext_lazy("Nickname"),
        max_length=20,
        help_text=gettext_lazy("A made-up name your classmates know. Not your real name."),
    )


class BookForm(forms.Form):
    isbn = forms.CharField(
        label=gettext_lazy("ISBN"), max_length=20, help_text=gettext_lazy("The 13-digit number above the barcode.")
    )
    title = forms.CharField(
        label=pgettext_lazy("book", "Title"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Only needed when the title is not filled in from the ISBN."),
    )


class SwapDayForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("book-swap day", "Title"), max_length=120)
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.CharField(label=gettext_lazy("Where"), max_length=120, required=False)
    classes = forms.CharField(
        label=gettext_lazy("Classes taking part"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One class per line; each gets its own code."),
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _base(page: BookSwapPage) -> str:
    return str(page.url or "")


def _day_url(page: BookSwapPage, day_id: int) -> str:
    return _base(page) + page.reverse_subpage("day", args=(day_id,))


def _coordinate_url(page: BookSwapPage, day_id: int | None = None) -> str:
    if day_id is None:
        return _base(page) + page.reverse_subpage("coordinate")
    return _base(page) + page.reverse_subpage("coordinate_day", args=(day_id,))


def _session_tokens(request: HttpRequest) -> dict[str, str]:
    tokens = request.session.get(SESSION_KEY)
    return dict(tokens) if isinstance(tokens, dict) else {}


def _pupil(request: HttpRequest, day_id: int) -> Pupil | None:
    return pupil_from_token(token=_session_tokens(request).get(str(day_id)), day_id=day_id)


def _day(page: BookSwapPage, day_id: int) -> SwapDay:
    day = SwapDay.objects.filter(pk=day_id, page=page).first()
    if day is None:
        raise Http404
    return day


# --- The page and pupils ------------------------------------------------------------------


def swap_page_context(request: HttpRequest, page: BookSwapPage) -> dict[str, Any]:
    user = _user(request)
    today = timezone.localdate()
    days = list(page.swap_days.filter(date__gte=today - dt.timedelta(days=30)).order_by("date"))
    tokens = _session_tokens(request)
    my_days = [day for day in days if str(day.pk) in tokens]
    return {
        "swap_days": days,
        "my_days": [{"day": day, "url": _day_url(page, day.pk)} for day in my_days],
        "join_form": JoinForm(prefix="join"),
        "join_url": _base(page) + page.reverse_subpage("join"),
        "is_coordinator": user_runs_organisation(user=user, organisation_id=page.organisation_id),
        "coordinate_url": _coordinate_url(page),
        "green": swap_green_estimate(page=page),
    }


def join_view(request: HttpRequest, page: BookSwapPage) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(_base(page))
    form = JoinForm(request.POST, prefix="join")
    if form.is_valid():
        try:
            pupil, token = pupil_join(code=form.cleaned_data["code"], nickname=form.cleaned_data["nickname"])
        except DomainError as exc:
            show_error(request, exc, form)
        else:
            tokens = _session_tokens(request)
            day_id = pupil.swap_class.swap_day_id
            tokens[str(day_id)] = token
            request.session[SESSION_KEY] = tokens
            messages.success(request, _("Welcome, %(nickname)s!") % {"nickname": pupil.nickname})
            return HttpResponseRedirect(_day_url(page, day_id))
    response: HttpResponse = page.render(request, context_overrides={"join_form": form})
    response.status_code = 422
    return response


def _book_rows(books: list[SwapBook], pupil: Pupil, now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "book": book,
            "held_for_wishers": first_refusal_applies(book=book, pupil=pupil, now=now),
            "wished": book.first_refusal_until is not None and now < book.first_refusal_until,
        }
        for book in books
    ]


def pupil_day_view(
    request: HttpRequest,
    page: BookSwapPage,
    day_id: int,
    offer_form: BookForm | None = None,
    wish_form: BookForm | None = None,
    status: int = 200,
) -> HttpResponse:
    day = _day(page, day_id)
    pupil = _pupil(request, day.pk)
    if pupil is None:
        messages.info(request, _("Join the swap day with your class code first."))
        return HttpResponseRedirect(_base(page))
    now = timezone.now()
    cost = page.points_for_receiving
    books = list(
        SwapBook.objects.filter(swap_day=day)
        .select_related("offered_by__swap_class", "requested_by")
        .order_by("-offered_at", "-pk")
    )
    wishes = list(SwapWish.objects.filter(pupil=pupil).order_by("created_at"))
    wished_isbns = {wish.isbn for wish in wishes if wish.fulfilled_at is None}
    available = [b for b in books if b.status == SwapBookStatus.OFFERED and b.offered_by_id != pupil.pk]
    response: HttpResponse = page.render(
        request,
        template="cms/bookswap/day.html",
        context_overrides={
            "day": day,
            "pupil": pupil,
            "points_free": pupil.points - points_reserved(pupil, cost),
            "available": _book_rows(available, pupil, now),
            "wished_available": [b for b in available if b.isbn in wished_isbns],
            "my_books": [b for b in books if b.offered_by_id == pupil.pk],
            "my_claims": [b for b in books if b.requested_by_id == pupil.pk],
            "wishes": wishes,
            "offer_form": offer_form or BookForm(prefix="offer"),
            "wish_form": wish_form or BookForm(prefix="wish"),
            "action_url": _day_url(page, day.pk),
        },
    )
    response.status_code = status
    return response


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


def pupil_action_view(request: HttpRequest, page: BookSwapPage, day_id: int, action: str) -> HttpResponse:
    day = _day(page, day_id)
    if request.method != "POST":
        return HttpResponseRedirect(_day_url(page, day.pk))
    pupil = _pupil(request, day.pk)
    if pupil is None:
        messages.info(request, _("Join the swap day with your class code first."))
        return HttpResponseRedirect(_base(page))
    book_id = _int(request.POST.get("book"))
    try:
        if action in {"offer", "wish"}:
            form = BookForm(request.POST, prefix=action)
            if not form.is_valid():
                return pupil_day_view(request, page, day.pk, **{f"{action}_form": form}, status=422)
            try:
                if action == "offer":
                    book = book_offer(pupil=pupil, isbn=form.cleaned_data["isbn"], title=form.cleaned_data["title"])
                    messages.success(request, _("“%(title)s” is offered.") % {"title": book.title})
                else:
                    wish = wish_add(pupil=pupil, isbn=form.cleaned_data["isbn"], title=form.cleaned_data["title"])
                    messages.success(request, _("“%(title)s” is on your wishlist.") % {"title": wish})
            except DomainError as exc:
                show_error(request, exc, form)
                return pupil_day_view(request, page, day.pk, **{f"{action}_form": form}, status=422)
        elif action == "claim":
            book = book_claim(pupil=pupil, book_id=book_id)
            messages.success(
                request,
                _("You claimed “%(title)s”. Ask your teacher to confirm the hand-over.") % {"title": book.title},
            )
        elif action == "release":
            book_claim_release(pupil=pupil, book_id=book_id)
            messages.success(request, _("You let the book go."))
        elif action == "withdraw":
            book_withdraw(pupil=pupil, book_id=book_id)
            messages.success(request, _("You took your book back."))
        elif action == "unwish":
            wish_remove(pupil=pupil, wish_id=_int(request.POST.get("wish")))
            messages.success(request, _("Removed from your wishlist."))
        else:
            raise Http404
    except DomainError as exc:
        show_error(request, exc)
    return HttpResponseRedirect(_day_url(page, day.pk))


# --- Coordinators -------------------------------------------------------------------------


def _coordinator_or_redirect(request: HttpRequest, page: BookSwapPage) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user_runs_organisation(user=_user(request), organisation_id=page.organisation_id):
        raise Http404
    return None


def coordinator_home_view(request: HttpRequest, page: BookSwapPage) -> HttpResponse:
    denied = _coordinator_or_redirect(request, page)
    if denied is not None:
        return denied
    form = SwapDayForm(request.POST or None, prefix="day")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                day = swap_day_create(
                    coordinator=_user(request),
                    page_id=page.pk,
                    title=data["title"],
                    date=data["date"],
                    location=data["location"],
                    class_names=data["classes"].splitlines(),
                )
            except DomainError as exc:
                show_error(request, exc, form)
            else:
                messages.success(request, _("Swap day “%(title)s” is open.") % {"title": day.title})
                return HttpResponseRedirect(_coordinate_url(page, day.pk))
        status = 422
    days = [
        {"day": day, "url": _coordinate_url(page, day.pk)}
        for day in page.swap_days.prefetch_related("classes").order_by("-date", "-pk")
    ]
    response: HttpResponse = page.render(
        request,
        template="cms/bookswap/coordinate.html",
        context_overrides={"day_form": form, "days": days, "action_url": _coordinate_url(page)},
    )
    response.status_code = status
    return response


def coordinator_day_view(request: HttpRequest, page: BookSwapPage, day_id: int) -> HttpResponse:
    denied = _coordinator_or_redirect(request, page)
    if denied is not None:
        return denied
    day = _day(page, day_id)
    books = list(
        SwapBook.objects.filter(swap_day=day)
        .select_related("offered_by__swap_class", "requested_by__swap_class")
        .order_by("status", "-offered_at")
    )
    pupils = list(
        Pupil.objects.filter(swap_class__swap_day=day)
        .select_related("swap_class")
        .order_by("swap_class__name", "nickname")
    )
    return page.render(
        request,
        template="cms/bookswap/coordinate_day.html",
        context_overrides={
            "day": day,
            "classes": list(day.classes.all()),
            "pupils": pupils,
            "handovers": [b for b in books if b.status == SwapBookStatus.REQUESTED],
            "books": books,
            "action_base": _coordinate_url(page, day.pk),
            "back_url": _coordinate_url(page),
        },
    )


def coordinator_action_view(request: HttpRequest, page: BookSwapPage, day_id: int, action: str) -> HttpResponse:
    denied = _coordinator_or_redirect(request, page)
    if denied is not None:
        return denied
    day = _day(page, day_id)
    back = HttpResponseRedirect(_coordinate_url(page, day.pk))
    if request.method != "POST":
        return back
    user = _user(request)
    book_id = _int(request.POST.get("book"))
    try:
        if action == "confirm":
            book = book_handover_confirm(coordinator=user, day_id=day.pk, book_id=book_id)
            messages.success(
                request,
                _("Hand-over of “%(title)s” confirmed: %(giver)s +%(given)d, %(receiver)s −%(received)d points.")
                % {
                    "title": book.title,
                    "giver": book.offered_by.nickname,
                    "given": page.points_for_giving,
                    "receiver": book.requested_by.nickname if book.requested_by else "—",
                    "received": page.points_for_receiving,
                },
            )
        elif action == "decline":
            book_claim_decline(coordinator=user, day_id=day.pk, book_id=book_id)
            messages.success(request, _("The book is offered again."))
        elif action in {"close", "reopen"}:
            swap_day_set_status(coordinator=user, day_id=day.pk, status="closed" if action == "close" else "open")
            messages.success(request, _("The swap day is closed.") if action == "close" else _("The swap day is open."))
        elif action == "donate":
            count = leftovers_donate(coordinator=user, day_id=day.pk)
            messages.success(request, _("%(count)d books went to the class libraries.") % {"count": count})
        else:
            raise Http404
    except DomainError as exc:
        show_error(request, exc)
    return back
