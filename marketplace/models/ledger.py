"""The money ledger: every movement of money as a balanced transaction of entries in
integer minor units (debits positive, credits negative, each transaction sums to zero).
Written only by marketplace.services.ledger; checked by `manage.py ledger_reconcile`."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import Organisation, User
from marketplace.models.orders import Order


class LedgerAccount(models.TextChoices):
    # Assets: where the money is.
    PSP_CLEARING = "psp_clearing", _("Card money at the payment provider")
    OFFLINE_CASH = "offline_cash", _("Cash paid in person")
    # Liabilities and income: whom it belongs to.
    BUYER_FUNDS_HELD = "buyer_funds_held", _("Buyer money held until receipt")
    SELLER_PAYABLE = "seller_payable", _("Owed to the seller")
    CONSIGNOR_PAYABLE = "consignor_payable", _("Owed to the consignor")
    PLATFORM_FEES = "platform_fees", _("Platform fees")


class LedgerKind(models.TextChoices):
    BUYER_PAYMENT = "buyer_payment", _("Buyer payment")
    RELEASE = "release", _("Released to seller, consignor and platform fee")
    REFUND = "refund", _("Refund to the buyer")
    PAYOUT = "payout", _("Payout")
    CASH_SETTLEMENT = "cash_settlement", _("Cash kept by the seller")


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=20, choices=LedgerKind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_transactions"
    )
    # What caused it (e.g. "capture:12", "refund:7"): posting the same movement twice is a no-op.
    key = models.CharField(max_length=120, unique=True)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    account = models.CharField(max_length=20, choices=LedgerAccount.choices)
    amount = models.BigIntegerField(help_text="Minor units; debit positive, credit negative.")
    currency = models.CharField(max_length=3)
    party_user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    party_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering: ClassVar[list[str]] = ["pk"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["order", "account"], name="ledger_order_idx")]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"
