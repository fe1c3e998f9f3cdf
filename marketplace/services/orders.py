"""Buying: placing an order (which reserves the listing), cash hand-over with a code,
shipping, confirming receipt, cancellation, seven-day no-reason returns, disputes and
the timers that move orders on by themselves. Orders held because what vouched for the
item was revoked are in marketplace.services.holds (re-exported here).

Reserving a one-off item locks the listing row (`select_for_update`), checks it is
still published and moves it to "reserved" in the same transaction; a constraint
allows one open order per listing as well. Stripe is never called while a lock is held
(see marketplace.services.payments)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    DeliveryMethod,
    Dispute,
    DisputeEvidence,
    DisputeKind,
    DisputeStatus,
    Listing,
    ListingStatus,
    Offer,
    Order,
    OrderStatus,
    Party,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentStatus,
    User,
)
from marketplace.models.orders import BEFORE_HANDOVER, ENDED_STATUSES, WITH_BUYER
from marketplace.payments.stripe_gateway import card_payments_enabled
from marketplace.services import payments
from marketplace.services.holds import HoldDecision as HoldDecision
from marketplace.services.holds import hold_can_resume as hold_can_resume
from marketplace.services.holds import listing_take_off_sale as listing_take_off_sale
from marketplace.services.holds import order_hold_cancel_locked
from marketplace.services.holds import order_hold_decide as order_hold_decide
from marketplace.services.ledger import ledger_buyer_payment, ledger_cash_settlement, ledger_release
from marketplace.services.listings import listing_can_manage
from marketplace.services.notifications import moderators, notify
from marketplace.services.order_state import (
    category_policy,
    confirm_after,
    is_buyer,
    is_seller,
    listing_settle,
    lock_order,
    notify_parties,
    order_cancel_record,
    order_create,
    order_transition,
    seller_deadline,
    send_after_commit,
)
from marketplace.services.photos import clean_image
from marketplace.signals import dispute_resolved, order_completed, shipment_late

logger = logging.getLogger(__name__)

HANDSHAKE_MAX_FAILURES = 5
DISPUTE_MAX_PHOTOS = 6
DELIVERY_FIELDS = {
    DeliveryMethod.SHIP: "delivery_ship",
    DeliveryMethod.PICKUP: "delivery_pickup",
    DeliveryMethod.EVENT: "delivery_event",
}


# --- Snapshots -------------------------------------------------------------------------------

SnapshotProvider = Callable[[Listing], dict[str, Any]]


@functools.cache
def snapshot_providers() -> tuple[SnapshotProvider, ...]:
    return tuple(import_string(path) for path in getattr(settings, "MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS", []))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS":
        snapshot_providers.cache_clear()


setting_changed.connect(_reset)


# The consignor's share of a consignment sale: a dotted path in settings to a callable
# (listing, amount) -> basis points or None; None falls back to MARKETPLACE_CONSIGNOR_SHARE_BP.
ConsignorShareProvider = Callable[[Listing, int], int | None]


@functools.cache
def consignor_share_provider() -> ConsignorShareProvider | None:
    path = getattr(settings, "MARKETPLACE_CONSIGNOR_SHARE_PROVIDER", "")
    return import_string(path) if path else None


def _reset_share(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_CONSIGNOR_SHARE_PROVIDER":
        consignor_share_provider.cache_clear()


setting_changed.connect(_reset_share)


def consignor_share_bp(listing: Listing, amount: int) -> int:
    """The consignor's share of this sale in basis points, fixed on the order."""
    if not listing.consignor_id:
        return 0
    provider = consignor_share_provider()
    share = provider(listing, amount) if provider is not None else None
    return int(settings.MARKETPLACE_CONSIGNOR_SHARE_BP if share is None else share)


# Checks other apps add before an order is placed (credit: low-tier buyers and cash on
# pickup): dotted paths in settings.MARKETPLACE_ORDER_CHECKS of callables
# (*, buyer, listing, delivery_method, payment_method) that raise a DomainError to refuse.
OrderCheck = Callable[..., None]


@functools.cache
def order_checks() -> tuple[OrderCheck, ...]:
    return tuple(import_string(path) for path in getattr(settings, "MARKETPLACE_ORDER_CHECKS", []))


def _reset_checks(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_ORDER_CHECKS":
        order_checks.cache_clear()


setting_changed.connect(_reset_checks)


def run_order_checks(*, buyer: User, listing: Listing, delivery_method: str, payment_method: str) -> None:
    for check in order_checks():
        check(buyer=buyer, listing=listing, delivery_method=delivery_method, payment_method=payment_method)


def listing_snapshot(listing: Listing) -> dict[str, Any]:
    """What the buyer saw: price, category, place, and what other apps add (grade,
    erasure certificate) through settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS."""
    snapshot: dict[str, Any] = {
        "listing_id": listing.pk,
        "title": listing.title,
        "category": listing.category,
        "price": listing.price,
        "currency": listing.currency,
        "city": listing.city,
        "district": listing.district,
        "description": listing.description[:2000],
        "grade": None,
        "certificate": None,
    }
    for provider in snapshot_providers():
        snapshot.update(provider(listing))
    return snapshot


# --- Reading -----------------------------------------------------------------------------------


def order_party(user: User, order: Order) -> str:
    """ "buyer", "seller", "moderator" (staff) or "" for anyone else."""
    if is_buyer(user, order):
        return Party.BUYER
    if is_seller(user, order):
        return Party.SELLER
    if user.is_authenticated and user.is_staff:
        return Party.MODERATOR
    return ""


def order_get_for_party(*, user: User, order_id: int) -> Order:
    """The order, for its buyer, its seller and moderators; NotFound for anyone else."""
    order = (
        Order.objects.select_related("listing", "buyer", "seller_user", "seller_organisation", "consignor")
        .filter(pk=order_id)
        .first()
    )
    if order is None or not order_party(user, order):
        raise NotFound(_("No such order."))
    return order


def _locked_for(user: User, order_id: int) -> tuple[Order, str]:
    order = lock_order(order_id)
    party = order_party(user, order) if order is not None else ""
    if order is None or not party:
        raise NotFound(_("No such order."))
    return order, party


def _relock(order_id: int) -> Order:
    order = lock_order(order_id)
    if order is None:
        raise NotFound(_("No such order."))
    return order


def _require(party: str, *allowed: str, message: str) -> None:
    if party not in allowed:
        raise PermissionDenied(message)


def _wrong_status(order: Order, message: str, code: str = "order_wrong_status") -> Conflict:
    return Conflict(message, code=code, details={"status": order.status})


# --- Placing an order ---------------------------------------------------------------------


def delivery_choices(listing: Listing) -> list[str]:
    return [method for method, field in DELIVERY_FIELDS.items() if getattr(listing, field)]


def payment_choices(listing: Listing, delivery_method: str | None = None) -> list[str]:
    """Card when Stripe is configured; cash only for pickup and events."""
    choices: list[str] = []
    if card_payments_enabled():
        choices.append(PaymentMethod.CARD)
    in_person = (
        listing.delivery_pickup or listing.delivery_event
        if delivery_method is None
        else delivery_method in (DeliveryMethod.PICKUP, DeliveryMethod.EVENT)
    )
    if in_person:
        choices.append(PaymentMethod.CASH)
    return choices


def order_arrangements(listing: Listing) -> list[tuple[str, str]]:
    """Every (delivery, payment) pair a buyer may choose for this listing, in the order
    the buy form offers them: the first is its default, so it is always a valid one."""
    return [
        (delivery, payment) for delivery in delivery_choices(listing) for payment in payment_choices(listing, delivery)
    ]


def check_delivery_and_payment(listing: Listing, delivery_method: str, payment_method: str) -> None:
    fields: dict[str, list[str]] = {}
    if delivery_method not in delivery_choices(listing):
        fields["delivery_method"] = [
            _("The seller offers: %(choices)s.")
            % {"choices": ", ".join(str(DeliveryMethod(c).label) for c in delivery_choices(listing))}
        ]
    elif payment_method not in payment_choices(listing, delivery_method):
        if payment_method == PaymentMethod.CASH:
            fields["payment_method"] = [_("Cash is only possible for local pickup and at events.")]
        elif payment_method == PaymentMethod.CARD:
            fields["payment_method"] = [_("Card payment is not available here; choose cash at hand-over.")]
        else:
            fields["payment_method"] = [_("Choose card or cash.")]
    if fields:
        raise ValidationFailed(_("Choose how to receive and pay for the item."), details={"fields": fields})


def _listing_unavailable(listing: Listing) -> Conflict:
    if listing.status == ListingStatus.RESERVED:
        return Conflict(
            _("Someone else is buying this item right now. It becomes available again if their order is cancelled."),
            code="listing_reserved",
        )
    if listing.status == ListingStatus.SOLD:
        return Conflict(_("This item is sold."), code="listing_sold")
    return Conflict(_("This item is not for sale any more."), code="listing_not_available")


def _handshake_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@transaction.atomic
def order_place(
    *,
    buyer: User,
    listing_id: int,
    delivery_method: str,
    payment_method: str,
    idempotency_key: str = "",
    offer: Offer | None = None,
) -> Order:
    """Buy a published listing: reserve it and create the order at the asking price (or
    the accepted offer's). A repeated request with the same idempotency key returns the
    first order."""
    idempotency_key = (idempotency_key or "").strip()[:64]
    if not buyer.is_authenticated:
        raise PermissionDenied(_("Log in to buy."))
    listing = (
        Listing.objects.select_for_update(of=("self",))
        .select_related("seller_user", "seller_organisation", "consignor")
        .filter(pk=listing_id)
        .first()
    )
    if listing is None or not listing.is_public:
        raise NotFound(_("No such listing."))
    if idempotency_key:
        # Checked under the listing's lock, so a retry that raced the first request sees it.
        earlier = Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.listing_id != listing.pk:
                raise Conflict(_("This request key was already used for another order."), code="idempotency_key_reused")
            return earlier
    if listing_can_manage(user=buyer, listing=listing):
        raise PermissionDenied(_("You cannot buy your own listing."))
    if listing.status != ListingStatus.PUBLISHED:
        raise _listing_unavailable(listing)
    check_delivery_and_payment(listing, delivery_method, payment_method)
    run_order_checks(buyer=buyer, listing=listing, delivery_method=delivery_method, payment_method=payment_method)
    now = timezone.now()
    snapshot = listing_snapshot(listing)
    amount = offer.amount if offer is not None else listing.price
    snapshot["paid_price"] = amount
    card = payment_method == PaymentMethod.CARD
    fields: dict[str, Any] = {
        "listing": listing,
        "buyer": buyer,
        "seller_user": listing.seller_user,
        "seller_organisation": listing.seller_organisation,
        "consignor": listing.consignor,
        "delivery_method": delivery_method,
        "payment_method": payment_method,
        "amount": amount,
        "currency": listing.currency,
        "platform_fee_bp": settings.MARKETPLACE_PLATFORM_FEE_BP if card else settings.MARKETPLACE_OFFLINE_FEE_BP,
        "consignor_share_bp": consignor_share_bp(listing, amount),
        "title": listing.title,
        "snapshot": snapshot,
        "idempotency_key": idempotency_key,
    }
    if delivery_method in (DeliveryMethod.PICKUP, DeliveryMethod.EVENT):
        fields["handshake_code"] = _handshake_code()
    listing_transition_reserved(listing=listing, buyer=buyer)
    try:
        with transaction.atomic():
            if card:
                order = order_create(
                    initial_status=OrderStatus.PENDING_PAYMENT,
                    actor=buyer,
                    payment_due_at=now + dt.timedelta(minutes=settings.MARKETPLACE_ORDER_PAYMENT_WINDOW_MINUTES),
                    **fields,
                )
            else:
                order = order_create(initial_status=OrderStatus.AWAITING_HANDOVER, actor=buyer, **fields)
                order.seller_due_at = seller_deadline(order, now)
                order.save()
    except IntegrityError as exc:
        # The listing lock makes this unreachable for a one-off item; the constraint is the backstop.
        raise _listing_unavailable(listing) from exc
    if card:
        buyer_text = gettext_lazy(
            "You ordered “%(title)s” (order #%(number)s). Pay with your card within %(minutes)s minutes; the "
            "money is held and the seller is paid only after you confirm receipt."
        )
        seller_text = gettext_lazy(
            "%(buyer)s ordered “%(title)s” (order #%(number)s). Wait for the payment before you ship or hand it over."
        )
    else:
        buyer_text = gettext_lazy(
            "You ordered “%(title)s” (order #%(number)s) and pay in cash at the hand-over. Show the seller your "
            "hand-over code from the order page when you receive the item, not before."
        )
        seller_text = gettext_lazy(
            "%(buyer)s ordered “%(title)s” (order #%(number)s) and pays in cash at the hand-over. Arrange the "
            "meeting through the order's messages; enter the buyer's hand-over code when they pay."
        )
    notify_parties(
        order,
        kind="order_placed",
        buyer=(gettext_lazy("Order placed: %(title)s"), buyer_text),
        seller=(gettext_lazy("New order: %(title)s"), seller_text),
        params={"buyer": buyer.public_name, "minutes": settings.MARKETPLACE_ORDER_PAYMENT_WINDOW_MINUTES},
    )
    return order


def listing_transition_reserved(*, listing: Listing, buyer: User) -> None:
    from marketplace.services.lifecycle import listing_transition

    listing_transition(listing=listing, to_status=ListingStatus.RESERVED, actor=buyer, reason="order placed")


# --- Cancelling -----------------------------------------------------------------------------


def order_cancel_locked(*, order: Order, actor: User | None, by: str, at_fault: str, reason: str) -> Order:
    """Cancel `order` (locked by the caller): release the listing, give the money back
    after commit, tell both parties and the credit system."""
    order_cancel_record(order=order, actor=actor, by=by, at_fault=at_fault, reason=reason)
    listing_settle(order=order, to_status=ListingStatus.PUBLISHED, actor=actor, reason=f"order {order.pk} cancelled")
    notify_parties(
        order,
        kind="order_cancelled",
        buyer=(
            gettext_lazy("Order cancelled: %(title)s"),
            gettext_lazy(
                "Order #%(number)s “%(title)s” was cancelled (%(reason)s). Any money held on your card is released."
            ),
        ),
        seller=(
            gettext_lazy("Order cancelled: %(title)s"),
            gettext_lazy("Order #%(number)s “%(title)s” was cancelled (%(reason)s). The listing is on sale again."),
        ),
        params={"reason": reason},
    )
    return order


@transaction.atomic
def order_cancel(*, actor: User, order_id: int, reason: str = "") -> Order:
    """The buyer or the seller cancels before the item is shipped or handed over. An
    order on hold is cancelled by its buyer (or a moderator) only, with a full refund and
    nobody at fault."""
    order, party = _locked_for(actor, order_id)
    if order.status == OrderStatus.ON_HOLD:
        _require(
            party,
            Party.BUYER,
            Party.MODERATOR,
            message=_("The order is on hold: the buyer may cancel it, or a moderator decides."),
        )
        return order_hold_cancel_locked(order=order, actor=actor, by=party, note=(reason or "").strip()[:500])
    if order.status not in BEFORE_HANDOVER:
        raise _wrong_status(
            order,
            _(
                "Only an order that was not shipped or handed over yet can be cancelled. Ask for a return or open "
                "a dispute instead."
            ),
            "order_not_cancellable",
        )
    at_fault = party if party in (Party.BUYER, Party.SELLER) else ""
    # A buyer who cancels before paying has cost the seller nothing.
    if party == Party.BUYER and order.status == OrderStatus.PENDING_PAYMENT:
        at_fault = ""
    default = {
        Party.BUYER: _("cancelled by the buyer"),
        Party.SELLER: _("cancelled by the seller"),
        Party.MODERATOR: _("cancelled by a moderator"),
    }[Party(party)]
    reason = (reason or "").strip()[:500] or str(default)
    return order_cancel_locked(order=order, actor=actor, by=party, at_fault=at_fault, reason=reason)


# --- Shipping and hand-over --------------------------------------------------------------------


@transaction.atomic
def order_ship(*, seller: User, order_id: int, carrier: str, tracking_number: str) -> Order:
    order, party = _locked_for(seller, order_id)
    _require(party, Party.SELLER, message=_("Only the seller ships an order."))
    if order.delivery_method != DeliveryMethod.SHIP:
        raise _wrong_status(order, _("This order is handed over in person, not shipped."), "order_not_shipped")
    if order.status != OrderStatus.PAID:
        raise _wrong_status(order, _("Only a paid order that is not shipped yet can be shipped."))
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    fields = {}
    if not carrier:
        fields["carrier"] = [_("Which carrier ships it?")]
    if not tracking_number:
        fields["tracking_number"] = [_("Enter the tracking number so the buyer can follow the parcel.")]
    if fields:
        raise ValidationFailed(_("Some fields need your attention."), details={"fields": fields})
    now = timezone.now()
    order_transition(order=order, to_status=OrderStatus.SHIPPED, actor=seller, reason="shipped")
    order.tracking_carrier = carrier[:60]
    order.tracking_number = tracking_number[:60]
    order.shipped_at = now
    order.seller_due_at = None
    order.confirm_due_at = now + confirm_after(order)
    order.save()
    notify_parties(
        order,
        kind="order_shipped",
        buyer=(
            gettext_lazy("Shipped: %(title)s"),
            gettext_lazy(
                "Order #%(number)s “%(title)s” was shipped with %(carrier)s, tracking number %(tracking)s. "
                "Confirm receipt when it arrives, or ask for a return or open a dispute before %(due)s; after "
                "that the order confirms itself and the seller is paid."
            ),
        ),
        seller=(
            gettext_lazy("Shipped: %(title)s"),
            gettext_lazy("You shipped order #%(number)s “%(title)s” (%(carrier)s %(tracking)s)."),
        ),
        params={
            "carrier": order.tracking_carrier,
            "tracking": order.tracking_number,
            "due": timezone.localtime(order.confirm_due_at).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return order


def _handshake(*, seller: User, order_id: int, code: str) -> tuple[Order, bool]:
    with transaction.atomic():
        order, party = _locked_for(seller, order_id)
        _require(party, Party.SELLER, message=_("Only the seller enters the hand-over code."))
        if not order.in_person:
            raise _wrong_status(order, _("This order is shipped, not handed over in person."), "order_not_in_person")
        expected = OrderStatus.AWAITING_HANDOVER if order.payment_method == PaymentMethod.CASH else OrderStatus.PAID
        if order.status != expected:
            if order.status == OrderStatus.PENDING_PAYMENT:
                raise _wrong_status(order, _("Wait until the buyer has paid before you hand the item over."))
            raise _wrong_status(order, _("This order is not waiting for a hand-over."))
        if order.handshake_failures >= HANDSHAKE_MAX_FAILURES:
            raise Conflict(
                _("Too many wrong codes were entered. The order is locked; ask a moderator for help."),
                code="handshake_locked",
            )
        given = "".join(ch for ch in (code or "") if ch.isdigit())
        if not hmac.compare_digest(given.encode(), order.handshake_code.encode()):
            order.handshake_failures += 1
            order.save()
            return order, False
        if order.payment_method == PaymentMethod.CASH:
            _complete_cash(order=order, seller=seller)
        else:
            now = timezone.now()
            order_transition(order=order, to_status=OrderStatus.HANDED_OVER, actor=seller, reason="handed over")
            order.handed_over_at = now
            order.seller_due_at = None
            order.confirm_due_at = now + confirm_after(order)
            order.save()
            notify_parties(
                order,
                kind="order_handed_over",
                buyer=(
                    gettext_lazy("Handed over: %(title)s"),
                    gettext_lazy(
                        "You received order #%(number)s “%(title)s”. Confirm receipt, or open a dispute before "
                        "%(due)s; after that the order confirms itself and the seller is paid."
                    ),
                ),
                seller=(
                    gettext_lazy("Handed over: %(title)s"),
                    gettext_lazy(
                        "You handed over order #%(number)s “%(title)s”. You are paid when the buyer confirms "
                        "receipt, at the latest on %(due)s."
                    ),
                ),
                params={"due": timezone.localtime(order.confirm_due_at).strftime("%Y-%m-%d %H:%M")},
            )
        return order, True


def order_handover_confirm(*, seller: User, order_id: int, code: str) -> Order:
    """At a pickup or an event, the seller enters the code the buyer shows: cash orders
    complete there and then; card orders start their (short) auto-confirm timer."""
    order, ok = _handshake(seller=seller, order_id=order_id, code=code)
    if not ok:
        left = HANDSHAKE_MAX_FAILURES - order.handshake_failures
        raise ValidationFailed(
            _("That is not the buyer's hand-over code (%(left)d tries left).") % {"left": left},
            code="handshake_wrong",
            details={"fields": {"code": [_("Wrong code.")]}},
        )
    return order


def _complete_cash(*, order: Order, seller: User) -> None:
    payment = Payment.objects.create(
        order=order,
        provider=PaymentProvider.CASH,
        status=PaymentStatus.CAPTURED,
        amount=order.amount,
        currency=order.currency,
        amount_captured=order.amount,
        idempotency_key=payments.new_key(),
        authorised_at=timezone.now(),
        captured_at=timezone.now(),
    )
    ledger_buyer_payment(order=order, payment=payment, amount=order.amount)
    order.handed_over_at = timezone.now()
    _complete_locked(order=order, actor=seller, reason=gettext_lazy("paid in cash at hand-over"))
    ledger_cash_settlement(order=order)


# --- Completing ----------------------------------------------------------------------------


def _complete_locked(*, order: Order, actor: User | None, reason: str | Promise) -> Order:
    """The buyer has the item and the seller is paid: release the escrow, mark the
    listing sold, tell both parties and the credit system."""
    ledger_release(order=order)
    # The history keeps the reason as written (English, like the other history reasons);
    # notifications translate it for each reader.
    with translation.override(None):
        history_reason = str(reason)
    order_transition(order=order, to_status=OrderStatus.COMPLETED, actor=actor, reason=history_reason)
    order.completed_at = timezone.now()
    order.confirm_due_at = order.seller_due_at = None
    order.timer_remaining = None
    order.save()
    listing_settle(order=order, to_status=ListingStatus.SOLD, actor=actor, reason=f"order {order.pk} completed")
    notify_parties(
        order,
        kind="order_completed",
        buyer=(
            gettext_lazy("Completed: %(title)s"),
            gettext_lazy("Order #%(number)s “%(title)s” is completed (%(reason)s). Thank you for buying second-hand."),
        ),
        seller=(
            gettext_lazy("Completed: %(title)s"),
            gettext_lazy("Order #%(number)s “%(title)s” is completed (%(reason)s). Your money is released to you.")
            if order.is_card
            # Cash went from hand to hand: the platform never held it, so it releases nothing.
            else gettext_lazy(
                "Order #%(number)s “%(title)s” is completed (%(reason)s). The buyer paid you in cash at the "
                "hand-over; the platform never held this money."
            ),
        ),
        params={"reason": reason},
    )
    send_after_commit(order_completed, order_id=order.pk)
    return order


def _finish_with_capture(*, order_id: int, actor: User | None, reason: str | Promise, allowed: frozenset[str]) -> Order:
    """Capture the held card money (no lock held), then re-lock and complete."""
    order = Order.objects.get(pk=order_id)
    if order.is_card:
        payments.payment_capture(order_id=order_id)
    with transaction.atomic():
        order = _relock(order_id)
        if order.status == OrderStatus.COMPLETED:
            return order
        if order.status not in allowed:
            raise _wrong_status(order, _("The order changed in the meantime; reload the page."), "order_changed")
        return _complete_locked(order=order, actor=actor, reason=reason)


def order_confirm_receipt(*, buyer: User, order_id: int) -> Order:
    """The buyer has the item and is happy: the held money is captured and released."""
    with transaction.atomic():
        order, party = _locked_for(buyer, order_id)
        _require(party, Party.BUYER, message=_("Only the buyer confirms receipt."))
        if order.status not in WITH_BUYER:
            raise _wrong_status(order, _("Only a shipped or handed-over order can be confirmed."))
    return _finish_with_capture(
        order_id=order_id, actor=buyer, reason=gettext_lazy("buyer confirmed receipt"), allowed=WITH_BUYER
    )


# --- Returns --------------------------------------------------------------------------------


def return_allowed(order: Order, now: dt.datetime | None = None) -> bool:
    """Seven-day no-reason returns: shipped online orders paid by card, in categories
    that allow them, until seven days after receipt."""
    now = now or timezone.now()
    if order.delivery_method != DeliveryMethod.SHIP or not order.is_card:
        return False
    if not category_policy(order.listing.category).get("no_reason_return", False):
        return False
    if order.status == OrderStatus.SHIPPED:
        return True
    window = dt.timedelta(days=settings.MARKETPLACE_ORDER_RETURN_WINDOW_DAYS)
    return (
        order.status == OrderStatus.COMPLETED and order.completed_at is not None and now <= order.completed_at + window
    )


def _pause_timer(order: Order, now: dt.datetime) -> None:
    if order.confirm_due_at is not None:
        order.timer_remaining = max(order.confirm_due_at - now, dt.timedelta(0))
        order.confirm_due_at = None


@transaction.atomic
def order_return_request(*, buyer: User, order_id: int, reason: str = "") -> Order:
    order, party = _locked_for(buyer, order_id)
    _require(party, Party.BUYER, message=_("Only the buyer asks for a return."))
    if not return_allowed(order):
        raise _wrong_status(
            order,
            _(
                "A no-reason return is possible for shipped orders, within %(days)d days of receipt, except "
                "vehicles. Open a dispute if the item is not as described."
            )
            % {"days": settings.MARKETPLACE_ORDER_RETURN_WINDOW_DAYS},
            "return_not_allowed",
        )
    now = timezone.now()
    order_transition(order=order, to_status=OrderStatus.RETURN_REQUESTED, actor=buyer, reason="no-reason return")
    _pause_timer(order, now)
    order.return_reason = (reason or "").strip()[:2000]
    order.return_requested_at = now
    order.save()
    notify_parties(
        order,
        kind="order_return_requested",
        buyer=(
            gettext_lazy("Return requested: %(title)s"),
            gettext_lazy(
                "You asked to return order #%(number)s “%(title)s”. Send it back to the seller and enter the "
                "return tracking number on the order page within %(days)s days, or the return lapses; you are "
                "refunded when the seller receives it."
            ),
        ),
        seller=(
            gettext_lazy("Return requested: %(title)s"),
            gettext_lazy(
                "The buyer returns order #%(number)s “%(title)s” (seven-day no-reason return). Confirm on the "
                "order page when the item is back with you; the buyer is then refunded."
            ),
        ),
        params={"days": settings.MARKETPLACE_ORDER_RETURN_SEND_DAYS},
    )
    return order


@transaction.atomic
def order_return_ship(*, buyer: User, order_id: int, tracking_number: str) -> Order:
    order, party = _locked_for(buyer, order_id)
    _require(party, Party.BUYER, message=_("Only the buyer sends a return."))
    if order.status != OrderStatus.RETURN_REQUESTED:
        raise _wrong_status(order, _("No return was requested for this order."))
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise ValidationFailed(
            _("Enter the return tracking number."), details={"fields": {"tracking_number": [_("Required.")]}}
        )
    order.return_tracking = tracking_number[:60]
    # The seller confirms the return arrived by then, or the buyer is refunded anyway.
    order.seller_due_at = timezone.now() + dt.timedelta(days=settings.MARKETPLACE_ORDER_RETURN_RECEIVE_DAYS)
    order.save()
    notify_parties(
        order,
        kind="order_return_shipped",
        buyer=(
            gettext_lazy("Return sent: %(title)s"),
            gettext_lazy("You sent back order #%(number)s “%(title)s” (tracking %(tracking)s)."),
        ),
        seller=(
            gettext_lazy("Return on its way: %(title)s"),
            gettext_lazy(
                "The buyer sent back order #%(number)s “%(title)s” (tracking %(tracking)s). Confirm when it arrives, "
                "by %(due)s at the latest: after that the buyer is refunded automatically."
            ),
        ),
        params={
            "tracking": order.return_tracking,
            "due": timezone.localtime(order.seller_due_at).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return order


def _refund_and_close(
    *, order_id: int, actor: User | None, reason: str, allowed: frozenset[str], then: Callable[[Order], None]
) -> Order:
    """Give all the money back (no lock held), then re-lock, mark the order refunded and
    run `then` in the same transaction."""
    payments.payment_give_back(order_id=order_id, reason=reason, actor=actor)
    with transaction.atomic():
        order = _relock(order_id)
        if order.status not in allowed:
            raise _wrong_status(order, _("The order changed in the meantime; reload the page."), "order_changed")
        order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=actor, reason=reason)
        order.confirm_due_at = order.seller_due_at = None
        order.timer_remaining = None
        order.save()
        then(order)
        return order


def order_return_receive(*, seller: User, order_id: int) -> Order:
    """The returned item is back with the seller: the buyer gets all their money back
    and the listing goes back on sale."""
    with transaction.atomic():
        order, party = _locked_for(seller, order_id)
        _require(party, Party.SELLER, message=_("Only the seller confirms that a return arrived."))
        if order.status != OrderStatus.RETURN_REQUESTED:
            raise _wrong_status(order, _("No return was requested for this order."))
        if not order.return_tracking:
            raise _wrong_status(order, _("The buyer has not sent the item back yet."), "return_not_shipped")

    def then(order: Order) -> None:
        listing_settle(
            order=order, to_status=ListingStatus.PUBLISHED, actor=seller, reason=f"order {order.pk} returned"
        )
        notify_parties(
            order,
            kind="order_refunded",
            buyer=(
                gettext_lazy("Refunded: %(title)s"),
                gettext_lazy(
                    "The seller received your return of order #%(number)s “%(title)s”; you are refunded in full."
                ),
            ),
            seller=(
                gettext_lazy("Return completed: %(title)s"),
                gettext_lazy("Order #%(number)s “%(title)s” was returned and refunded; the listing is on sale again."),
            ),
        )

    return _refund_and_close(
        order_id=order_id,
        actor=seller,
        reason=str(_("item returned")),
        allowed=frozenset({OrderStatus.RETURN_REQUESTED}),
        then=then,
    )


# --- Disputes -------------------------------------------------------------------------------


def dispute_allowed(order: Order, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    if not order.is_card:
        return False
    if order.status in (OrderStatus.SHIPPED, OrderStatus.HANDED_OVER, OrderStatus.RETURN_REQUESTED):
        return True
    window = dt.timedelta(days=settings.MARKETPLACE_ORDER_DISPUTE_WINDOW_DAYS)
    return (
        order.status == OrderStatus.COMPLETED and order.completed_at is not None and now <= order.completed_at + window
    )


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    width: int
    height: int


def dispute_open(
    *,
    buyer: User,
    order_id: int,
    kind: str,
    description: str,
    files: Sequence[tuple[IO[bytes], int, str]] = (),
) -> Dispute:
    """ "Not as described" or "not as graded", with evidence photos (metadata removed).
    The auto-confirm timer stops until a moderator decides."""
    fields: dict[str, list[str]] = {}
    if kind not in DisputeKind.values:
        fields["kind"] = [_("Choose what is wrong.")]
    description = (description or "").strip()
    if len(description) < 10:
        fields["description"] = [_("Describe what is wrong (at least 10 characters).")]
    if len(files) > DISPUTE_MAX_PHOTOS:
        fields["files"] = [_("At most %(count)d photos.") % {"count": DISPUTE_MAX_PHOTOS}]
    if fields:
        raise ValidationFailed(_("Some fields need your attention."), details={"fields": fields})
    photos = [CleanPhoto(*clean_image(upload, size=size, name=name)) for upload, size, name in files]
    with transaction.atomic():
        order, party = _locked_for(buyer, order_id)
        _require(party, Party.BUYER, message=_("Only the buyer opens a dispute."))
        if not dispute_allowed(order):
            raise _wrong_status(
                order,
                _(
                    "A dispute can be opened once the item was shipped or handed over, until %(days)d days after "
                    "the order completed, for card payments."
                )
                % {"days": settings.MARKETPLACE_ORDER_DISPUTE_WINDOW_DAYS},
                "dispute_not_allowed",
            )
        now = timezone.now()
        previous = order.status
        order_transition(order=order, to_status=OrderStatus.DISPUTED, actor=buyer, reason=f"dispute: {kind}")
        order.status_before_dispute = previous
        _pause_timer(order, now)
        order.save()
        dispute = Dispute.objects.create(order=order, opened_by=buyer, kind=kind, description=description[:5000])
        for index, photo in enumerate(photos):
            evidence = DisputeEvidence(
                dispute=dispute,
                sha256=hashlib.sha256(photo.data).hexdigest(),
                width=photo.width,
                height=photo.height,
                uploaded_by=buyer,
            )
            evidence.image.save(f"dispute-{dispute.pk}-{index}.jpg", ContentFile(photo.data), save=False)
            evidence.save()
        kind_label = DisputeKind(kind).label
        notify_parties(
            order,
            kind="dispute_opened",
            buyer=(
                gettext_lazy("Dispute opened: %(title)s"),
                gettext_lazy(
                    "Your dispute on order #%(number)s “%(title)s” (%(kind)s) is with the moderators. The money "
                    "stays held until they decide."
                ),
            ),
            seller=(
                gettext_lazy("Dispute opened: %(title)s"),
                gettext_lazy(
                    "The buyer says order #%(number)s “%(title)s” is %(kind)s. The money stays held until a "
                    "moderator decides; you can add your side in the order's messages."
                ),
            ),
            params={"kind": str(kind_label).lower()},
        )
        notify(
            users=moderators(),
            kind="dispute_opened",
            subject=gettext_lazy("New dispute on order #%(number)s"),
            body=gettext_lazy("Order #%(number)s “%(title)s”: %(kind)s. Resolve it in the admin."),
            params={"number": order.pk, "title": order.title, "kind": kind_label},
            link="/cms-admin/",
        )
        return dispute


class DisputeOutcome:
    REFUND_FULL = "refund_full"
    REFUND_PARTIAL = "refund_partial"
    REJECT = "reject"
    ALL = (REFUND_FULL, REFUND_PARTIAL, REJECT)


def dispute_resolve(
    *, moderator: User, dispute_id: int, outcome: str, refund_amount: int | None = None, note: str = ""
) -> Dispute:
    """A moderator decides: full refund (the order is refunded and the listing taken
    down for review), partial refund (the rest goes to the seller), or rejection (the
    order goes back where it was and its timer runs again)."""
    if not (moderator.is_authenticated and moderator.is_staff):
        raise PermissionDenied(_("Only moderators resolve disputes."))
    if outcome not in DisputeOutcome.ALL:
        raise ValidationFailed(_("Choose an outcome."), details={"fields": {"outcome": [_("Unknown outcome.")]}})
    note = (note or "").strip()
    with transaction.atomic():
        dispute = Dispute.objects.select_related("order").filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound(_("No such dispute."))
        order = lock_order(dispute.order_id)
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        assert order is not None  # noqa: S101
        if not dispute.is_open or order.status != OrderStatus.DISPUTED:
            raise Conflict(_("This dispute was already resolved."), code="dispute_closed")
        if outcome == DisputeOutcome.REFUND_PARTIAL and not (refund_amount and 0 < refund_amount < order.amount):
            raise ValidationFailed(
                _("A partial refund is more than zero and less than the price."),
                details={"fields": {"refund_amount": [_("Enter an amount below the price.")]}},
            )
        if dispute.resolved_at is not None:
            raise Conflict(_("Another moderator is resolving this dispute."), code="dispute_being_resolved")
        # Reserved: a second moderator (or a double click) cannot move the money twice.
        dispute.resolved_by = moderator
        dispute.resolved_at = timezone.now()
        dispute.save()
    # Money next, with no lock held.
    try:
        if outcome == DisputeOutcome.REFUND_FULL:
            payments.payment_give_back(order_id=order.pk, reason="dispute upheld", actor=moderator)
        elif outcome == DisputeOutcome.REFUND_PARTIAL:
            assert refund_amount is not None  # noqa: S101
            payments.payment_capture(order_id=order.pk)
            payments.payment_refund(
                order_id=order.pk, amount=refund_amount, reason="dispute: partial refund", actor=moderator
            )
    except DomainError:
        Dispute.objects.filter(pk=dispute_id, status=DisputeStatus.OPEN).update(resolved_by=None, resolved_at=None)
        raise
    with transaction.atomic():
        order = _relock(order.pk)
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if not dispute.is_open:
            raise Conflict(_("This dispute was already resolved."), code="dispute_closed")
        now = timezone.now()
        dispute.resolved_by = moderator
        dispute.resolved_at = now
        dispute.resolution_note = note[:5000]
        upheld = outcome != DisputeOutcome.REJECT
        if outcome == DisputeOutcome.REFUND_FULL:
            dispute.status = DisputeStatus.REFUNDED_FULL
            dispute.refund_amount = order.amount
            order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=moderator, reason="dispute upheld")
            order.timer_remaining = None
            order.save()
            listing_settle(
                order=order,
                to_status=ListingStatus.REJECTED,
                actor=moderator,
                reason=f"dispute on order {order.pk} upheld: {DisputeKind(dispute.kind).label}",
            )
        elif outcome == DisputeOutcome.REFUND_PARTIAL:
            dispute.status = DisputeStatus.REFUNDED_PARTIAL
            dispute.refund_amount = refund_amount
            _complete_locked(order=order, actor=moderator, reason=gettext_lazy("dispute settled with a partial refund"))
        else:
            dispute.status = DisputeStatus.REJECTED
            back = order.status_before_dispute or OrderStatus.SHIPPED
            order_transition(order=order, to_status=back, actor=moderator, reason="dispute rejected")
            if order.timer_remaining is not None and back in WITH_BUYER:
                order.confirm_due_at = now + order.timer_remaining
            order.timer_remaining = None
            order.save()
        dispute.save()
        amount_text = f"{(dispute.refund_amount or 0) // 100}.{(dispute.refund_amount or 0) % 100:02d}"
        outcome_text = {
            DisputeOutcome.REFUND_FULL: gettext_lazy("the buyer is refunded in full"),
            DisputeOutcome.REFUND_PARTIAL: gettext_lazy(
                "the buyer is refunded %(amount)s; the rest goes to the seller"
            ),
            DisputeOutcome.REJECT: gettext_lazy("the dispute is rejected and the order continues"),
        }[outcome]
        notify_parties(
            order,
            kind="dispute_resolved",
            buyer=(
                gettext_lazy("Dispute decided: %(title)s"),
                gettext_lazy("A moderator decided the dispute on order #%(number)s “%(title)s”: %(outcome)s. %(note)s"),
            ),
            seller=(
                gettext_lazy("Dispute decided: %(title)s"),
                gettext_lazy("A moderator decided the dispute on order #%(number)s “%(title)s”: %(outcome)s. %(note)s"),
            ),
            params={"outcome": _Formatted(outcome_text, {"amount": amount_text}), "note": note},
        )
        send_after_commit(
            dispute_resolved, order_id=order.pk, upheld=upheld, against=Party.SELLER if upheld else Party.BUYER
        )
        return dispute


class _Formatted:
    """A lazy translation with its own parameters, rendered in the recipient's language."""

    def __init__(self, text: Any, params: dict[str, Any]):
        self.text, self.params = text, params

    def __str__(self) -> str:
        text = str(self.text)
        return text % self.params if "%(" in text else text


# --- Timers -----------------------------------------------------------------------------------


@dataclass
class TimerReport:
    expired_unpaid: list[int]
    late_sellers: list[int]
    auto_confirmed: list[int]
    failed: list[int]
    returns_lapsed: list[int] = field(default_factory=list)
    returns_refunded: list[int] = field(default_factory=list)


def orders_run_timers(*, now: dt.datetime | None = None) -> TimerReport:
    """Cancel unpaid card orders past their payment window and orders the seller did not
    ship or hand over in time (releasing the money and the listing); confirm orders whose
    buyer neither confirmed nor complained in time."""
    now = now or timezone.now()
    report = TimerReport([], [], [], [])
    unpaid = Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, payment_due_at__lte=now).values_list(
        "pk", flat=True
    )
    for order_id in list(unpaid):
        try:
            # A payment the webhook has not told us about yet must not be lost.
            payments.payment_refresh(order_id=order_id)
        except DomainError as exc:
            logger.warning("Could not refresh the payment of order %s: %s", order_id, exc)
        with transaction.atomic():
            order = lock_order(order_id)
            if order is None or order.status != OrderStatus.PENDING_PAYMENT:
                continue
            order_cancel_locked(
                order=order, actor=None, by=Party.PLATFORM, at_fault=Party.BUYER, reason=str(_("not paid in time"))
            )
            report.expired_unpaid.append(order_id)

    late = Order.objects.filter(
        status__in=[OrderStatus.PAID, OrderStatus.AWAITING_HANDOVER], seller_due_at__lte=now
    ).values_list("pk", flat=True)
    for order_id in list(late):
        with transaction.atomic():
            order = lock_order(order_id)
            if order is None or order.status not in (OrderStatus.PAID, OrderStatus.AWAITING_HANDOVER):
                continue
            if order.seller_due_at is None or order.seller_due_at > now:
                continue
            if order.delivery_method == DeliveryMethod.SHIP:
                order_cancel_locked(
                    order=order,
                    actor=None,
                    by=Party.PLATFORM,
                    at_fault=Party.SELLER,
                    reason=str(_("not shipped in time")),
                )
                send_after_commit(shipment_late, order_id=order.pk)
            else:
                # Who missed an in-person meeting is not known: nobody is at fault.
                order_cancel_locked(
                    order=order, actor=None, by=Party.PLATFORM, at_fault="", reason=str(_("not handed over in time"))
                )
            report.late_sellers.append(order_id)

    due = Order.objects.filter(status__in=list(WITH_BUYER), confirm_due_at__lte=now).values_list("pk", flat=True)
    for order_id in list(due):
        try:
            _finish_with_capture(
                order_id=order_id, actor=None, reason=gettext_lazy("confirmed automatically"), allowed=WITH_BUYER
            )
        except DomainError as exc:
            logger.warning("Could not auto-confirm order %s: %s", order_id, exc)
            report.failed.append(order_id)
            continue
        report.auto_confirmed.append(order_id)

    _run_return_timers(now, report)
    return report


def _run_return_timers(now: dt.datetime, report: TimerReport) -> None:
    """A return the buyer never sent lapses (the order goes back where it was, its timer
    resumed); a return the seller never confirmed receiving is refunded anyway — the
    buyer proved they sent it, and the seller may still open a case with a moderator."""
    lapsed = Order.objects.filter(
        status=OrderStatus.RETURN_REQUESTED,
        return_tracking="",
        return_requested_at__lte=now - dt.timedelta(days=settings.MARKETPLACE_ORDER_RETURN_SEND_DAYS),
    ).values_list("pk", flat=True)
    for order_id in list(lapsed):
        with transaction.atomic():
            order = lock_order(order_id)
            if order is None or order.status != OrderStatus.RETURN_REQUESTED or order.return_tracking:
                continue
            back = OrderStatus.COMPLETED if order.completed_at is not None else OrderStatus.SHIPPED
            order_transition(order=order, to_status=back, actor=None, reason="return not sent in time")
            if back == OrderStatus.SHIPPED and order.timer_remaining is not None:
                order.confirm_due_at = now + order.timer_remaining
            order.timer_remaining = None
            order.save()
            notify_parties(
                order,
                kind="order_return_lapsed",
                buyer=(
                    gettext_lazy("Return lapsed: %(title)s"),
                    gettext_lazy(
                        "You did not send back order #%(number)s “%(title)s” in time, so the return request "
                        "lapsed and the order continues as before."
                    ),
                ),
                seller=(
                    gettext_lazy("Return lapsed: %(title)s"),
                    gettext_lazy(
                        "The buyer did not send back order #%(number)s “%(title)s” in time; the return request "
                        "lapsed and the order continues as before."
                    ),
                ),
            )
        report.returns_lapsed.append(order_id)

    unconfirmed = (
        Order.objects.filter(status=OrderStatus.RETURN_REQUESTED, seller_due_at__lte=now)
        .exclude(return_tracking="")
        .values_list("pk", flat=True)
    )
    for order_id in list(unconfirmed):

        def then(order: Order) -> None:
            # Nobody confirmed the item is back: the seller checks before it goes on sale again.
            listing_settle(
                order=order,
                to_status=ListingStatus.WITHDRAWN,
                actor=None,
                reason=f"order {order.pk} refunded without confirmed return",
            )
            notify_parties(
                order,
                kind="order_refunded",
                buyer=(
                    gettext_lazy("Refunded: %(title)s"),
                    gettext_lazy(
                        "The seller did not confirm receiving your return of order #%(number)s “%(title)s” in "
                        "time; you are refunded in full."
                    ),
                ),
                seller=(
                    gettext_lazy("Return refunded: %(title)s"),
                    gettext_lazy(
                        "You did not confirm receiving the return of order #%(number)s “%(title)s” in time, so the "
                        "buyer was refunded. The listing is withdrawn: republish it once the item is back. If it "
                        "never arrived, contact a moderator with the return tracking number."
                    ),
                ),
            )

        try:
            _refund_and_close(
                order_id=order_id,
                actor=None,
                reason=str(_("return not confirmed in time")),
                allowed=frozenset({OrderStatus.RETURN_REQUESTED}),
                then=then,
            )
        except DomainError as exc:
            logger.warning("Could not refund the unconfirmed return of order %s: %s", order_id, exc)
            report.failed.append(order_id)
            continue
        report.returns_refunded.append(order_id)


# --- Lists ------------------------------------------------------------------------------------


def orders_open_for_listing(*, listing_id: int) -> Order | None:
    return Order.objects.filter(listing_id=listing_id).exclude(status__in=list(ENDED_STATUSES)).first()


def has_order_together(*, listing_id: int, buyer_id: int) -> bool:
    """Whether this buyer has (or had) a real order for this listing: messages between
    them are then shown unmasked."""
    return (
        Order.objects.filter(listing_id=listing_id, buyer_id=buyer_id)
        .filter(~Q(status=OrderStatus.CANCELLED) | Q(paid_at__isnull=False))
        .exists()
    )


def order_available_actions(order: Order, party: str, now: dt.datetime | None = None) -> list[str]:
    """What `party` can do with the order now (the pages' buttons and the API's
    `actions`); each service checks again."""
    now = now or timezone.now()
    actions: list[str] = []
    status = order.status
    if party == Party.BUYER:
        if status == OrderStatus.PENDING_PAYMENT and order.is_card:
            actions.append("pay")
        if status in WITH_BUYER:
            actions.append("confirm_receipt")
        if return_allowed(order, now):
            actions.append("return")
        if status == OrderStatus.RETURN_REQUESTED:
            actions.append("return_ship")
        if dispute_allowed(order, now):
            actions.append("dispute")
    if party == Party.SELLER:
        if status == OrderStatus.PAID and order.delivery_method == DeliveryMethod.SHIP:
            actions.append("ship")
        if order.in_person and (
            (status == OrderStatus.PAID and order.is_card)
            or (status == OrderStatus.AWAITING_HANDOVER and not order.is_card)
        ):
            actions.append("handover")
        if status == OrderStatus.RETURN_REQUESTED and order.return_tracking:
            actions.append("return_receive")
    # A held order waits for its buyer or a moderator; the seller can do nothing with it.
    cancellers = (
        {Party.BUYER, Party.MODERATOR}
        if status == OrderStatus.ON_HOLD
        else {Party.BUYER, Party.SELLER, Party.MODERATOR}
    )
    if status in BEFORE_HANDOVER and party in cancellers:
        actions.append("cancel")
    return actions
