"""Price offers on a listing and the messages between a buyer and a seller."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import User
from marketplace.models.listings import Listing
from marketplace.models.orders import DeliveryMethod, Order, PaymentMethod


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    COUNTERED = "countered", _("Countered")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class OfferSide(models.TextChoices):
    BUYER = "buyer", _("buyer")
    SELLER = "seller", _("seller")


class Offer(models.Model):
    """A price proposed by the buyer, or a counter-offer by the seller (or back). The
    chain of counters is linked through `parent`; only its last link is open."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="offers")
    buyer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="offers")
    proposed_by = models.CharField(max_length=10, choices=OfferSide.choices, default=OfferSide.BUYER)
    amount = models.PositiveBigIntegerField(_("offer (minor units)"))
    currency = models.CharField(max_length=3, default="CNY")
    delivery_method = models.CharField(_("delivery"), max_length=10, choices=DeliveryMethod.choices)
    payment_method = models.CharField(_("payment"), max_length=10, choices=PaymentMethod.choices)
    message = models.CharField(_("message"), max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="counters")
    expires_at = models.DateTimeField(_("expires at"))
    responded_at = models.DateTimeField(null=True, blank=True)
    order = models.OneToOneField(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="offer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["listing", "buyer"], condition=Q(status=OfferStatus.OPEN), name="offer_one_open_per_buyer"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="offer_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.amount} ({self.status})"

    @property
    def responder_side(self) -> str:
        return OfferSide.SELLER if self.proposed_by == OfferSide.BUYER else OfferSide.BUYER


class Message(models.Model):
    """One message in the conversation between `buyer` and the seller of `listing`.

    `body` is kept as written, for the two parties once they have an order together and
    for moderators; until then the parties see `masked_body`, in which phone numbers,
    payment-app IDs and bank card numbers are hidden."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="messages")
    buyer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    body = models.TextField(_("message"), max_length=2000)
    masked_body = models.TextField()
    # Kinds of contact or payment details found (phone, wechat, alipay, bank_card, qq).
    flags = models.JSONField(default=list, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["listing", "buyer", "created_at"], name="message_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}/{self.buyer_id}: {self.masked_body[:40]}"
