"""Orders: what a buyer bought, at which price and with which grade and certificate,
how it is paid and delivered, its after-sales (returns, disputes), and holds (what
vouched for the item, such as its erasure certificate, was revoked before hand-over).

`Order.status` is never assigned outside `marketplace.services.orders.order_transition`;
the allowed transitions are data (`ORDER_TRANSITIONS`)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.models.accounts import Organisation, User
from marketplace.models.listings import Listing, private_storage


class DeliveryMethod(models.TextChoices):
    SHIP = "ship", _("Shipping")
    PICKUP = "pickup", _("Local pickup")
    EVENT = "event", _("At an event")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card (held until you confirm receipt)")
    CASH = "cash", _("Cash at hand-over")


class Party(models.TextChoices):
    BUYER = "buyer", _("buyer")
    SELLER = "seller", _("seller")
    PLATFORM = "platform", _("platform")
    MODERATOR = "moderator", _("moderator")


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    PAID = "paid", _("Paid, money held")
    AWAITING_HANDOVER = "awaiting_handover", _("Pay in cash at hand-over")
    SHIPPED = "shipped", _("Shipped")
    HANDED_OVER = "handed_over", _("Handed over")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    DISPUTED = "disputed", _("In dispute")
    REFUNDED = "refunded", _("Refunded")
    ON_HOLD = "on_hold", _("On hold")


OS = OrderStatus
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OS.PENDING_PAYMENT: frozenset({OS.PAID, OS.CANCELLED, OS.ON_HOLD}),
    OS.PAID: frozenset({OS.SHIPPED, OS.HANDED_OVER, OS.CANCELLED, OS.ON_HOLD}),
    OS.AWAITING_HANDOVER: frozenset({OS.COMPLETED, OS.CANCELLED, OS.ON_HOLD}),
    # Held until the buyer cancels or a moderator decides: cancelled with a full refund,
    # or resumed where it stopped (paid directly when the card was authorised meanwhile).
    OS.ON_HOLD: frozenset({OS.PENDING_PAYMENT, OS.PAID, OS.AWAITING_HANDOVER, OS.CANCELLED}),
    OS.SHIPPED: frozenset({OS.COMPLETED, OS.RETURN_REQUESTED, OS.DISPUTED}),
    OS.HANDED_OVER: frozenset({OS.COMPLETED, OS.DISPUTED}),
    # Seven-day no-reason returns and disputes still reach a completed order.
    OS.COMPLETED: frozenset({OS.RETURN_REQUESTED, OS.DISPUTED}),
    # A return the buyer never sent lapses: back to where the order was.
    OS.RETURN_REQUESTED: frozenset({OS.REFUNDED, OS.DISPUTED, OS.SHIPPED, OS.COMPLETED}),
    # A rejected dispute puts the order back where it was, with its timer resumed.
    OS.DISPUTED: frozenset({OS.REFUNDED, OS.COMPLETED, OS.SHIPPED, OS.HANDED_OVER, OS.RETURN_REQUESTED}),
    OS.CANCELLED: frozenset(),
    OS.REFUNDED: frozenset(),
}
# An order in one of these holds its listing; at most one per listing (a constraint).
ENDED_STATUSES = frozenset({OS.CANCELLED, OS.REFUNDED})
# Where an order can be held from (and goes back to when it resumes).
HOLDABLE = frozenset({OS.PENDING_PAYMENT, OS.PAID, OS.AWAITING_HANDOVER})
# The item has not left the seller yet: the order can still be cancelled.
BEFORE_HANDOVER = frozenset({*HOLDABLE, OS.ON_HOLD})
# The buyer has the item and the money is still held: the auto-confirm timer runs.
WITH_BUYER = frozenset({OS.SHIPPED, OS.HANDED_OVER})


class Order(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="orders", verbose_name=_("listing"))
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("buyer"))
    # Who sold it, copied from the listing when the order was placed.
    seller_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="sales", verbose_name=_("seller")
    )
    seller_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="sales", verbose_name=_("shop")
    )
    consignor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consignment_sales",
        verbose_name=_("consignor"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT, editable=False
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, editable=False)
    delivery_method = models.CharField(_("delivery"), max_length=10, choices=DeliveryMethod.choices)
    payment_method = models.CharField(_("payment"), max_length=10, choices=PaymentMethod.choices)

    amount = models.PositiveBigIntegerField(_("price (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # The fee and the consignor's share in basis points (1/100 %), fixed when the order was placed.
    platform_fee_bp = models.PositiveIntegerField(_("platform fee (basis points)"), default=0)
    consignor_share_bp = models.PositiveIntegerField(_("consignor share (basis points)"), default=0)
    title = models.CharField(_("title"), max_length=120)
    # What the buyer saw when they bought: price, category, grade, erasure certificate.
    snapshot = models.JSONField(_("snapshot at purchase"), default=dict)
    idempotency_key = models.CharField(max_length=64, blank=True, editable=False)

    # Local pickup and events: the buyer shows this code, the seller enters it at hand-over.
    handshake_code = models.CharField(_("hand-over code"), max_length=8, blank=True, editable=False)
    handshake_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    tracking_carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)

    # Timers, run by marketplace.tasks.orders_timers_task.
    payment_due_at = models.DateTimeField(_("pay by"), null=True, blank=True)
    seller_due_at = models.DateTimeField(_("ship or hand over by"), null=True, blank=True)
    confirm_due_at = models.DateTimeField(_("confirmed automatically at"), null=True, blank=True)
    # While a dispute is open the auto-confirm timer stands still, and while the order is
    # on hold its payment or ship/hand-over deadline does; this is what was left.
    timer_remaining = models.DurationField(null=True, blank=True, editable=False)

    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.CharField(_("cancelled by"), max_length=10, choices=Party.choices, blank=True)
    at_fault = models.CharField(_("at fault"), max_length=10, choices=Party.choices, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)

    return_reason = models.TextField(_("return reason"), blank=True)
    return_requested_at = models.DateTimeField(_("return requested at"), null=True, blank=True)
    return_tracking = models.CharField(_("return tracking number"), max_length=60, blank=True)
    status_before_dispute = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True, editable=False)

    # On hold: what vouched for the item (its erasure certificate, say) was revoked before
    # the hand-over; the buyer may cancel, a moderator cancels or resumes.
    status_before_hold = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True, editable=False)
    hold_reason = models.TextField(_("why the order is on hold"), blank=True)
    held_at = models.DateTimeField(_("on hold since"), null=True, blank=True)
    # Where the listing goes instead of back on sale if this order ends unsold (cancelled,
    # or returned): set when what vouched for the item was revoked while the order was open.
    relist_status = models.CharField(max_length=20, blank=True, editable=False)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "seller_due_at"], name="order_seller_due_idx"),
            models.Index(fields=["status", "confirm_due_at"], name="order_confirm_due_idx"),
            models.Index(fields=["status", "payment_due_at"], name="order_payment_due_idx"),
            # Trades of a period: the statistics rollup and the bureau export.
            models.Index(fields=["status", "completed_at"], name="order_completed_idx"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # However many buyers press "buy" at once, one order holds a listing.
            models.UniqueConstraint(
                fields=["listing"], condition=~Q(status__in=sorted(ENDED_STATUSES)), name="order_one_open_per_listing"
            ),
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], condition=~Q(idempotency_key=""), name="order_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=list(OrderStatus.values)), name="order_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.ON_HOLD)
                | (Q(held_at__isnull=False) & Q(status_before_hold__in=sorted(HOLDABLE))),
                name="order_hold_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(payment_method=PaymentMethod.CASH, delivery_method=DeliveryMethod.SHIP),
                name="order_cash_only_in_person",
            ),
            models.CheckConstraint(
                condition=(Q(seller_user__isnull=False) & Q(seller_organisation__isnull=True))
                | (Q(seller_user__isnull=True) & Q(seller_organisation__isnull=False)),
                name="order_exactly_one_seller",
            ),
            models.CheckConstraint(condition=Q(platform_fee_bp__lte=10_000), name="order_fee_at_most_all"),
            models.CheckConstraint(condition=Q(consignor_share_bp__lte=10_000), name="order_share_at_most_all"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def seller_name(self) -> str:
        if self.seller_organisation is not None:
            return self.seller_organisation.name
        return self.seller_user.public_name if self.seller_user is not None else ""

    @property
    def is_card(self) -> bool:
        return self.payment_method == PaymentMethod.CARD

    @property
    def in_person(self) -> bool:
        return self.delivery_method in (DeliveryMethod.PICKUP, DeliveryMethod.EVENT)

    @property
    def on_hold(self) -> bool:
        return self.status == OrderStatus.ON_HOLD


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_history")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class DisputeKind(models.TextChoices):
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    NOT_AS_GRADED = "not_as_graded", _("Not as graded")


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    REFUNDED_FULL = "refunded_full", _("Upheld: full refund")
    REFUNDED_PARTIAL = "refunded_partial", _("Upheld: partial refund")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("order"))
    opened_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by"))
    kind = models.CharField(_("kind"), max_length=20, choices=DisputeKind.choices)
    description = models.TextField(_("what is wrong"), max_length=5000)
    status = models.CharField(_("status"), max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    refund_amount = models.PositiveBigIntegerField(_("refunded (minor units)"), null=True, blank=True)
    resolution_note = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("resolved by")
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("opened at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status=DisputeStatus.OPEN), name="dispute_one_open_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.order}"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN


class DisputeEvidence(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence")
    # Re-encoded without metadata (location, device) and never given a public URL.
    image = models.FileField(storage=private_storage, upload_to="dispute-evidence/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dispute evidence")
        verbose_name_plural = _("dispute evidence")
        ordering: ClassVar[list[str]] = ["pk"]

    def __str__(self) -> str:
        return f"{self.dispute_id} #{self.pk}"
