"""Rule-set versions, appraiser credentials, appraisal requests and signed appraisals."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import Listing, Organisation, User
from marketplace.models.listings import private_storage


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ImmutableError(Exception):
    """Raised when code tries to change a record that must never change."""


class RuleSetVersion(models.Model):
    """One version of a rule set. Drafts can be edited; a published version never changes
    (its content hash identifies it in every appraisal made with it)."""

    key = models.CharField(_("rule set"), max_length=50, help_text=_("e.g. vehicles, electronics-mobile"))
    version = models.CharField(_("version"), max_length=20)
    category = models.CharField(_("category"), max_length=20)
    device_types = models.JSONField(_("device types"), default=list, blank=True)
    document = models.JSONField(_("rule-set document"))
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT)
    # An older published version whose grades are still accepted for publication.
    acceptable = models.BooleanField(_("older grades still acceptable"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("rule-set version")
        verbose_name_plural = _("rule-set versions")
        ordering: ClassVar[list[str]] = ["key", "-published_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["key", "version"], name="ruleset_key_version_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False), name="ruleset_published_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.version} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Invariant: a published version's content never changes.
        if self.pk:
            stored = RuleSetVersion.objects.filter(pk=self.pk).values("status", "document", "content_hash").first()
            if (
                stored
                and stored["status"] != RuleSetStatus.DRAFT
                and (stored["document"] != self.document or stored["content_hash"] != self.content_hash)
            ):
                raise ImmutableError("A published rule-set version cannot be changed; draft a new version.")
        super().save(*args, **kwargs)


class AppraiserCredential(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="appraiser_credentials")
    issuer = models.CharField(_("issuer"), max_length=200, help_text=_("e.g. 中国汽车流通协会"))
    number = models.CharField(_("credential number"), max_length=64)
    categories = models.JSONField(_("categories"), default=list)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    document = models.FileField(_("credential document"), storage=private_storage, upload_to="credentials/", blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("institution")
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appraiser credential")
        verbose_name_plural = _("appraiser credentials")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["issuer", "number"], name="credential_issuer_number_unique"),
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="credential_valid_window"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.number}"

    def usable_for(self, category: str, *, on: Any = None) -> bool:
        today = on or timezone.localdate()
        return (
            self.verified_at is not None
            and self.revoked_at is None
            and self.valid_from <= today <= self.valid_to
            and category in self.categories
        )


class AppraisalRequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an appraiser")
    CLAIMED = "claimed", _("Being appraised")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class AppraisalRequest(models.Model):
    """A listing waiting in the appraisers' queue. At most one open or claimed request
    per listing; claiming is a conditional update, so two appraisers cannot both win."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="appraisal_requests")
    category = models.CharField(max_length=20)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=AppraisalRequestStatus.choices, default=AppraisalRequestStatus.OPEN
    )
    claimed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appraisal request")
        verbose_name_plural = _("appraisal requests")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["listing"], condition=Q(status__in=["open", "claimed"]), name="appraisal_request_one_active"
            ),
            models.CheckConstraint(
                condition=~Q(status="claimed") | Q(claimed_by__isnull=False), name="appraisal_request_claimed_by"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} ({self.status})"


class AppraisalKind(models.TextChoices):
    SELF = "self", _("Self-assessed")
    CERTIFIED = "certified", _("Certified appraisal")


class AppraisalReview(models.TextChoices):
    """Whether a signed appraisal counts yet. An appraiser whose credit tier requires it
    (marketplace.credit.effects.requires_review) signs appraisals that wait for staff:
    until approved they are not the listing's grade and the earlier grade stays current."""

    NOT_REQUIRED = "not_required", _("Counts (no review needed)")
    PENDING = "pending", _("Waiting for staff review")
    APPROVED = "approved", _("Approved by staff")
    REJECTED = "rejected", _("Rejected by staff")


# Appraisals that count: the listing's grade, for publication, search, badges and orders.
COUNTED_REVIEW = (AppraisalReview.NOT_REQUIRED, AppraisalReview.APPROVED)


class Appraisal(models.Model):
    """A signed grade. Never edited: a re-appraisal creates a new record and marks this
    one superseded. `digest` is the SHA-256 over everything that was signed; the staff
    review fields are not signed (they record a decision about the grade, not the grade)."""

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="appraisals")
    kind = models.CharField(max_length=10, choices=AppraisalKind.choices)
    appraiser = models.ForeignKey(User, on_delete=models.PROTECT, related_name="appraisals")
    credential = models.ForeignKey(AppraiserCredential, on_delete=models.PROTECT, null=True, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    rule_set = models.ForeignKey(RuleSetVersion, on_delete=models.PROTECT, related_name="appraisals")
    rule_set_key = models.CharField(max_length=50)
    rule_set_version = models.CharField(max_length=20)
    rule_set_hash = models.CharField(max_length=64)
    answers = models.JSONField()
    facts = models.JSONField(default=dict)
    result = models.JSONField()
    grade = models.CharField(max_length=20, blank=True)
    sellable = models.BooleanField()
    score = models.FloatField(null=True, blank=True)
    signed_at = models.DateTimeField()
    digest = models.CharField(max_length=64, unique=True)
    superseded_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    review_status = models.CharField(
        _("staff review"), max_length=20, choices=AppraisalReview.choices, default=AppraisalReview.NOT_REQUIRED
    )
    reviewed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("appraisal")
        verbose_name_plural = _("appraisals")
        ordering: ClassVar[list[str]] = ["-signed_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["listing"],
                condition=Q(superseded_at__isnull=True, review_status__in=COUNTED_REVIEW),
                name="appraisal_one_current_per_listing",
            ),
            models.CheckConstraint(
                condition=Q(kind="self") | Q(credential__isnull=False), name="appraisal_certified_has_credential"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.grade or '—'} ({self.kind})"

    SIGNED_FIELDS: ClassVar[tuple[str, ...]] = (
        "listing_id",
        "kind",
        "appraiser_id",
        "credential_id",
        "organisation_id",
        "rule_set_id",
        "rule_set_key",
        "rule_set_version",
        "rule_set_hash",
        "answers",
        "facts",
        "result",
        "grade",
        "sellable",
        "score",
        "signed_at",
        "digest",
    )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Invariant: only the supersession link may be set after signing.
        if self.pk:
            stored = Appraisal.objects.filter(pk=self.pk).values(*self.SIGNED_FIELDS).first()
            if stored and any(stored[name] != getattr(self, name) for name in self.SIGNED_FIELDS):
                raise ImmutableError("A signed appraisal cannot be changed; appraise again instead.")
        super().save(*args, **kwargs)

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None and self.review_status in COUNTED_REVIEW

    @property
    def counts(self) -> bool:
        return self.review_status in COUNTED_REVIEW


class AppraisalEvidence(models.Model):
    """A photo proving one answer (e.g. the welded B pillar), metadata stripped."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.PROTECT, related_name="evidence")
    item = models.CharField(max_length=50)
    position = models.CharField(max_length=50, blank=True)
    defect = models.CharField(max_length=50, blank=True)
    photo = models.FileField(storage=private_storage, upload_to="appraisal-evidence/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appraisal evidence")

    def __str__(self) -> str:
        return f"{self.appraisal_id} {self.item} {self.position}"


class ValuationParameters(models.Model):
    """Staff-editable valuation settings per category (and device type for electronics)."""

    category = models.CharField(_("category"), max_length=20)
    device_type = models.CharField(_("device type"), max_length=20, blank=True)
    annual_depreciation_percent = models.PositiveSmallIntegerField(
        _("depreciation per year (%)"), help_text=_("Used when fewer than five comparable sales exist.")
    )
    floor_percent = models.PositiveSmallIntegerField(_("lowest residual value (%)"), default=10)
    useful_life_years = models.PositiveSmallIntegerField(_("useful life (years)"), default=15)
    band_percent = models.PositiveSmallIntegerField(_("band width ± (%)"), default=15)
    grade_multipliers = models.JSONField(_("grade multipliers (%)"), default=dict)
    comparable_days = models.PositiveSmallIntegerField(_("comparable sales window (days)"), default=180)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("valuation parameters")
        verbose_name_plural = _("valuation parameters")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["category", "device_type"], name="valuation_parameters_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.device_type}".strip()


class PriceFlag(models.Model):
    """An asking price outside the fair band, for moderators to look at. Not a block."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_flags")
    price = models.PositiveBigIntegerField()
    band_low = models.PositiveBigIntegerField()
    band_high = models.PositiveBigIntegerField()
    position = models.CharField(max_length=10, choices=[("below", _("below the band")), ("above", _("above the band"))])
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("price flag")
        verbose_name_plural = _("price flags")
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["listing", "price"], name="price_flag_once_per_price"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.price} {self.position}"
