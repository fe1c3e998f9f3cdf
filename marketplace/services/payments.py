"""Card payments of orders through Stripe PaymentIntents with manual capture.

Stripe is never called while a database lock is held: each step reads or reserves what
it needs and commits, calls Stripe (marketplace.payments.stripe_gateway), then re-locks
and applies the result with `payment_apply_intent`, which re-checks the state it finds.
The same function applies webhook events and the periodic reconciliation, and it
moves a payment forward (pending → authorised → captured; cancelled is final), so
events arriving late, twice or out of order change nothing. The one step back is the
one Stripe makes: a failed 3-D Secure returns the intent from requires_action to
requires_payment_method, and the payment follows it back to pending (the buyer may
then pay with another card) — taken from Stripe's current state, never from a webhook
event, which may be older than what we know.

After a declined card the buyer tries another: the same PaymentIntent is confirmed
again with the new card, as Stripe documents; where Stripe will not confirm it again,
that attempt is cancelled and a new payment with a new intent takes its place. The
order's latest payment is the current attempt; the page shows only that one.

Holds longer than an authorisation's life are captured into escrow before it lapses;
see the docstring of marketplace.payments.stripe_gateway."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
    User,
)
from marketplace.models.orders import ENDED_STATUSES
from marketplace.models.payments import LIVE_PAYMENT_STATUSES
from marketplace.payments import stripe_gateway as gateway
from marketplace.payments.stripe_gateway import IntentState, PaymentError
from marketplace.services.fee_payments import fee_intent_apply, fee_purpose
from marketplace.services.ledger import ledger_buyer_payment, ledger_refund
from marketplace.services.notifications import moderators, notify
from marketplace.services.order_state import is_buyer, is_seller, lock_order, notify_parties, order_mark_paid, order_url
from marketplace.services.outbox import task_enqueue_on_commit

logger = logging.getLogger(__name__)

# Stripe's PaymentIntent statuses → ours.
INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "processing": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.ACTION_REQUIRED,
    "requires_capture": PaymentStatus.AUTHORISED,
    "succeeded": PaymentStatus.CAPTURED,
    "canceled": PaymentStatus.CANCELLED,
}
# A payment moves forward; captured and cancelled are final.
RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.ACTION_REQUIRED: 0,
    PaymentStatus.AUTHORISED: 1,
    PaymentStatus.CAPTURED: 2,
    PaymentStatus.CANCELLED: 2,
}
VOIDABLE = frozenset({PaymentStatus.PENDING, PaymentStatus.ACTION_REQUIRED, PaymentStatus.AUTHORISED})
# Moves between statuses of the same rank, and whether a webhook event may make them.
SIDEWAYS = {
    (PaymentStatus.PENDING, PaymentStatus.ACTION_REQUIRED): True,
    # 3-D Secure failed: back to waiting for a card. Only from Stripe's current state: a
    # late event of an earlier attempt must not undo a later one.
    (PaymentStatus.ACTION_REQUIRED, PaymentStatus.PENDING): False,
}


def new_key() -> str:
    return uuid.uuid4().hex


def live_card_payment(order_id: int) -> Payment | None:
    return (
        Payment.objects.filter(order_id=order_id, provider=PaymentProvider.STRIPE, status__in=LIVE_PAYMENT_STATUSES)
        .order_by("-pk")
        .first()
    )


def payment_for_order(order_id: int) -> Payment | None:
    """The order's card payment, live or not (the latest)."""
    return Payment.objects.filter(order_id=order_id, provider=PaymentProvider.STRIPE).order_by("-pk").first()


# --- Applying what Stripe says ------------------------------------------------------------


@transaction.atomic
def payment_apply_intent(*, intent: IntentState, source: str = "") -> Payment | None:
    """Bring our payment (and its order) in line with the PaymentIntent `intent`.
    Returns None for an intent that is not ours."""
    found = Payment.objects.filter(intent_id=intent.id).values_list("pk", "order_id").first()
    if found is None:
        return None
    payment_id, order_id = found
    order = lock_order(order_id)  # order first, then payment: the order of every lock here
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    assert order is not None  # noqa: S101 - a payment always has an order (PROTECT)
    now = timezone.now()
    previous = PaymentStatus(payment.status)
    target = INTENT_STATUS.get(intent.status, previous)
    from_webhook = source.startswith("webhook")
    sideways = SIDEWAYS.get((previous, target))
    if RANK[target] > RANK[previous] or sideways or (sideways is False and not from_webhook):
        payment.status = target
        if target in (PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED) and payment.authorised_at is None:
            payment.authorised_at = now
        if target == PaymentStatus.CAPTURED:
            payment.captured_at = now
            payment.amount_captured = intent.amount_received or payment.amount
            ledger_buyer_payment(order=order, payment=payment, amount=payment.amount_captured)
        if target == PaymentStatus.CANCELLED:
            payment.cancelled_at = now
    if payment.status == PaymentStatus.PENDING and intent.error_code:
        # A failed attempt: its card is no longer the one being paid with. The page shows
        # our own message for the code (last_error_message keeps Stripe's, for staff).
        payment.last_error_code = intent.error_code[:60]
        payment.last_error_message = intent.error_message[:300]
        payment.card_brand = payment.card_last4 = ""
    payment.save()
    if intent.amount_refunded is not None:
        _apply_refund_total(order=order, payment=payment, total=intent.amount_refunded, refund_ids=intent.refunds)

    held = payment.status in (PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED)
    if held and order.status == OrderStatus.PENDING_PAYMENT:
        order_mark_paid(order=order)
    elif order.status in ENDED_STATUSES and payment.status in VOIDABLE | {PaymentStatus.CAPTURED}:
        # The order ended while the card was being authorised: give the money back.
        _void_after_commit(order.pk)
    elif payment.status == PaymentStatus.CANCELLED and previous != PaymentStatus.CANCELLED and source != "give_back":
        _payment_cancelled_by_provider(order=order, source=source)
    if source.startswith("webhook") and intent.status == "requires_payment_method" and intent.error_code:
        notify(
            users=[order.buyer],
            kind="payment_failed",
            subject=gettext_lazy("Payment failed: %(title)s"),
            body=gettext_lazy(
                "The card payment for order #%(number)s “%(title)s” failed: %(error)s You can pay with another "
                "card from the order page."
            ),
            params={"title": order.title, "number": order.pk, "error": gateway.decline_message_lazy(intent.error_code)},
            link=order_url(order),
        )
    return payment


def _payment_cancelled_by_provider(*, order: Order, source: str) -> None:
    """The authorisation was cancelled outside our own steps (e.g. it lapsed)."""
    if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID):
        from marketplace.services.orders import order_cancel_locked

        order_cancel_locked(
            order=order, actor=None, by="platform", at_fault="", reason=f"card authorisation cancelled ({source})"
        )
    elif order.status not in ENDED_STATUSES:
        notify(
            users=moderators(),
            kind="payment_attention",
            subject=gettext_lazy("Card hold lost on order #%(number)s"),
            body=gettext_lazy(
                "The card authorisation of order #%(number)s “%(title)s” was cancelled by the payment provider "
                "while the order is %(status)s. Check the order."
            ),
            params={"number": order.pk, "title": order.title, "status": order.get_status_display()},
            link=order_url(order),
        )


def _apply_refund_total(*, order: Order, payment: Payment, total: int, refund_ids: Any = ()) -> None:
    """Stripe says `total` was refunded. Refunds we started are recorded by their own
    step; anything beyond them (e.g. refunded from the Stripe dashboard) is recorded here."""
    pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).aggregate(total=Sum("amount"))
    external = total - payment.amount_refunded - int(pending["total"] or 0)
    if external <= 0 or payment.status != PaymentStatus.CAPTURED:
        return
    known = set(
        Refund.objects.filter(payment=payment).exclude(stripe_refund_id="").values_list("stripe_refund_id", flat=True)
    )
    unknown = [r for r in refund_ids if r.id not in known and r.amount == external]
    refund = Refund.objects.create(
        payment=payment,
        amount=external,
        reason="refunded at the payment provider",
        status=RefundStatus.SUCCEEDED,
        stripe_refund_id=unknown[0].id if unknown else "",
        idempotency_key=new_key(),
    )
    payment.amount_refunded += external
    payment.save()
    ledger_refund(order=order, refund_key=f"refund:{refund.pk}", amount=external)


@transaction.atomic
def payment_apply_charge_refunded(*, intent_id: str, amount_refunded: int, refunds: Any = ()) -> Payment | None:
    found = Payment.objects.filter(intent_id=intent_id).values_list("pk", "order_id").first()
    if found is None:
        return None
    order = lock_order(found[1])
    payment = Payment.objects.select_for_update().get(pk=found[0])
    assert order is not None  # noqa: S101
    _apply_refund_total(order=order, payment=payment, total=amount_refunded, refund_ids=refunds)
    return payment


def stripe_event_process(*, event: dict[str, Any]) -> bool:
    """Apply one verified webhook event once. Returns False for an event already
    processed (a replay), which changes nothing."""
    event_type = str(event["type"])
    obj = (event.get("data") or {}).get("object") or {}
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=str(event["id"]), type=event_type[:100], payload=event)
        except IntegrityError:
            return False
        if event_type.startswith("payment_intent."):
            intent = gateway.intent_state(obj)
            if fee_purpose(intent):
                fee_intent_apply(intent=intent)
            else:
                payment_apply_intent(intent=intent, source=f"webhook:{event_type}")
        elif event_type in ("charge.refunded", "charge.refund.updated"):
            intent_id, total, refunds = gateway.charge_refunds(obj)
            if intent_id:
                payment_apply_charge_refunded(intent_id=intent_id, amount_refunded=total, refunds=refunds)
    return True


# --- Steps the buyer takes ------------------------------------------------------------------


def _reserve_payment(*, buyer: User, order_id: int) -> Payment:
    with transaction.atomic():
        order = lock_order(order_id)
        if order is None or not (is_buyer(buyer, order) or is_seller(buyer, order) or buyer.is_staff):
            raise NotFound(_("No such order."))
        if not is_buyer(buyer, order):
            raise PermissionDenied(_("Only the buyer pays for an order."))
        if not order.is_card:
            raise Conflict(_("This order is paid in cash at hand-over."), code="order_paid_in_cash")
        if order.status == OrderStatus.ON_HOLD:
            # No new money is held for an item that may not be sold (marketplace.services.holds).
            raise Conflict(
                _("This order is on hold: it cannot be paid unless a moderator lets it continue."),
                code="order_on_hold",
            )
        payment = live_card_payment(order.pk)
        if order.status != OrderStatus.PENDING_PAYMENT and payment is None:
            raise Conflict(_("This order is not waiting for a payment."), code="order_not_payable")
        if payment is None:
            payment = Payment.objects.create(
                order=order,
                provider=PaymentProvider.STRIPE,
                amount=order.amount,
                currency=order.currency,
                idempotency_key=new_key(),
            )
        return payment


def _ensure_intent(payment: Payment) -> IntentState:
    if payment.intent_id:
        return gateway.intent_retrieve(payment.intent_id)
    intent = gateway.intent_create(
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        metadata={"order_id": str(payment.order_id), "payment_id": str(payment.pk)},
    )
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, intent_id="").update(intent_id=intent.id)
    payment.intent_id = intent.id
    return intent


def payment_start(*, buyer: User, order_id: int) -> tuple[Payment, IntentState]:
    """Create (or find) the order's PaymentIntent; its client secret lets the browser
    confirm the card with Stripe.js."""
    payment = _reserve_payment(buyer=buyer, order_id=order_id)
    intent = _ensure_intent(payment)
    applied = payment_apply_intent(intent=intent, source="start")
    return applied or payment, intent


def _record_error(payment: Payment, exc: DomainError) -> None:
    """The attempt failed: keep why (a decline code when Stripe gave one), forget its card."""
    code = str(exc.details.get("decline_code") or exc.code)
    Payment.objects.filter(pk=payment.pk).update(
        last_error_code=code[:60],
        last_error_message=exc.message[:300],
        card_brand="",
        card_last4="",
        updated_at=timezone.now(),
    )


def _payment_replace(payment: Payment) -> Payment:
    """Stripe will not confirm the payment's intent again: end this attempt and start a
    new payment (with its own intent) for the order. The old intent holds no money; it
    is cancelled at Stripe after the commit."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        old = Payment.objects.select_for_update().get(pk=payment.pk)
        if order is None or order.status != OrderStatus.PENDING_PAYMENT or old.status != PaymentStatus.PENDING:
            raise Conflict(_("This payment has changed meanwhile; reload the page."), code="payment_changed")
        old.status = PaymentStatus.CANCELLED
        old.cancelled_at = timezone.now()
        old.save()
        new = Payment.objects.create(
            order_id=old.order_id,
            provider=PaymentProvider.STRIPE,
            amount=old.amount,
            currency=old.currency,
            idempotency_key=new_key(),
        )
    try:
        gateway.intent_cancel(intent_id=old.intent_id)
    except DomainError as exc:
        logger.warning("Could not cancel replaced payment intent %s: %s", old.intent_id, exc)
    _ensure_intent(new)
    return new


def _confirm_attempt(
    payment: Payment, *, customer_id: str, method_id: str, brand: str, last4: str, may_replace: bool = True
) -> tuple[Payment, IntentState]:
    """Confirm the payment's intent with the card. A refusal is recorded on the attempt
    and raised."""
    # A new attempt: the page shows this card and no longer the last one's error.
    Payment.objects.filter(pk=payment.pk).update(
        card_brand=brand[:20], card_last4=last4[:4], last_error_code="", last_error_message=""
    )
    try:
        return payment, gateway.intent_confirm(
            intent_id=payment.intent_id, customer_id=customer_id, payment_method_id=method_id
        )
    except PaymentError as exc:
        refused = exc
    # Stripe confirms an intent again with another card after a failed attempt; a server
    # that will not (localstripe after a decline at charge time) gets a new intent.
    if (
        not may_replace
        or isinstance(refused, gateway.CardDeclined)
        or gateway.intent_retrieve(payment.intent_id).status != "requires_payment_method"
    ):
        _record_error(payment, refused)
        raise refused
    return _confirm_attempt(
        _payment_replace(payment),
        customer_id=customer_id,
        method_id=method_id,
        brand=brand,
        last4=last4,
        may_replace=False,
    )


def payment_authorise(*, buyer: User, order_id: int, token: str) -> tuple[Payment, IntentState]:
    """Authorise the order's amount on the card behind a Stripe.js token: the money is
    held, not taken. A declined card raises CardDeclined (nothing is charged) and the
    buyer may try another card."""
    token = (token or "").strip()
    if not token.startswith(("tok_", "pm_", "card_", "src_")):
        raise ValidationFailed(_("Enter your card details."), details={"fields": {"token": [_("Missing card.")]}})
    payment, intent = payment_start(buyer=buyer, order_id=order_id)
    if intent.status in ("requires_capture", "succeeded", "requires_action", "processing", "canceled"):
        return payment, intent
    try:
        if token.startswith("tok_"):
            card = gateway.card_attach(token=token, email=buyer.email, idempotency_key=f"{payment.pk}-{token}")
            customer_id, method_id, brand, last4 = card.customer_id, card.payment_method_id, card.brand, card.last4
        else:
            customer_id, method_id, brand, last4 = "", token, "", ""
    except PaymentError as exc:
        _record_error(payment, exc)
        raise
    payment, intent = _confirm_attempt(payment, customer_id=customer_id, method_id=method_id, brand=brand, last4=last4)
    applied = payment_apply_intent(intent=intent, source="authorise")
    return applied or payment, intent


def payment_refresh(*, order_id: int) -> Payment | None:
    """Ask Stripe for the state of the order's payment and apply it (after 3-D Secure in
    the browser, and for payments that look stuck)."""
    payment = payment_for_order(order_id)
    if payment is None or not payment.intent_id:
        return payment
    return payment_apply_intent(intent=gateway.intent_retrieve(payment.intent_id), source="refresh")


# --- Steps the platform takes ----------------------------------------------------------------


def payment_capture(*, order_id: int) -> Payment:
    """Take the held money (buyer confirmed receipt, the timer ran out, or the hold is
    about to lapse). Capturing twice is harmless."""
    payment = live_card_payment(order_id)
    if payment is None:
        raise Conflict(_("This order has no card payment to capture."), code="payment_missing")
    if payment.status == PaymentStatus.CAPTURED:
        return payment
    if payment.status != PaymentStatus.AUTHORISED:
        raise Conflict(_("The card payment is not authorised yet."), code="payment_not_authorised")
    try:
        intent = gateway.intent_capture(
            intent_id=payment.intent_id, idempotency_key=f"capture-{payment.idempotency_key}"
        )
    except PaymentError:
        # Perhaps it was captured already (a retry, or the escrow task at the same time).
        intent = gateway.intent_retrieve(payment.intent_id)
        if intent.status != "succeeded":
            raise
    return payment_apply_intent(intent=intent, source="capture") or payment


def payment_refund(*, order_id: int, amount: int, reason: str, actor: User | None = None) -> Refund:
    """Give `amount` of captured money back to the buyer's card."""
    with transaction.atomic():
        order = lock_order(order_id)
        payment = live_card_payment(order_id)
        if order is None or payment is None or payment.status != PaymentStatus.CAPTURED:
            raise Conflict(_("There is no captured card payment to refund."), code="payment_not_captured")
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).aggregate(total=Sum("amount"))
        refundable = payment.net_captured - int(pending["total"] or 0)
        if not 0 < amount <= refundable:
            raise ValidationFailed(
                _("A refund must be more than zero and at most %(max)s.")
                % {"max": f"{refundable // 100}.{refundable % 100:02d}"},
                details={"fields": {"refund_amount": [_("Too large or not positive.")]}},
            )
        refund = Refund.objects.create(
            payment=payment, amount=amount, reason=reason[:200], created_by=actor, idempotency_key=new_key()
        )
    try:
        result = gateway.refund_create(
            intent_id=payment.intent_id,
            amount=amount,
            currency=payment.currency,
            idempotency_key=refund.idempotency_key,
        )
    except DomainError:
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED)
        raise
    with transaction.atomic():
        order = lock_order(order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status == RefundStatus.PENDING:
            refund.status = RefundStatus.SUCCEEDED
            refund.stripe_refund_id = result.id
            refund.save()
            payment.amount_refunded += amount
            payment.save()
            assert order is not None  # noqa: S101
            ledger_refund(order=order, refund_key=f"refund:{refund.pk}", amount=amount)
    return refund


def payment_give_back(*, order_id: int, reason: str, actor: User | None = None) -> Payment | None:
    """Return all of the buyer's money: release the hold if it is only authorised,
    refund what was captured (into escrow or after completion)."""
    payment = live_card_payment(order_id)
    if payment is None:
        return None
    if payment.status in VOIDABLE:
        if not payment.intent_id:
            Payment.objects.filter(pk=payment.pk, intent_id="").update(
                status=PaymentStatus.CANCELLED, cancelled_at=timezone.now()
            )
            return payment
        try:
            intent = gateway.intent_cancel(intent_id=payment.intent_id)
        except PaymentError:
            intent = gateway.intent_retrieve(payment.intent_id)
        payment = payment_apply_intent(intent=intent, source="give_back") or payment
    if payment.status == PaymentStatus.CAPTURED:
        pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).aggregate(total=Sum("amount"))
        remaining = payment.net_captured - int(pending["total"] or 0)
        if remaining > 0:
            payment_refund(order_id=order_id, amount=remaining, reason=reason, actor=actor)
            payment.refresh_from_db()
    return payment


def payment_void_for_ended_order(*, order_id: int) -> None:
    """An order was cancelled or refunded: make sure the buyer's card is not charged."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status not in ENDED_STATUSES:
        return
    payment_give_back(order_id=order_id, reason=f"order {order.get_status_display()}")


def _void_after_commit(order_id: int) -> None:
    from marketplace.tasks import payment_void_task

    task_enqueue_on_commit(payment_void_task, order_id=order_id)


def payments_capture_expiring(*, now: dt.datetime | None = None) -> list[int]:
    """Capture, into escrow, authorisations about to lapse on orders still open."""
    now = now or timezone.now()
    limit = now - dt.timedelta(hours=settings.MARKETPLACE_CARD_CAPTURE_AFTER_HOURS)
    due = Payment.objects.filter(
        provider=PaymentProvider.STRIPE, status=PaymentStatus.AUTHORISED, authorised_at__lte=limit
    ).exclude(order__status__in=list(ENDED_STATUSES))
    captured = []
    for payment in due.order_by("pk"):
        try:
            payment_capture(order_id=payment.order_id)
        except DomainError as exc:
            logger.warning("Could not capture payment %s before its authorisation lapses: %s", payment.pk, exc)
            continue
        captured.append(payment.order_id)
        order = Order.objects.select_related("buyer").get(pk=payment.order_id)
        notify_parties(
            order,
            kind="payment_escrow",
            buyer=(
                gettext_lazy("Payment taken into escrow: %(title)s"),
                gettext_lazy(
                    "Card holds last only a few days, so the platform has now taken the payment for order "
                    "#%(number)s “%(title)s”. It stays in escrow: the seller is paid only when you confirm "
                    "receipt, and you get it back if the order is cancelled, returned or a dispute is upheld."
                ),
            ),
        )
    return captured


def payments_reconcile(*, now: dt.datetime | None = None) -> list[int]:
    """Fetch from Stripe the state of payments that look stuck (pending for a while, or
    still held on an ended order) and apply it."""
    now = now or timezone.now()
    limit = now - dt.timedelta(minutes=settings.MARKETPLACE_PAYMENT_RECONCILE_AFTER_MINUTES)
    waiting = Q(status__in=[PaymentStatus.PENDING, PaymentStatus.ACTION_REQUIRED])
    ended = Q(order__status__in=list(ENDED_STATUSES))
    held_for_nothing = ended & (
        Q(status=PaymentStatus.AUTHORISED) | Q(status=PaymentStatus.CAPTURED, amount_refunded__lt=F("amount_captured"))
    )
    stuck = Payment.objects.filter(waiting | held_for_nothing, provider=PaymentProvider.STRIPE, updated_at__lte=limit)
    done = []
    for payment in stuck.order_by("pk"):
        try:
            if not payment.intent_id:
                _ensure_intent(payment)
            intent = gateway.intent_retrieve(payment.intent_id)
            payment_apply_intent(intent=intent, source="reconcile")
            payment_void_for_ended_order(order_id=payment.order_id)
        except DomainError as exc:
            logger.warning("Could not reconcile payment %s: %s", payment.pk, exc)
            continue
        Payment.objects.filter(pk=payment.pk).update(updated_at=now)
        done.append(payment.pk)
    return done
