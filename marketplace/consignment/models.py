"""Consignment (寄卖): agreements between a shop and a consignor, intake batches, the items
taken in (each a listing sold by the shop) and payouts to consignors.

The arithmetic lives in `marketplace.consignment.rules`; every state change in
`marketplace.consignment.services`. `ConsignmentItem.status` is assigned only there,
following `ALLOWED_TRANSITIONS`."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from marketplace.consignment.rules import BASIS_POINTS, Step, Terms, Tier
from marketplace.models import LedgerTransaction, Listing, Organisation, User


class DiscountBearer(models.TextChoices):
    SHARED = "shared", _("Shared in proportion to the split")
    SHOP = "shop", _("The shop")
    CONSIGNOR = "consignor", _("The consignor")


class ExpiryAction(models.TextChoices):
    RETURN = "return", _("Return to the consignor")
    DONATE = "donate", _("Donate")
    CONVERT = "convert", _("Convert to shop stock")


class AgreementStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    ENDED = "ended", _("Ended")


# An invitation is answered by the person it was sent to, or withdrawn by the shop
# (ended); an accepted agreement is ended by the shop, the consignor or staff.
AGREEMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AgreementStatus.INVITED: frozenset({AgreementStatus.ACCEPTED, AgreementStatus.DECLINED, AgreementStatus.ENDED}),
    AgreementStatus.ACCEPTED: frozenset({AgreementStatus.ENDED}),
    AgreementStatus.DECLINED: frozenset(),
    AgreementStatus.ENDED: frozenset(),
}


class ConsignmentAgreement(models.Model):
    """A shop's terms with one consignor. The shop invites an e-mail address; the agreement
    names a consignor only once the person using that address accepts it in their account,
    so a shop can neither tie someone to it nor learn whether an address has an account."""

    shop = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="consignment_agreements", verbose_name=_("shop")
    )
    # Empty until the invitation is answered.
    consignor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consignment_agreements",
        verbose_name=_("consignor"),
    )
    invited_email = models.EmailField(_("invited e-mail address"))
    status = models.CharField(
        _("status"), max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.INVITED, editable=False
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True, editable=False)
    ended_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    end_reason = models.CharField(_("why it ended"), max_length=500, blank=True, editable=False)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    discount_bearer = models.CharField(
        _("who bears a discount"), max_length=12, choices=DiscountBearer.choices, default=DiscountBearer.SHARED
    )
    floor_price = models.PositiveBigIntegerField(_("floor price (minor units)"), null=True, blank=True)
    floor_percent_bp = models.PositiveIntegerField(
        _("floor (basis points of the original price)"), null=True, blank=True
    )
    expiry_days = models.PositiveIntegerField(_("expires after (days)"), default=90)
    expiry_action = models.CharField(
        _("when it expires"), max_length=10, choices=ExpiryAction.choices, default=ExpiryAction.RETURN
    )
    payout_threshold = models.PositiveBigIntegerField(_("payout threshold (minor units)"), default=0)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consignment agreement")
        verbose_name_plural = _("consignment agreements")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(floor_price__isnull=True) | Q(floor_percent_bp__isnull=True),
                name="consignment_one_kind_of_floor",
            ),
            models.CheckConstraint(
                condition=Q(floor_price__isnull=True) | Q(floor_price__gt=0), name="consignment_floor_positive"
            ),
            models.CheckConstraint(
                condition=Q(floor_percent_bp__isnull=True)
                | (Q(floor_percent_bp__gt=0) & Q(floor_percent_bp__lte=BASIS_POINTS)),
                name="consignment_floor_percent_range",
            ),
            models.CheckConstraint(condition=Q(expiry_days__gte=1), name="consignment_expiry_positive"),
            models.CheckConstraint(
                condition=Q(discount_bearer__in=list(DiscountBearer.values)), name="consignment_bearer_valid"
            ),
            models.CheckConstraint(
                condition=Q(expiry_action__in=list(ExpiryAction.values)), name="consignment_expiry_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(AgreementStatus.values)), name="consignment_agreement_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=AgreementStatus.ACCEPTED) | Q(consignor__isnull=False),
                name="consignment_accepted_has_consignor",
            ),
            # One active agreement per shop and consignor: intake and payouts know which terms apply.
            models.UniqueConstraint(
                fields=["shop", "consignor"],
                condition=Q(status=AgreementStatus.ACCEPTED),
                name="consignment_one_active_agreement",
            ),
            models.UniqueConstraint(
                Lower("invited_email"),
                "shop",
                condition=Q(status=AgreementStatus.INVITED),
                name="consignment_one_open_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop} · {self.consignor or self.invited_email}"

    @property
    def is_active(self) -> bool:
        """Accepted and not ended: the shop may take items in and name the consignor."""
        return self.status == AgreementStatus.ACCEPTED

    def terms(self) -> Terms:
        """The pure-domain terms (uses prefetched tiers and steps when present)."""
        return Terms(
            tiers=tuple(Tier(t.up_to, t.consignor_share_bp) for t in self.tiers.all()),
            steps=tuple(Step(s.after_days, s.discount_bp) for s in self.markdown_steps.all()),
            floor_price=self.floor_price,
            floor_percent_bp=self.floor_percent_bp,
            bearer=self.discount_bearer,
            expiry_days=self.expiry_days,
        )


class ShareTier(models.Model):
    agreement = models.ForeignKey(ConsignmentAgreement, on_delete=models.CASCADE, related_name="tiers")
    up_to = models.PositiveBigIntegerField(
        _("original price up to (minor units)"), null=True, blank=True, help_text=_("Empty: and above.")
    )
    consignor_share_bp = models.PositiveIntegerField(_("consignor's share (basis points)"))

    class Meta:
        verbose_name = _("share tier")
        verbose_name_plural = _("share tiers")
        ordering: ClassVar[list[models.OrderBy]] = [F("up_to").asc(nulls_last=True)]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(consignor_share_bp__lte=BASIS_POINTS), name="consignment_tier_share"),
            models.CheckConstraint(condition=Q(up_to__isnull=True) | Q(up_to__gt=0), name="consignment_tier_bound"),
            models.UniqueConstraint(fields=["agreement", "up_to"], name="consignment_tier_unique_bound"),
            models.UniqueConstraint(
                fields=["agreement"], condition=Q(up_to__isnull=True), name="consignment_tier_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"≤{self.up_to}: {self.consignor_share_bp}"


class MarkdownStep(models.Model):
    agreement = models.ForeignKey(ConsignmentAgreement, on_delete=models.CASCADE, related_name="markdown_steps")
    after_days = models.PositiveIntegerField(_("after (days on sale)"))
    discount_bp = models.PositiveIntegerField(_("discount (basis points of the original price)"))

    class Meta:
        verbose_name = _("markdown step")
        verbose_name_plural = _("markdown steps")
        ordering: ClassVar[list[str]] = ["after_days"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(after_days__gte=1), name="consignment_step_days"),
            models.CheckConstraint(
                condition=Q(discount_bp__gt=0) & Q(discount_bp__lt=BASIS_POINTS), name="consignment_step_discount"
            ),
            models.UniqueConstraint(fields=["agreement", "after_days"], name="consignment_step_unique_days"),
        ]

    def __str__(self) -> str:
        return f"{self.after_days}d: −{self.discount_bp}"


class IntakeBatch(models.Model):
    agreement = models.ForeignKey(ConsignmentAgreement, on_delete=models.PROTECT, related_name="batches")
    received_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by"))
    created_at = models.DateTimeField(_("taken in at"), auto_now_add=True)

    class Meta:
        verbose_name = _("intake batch")
        verbose_name_plural = _("intake batches")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk}"


class ItemStatus(models.TextChoices):
    ON_SALE = "on_sale", _("On sale")
    SOLD = "sold", _("Sold")
    RETURNED = "returned", _("Returned to the consignor")
    DONATED = "donated", _("Donated")
    CONVERTED = "converted", _("Became shop stock")


ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ItemStatus.ON_SALE: frozenset({ItemStatus.SOLD, ItemStatus.RETURNED, ItemStatus.DONATED, ItemStatus.CONVERTED}),
    ItemStatus.SOLD: frozenset(),
    ItemStatus.RETURNED: frozenset(),
    ItemStatus.DONATED: frozenset(),
    # Shop stock may still sell; the sale is then all the shop's.
    ItemStatus.CONVERTED: frozenset(),
}


class ConsignmentItem(models.Model):
    listing = models.OneToOneField(Listing, on_delete=models.PROTECT, related_name="consignment_item")
    agreement = models.ForeignKey(ConsignmentAgreement, on_delete=models.PROTECT, related_name="items")
    batch = models.ForeignKey(IntakeBatch, on_delete=models.PROTECT, related_name="items")
    item_code = models.CharField(_("item code"), max_length=24, unique=True)
    original_price = models.PositiveBigIntegerField(_("original price (minor units)"))
    condition_notes = models.TextField(_("condition notes"), blank=True, max_length=2000)
    intake_at = models.DateTimeField(_("intake date"))
    expiry_action = models.CharField(_("when it expires"), max_length=10, choices=ExpiryAction.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.ON_SALE, editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The largest scheduled discount already applied: each step is applied once.
    markdown_bp_applied = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("consigned item")
        verbose_name_plural = _("consigned items")
        ordering: ClassVar[list[str]] = ["item_code"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(original_price__gt=0), name="consignment_item_price_positive"),
            models.CheckConstraint(
                condition=Q(status__in=list(ItemStatus.values)), name="consignment_item_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(markdown_bp_applied__lt=BASIS_POINTS), name="consignment_item_markdown_range"
            ),
        ]

    def __str__(self) -> str:
        return self.item_code


class PayoutMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")


class ConsignorPayout(models.Model):
    agreement = models.ForeignKey(ConsignmentAgreement, on_delete=models.PROTECT, related_name="payouts")
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    method = models.CharField(_("method"), max_length=16, choices=PayoutMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("paid at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consignor payout")
        verbose_name_plural = _("consignor payouts")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="consignment_payout_positive"),
            models.CheckConstraint(
                condition=Q(method__in=list(PayoutMethod.values)), name="consignment_payout_method_valid"
            ),
            models.CheckConstraint(
                condition=~Q(method=PayoutMethod.BANK_TRANSFER) | ~Q(reference=""),
                name="consignment_transfer_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} {self.amount}"
