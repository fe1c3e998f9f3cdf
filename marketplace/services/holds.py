"""Taking a listing off sale because what vouched for it stopped being valid (its erasure
certificate or the provider key that signed it was revoked, say), and the orders held
because of it.

The plug-in that knows why (wipe_cert) calls `listing_take_off_sale` inside its own
transaction; the core never imports it. An order that was not shipped or handed over yet
is put on hold with its timers stopped: nothing may change hands until the buyer cancels
(a full refund, nobody at fault) or a moderator decides — cancel with a full refund, or
resume once the listing is valid again. An order already with the buyer goes on as usual,
and the buyer is told.

Locks are taken in the order used everywhere: the order first, then its listing."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Order, OrderStatus, Party, PaymentStatus, User
from marketplace.models.orders import ENDED_STATUSES, HOLDABLE
from marketplace.services.lifecycle import listing_transition
from marketplace.services.notifications import moderators, notify
from marketplace.services.order_state import (
    lock_order,
    notify_parties,
    order_cancel_record,
    order_mark_paid,
    order_transition,
    order_url,
    seller_deadline,
)
from marketplace.services.payments import live_card_payment

# A listing in one of these is valid (it passed every publication gate): a held order on
# it may resume.
VALID_AGAIN = frozenset({ListingStatus.READY, ListingStatus.PUBLISHED})
LOCK_ATTEMPTS = 3


class HoldDecision:
    CANCEL = "cancel"
    RESUME = "resume"
    ALL = (CANCEL, RESUME)


class _OpenOrderChanged(Exception):
    """An order was placed on the listing between finding its open order and locking it."""


def _open_order_id(listing_id: int) -> int | None:
    return (
        Order.objects.filter(listing_id=listing_id)
        .exclude(status__in=sorted(ENDED_STATUSES))
        .values_list("pk", flat=True)
        .first()
    )


def _lock_listing_and_open_order(listing_id: int) -> tuple[Listing, Order | None]:
    """Lock the listing's open order (if any), then the listing. An order placed in
    between (order_place locks the listing only) is found once the listing is locked;
    the caller then rolls back its savepoint, which releases both locks, and tries again."""
    order_id = _open_order_id(listing_id)
    order = lock_order(order_id) if order_id is not None else None
    listing = Listing.objects.select_for_update(of=("self",)).filter(pk=listing_id).first()
    if listing is None:
        raise NotFound(_("No such listing."))
    if _open_order_id(listing_id) != order_id:
        raise _OpenOrderChanged
    return listing, order


@transaction.atomic
def listing_take_off_sale(*, listing_id: int, to_status: str, reason: str, actor: User | None = None) -> list[int]:
    """Take a listing off sale because what vouched for it stopped being valid (e.g. its
    erasure certificate was revoked). Returns the ids of the orders put on hold.

    A ready or published listing goes to `to_status` (a preparing stage such as
    "pending_erasure"). A reserved listing whose order was not shipped or handed over yet
    goes there too and the order is held; an order already with the buyer goes on, and
    the buyer is told. Listings in any other state are left as they are."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for taking the listing off sale."))
    for attempt in range(LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                listing, order = _lock_listing_and_open_order(listing_id)
                return _take_off_sale_locked(
                    listing=listing, order=order, to_status=to_status, reason=reason, actor=actor
                )
        except _OpenOrderChanged:
            if attempt == LOCK_ATTEMPTS - 1:
                raise Conflict(_("The listing is being bought right now; try again."), code="listing_busy") from None
    return []  # unreachable: the loop returns or raises


def _take_off_sale_locked(
    *, listing: Listing, order: Order | None, to_status: str, reason: str, actor: User | None
) -> list[int]:
    if listing.status in VALID_AGAIN:
        listing_transition(listing=listing, to_status=to_status, actor=actor, reason=reason)
        return []
    if order is None:
        return []
    if order.status in HOLDABLE and listing.status == ListingStatus.RESERVED:
        _hold(order=order, listing=listing, to_status=to_status, reason=reason, actor=actor)
        return [order.pk]
    if order.status not in HOLDABLE | {OrderStatus.ON_HOLD} and order.relist_status != to_status:
        # With the buyer (or later): too late to hold. A return must not put it back on sale.
        order.relist_status = to_status
        order.save()
        notify(
            users=[order.buyer],
            kind="order_vouching_revoked",
            subject=gettext_lazy("Check your order: %(title)s"),
            body=gettext_lazy(
                "What vouched for the item of order #%(number)s “%(title)s” was revoked. The item is already with "
                "you, so the order goes on; if you are concerned, you may ask for a return or open a dispute from "
                "the order page as usual. Reason: %(reason)s"
            ),
            params={"title": order.title, "number": order.pk, "reason": reason},
            link=order_url(order),
        )
    return []


def _pause_timers(order: Order, now: dt.datetime) -> None:
    """Stop the payment window or the ship/hand-over deadline (whichever runs) and keep
    what was left of it."""
    due = order.payment_due_at or order.seller_due_at
    order.timer_remaining = max(due - now, dt.timedelta(0)) if due is not None else None
    order.payment_due_at = order.seller_due_at = None


def _hold(*, order: Order, listing: Listing, to_status: str, reason: str, actor: User | None) -> None:
    now = timezone.now()
    # Recorded before the status changes: the order_hold_recorded constraint checks them.
    order.status_before_hold = order.status
    order.hold_reason = reason[:2000]
    order.held_at = now
    order.relist_status = to_status
    _pause_timers(order, now)
    order_transition(order=order, to_status=OrderStatus.ON_HOLD, actor=actor, reason=reason)
    previous = order.status_before_hold
    listing_transition(listing=listing, to_status=to_status, actor=actor, reason=reason)
    order.listing = listing
    if order.is_card and previous != OrderStatus.PENDING_PAYMENT:
        buyer_body = gettext_lazy(
            "Order #%(number)s “%(title)s” is on hold: what vouched for the item is no longer valid, so it may not "
            "be handed over until this is settled. You can cancel the order at any time from the order page and get "
            "your payment back in full, or wait for a moderator's decision. Reason: %(reason)s"
        )
    else:
        buyer_body = gettext_lazy(
            "Order #%(number)s “%(title)s” is on hold: what vouched for the item is no longer valid. Do not pay or "
            "meet the seller until this is settled. You can cancel the order at any time from the order page, or "
            "wait for a moderator's decision. Reason: %(reason)s"
        )
    notify_parties(
        order,
        kind="order_on_hold",
        buyer=(gettext_lazy("Order on hold: %(title)s"), buyer_body),
        seller=(
            gettext_lazy("Order on hold: %(title)s"),
            gettext_lazy(
                "Order #%(number)s “%(title)s” is on hold: what vouched for the item is no longer valid. Do not ship "
                "or hand over the item. Once the listing is valid again a moderator may let the order continue; until "
                "then the buyer may cancel it with a full refund, and neither of you is held at fault. "
                "Reason: %(reason)s"
            ),
        ),
        params={"reason": reason},
    )
    notify(
        users=moderators(),
        kind="order_on_hold",
        subject=gettext_lazy("Order #%(number)s on hold"),
        body=gettext_lazy(
            "Order #%(number)s “%(title)s” is on hold. Decide in the admin (Orders → Held orders): cancel it with a "
            "full refund, or let it continue once the listing is valid again. Reason: %(reason)s"
        ),
        params={"number": order.pk, "title": order.title, "reason": reason},
        link=order_url(order),
    )


# --- Ending a hold ---------------------------------------------------------------------------


def order_hold_cancel_locked(*, order: Order, actor: User | None, by: str, note: str = "") -> Order:
    """Cancel a held order (locked by the caller) for the buyer or a moderator: a full
    refund after commit, nobody at fault, and the listing stays where it is — off sale,
    or on sale again if it became valid meanwhile."""
    if by == Party.BUYER:
        reason = note or str(_("cancelled by the buyer while the order was on hold"))
        who = gettext_lazy("by the buyer")
    else:
        reason = note or str(_("cancelled by a moderator while the order was on hold"))
        who = gettext_lazy("by a moderator")
    order_cancel_record(order=order, actor=actor, by=by, at_fault="", reason=reason[:2000])
    if order.is_card:
        buyer_body = gettext_lazy(
            "Order #%(number)s “%(title)s”, which was on hold, is cancelled %(who)s (%(reason)s). Any money you paid "
            "is given back to your card in full."
        )
    else:
        buyer_body = gettext_lazy(
            "Order #%(number)s “%(title)s”, which was on hold, is cancelled %(who)s (%(reason)s). Nothing was paid, "
            "so there is nothing to refund."
        )
    notify_parties(
        order,
        kind="order_cancelled",
        buyer=(gettext_lazy("Order cancelled: %(title)s"), buyer_body),
        seller=(
            gettext_lazy("Order cancelled: %(title)s"),
            gettext_lazy(
                "Order #%(number)s “%(title)s”, which was on hold, is cancelled %(who)s (%(reason)s). Nobody is held "
                "at fault. The listing goes back on sale only once it is valid again."
            ),
        ),
        params={"reason": reason, "who": who},
    )
    return order


def hold_can_resume(order: Order) -> bool:
    """Whether a moderator may let the held order continue: its listing passed the
    publication gates again (a new certificate, say)."""
    return order.status == OrderStatus.ON_HOLD and order.listing.status in VALID_AGAIN


def _resume_locked(*, order: Order, moderator: User, note: str) -> Order:
    listing = Listing.objects.select_for_update(of=("self",)).get(pk=order.listing_id)
    order.listing = listing
    if not hold_can_resume(order):
        raise Conflict(
            _(
                "The listing is not valid again yet (it is “%(status)s”). An order can continue only once its "
                "listing is ready or published again; otherwise cancel it with a full refund."
            )
            % {"status": ListingStatus(listing.status).label},
            code="hold_listing_not_valid",
            details={"listing_status": listing.status},
        )
    now = timezone.now()
    previous = order.status_before_hold
    remaining = order.timer_remaining
    payment = live_card_payment(order.pk) if order.is_card else None
    if previous == OrderStatus.PAID and order.is_card and payment is None:
        raise Conflict(
            _("The card payment of this order was released in the meantime; cancel the order instead."),
            code="hold_payment_lost",
        )
    listing_transition(listing=listing, to_status=ListingStatus.RESERVED, actor=moderator, reason="order resumed")
    order.status_before_hold = ""
    order.hold_reason = ""
    order.held_at = None
    order.relist_status = ""
    order.timer_remaining = None
    paid_meanwhile = payment is not None and payment.status in (PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED)
    if previous == OrderStatus.PENDING_PAYMENT and paid_meanwhile:
        # The card was authorised while the order was held (3-D Secure finished late):
        # the seller's deadline starts now.
        order_mark_paid(order=order, actor=moderator)
    else:
        order_transition(order=order, to_status=previous, actor=moderator, reason="order resumed")
        if previous == OrderStatus.PENDING_PAYMENT:
            window = dt.timedelta(minutes=settings.MARKETPLACE_ORDER_PAYMENT_WINDOW_MINUTES)
            order.payment_due_at = now + (remaining if remaining is not None else window)
        else:
            order.seller_due_at = now + remaining if remaining is not None else seller_deadline(order, now)
        order.save()
    body = gettext_lazy(
        "A moderator let order #%(number)s “%(title)s” continue: the listing is valid again. The order goes on "
        "where it stopped (%(status)s) and its deadline runs again from where it was paused. %(note)s"
    )
    notify_parties(
        order,
        kind="order_resumed",
        buyer=(gettext_lazy("Order continues: %(title)s"), body),
        seller=(gettext_lazy("Order continues: %(title)s"), body),
        params={"status": OrderStatus(order.status).label, "note": note},
    )
    return order


def order_hold_decide(*, moderator: User, order_id: int, decision: str, note: str = "") -> Order:
    """A moderator decides a held order: cancel it with a full refund (nobody at fault),
    or let it continue where it stopped once its listing is valid again."""
    if not (moderator.is_authenticated and moderator.is_staff):
        raise PermissionDenied(_("Only moderators decide held orders."))
    if decision not in HoldDecision.ALL:
        raise ValidationFailed(_("Choose a decision."), details={"fields": {"decision": [_("Unknown decision.")]}})
    note = (note or "").strip()[:2000]
    with transaction.atomic():
        order = lock_order(order_id)
        if order is None:
            raise NotFound(_("No such order."))
        if order.status != OrderStatus.ON_HOLD:
            raise Conflict(_("This order is not on hold any more."), code="order_not_on_hold")
        if decision == HoldDecision.CANCEL:
            return order_hold_cancel_locked(order=order, actor=moderator, by=Party.MODERATOR, note=note)
        return _resume_locked(order=order, moderator=moderator, note=note)
