"""Buying pages: buy and offer from a listing, the order page (card form, hand-over
code, shipping, receipt, returns, disputes), my orders, offers and messages.

Thin: parse the form, call a service, redirect with a message. Domain errors become
flash messages; an order or conversation one may not see is a 404."""

from __future__ import annotations

import functools
import mimetypes
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import IO, Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import order_panels_for
from marketplace.models import DisputeEvidence, DisputeKind, Party, Payment, PaymentStatus, User
from marketplace.order_selectors import (
    offers_made_by,
    offers_received_by,
    order_detail,
    orders_bought_by,
    orders_sold_by,
)
from marketplace.payments.csp import allow_stripe_js
from marketplace.payments.stripe_gateway import PaymentError, card_payments_enabled, decline_message
from marketplace.services.messages import conversation, message_send
from marketplace.services.offers import offer_accept, offer_counter, offer_decline, offer_make
from marketplace.services.orders import (
    dispute_open,
    order_available_actions,
    order_cancel,
    order_confirm_receipt,
    order_get_for_party,
    order_handover_confirm,
    order_party,
    order_place,
    order_return_receive,
    order_return_request,
    order_return_ship,
    order_ship,
)
from marketplace.services.payments import payment_authorise, payment_refresh, payment_start

ORDERS_PER_PAGE = 20


# The erasure certificate's public status as the order recorded it (the snapshot's
# "certificate" comes from wipe_cert's snapshot provider), shown by its label.
CERTIFICATE_STATUS_LABELS = {
    "valid": gettext_lazy("Valid"),
    "revoked": gettext_lazy("Revoked"),
    "superseded": gettext_lazy("Superseded"),
    "pending_review": gettext_lazy("Pending review"),
    "rejected": gettext_lazy("Rejected"),
    "draft": gettext_lazy("Draft (not signed)"),
}


def _snapshot_grade_label(snapshot: dict[str, Any]) -> str:
    """The grade recorded at purchase, in the reader's language (orders placed before both
    languages were recorded show the label as recorded)."""
    grade = snapshot.get("grade") or {}
    labels = grade.get("labels") or {}
    return str(labels.get("en" if translation.get_language() == "en" else "zh") or grade.get("label") or "")


def certificate_status_label(certificate: Any) -> str:
    if not isinstance(certificate, dict):
        return ""
    status = str(certificate.get("status") or "")
    return str(CERTIFICATE_STATUS_LABELS.get(status, status))


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _not_found_on_denial(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An order or conversation one may not see looks the same as one that does not exist."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _flash(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)
    if isinstance(exc, ValidationFailed):
        for field_messages in (exc.details.get("fields") or {}).values():
            for message in field_messages:
                if message != exc.message:
                    messages.error(request, message)


def _yuan_to_fen(value: str) -> int | None:
    try:
        amount = Decimal((value or "").strip().replace(",", "").lstrip("¥"))
    except InvalidOperation:
        return None
    if amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return int(amount * 100)


def _delivery_and_payment(request: HttpRequest) -> tuple[str, str]:
    """The buy and offer forms send one `arrangement` ("pickup:cash"), so only a valid pair
    can be chosen; separate fields still work for older pages and scripts."""
    arrangement = request.POST.get("arrangement", "")
    if ":" in arrangement:
        delivery, _sep, payment = arrangement.partition(":")
        return delivery, payment
    return request.POST.get("delivery_method", ""), request.POST.get("payment_method", "")


# --- Forms -----------------------------------------------------------------------------------


class ShipForm(forms.Form):
    carrier = forms.CharField(label=gettext_lazy("Carrier"), max_length=60)
    tracking_number = forms.CharField(label=gettext_lazy("Tracking number"), max_length=60)


class HandoverForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("The buyer's hand-over code"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text=gettext_lazy("The buyer shows it when they have the item in hand."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TrackingForm(forms.Form):
    tracking_number = forms.CharField(label=gettext_lazy("Return tracking number"), max_length=60)


class DisputeForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What is wrong?"), choices=DisputeKind.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=gettext_lazy("Describe the problem"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class MessageForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CounterForm(forms.Form):
    amount_yuan = forms.DecimalField(
        label=gettext_lazy("Your price (¥)"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )


# --- Buying from a listing -------------------------------------------------------------------


@login_required
@require_POST
def listing_buy(request: HttpRequest, pk: int) -> HttpResponse:
    delivery_method, payment_method = _delivery_and_payment(request)
    try:
        order = order_place(
            buyer=_user(request),
            listing_id=pk,
            delivery_method=delivery_method,
            payment_method=payment_method,
            idempotency_key=request.POST.get("idempotency_key", ""),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        _flash(request, exc)
        return redirect("listing_detail", pk=pk)
    if order.is_card:
        messages.success(request, _("The item is reserved for you. Pay by card to complete the order."))
    else:
        messages.success(
            request, _("The item is reserved for you. Arrange the hand-over with the seller; you pay in cash then.")
        )
    return redirect("order_detail", pk=order.pk)


@login_required
@require_POST
def listing_offer(request: HttpRequest, pk: int) -> HttpResponse:
    amount = _yuan_to_fen(request.POST.get("amount_yuan", ""))
    if amount is None:
        messages.error(request, _("Enter your offer in yuan, e.g. 38 or 38.50."))
        return redirect("listing_detail", pk=pk)
    delivery_method, payment_method = _delivery_and_payment(request)
    try:
        offer_make(
            buyer=_user(request),
            listing_id=pk,
            amount=amount,
            delivery_method=delivery_method,
            payment_method=payment_method,
            message=request.POST.get("message", ""),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("Your offer was sent. The seller has 48 hours to answer."))
    return redirect("listing_detail", pk=pk)


@login_required
@require_POST
@_not_found_on_denial
def offer_respond(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    back = request.POST.get("next") or reverse("my_orders")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("my_orders")
    try:
        if action == "accept":
            offer = offer_accept(actor=user, offer_id=pk)
            messages.success(request, _("Offer accepted: the order is placed at that price."))
            if offer.order_id and offer.buyer_id == user.pk:
                return redirect("order_detail", pk=offer.order_id)
        elif action == "counter":
            amount = _yuan_to_fen(request.POST.get("amount_yuan", ""))
            if amount is None:
                messages.error(request, _("Enter your price in yuan, e.g. 38 or 38.50."))
                return redirect(back)
            offer_counter(actor=user, offer_id=pk, amount=amount, message=request.POST.get("message", ""))
            messages.success(request, _("Your counter-offer was sent."))
        elif action == "decline":
            offer_decline(actor=user, offer_id=pk)
            messages.success(request, _("The offer is closed."))
        else:
            raise Http404
    except (NotFound, PermissionDenied) as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        _flash(request, exc)
    return redirect(back)


# --- The order page ----------------------------------------------------------------------------


@login_required
@require_GET
@_not_found_on_denial
def order_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order_get_for_party(user=user, order_id=pk)
    order = order_detail(order_id=pk)
    assert order is not None  # noqa: S101
    party = order_party(user, order)
    payment = next(iter(order.payments.all()), None)
    client_secret = ""
    if party == Party.BUYER and payment is not None and payment.status == "action_required":
        # 3-D Secure: the browser finishes it with Stripe.js and the client secret. Stripe's
        # current state first: after a failed 3-D Secure the buyer needs the card form.
        try:
            applied, intent = payment_start(buyer=user, order_id=order.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if applied.status == "action_required":
                client_secret = intent.client_secret
            else:  # Stripe moved on: show the order as it is now
                order = order_detail(order_id=pk)
                assert order is not None  # noqa: S101
                payment = next(iter(order.payments.all()), None)
    actions = order_available_actions(order, party, timezone.now())
    card_form = (
        "pay" in actions
        and card_payments_enabled()
        and bool(settings.STRIPE_PUBLISHABLE_KEY and settings.STRIPE_JS_URL)
        and not (payment is not None and payment.status == "action_required")
    )
    context = {
        "order": order,
        "party": party,
        "actions": actions,
        "payment": payment,
        # Our message for the failed attempt's code, in the reader's language.
        "payment_error": decline_message(payment.last_error_code) if payment and payment.last_error_code else "",
        "history": list(order.status_history.all()),
        "disputes": list(order.disputes.all()),
        "card_form": card_form,
        "stripe_js_url": settings.STRIPE_JS_URL
        if card_form or (payment and payment.status == "action_required")
        else "",
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "client_secret": client_secret,
        "show_code": party == Party.BUYER
        and order.in_person
        and order.handed_over_at is None
        and order.completed_at is None,
        "ship_form": ShipForm(prefix="ship"),
        "handover_form": HandoverForm(prefix="handover"),
        "reason_form": ReasonForm(prefix="return"),
        "tracking_form": TrackingForm(prefix="return-ship"),
        "dispute_form": DisputeForm(prefix="dispute"),
        "cancel_form": ReasonForm(prefix="cancel"),
        "messages_url": reverse("listing_messages", args=(order.listing_id,))
        + ("" if party == Party.BUYER else f"?buyer={order.buyer_id}"),
        "snapshot": order.snapshot or {},
        "snapshot_grade_label": _snapshot_grade_label(order.snapshot or {}),
        "certificate_status": certificate_status_label((order.snapshot or {}).get("certificate")),
        "panels": order_panels_for(order, user, party),
    }
    response = render(request, "marketplace/orders/detail.html", context)
    return allow_stripe_js(response) if context["stripe_js_url"] else response


def _order_step(request: HttpRequest, pk: int, step: Callable[[], object], success: str) -> HttpResponse:
    try:
        step()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, success)
    return redirect("order_detail", pk=pk)


@login_required
@require_POST
def order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    token = request.POST.get("stripe_token", "")
    try:
        _payment, intent = payment_authorise(buyer=user, order_id=pk, token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PaymentError as exc:
        # A recorded refusal is shown once, above the card form; anything else is flashed.
        latest = Payment.objects.filter(order_id=pk).order_by("-created_at", "-pk").first()
        if latest is None or not latest.last_error_code:
            _flash(request, exc)
        return redirect("order_detail", pk=pk)
    except DomainError as exc:
        _flash(request, exc)
        return redirect("order_detail", pk=pk)
    if intent.status == "requires_action":
        messages.info(request, _("Your bank asks you to confirm the payment."))
    else:
        messages.success(
            request, _("Payment authorised. The money is held and reaches the seller only after you confirm receipt.")
        )
    return redirect("order_detail", pk=pk)


@login_required
@require_POST
@_not_found_on_denial
def order_pay_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    order_get_for_party(user=_user(request), order_id=pk)
    try:
        payment = payment_refresh(order_id=pk)
    except DomainError as exc:
        _flash(request, exc)
    else:
        # After 3-D Secure the buyer hears the outcome; a refusal shows on the page itself.
        if payment is not None and payment.status == PaymentStatus.AUTHORISED:
            messages.success(
                request,
                _("Payment authorised. The money is held and reaches the seller only after you confirm receipt."),
            )
    return redirect("order_detail", pk=pk)


@login_required
@require_POST
def order_ship_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = ShipForm(request.POST, prefix="ship")
    data = form.data
    return _order_step(
        request,
        pk,
        lambda: order_ship(
            seller=_user(request),
            order_id=pk,
            carrier=data.get("ship-carrier", ""),
            tracking_number=data.get("ship-tracking_number", ""),
        ),
        _("Marked as shipped. The buyer was told the tracking number."),
    )


@login_required
@require_POST
def order_handover_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_handover_confirm(seller=_user(request), order_id=pk, code=request.POST.get("handover-code", "")),
        _("Hand-over confirmed."),
    )


@login_required
@require_POST
def order_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_confirm_receipt(buyer=_user(request), order_id=pk),
        _("Thank you. The order is completed and the seller is paid."),
    )


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_cancel(actor=_user(request), order_id=pk, reason=request.POST.get("cancel-reason", "")),
        _("The order is cancelled."),
    )


@login_required
@require_POST
def order_return_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_return_request(buyer=_user(request), order_id=pk, reason=request.POST.get("return-reason", "")),
        _("Return requested. Send the item back and enter the tracking number."),
    )


@login_required
@require_POST
def order_return_ship_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_return_ship(
            buyer=_user(request), order_id=pk, tracking_number=request.POST.get("return-ship-tracking_number", "")
        ),
        _("The seller was told the return tracking number."),
    )


@login_required
@require_POST
def order_return_receive_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_step(
        request,
        pk,
        lambda: order_return_receive(seller=_user(request), order_id=pk),
        _("Return received; the buyer is refunded."),
    )


@login_required
@require_POST
def order_dispute_view(request: HttpRequest, pk: int) -> HttpResponse:
    uploads = request.FILES.getlist("dispute-photos")
    files = [(cast(IO[bytes], upload), upload.size or 0, upload.name or "") for upload in uploads]
    return _order_step(
        request,
        pk,
        lambda: dispute_open(
            buyer=_user(request),
            order_id=pk,
            kind=request.POST.get("dispute-kind", ""),
            description=request.POST.get("dispute-description", ""),
            files=files,
        ),
        _("Your dispute is with the moderators. The money stays held until they decide."),
    )


@login_required
@require_GET
@_not_found_on_denial
def order_evidence(request: HttpRequest, pk: int, evidence_id: int) -> HttpResponse:
    """An evidence photo, for the two parties and moderators only (never a public URL)."""
    order_get_for_party(user=_user(request), order_id=pk)
    evidence = DisputeEvidence.objects.filter(pk=evidence_id, dispute__order_id=pk).first()
    if evidence is None:
        raise Http404(_("No such photo."))
    content_type = mimetypes.guess_type(evidence.image.name or "")[0] or "image/jpeg"
    response = FileResponse(evidence.image.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)


# --- My orders and offers -----------------------------------------------------------------------


@login_required
@require_GET
def my_orders(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    as_seller = request.GET.get("as") == "seller"
    queryset = orders_sold_by(user=user) if as_seller else orders_bought_by(user=user)
    page = Paginator(queryset, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    offers = list(offers_received_by(user=user)[:20] if as_seller else offers_made_by(user=user)[:20])
    return render(
        request,
        "marketplace/orders/mine.html",
        {"page": page, "as_seller": as_seller, "offers": offers, "counter_form": CounterForm(), "now": timezone.now()},
    )


# --- Messages -----------------------------------------------------------------------------------


def _buyer_param(request: HttpRequest) -> int | None:
    value = request.GET.get("buyer") or request.POST.get("buyer") or ""
    return int(value) if value.isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_on_denial
def listing_messages(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    buyer_id = _buyer_param(request)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            message = message_send(sender=user, listing_id=pk, body=form.cleaned_data["body"], buyer_id=buyer_id)
        except PermissionDenied as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            _flash(request, exc)
        else:
            url = reverse("listing_messages", args=(pk,))
            return redirect(url if message.buyer_id == user.pk else f"{url}?buyer={message.buyer_id}")
    try:
        listing, buyer, shown = conversation(user=user, listing_id=pk, buyer_id=buyer_id)
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "marketplace/orders/conversation.html",
        {
            "listing": listing,
            "buyer": buyer,
            "shown": shown,
            "masked": any(m.masked for m in shown),
            "flagged": any(m.flags for m in shown),
            "form": MessageForm() if request.method == "GET" or form.is_valid() else form,
            "is_buyer": buyer.pk == user.pk,
        },
    )


def new_idempotency_key() -> str:
    return uuid.uuid4().hex
