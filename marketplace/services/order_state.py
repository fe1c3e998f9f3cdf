"""The one place where an order's status changes, and what every order step shares:
who the parties are, telling both of them, the per-category timers, and the domain
signals for the credit system (sent after commit)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict
from marketplace.models import (
    ORDER_TRANSITIONS,
    DeliveryMethod,
    Listing,
    ListingStatus,
    Membership,
    Order,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentProvider,
    Role,
    User,
)
from marketplace.services.lifecycle import listing_transition
from marketplace.services.notifications import notify
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import order_cancelled

SELLER_ROLES = (Role.OWNER, Role.STAFF)


def order_url(order: Order) -> str:
    return f"/orders/{order.pk}/"


def order_transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in ORDER_TRANSITIONS.get(from_status, frozenset())


@transaction.atomic
def order_create(*, initial_status: str, actor: User | None, **fields: Any) -> Order:
    """Create an order in its first status and record it in the history."""
    order = Order(**fields)
    order.status = initial_status
    order.status_changed_at = timezone.now()
    order.save()
    OrderStatusChange.objects.create(order=order, actor=actor, from_status="", to_status=initial_status)
    return order


@transaction.atomic
def order_transition(*, order: Order, to_status: str, actor: User | None, reason: str = "") -> Order:
    """Move `order` (locked by the caller) to `to_status` if the table allows it, and
    record who, when and why."""
    from_status = order.status
    if not order_transition_allowed(from_status, to_status):
        raise Conflict(
            _("An order cannot go from “%(from)s” to “%(to)s”.")
            % {"from": OrderStatus(from_status).label, "to": OrderStatus(to_status).label},
            code="order_transition_not_allowed",
            details={"from": from_status, "to": to_status},
        )
    order.status = to_status
    order.status_changed_at = timezone.now()
    order.save()
    OrderStatusChange.objects.create(
        order=order, actor=actor, from_status=from_status, to_status=to_status, reason=reason
    )
    return order


def lock_order(order_id: int) -> Order | None:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("listing", "buyer", "seller_user", "seller_organisation", "consignor")
        .filter(pk=order_id)
        .first()
    )


# --- Parties ------------------------------------------------------------------------------


def order_seller_users(order: Order) -> list[User]:
    """The people who act for the seller: the seller, or the shop's owners and staff."""
    if order.seller_user is not None:
        return [order.seller_user]
    memberships = Membership.objects.filter(
        organisation=order.seller_organisation, role__in=SELLER_ROLES, user__is_active=True
    ).select_related("user")
    return list({m.user_id: m.user for m in memberships}.values())


def is_seller(user: User, order: Order) -> bool:
    if not user.is_authenticated:
        return False
    if order.seller_user_id is not None:
        return bool(order.seller_user_id == user.pk)
    return Membership.objects.filter(user=user, organisation=order.seller_organisation, role__in=SELLER_ROLES).exists()


def is_buyer(user: User, order: Order) -> bool:
    return bool(user.is_authenticated and order.buyer_id == user.pk)


def notify_parties(
    order: Order,
    *,
    kind: str,
    buyer: tuple[str | Promise, str | Promise] | None = None,
    seller: tuple[str | Promise, str | Promise] | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Tell the buyer and the seller (each their own subject and body) about a step."""
    values = {"title": order.title, "number": order.pk, **(params or {})}
    if buyer is not None:
        notify(users=[order.buyer], kind=kind, subject=buyer[0], body=buyer[1], params=values, link=order_url(order))
    if seller is not None:
        notify(
            users=order_seller_users(order),
            kind=kind,
            subject=seller[0],
            body=seller[1],
            params=values,
            link=order_url(order),
        )


def send_after_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(functools.partial(signal.send, sender=Order, **kwargs))


# --- Timers ---------------------------------------------------------------------------------


def category_policy(category: str) -> Mapping[str, Any]:
    policies: Mapping[str, Mapping[str, Any]] = settings.MARKETPLACE_ORDER_POLICIES
    return policies.get(category) or policies["electronics"]


def confirm_after(order: Order) -> dt.timedelta:
    """How long the buyer has to confirm receipt (or complain) before the order confirms itself."""
    policy = category_policy(order.listing.category)
    if order.delivery_method == DeliveryMethod.SHIP:
        return dt.timedelta(hours=int(policy["confirm_after_shipping_hours"]))
    return dt.timedelta(hours=int(policy["confirm_after_handover_hours"]))


def seller_deadline(order: Order, now: dt.datetime) -> dt.datetime:
    if order.delivery_method == DeliveryMethod.SHIP:
        return now + dt.timedelta(days=settings.MARKETPLACE_ORDER_SHIP_DEADLINE_DAYS)
    return now + dt.timedelta(days=settings.MARKETPLACE_ORDER_HANDOVER_DEADLINE_DAYS)


# --- Listing ---------------------------------------------------------------------------------


def listing_settle(*, order: Order, to_status: str, actor: User | None, reason: str) -> None:
    """Move the order's listing out of "reserved" (sold, back on sale, or taken down).
    A listing a moderator already took down stays as it is, and one whose certificate
    (or grade) was revoked while the order was open does not go back on sale: it goes
    where it was sent off sale to (`order.relist_status`)."""
    listing = Listing.objects.select_for_update(of=("self",)).get(pk=order.listing_id)
    if to_status == ListingStatus.PUBLISHED and order.relist_status:
        to_status = order.relist_status
    if listing.status == ListingStatus.RESERVED:
        listing_transition(listing=listing, to_status=to_status, actor=actor, reason=reason)
    order.listing = listing


# --- Cancelling -------------------------------------------------------------------------------


def order_cancel_record(*, order: Order, actor: User | None, by: str, at_fault: str, reason: str) -> Order:
    """What every cancellation of `order` (locked by the caller) does, whatever happens to
    its listing and whoever is told: the status and who cancelled it and who is at fault,
    the timers stopped, the card money given back after commit, and the credit system
    told (`at_fault` "" penalises nobody)."""
    now = timezone.now()
    order_transition(order=order, to_status=OrderStatus.CANCELLED, actor=actor, reason=reason)
    order.cancelled_at = now
    order.cancelled_by = by
    order.at_fault = at_fault
    order.cancel_reason = reason[:2000]
    order.payment_due_at = order.seller_due_at = order.confirm_due_at = None
    order.timer_remaining = None
    order.save()
    if order.is_card and Payment.objects.filter(order=order, provider=PaymentProvider.STRIPE).exists():
        from marketplace.tasks import payment_void_task

        task_enqueue_on_commit(payment_void_task, order_id=order.pk)
    send_after_commit(order_cancelled, order_id=order.pk, at_fault_party=at_fault)
    return order


# --- Steps shared by orders and payments --------------------------------------------------


def order_mark_paid(*, order: Order, actor: User | None = None) -> Order:
    """The card payment is authorised (the money is held): the seller may now ship or
    hand over, before the deadline."""
    now = timezone.now()
    order_transition(order=order, to_status=OrderStatus.PAID, actor=actor, reason="card payment authorised")
    order.paid_at = now
    order.payment_due_at = None
    order.seller_due_at = seller_deadline(order, now)
    order.save()
    if order.delivery_method == DeliveryMethod.SHIP:
        seller_body = gettext_lazy(
            "The buyer paid for order #%(number)s “%(title)s”; the money is held until they confirm receipt. "
            "Ship it by %(deadline)s and enter the tracking number, or the order is cancelled."
        )
    else:
        seller_body = gettext_lazy(
            "The buyer paid for order #%(number)s “%(title)s”; the money is held until they confirm receipt. "
            "Hand it over by %(deadline)s and enter the buyer's hand-over code."
        )
    notify_parties(
        order,
        kind="order_paid",
        buyer=(
            gettext_lazy("Payment held: %(title)s"),
            gettext_lazy(
                "Your payment for order #%(number)s “%(title)s” is authorised and held. The seller is paid only "
                "after you confirm receipt."
            ),
        ),
        seller=(gettext_lazy("Paid: %(title)s"), seller_body),
        params={"deadline": timezone.localtime(order.seller_due_at).strftime("%Y-%m-%d %H:%M")},
    )
    return order
