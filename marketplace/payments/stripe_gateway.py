"""The one module that talks to Stripe (and the only one that imports `stripe`).

It speaks PaymentIntents with manual capture — authorise when the buyer pays, capture
when the buyer confirms receipt or the auto-confirm timer runs out, cancel when the
order is cancelled — and refunds. Amounts go in and out as integer minor units; Stripe
objects never leave this module: callers get `IntentState` / `RefundState` values, and
Stripe's exceptions become the domain errors below (`CardDeclined` carries a message a
buyer can read).

Holds longer than an authorisation lives
----------------------------------------
A card authorisation lapses after about seven days, but an order can hold the buyer's
money longer (five days to ship, seven more to confirm, a dispute that stops the
clock). We do not re-authorise (the buyer may be gone, and a second authorisation can
be declined). Instead, `marketplace.services.payments.payments_capture_expiring`
(a beat task) captures every authorisation older than MARKETPLACE_CARD_CAPTURE_AFTER_HOURS
(six days) whose order is not finished. The money then sits with the platform as
escrow: the ledger credits it to `buyer_funds_held`, not to the seller. It is released
to the seller, the consignor and the platform fee by a ledger entry when the order
completes, or goes back to the buyer as a Stripe refund when the order is cancelled,
returned or a dispute is upheld. For the buyer the difference is only that the charge
shows as settled rather than pending on their statement.

Configuration: STRIPE_SECRET_KEY (none: card payment is switched off),
STRIPE_PUBLISHABLE_KEY and STRIPE_JS_URL (the page's card form), STRIPE_WEBHOOK_SECRET
(webhook signatures) and STRIPE_API_BASE (another API server, e.g. localstripe)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import DomainError

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 20


class PaymentError(DomainError):
    """The payment provider refused the request; the message is for the buyer."""

    code = "payment_failed"
    http_status = 402


class CardDeclined(PaymentError):
    code = "card_declined"


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"
    http_status = 503


class PaymentsDisabled(DomainError):
    code = "card_payments_disabled"
    http_status = 409


class WebhookSignatureInvalid(Exception):
    """The webhook request was not signed with our endpoint secret (or is too old)."""


@dataclass(frozen=True)
class RefundState:
    id: str
    amount: int
    status: str


@dataclass(frozen=True)
class IntentState:
    id: str
    status: str  # Stripe's PaymentIntent status
    amount: int
    currency: str
    client_secret: str = ""
    amount_capturable: int | None = None
    amount_received: int | None = None
    charge_id: str = ""
    amount_refunded: int | None = None
    refunds: tuple[RefundState, ...] = ()
    error_code: str = ""
    error_message: str = ""
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True)
class CardSource:
    customer_id: str
    payment_method_id: str
    brand: str
    last4: str


def card_payments_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def to_stripe_amount(amount: int, currency: str) -> int:
    """Our amounts are integer ISO 4217 minor units (fen for CNY), which is what Stripe
    expects for every currency we sell in."""
    return int(amount)


@functools.cache
def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=2,
        http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
    )


def client() -> stripe.StripeClient:
    if not card_payments_enabled():
        raise PaymentsDisabled(_("Card payment is not available here; choose cash at hand-over."))
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE.rstrip("/"))


DECLINE_MESSAGES: dict[str, Any] = {
    "card_declined": gettext_lazy("Your card was declined. Nothing was charged; try another card or ask your bank."),
    "insufficient_funds": gettext_lazy("Your card has insufficient funds. Nothing was charged; try another card."),
    "expired_card": gettext_lazy("Your card has expired. Nothing was charged; try another card."),
    "incorrect_cvc": gettext_lazy("The card's security code is wrong. Nothing was charged; check it and try again."),
    "incorrect_number": gettext_lazy("The card number is wrong. Nothing was charged; check it and try again."),
    "processing_error": gettext_lazy("The card could not be processed. Nothing was charged; try again in a moment."),
    # 3-D Secure failed or was cancelled; Stripe says "The provided PaymentMethod has failed authentication."
    "payment_intent_authentication_failure": gettext_lazy(
        "Your bank could not confirm the payment (3-D Secure). Nothing was charged; try again or use another card."
    ),
    "payment_rejected": gettext_lazy("The payment could not be processed. Nothing was charged."),
}
# Stripe's decline codes that mean the same to the buyer as one of ours.
DECLINE_ALIASES = {
    "generic_decline": "card_declined",
    "do_not_honor": "card_declined",
    "lost_card": "card_declined",
    "stolen_card": "card_declined",
    "fraudulent": "card_declined",
    "invalid_cvc": "incorrect_cvc",
    "invalid_number": "incorrect_number",
    "authentication_required": "payment_intent_authentication_failure",
    "payment_intent_payment_attempt_failed": "card_declined",
}


def decline_message_lazy(code: str) -> Any:
    """The buyer-facing message for a Stripe decline or error code (never Stripe's own
    English text), translated when rendered: in the reader's language on a page, in the
    recipient's in a notification."""
    code = DECLINE_ALIASES.get(code, code)
    return DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["card_declined"])


def decline_message(code: str) -> str:
    return str(decline_message_lazy(code))


def _domain_error(exc: stripe.StripeError) -> DomainError:
    """Turn a Stripe exception into one of ours."""
    if isinstance(exc, stripe.CardError):
        error = getattr(exc, "error", None)
        code = str(getattr(error, "decline_code", "") or getattr(exc, "code", "") or "card_declined")
        return CardDeclined(decline_message(code), details={"decline_code": code})
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        logger.error("Stripe rejected our credentials: %s", exc)
        return PaymentProviderUnavailable(_("Card payments are not working right now; try again later."))
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        logger.warning("Stripe unavailable: %s", exc)
        return PaymentProviderUnavailable(_("The payment service cannot be reached; try again in a minute."))
    logger.warning("Stripe refused a request: %s", exc)
    return PaymentError(_("The payment could not be processed. Nothing was charged."), code="payment_rejected")


def _call(function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call the Stripe client; return the resource as plain data."""
    try:
        result = function(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _domain_error(exc) from exc
    return result.to_dict() if isinstance(result, stripe.StripeObject) else dict(result)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, Mapping) else default


def _refunds(charge: Any) -> tuple[RefundState, ...]:
    listing = _get(charge, "refunds")
    data = _get(listing, "data") or []
    return tuple(
        RefundState(id=str(_get(r, "id")), amount=int(_get(r, "amount") or 0), status=str(_get(r, "status") or ""))
        for r in data
    )


def intent_state(obj: Any) -> IntentState:
    """An IntentState from a PaymentIntent: a Stripe object or a webhook event's JSON."""
    charge = _get(obj, "latest_charge")
    charge_id = charge if isinstance(charge, str) else str(_get(charge, "id") or "")
    error = _get(obj, "last_payment_error") or {}
    metadata = _get(obj, "metadata") or {}
    return IntentState(
        id=str(_get(obj, "id")),
        status=str(_get(obj, "status")),
        amount=int(_get(obj, "amount") or 0),
        currency=str(_get(obj, "currency") or "").upper(),
        client_secret=str(_get(obj, "client_secret") or ""),
        amount_capturable=_get(obj, "amount_capturable"),
        amount_received=_get(obj, "amount_received"),
        charge_id=charge_id or "",
        amount_refunded=None if isinstance(charge, str) or charge is None else _get(charge, "amount_refunded"),
        refunds=() if isinstance(charge, str) or charge is None else _refunds(charge),
        error_code=str(_get(error, "code") or ""),
        error_message=str(_get(error, "message") or ""),
        metadata={str(k): str(v) for k, v in dict(metadata).items()},
    )


def charge_refunds(obj: Any) -> tuple[str, int, tuple[RefundState, ...]]:
    """(payment intent id, amount refunded, refunds) from a Charge in a webhook event."""
    return str(_get(obj, "payment_intent") or ""), int(_get(obj, "amount_refunded") or 0), _refunds(obj)


# --- Calls ------------------------------------------------------------------------------


def intent_create(*, amount: int, currency: str, idempotency_key: str, metadata: Mapping[str, str]) -> IntentState:
    intent = _call(
        client().v1.payment_intents.create,
        params={
            "amount": to_stripe_amount(amount, currency),
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": dict(metadata),
        },
        options={"idempotency_key": idempotency_key},
    )
    return intent_state(intent)


def fee_intent_create(*, amount: int, currency: str, idempotency_key: str, purpose: str, reference: str) -> IntentState:
    """A PaymentIntent for a fee (e.g. a flea-market stall), captured as soon as the card
    is confirmed. Its metadata {"purpose", "reference"} tells the webhook whose it is."""
    params: dict[str, Any] = {
        "amount": to_stripe_amount(amount, currency),
        "currency": currency.lower(),
        "capture_method": "automatic",
        "payment_method_types": ["card"],
        "metadata": {"purpose": purpose, "reference": reference},
    }
    return intent_state(
        _call(client().v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key})
    )


def card_attach(*, token: str, email: str, idempotency_key: str) -> CardSource:
    """Save the card behind a Stripe.js token on a new customer. Cards that can never be
    charged (e.g. 4000000000000002) are refused here with CardDeclined."""
    customer = _call(
        client().v1.customers.create,
        params={"source": token, "email": email, "expand": ["default_source"]},
        options={"idempotency_key": idempotency_key},
    )
    card = _get(customer, "default_source")
    return CardSource(
        customer_id=str(customer["id"]),
        payment_method_id=card if isinstance(card, str) else str(_get(card, "id") or ""),
        brand=str(_get(card, "brand") or ""),
        last4=str(_get(card, "last4") or ""),
    )


def intent_confirm(*, intent_id: str, customer_id: str, payment_method_id: str) -> IntentState:
    """Authorise the amount on the card: the intent ends in `requires_capture` (money
    held), `requires_action` (3-D Secure in the browser) or raises CardDeclined."""
    _call(
        client().v1.payment_intents.update,
        intent_id,
        params={"customer": customer_id, "payment_method": payment_method_id},
    )
    return intent_state(_call(client().v1.payment_intents.confirm, intent_id))


def intent_retrieve(intent_id: str) -> IntentState:
    return intent_state(_call(client().v1.payment_intents.retrieve, intent_id))


def intent_capture(*, intent_id: str, idempotency_key: str) -> IntentState:
    return intent_state(
        _call(client().v1.payment_intents.capture, intent_id, options={"idempotency_key": idempotency_key})
    )


def intent_cancel(*, intent_id: str) -> IntentState:
    return intent_state(_call(client().v1.payment_intents.cancel, intent_id))


def refund_create(*, intent_id: str, amount: int, currency: str, idempotency_key: str) -> RefundState:
    refund = _call(
        client().v1.refunds.create,
        params={"payment_intent": intent_id, "amount": to_stripe_amount(amount, currency)},
        options={"idempotency_key": idempotency_key},
    )
    return RefundState(id=str(refund["id"]), amount=int(refund["amount"]), status=str(refund.get("status") or ""))


# --- Webhooks ---------------------------------------------------------------------------


def webhook_event(*, payload: bytes, signature: str) -> dict[str, Any]:
    """The event in a webhook request, once its Stripe-Signature header is verified
    against STRIPE_WEBHOOK_SECRET; WebhookSignatureInvalid otherwise."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        raise WebhookSignatureInvalid("missing signature or secret")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
        event = json.loads(text)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookSignatureInvalid("not an event")
    return event
