"""A flea market's public page: dates with free stalls, the listings sellers bring, and the
stall application form; plus applying and cancelling."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.models import FleaMarketDate, FleaMarketPage, StallAddOn, StallType
from cms.selectors import applications_of, market_green_estimate, market_upcoming_dates
from cms.services.flea import stall_application_cancel, stall_apply
from cms.views import show_error
from marketplace.errors import DomainError
from marketplace.models import Membership, OrganisationKind, Role, User
from marketplace.templatetags.listing_tags import format_money


def _money(fen: int) -> str:
    return format_money(fen)


class StallApplicationForm(forms.Form):
    market_date = forms.TypedChoiceField(label=gettext_lazy("Date"), coerce=int)
    stall_type = forms.TypedChoiceField(label=gettext_lazy("Stall type"), coerce=int, widget=forms.RadioSelect)
    add_ons = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Add-ons"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    organisation = forms.TypedChoiceField(
        label=gettext_lazy("Apply as"), coerce=int, empty_value=None, required=False, widget=forms.RadioSelect
    )
    goods = forms.CharField(
        label=gettext_lazy("What you will sell"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("e.g. children's clothes, books, kitchenware."),
    )

    def __init__(
        self,
        *args: Any,
        dates: list[FleaMarketDate],
        stall_types: list[StallType],
        add_ons: list[StallAddOn],
        shops: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        date_field: Any = self.fields["market_date"]
        date_field.choices = [(d.pk, f"{d.date:%Y-%m-%d} {d.opens:%H:%M}–{d.closes:%H:%M}") for d in dates]
        stall_field: Any = self.fields["stall_type"]
        stall_field.choices = [
            (s.pk, f"{s.name}{f' · {s.size}' if s.size else ''} · {_money(s.price)}") for s in stall_types
        ]
        if add_ons:
            add_on_field: Any = self.fields["add_ons"]
            add_on_field.choices = [(a.pk, f"{a.name} · {_money(a.price)}") for a in add_ons]
        else:
            del self.fields["add_ons"]
        if shops:
            organisation_field: Any = self.fields["organisation"]
            organisation_field.choices = [("", _("Myself")), *shops]
        else:
            del self.fields["organisation"]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _shops_of(user: User) -> list[tuple[int, str]]:
    if not user.is_authenticated:
        return []
    memberships = (
        Membership.objects.filter(
            user=user, organisation__kind=OrganisationKind.CONSIGNMENT_SHOP, role__in=(Role.OWNER, Role.STAFF)
        )
        .select_related("organisation")
        .order_by("organisation__name")
    )
    return list(dict.fromkeys((m.organisation_id, m.organisation.name) for m in memberships))


def _bookable_dates(market: FleaMarketPage, today: dt.date) -> list[FleaMarketDate]:
    first = today + dt.timedelta(days=market.application_deadline_days)
    return list(FleaMarketDate.objects.filter(market=market, cancelled=False, date__gte=first).order_by("date"))


def application_form(request: HttpRequest, market: FleaMarketPage, data: Any = None) -> StallApplicationForm:
    today = timezone.localdate()
    return StallApplicationForm(
        data,
        dates=_bookable_dates(market, today),
        stall_types=list(market.stall_types.all()),
        add_ons=list(market.add_ons.all()),
        shops=_shops_of(_user(request)),
        prefix="stall",
    )


def market_page_context(request: HttpRequest, market: FleaMarketPage) -> dict[str, Any]:
    today = timezone.localdate()
    user = _user(request)
    context: dict[str, Any] = {
        "dates": market_upcoming_dates(market=market, today=today),
        "photos": list(market.photos.select_related("image")),
        "apply_url": market.url + market.reverse_subpage("apply") if market.url else "",
        "green": market_green_estimate(market=market),
    }
    if user.is_authenticated:
        context["my_applications"] = list(applications_of(user_id=user.pk, market=market))
        if market.applications_open:
            context["apply_form"] = application_form(request, market)
    return context


def stall_apply_view(request: HttpRequest, market: FleaMarketPage) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(market.url)
    if not request.user.is_authenticated:
        return redirect_to_login(market.url)
    form = application_form(request, market, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            stall_apply(
                user=_user(request),
                market_date_id=data["market_date"],
                stall_type_id=data["stall_type"],
                add_on_ids=data.get("add_ons") or [],
                organisation_id=data.get("organisation"),
                goods=data.get("goods", ""),
            )
        except DomainError as exc:
            show_error(request, exc, form)
        else:
            messages.success(
                request, _("Your application is sent. The organiser will approve it or put you on the waiting list.")
            )
            return HttpResponseRedirect(market.url + "#my-applications")
    response: HttpResponse = market.render(request, context_overrides={"apply_form": form})
    response.status_code = 422
    return response


def stall_cancel_view(request: HttpRequest, market: FleaMarketPage, application_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(market.url)
    if not request.user.is_authenticated:
        return redirect_to_login(market.url)
    if not applications_of(user_id=request.user.pk, market=market).filter(pk=application_id).exists():
        messages.error(request, _("This application does not exist."))
        return HttpResponseRedirect(market.url)
    try:
        stall_application_cancel(actor=_user(request), application_id=application_id)
    except DomainError as exc:
        show_error(request, exc)
    else:
        messages.success(request, _("Your application is cancelled."))
    return HttpResponseRedirect(market.url + "#my-applications")
