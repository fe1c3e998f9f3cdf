"""Card payments of fees that are not orders (a flea-market stall, …), without a table here.

The app that charges the fee keeps its own record of the intent; this module only talks to
Stripe through the gateway and hands a succeeded intent to that app. Which app handles
which fee is a setting, so the core imports none of them:

    MARKETPLACE_FEE_PAYMENT_HANDLERS = {"stall_fee": "cms.services.flea.stall_fee_card_paid"}

A handler is called as `handler(reference=..., intent_id=..., amount=..., currency=...)`
when an intent with metadata {"purpose": <key>, "reference": <reference>} has succeeded —
from the payer's own confirmation, a refresh, or the webhook, perhaps several times for the
same intent — so it must be idempotent. Fee intents are captured at once (no hold)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from marketplace.errors import ValidationFailed
from marketplace.payments import stripe_gateway as gateway
from marketplace.payments.stripe_gateway import IntentState, RefundState

FeeHandler = Callable[..., Any]
TOKEN_PREFIXES = ("tok_", "pm_", "card_", "src_")


@functools.cache
def fee_payment_handlers() -> dict[str, FeeHandler]:
    configured = getattr(settings, "MARKETPLACE_FEE_PAYMENT_HANDLERS", {}) or {}
    return {str(purpose): import_string(path) for purpose, path in configured.items()}


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_FEE_PAYMENT_HANDLERS":
        fee_payment_handlers.cache_clear()


setting_changed.connect(_reset)


def fee_purpose(intent: IntentState) -> str:
    """The fee an intent pays for ("" for an order's intent or an unknown purpose)."""
    purpose = (intent.metadata or {}).get("purpose", "")
    return purpose if purpose in fee_payment_handlers() else ""


def fee_card_payments_enabled() -> bool:
    return gateway.card_payments_enabled() and bool(settings.STRIPE_PUBLISHABLE_KEY and settings.STRIPE_JS_URL)


def fee_intent_start(*, purpose: str, reference: str, amount: int, currency: str, idempotency_key: str) -> IntentState:
    if purpose not in fee_payment_handlers():
        raise ValueError(f"no fee payment handler for {purpose!r}")
    return gateway.fee_intent_create(
        amount=amount, currency=currency, idempotency_key=idempotency_key, purpose=purpose, reference=reference
    )


def fee_card_token_clean(token: str) -> str:
    """The Stripe.js token of the card form, or ValidationFailed."""
    token = (token or "").strip()
    if not token.startswith(TOKEN_PREFIXES):
        raise ValidationFailed(_("Enter your card details."), details={"fields": {"token": [_("Missing card.")]}})
    return token


def fee_card_confirm(*, intent_id: str, token: str, email: str, idempotency_key: str) -> IntentState:
    """Charge the fee to the card behind a Stripe.js token. A declined card raises
    CardDeclined (nothing is charged); 3-D Secure leaves the intent `requires_action`."""
    token = fee_card_token_clean(token)
    if token.startswith("tok_"):
        card = gateway.card_attach(token=token, email=email, idempotency_key=idempotency_key)
        customer_id, method_id = card.customer_id, card.payment_method_id
    else:
        customer_id, method_id = "", token
    return gateway.intent_confirm(intent_id=intent_id, customer_id=customer_id, payment_method_id=method_id)


def fee_intent_retrieve(intent_id: str) -> IntentState:
    return gateway.intent_retrieve(intent_id)


def fee_intent_apply(*, intent: IntentState) -> bool:
    """Hand a succeeded fee intent to its app. False when the intent is not a fee's or has
    not succeeded (nothing to do)."""
    purpose = fee_purpose(intent)
    if not purpose or intent.status != "succeeded":
        return False
    handler = fee_payment_handlers()[purpose]
    handler(
        reference=(intent.metadata or {}).get("reference", ""),
        intent_id=intent.id,
        amount=intent.amount_received if intent.amount_received is not None else intent.amount,
        currency=intent.currency,
    )
    return True


def fee_refund(*, intent_id: str, amount: int, currency: str, idempotency_key: str) -> RefundState:
    return gateway.refund_create(intent_id=intent_id, amount=amount, currency=currency, idempotency_key=idempotency_key)
