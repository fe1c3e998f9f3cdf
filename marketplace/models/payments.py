"""Payments of orders: a Stripe PaymentIntent with manual capture, or cash at hand-over;
refunds; and the Stripe webhook events already processed (so a replay changes nothing)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import User
from marketplace.models.orders import Order


class PaymentProvider(models.TextChoices):
    STRIPE = "stripe", _("Card (Stripe)")
    CASH = "cash", _("Cash")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the card")
    ACTION_REQUIRED = "action_required", _("Waiting for the card holder's confirmation")
    AUTHORISED = "authorised", _("Authorised, money held")
    CAPTURED = "captured", _("Captured")
    CANCELLED = "cancelled", _("Cancelled, hold released")


LIVE_PAYMENT_STATUSES = frozenset(
    {PaymentStatus.PENDING, PaymentStatus.ACTION_REQUIRED, PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED}
)


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=10, choices=PaymentProvider.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    intent_id = models.CharField(max_length=255, blank=True)
    # Sent to Stripe as the Idempotency-Key of the call that creates the PaymentIntent.
    idempotency_key = models.CharField(max_length=64, unique=True)
    amount_captured = models.PositiveBigIntegerField(default=0)
    amount_refunded = models.PositiveBigIntegerField(default=0)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    last_error_code = models.CharField(max_length=60, blank=True)
    last_error_message = models.CharField(max_length=300, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["intent_id"], condition=~Q(intent_id=""), name="payment_intent_unique"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=sorted(LIVE_PAYMENT_STATUSES)),
                name="payment_one_live_per_order",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=models.F("amount")), name="payment_capture_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=models.F("amount_captured")), name="payment_refund_le_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.intent_id or self.pk}"

    @property
    def net_captured(self) -> int:
        return self.amount_captured - self.amount_refunded


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["stripe_refund_id"], condition=~Q(stripe_refund_id=""), name="refund_stripe_id_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.amount}"


class StripeEvent(models.Model):
    """A webhook event already applied; its id is unique, so a replay is recognised."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering: ClassVar[list[str]] = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
