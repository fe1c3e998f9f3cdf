"""Credit (信用): the append-only record of credit events, ratings between the parties of
completed orders, the stored scores with their history, the staff-editable policy table
(what each tier may do), appeals, rating rings flagged for moderators, sharing consent
and partner tokens.

Only `marketplace.credit.services` writes any of these; `CreditEvent` rows are never
updated or deleted (a correction is a new event that reverses an earlier one), and on
PostgreSQL a trigger refuses UPDATE and DELETE on them (migration 0002)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.models import Order, User


class CreditRole(models.TextChoices):
    SELLER = "seller", _("Seller")
    BUYER = "buyer", _("Buyer")
    APPRAISER = "appraiser", _("Appraiser")
    ERASURE_PROVIDER = "erasure_provider", _("Erasure provider")
    SHOP = "shop", _("Shop")
    TECHNICIAN = "technician", _("Erasure technician")


class CreditEventKind(models.TextChoices):
    ORDER_COMPLETED = "order_completed", _("Completed order")
    RATING = "rating", _("Rating received")
    CANCELLATION_AT_FAULT = "cancellation_at_fault", _("Cancellation at fault")
    LATE_SHIPMENT = "late_shipment", _("Late shipment")
    DISPUTE_UPHELD = "dispute_upheld", _("Dispute upheld against you")
    FALSE_CLAIM = "false_claim", _("Dispute rejected (false claim)")
    APPRAISAL_OVERTURNED = "appraisal_overturned", _("Appraisal overturned")
    CERTIFICATE_REVOKED = "certificate_revoked", _("Erasure certificate revoked")
    # Work that stood: not revoked / not overturned the policy's settle days after it counted.
    CERTIFICATE_STOOD = "certificate_stood", _("Erasure certificate still valid")
    APPRAISAL_STOOD = "appraisal_stood", _("Appraisal not overturned")
    STALL_NO_SHOW = "stall_no_show", _("Stall no-show")
    MODERATOR_SANCTION = "moderator_sanction", _("Moderator sanction")
    VERIFICATION = "verification", _("Verification")
    ADJUSTMENT = "adjustment", _("Moderator adjustment")


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a credit event."""


class CreditEvent(models.Model):
    """One piece of evidence about one subject in one role. Never edited."""

    subject = models.ForeignKey(User, on_delete=models.PROTECT, related_name="credit_events", verbose_name=_("subject"))
    role = models.CharField(_("role"), max_length=20, choices=CreditRole.choices)
    kind = models.CharField(_("kind"), max_length=30, choices=CreditEventKind.choices)
    # Evidence in [0, 1] each: a 5-star rating is positive 1, a 1-star rating negative 1.
    positive = models.FloatField(_("positive evidence"), default=0.0)
    negative = models.FloatField(_("negative evidence"), default=0.0)
    value_minor = models.PositiveBigIntegerField(_("order value (minor units)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    counterparty = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("counterparty")
    )
    # The rater's own score when the rating counted (rater weighting), fixed here so a full
    # recompute gives the same result as the incremental one.
    rater_score = models.PositiveSmallIntegerField(_("rater's score"), null=True, blank=True)
    weight = models.FloatField(_("size"), default=1.0)
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("recorded by")
    )
    reason = models.TextField(_("reason"), blank=True)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    # Receivers may run twice (a retried task); the same fact is recorded once.
    dedupe_key = models.CharField(max_length=120, blank=True, editable=False)

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering: ClassVar[list[str]] = ["-occurred_at", "-pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["subject", "role"], name="credit_event_subject_role"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="credit_event_dedupe"),
            models.CheckConstraint(condition=Q(positive__gte=0) & Q(positive__lte=1), name="credit_event_positive"),
            models.CheckConstraint(condition=Q(negative__gte=0) & Q(negative__lte=1), name="credit_event_negative"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="credit_event_weight_positive"),
            models.CheckConstraint(condition=Q(role__in=CreditRole.values), name="credit_event_role_valid"),
            models.CheckConstraint(condition=Q(kind__in=CreditEventKind.values), name="credit_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject_id} ({self.role})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Credit events are append-only; record a reversing event instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Credit events are append-only; record a reversing event instead.")

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    @property
    def direction(self) -> str:
        if self.positive > self.negative:
            return "positive"
        if self.negative > self.positive:
            return "negative"
        return "neutral"


COMMENT_MAX_LENGTH = 280


class Rating(models.Model):
    """One party of a completed order rates the other. Sealed (invisible to the other
    party) until both have rated or the rating window closed."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_ratings", verbose_name=_("order"))
    rater = models.ForeignKey(User, on_delete=models.PROTECT, related_name="credit_ratings_given")
    ratee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="credit_ratings_received")
    rater_role = models.CharField(
        _("rated as"), max_length=10, choices=[("buyer", _("buyer")), ("seller", _("seller"))]
    )
    ratee_role = models.CharField(max_length=20, choices=CreditRole.choices)
    stars = models.PositiveSmallIntegerField(_("stars"))
    as_described = models.PositiveSmallIntegerField(_("as described / as graded"), null=True, blank=True)
    communication = models.PositiveSmallIntegerField(_("communication"))
    speed = models.PositiveSmallIntegerField(_("speed"))
    # Shown on the ratee's public profile once the rating is revealed; screened like messages.
    comment = models.CharField(_("comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last raised at"), auto_now=True)
    revealed_at = models.DateTimeField(_("visible since"), null=True, blank=True)
    # The credit event that currently carries this rating (replaced when it is raised).
    event = models.OneToOneField(CreditEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["order", "rater_role"], name="rating_once_per_side"),
            models.CheckConstraint(condition=Q(stars__gte=1) & Q(stars__lte=5), name="rating_stars_1_5"),
            models.CheckConstraint(
                condition=Q(as_described__isnull=True) | (Q(as_described__gte=1) & Q(as_described__lte=5)),
                name="rating_as_described_1_5",
            ),
            models.CheckConstraint(
                condition=Q(communication__gte=1) & Q(communication__lte=5), name="rating_communication_1_5"
            ),
            models.CheckConstraint(condition=Q(speed__gte=1) & Q(speed__lte=5), name="rating_speed_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.rater_role} → {self.stars}★"

    @property
    def sub_ratings(self) -> list[int]:
        values = [self.communication, self.speed]
        if self.as_described is not None:
            values.insert(0, self.as_described)
        return values


class CreditScore(models.Model):
    """The current score of a user in a role; written only by the recompute service."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="credit_scores")
    role = models.CharField(_("role"), max_length=20, choices=CreditRole.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    tier = models.CharField(_("tier"), max_length=20)
    alpha = models.FloatField()
    beta = models.FloatField()
    events = models.PositiveIntegerField(_("events counted"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "role"], name="credit_score_one_per_role"),
            models.CheckConstraint(condition=Q(score__lte=1000), name="credit_score_at_most_1000"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role}: {self.score} ({self.tier})"


class CreditScoreHistory(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=CreditRole.choices)
    score = models.PositiveSmallIntegerField()
    tier = models.CharField(max_length=20)
    computed_at = models.DateTimeField(db_index=True)
    cause = models.CharField(max_length=20)  # "event" or "nightly"

    class Meta:
        verbose_name = _("score history entry")
        verbose_name_plural = _("score history")
        ordering: ClassVar[list[str]] = ["-computed_at", "-pk"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["user", "role"], name="credit_history_user_role")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role}: {self.score}"


class TierEffectKind(models.TextChoices):
    CERTIFIED_APPRAISAL = "certified_appraisal", _("Needs a certified appraisal in every category")
    OPEN_LISTING_CAP = "open_listing_cap", _("At most this many listings on sale")
    NO_CASH_ON_PICKUP = "no_cash_on_pickup", _("No cash-on-pickup reservations")
    BADGE = "badge", _("Top-tier badge")
    STAFF_REVIEW = "staff_review", _("Certificates and grades go to staff review before they count")
    # Not a consequence of the tier but a condition for reaching it: the score alone does
    # not give the tier until the subject has completed at least `limit` orders in the role.
    MIN_COMPLETED_ORDERS = "min_completed_orders", _("Reached only with at least this many completed orders")


class TierEffect(models.Model):
    """One row of the credit policy table, edited by staff (a Wagtail snippet)."""

    role = models.CharField(_("role"), max_length=20, choices=CreditRole.choices)
    tier = models.CharField(_("tier"), max_length=20)
    effect = models.CharField(_("effect"), max_length=30, choices=TierEffectKind.choices)
    limit = models.PositiveIntegerField(
        _("limit"),
        null=True,
        blank=True,
        help_text=_("For the listing cap, and the number of completed orders a tier needs."),
    )
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("credit tier effect")
        verbose_name_plural = _("credit tier effects")
        ordering: ClassVar[list[str]] = ["role", "tier", "effect"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["role", "tier", "effect"], name="tier_effect_unique"),
            models.CheckConstraint(
                condition=~Q(effect="open_listing_cap") | Q(limit__isnull=False), name="tier_effect_cap_has_limit"
            ),
            models.CheckConstraint(
                condition=~Q(effect="min_completed_orders") | Q(limit__isnull=False),
                name="tier_effect_min_orders_has_limit",
                violation_error_message=_("Give the number of completed orders the tier needs in “limit”."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} · {self.tier} · {self.get_effect_display()}"


class RingStatus(models.TextChoices):
    OPEN = "open", _("Flagged")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed (not a ring)")


class RatingRing(models.Model):
    """Accounts that rate each other far more than anyone else. While not dismissed, their
    ratings of each other (and their completed orders with each other) count for nothing."""

    key = models.CharField(max_length=200, unique=True)  # the sorted member ids
    members = models.JSONField(_("members"))
    status = models.CharField(_("status"), max_length=10, choices=RingStatus.choices, default=RingStatus.OPEN)
    detected_at = models.DateTimeField(_("detected at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("rating ring")
        verbose_name_plural = _("rating rings")
        ordering: ClassVar[list[str]] = ["-detected_at", "-pk"]

    def __str__(self) -> str:
        return self.key


class AppealStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")


class CreditAppeal(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="credit_appeals")
    role = models.CharField(_("role"), max_length=20, choices=CreditRole.choices)
    event = models.ForeignKey(
        CreditEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="appeals", verbose_name=_("event")
    )
    text = models.TextField(_("why the record is wrong"), max_length=3000)
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision"), blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit appeal")
        verbose_name_plural = _("credit appeals")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["user", "event"], condition=Q(status="open"), name="credit_appeal_one_open_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_status_display()}"


class CreditConsent(models.Model):
    """The user agrees that their signed credit report may be shared with partners."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="credit_consent")
    granted_at = models.DateTimeField(_("granted at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit sharing consent")
        verbose_name_plural = _("credit sharing consents")

    def __str__(self) -> str:
        return f"{self.user_id}: {'active' if self.active else 'withdrawn'}"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class PartnerToken(models.Model):
    """A partner platform's API token. Only its SHA-256 is stored; the token is shown once."""

    name = models.CharField(_("partner"), max_length=120)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=30, default="credit_report")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner token")
        verbose_name_plural = _("partner tokens")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
