"""A flea market's public page: dates with free stalls, the listings sellers bring, and the
stall application form; plus applying, cancelling and paying the stall fee by card."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.models import FleaMarketDate, FleaMarketPage, PaymentMethod, StallAddOn, StallApplication, StallType
from cms.selectors import applications_of, market_green_estimate, market_upcoming_dates
from cms.services.flea import (
    stall_application_cancel,
    stall_apply,
    stall_fee_card_available,
    stall_fee_card_open_intent,
    stall_fee_card_pay,
    stall_fee_card_refresh,
    stall_fee_refundable_on_cancel,
)
from cms.views import show_error
from marketplace.errors import DomainError, NotFound
from marketplace.models import Membership, OrganisationKind, Role, User
from marketplace.payments.csp import allow_stripe_js
from marketplace.payments.stripe_gateway import IntentState
from marketplace.services.fee_payments import fee_card_payments_enabled
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
    dates = list(FleaMarketDate.objects.filter(market=market, cancelled=False, date__gte=first).order_by("date"))
    for market_date in dates:
        market_date.market = market  # the choices show each date's hours: no query per date
    return dates


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
    """What every visitor sees; the visitor's own applications and the application form
    are the personal part "flea_member" (`market_member_context`)."""
    today = timezone.localdate()
    return {
        "dates": market_upcoming_dates(market=market, today=today),
        "photos": list(market.photos.select_related("image")),
        "green": market_green_estimate(market=market),
    }


def market_member_context(request: HttpRequest, market: FleaMarketPage) -> dict[str, Any]:
    user = _user(request)
    context: dict[str, Any] = {
        "page": market,
        "apply_url": market.url + market.reverse_subpage("apply") if market.url else "",
        "card_fees": fee_card_payments_enabled(),
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
    application = applications_of(user_id=request.user.pk, market=market).filter(pk=application_id).first()
    if application is None:
        messages.error(request, _("This application does not exist."))
        return HttpResponseRedirect(market.url)
    paid_by_card = application.is_paid and application.payment_method == PaymentMethod.CARD
    refundable = paid_by_card and stall_fee_refundable_on_cancel(application)
    try:
        stall_application_cancel(actor=_user(request), application_id=application_id)
    except DomainError as exc:
        show_error(request, exc)
    else:
        if refundable:
            messages.success(
                request,
                _(
                    "Your application is cancelled. You cancelled before applications for this date closed, so "
                    "the %(fee)s you paid by card is refunded to your card."
                )
                % {"fee": _money(application.fee)},
            )
        elif paid_by_card:
            messages.success(
                request,
                _(
                    "Your application is cancelled. Applications for this date have closed, so the stall fee "
                    "is not refunded."
                ),
            )
        else:
            messages.success(request, _("Your application is cancelled."))
    return HttpResponseRedirect(market.url + "#my-applications")


# --- Paying the stall fee by card --------------------------------------------------------------


def _own_application(request: HttpRequest, market: FleaMarketPage, application_id: int) -> StallApplication:
    """The signed-in applicant's own application on this market; 404 for anyone else's."""
    application = applications_of(user_id=_user(request).pk, market=market).filter(pk=application_id).first()
    if application is None:
        raise Http404(_("This stall application does not exist."))
    return application


def _pay_url(market: FleaMarketPage, application_id: int) -> str:
    return market.url + market.reverse_subpage("pay_fee", args=(application_id,))


def stall_fee_pay_view(request: HttpRequest, market: FleaMarketPage, application_id: int) -> HttpResponse:
    """GET: the card form for an approved, unpaid fee. POST: charge the card (token from
    Stripe.js); a declined card leaves everything as it was."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    application = _own_application(request, market, application_id)
    pay_url = _pay_url(market, application_id)
    if request.method == "POST":
        try:
            application, intent = stall_fee_card_pay(
                user=_user(request), application_id=application_id, token=request.POST.get("stripe_token", "")
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(pay_url)
        if application.is_paid:
            messages.success(request, _("Stall fee paid. The stall is yours; the organiser sees the payment."))
            return HttpResponseRedirect(market.url + "#my-applications")
        if intent.status == "requires_action":
            messages.info(request, _("Your bank asks you to confirm the payment."))
        else:
            messages.info(request, _("Your payment is being processed. This page shows the result in a moment."))
        return HttpResponseRedirect(pay_url)

    card_form = stall_fee_card_available(application)
    client_secret = ""
    open_intent: IntentState | None = None
    if card_form:
        try:
            open_intent = stall_fee_card_open_intent(user=_user(request), application_id=application_id)
        except DomainError as exc:
            messages.error(request, exc.message)
            open_intent = None
        if open_intent is not None and open_intent.status == "requires_action":
            client_secret, card_form = open_intent.client_secret, False
    context = {
        "page": market,
        "application": application,
        "card_form": card_form,
        "client_secret": client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL if card_form or client_secret else "",
        "pay_url": pay_url,
        "refresh_url": market.url + market.reverse_subpage("pay_fee_refresh", args=(application_id,)),
        "market_url": market.url,
    }
    response = render(request, "cms/stall_fee_pay.html", context)
    return allow_stripe_js(response) if context["stripe_js_url"] else response


def stall_fee_refresh_view(request: HttpRequest, market: FleaMarketPage, application_id: int) -> HttpResponse:
    """After 3-D Secure in the browser: ask Stripe how the payment ended."""
    if not request.user.is_authenticated:
        return redirect_to_login(market.url)
    _own_application(request, market, application_id)
    if request.method != "POST":
        return HttpResponseRedirect(_pay_url(market, application_id))
    try:
        application = stall_fee_card_refresh(user=_user(request), application_id=application_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(_pay_url(market, application_id))
    if application.is_paid:
        messages.success(request, _("Stall fee paid. The stall is yours; the organiser sees the payment."))
        return HttpResponseRedirect(market.url + "#my-applications")
    return HttpResponseRedirect(_pay_url(market, application_id))
