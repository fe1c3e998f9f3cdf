"""What moderators maintain: banned items, the stolen-goods register and user reports."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.models.accounts import User
from marketplace.models.listings import Listing


class ProhibitedCategory(models.TextChoices):
    WEAPONS = "weapons", _("Weapons and ammunition")
    DRUGS = "drugs", _("Drugs and controlled substances")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    RECALLED = "recalled", _("Recalled product")
    OTHER = "other", _("Other prohibited item")


class ProhibitedTerm(models.Model):
    """A word or phrase that may not appear in a listing (checked case-insensitively in
    the title, description, brand and model)."""

    term = models.CharField(_("term"), max_length=100, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=ProhibitedCategory.choices)
    note = models.CharField(_("note for moderators"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("prohibited term")
        verbose_name_plural = _("prohibited terms")
        ordering: ClassVar[list[str]] = ["category", "term"]

    def __str__(self) -> str:
        return self.term


class IdentifierKind(models.TextChoices):
    IMEI = "imei", _("IMEI / MEID")
    VIN = "vin", _("VIN")
    SERIAL = "serial", _("Serial number")


class StolenReportSource(models.TextChoices):
    OWNER = "owner", _("Owner's report")
    POLICE = "police", _("Police report")


class StolenGoodsReport(models.Model):
    """An entry of the stolen-goods register, made by staff from an owner's or police report."""

    identifier_kind = models.CharField(_("identifier kind"), max_length=10, choices=IdentifierKind.choices)
    identifier = models.CharField(_("identifier"), max_length=64, help_text=_("Stored in normalised form."))
    source = models.CharField(_("source"), max_length=10, choices=StolenReportSource.choices)
    reference = models.CharField(_("report reference"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    entered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stolen-goods report")
        verbose_name_plural = _("stolen-goods register")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["identifier"], condition=Q(active=True), name="stolen_active_identifier_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_identifier_kind_display()} {self.identifier}"


class StolenMatchAlert(models.Model):
    """Moderators were alerted that `listing` matches `report`; at most once per pair."""

    report = models.ForeignKey(StolenGoodsReport, on_delete=models.CASCADE, related_name="alerts")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="stolen_alerts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["report", "listing"], name="stolen_alert_once_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.report} ~ {self.listing_id}"


class ReportReason(models.TextChoices):
    COUNTERFEIT = "counterfeit", _("Counterfeit")
    STOLEN = "stolen", _("Stolen")
    PROHIBITED = "prohibited", _("Prohibited item")
    MISLEADING_GRADE = "misleading_grade", _("Misleading grade or description")
    FRAUD = "fraud", _("Fraud")
    OTHER = "other", _("Other")


class ReportStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    UPHELD = "upheld", _("Upheld: listing taken down")
    DISMISSED = "dismissed", _("Dismissed")


class ListingReport(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reports", verbose_name=_("listing"))
    reporter = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("reporter"))
    reason = models.CharField(_("reason"), max_length=20, choices=ReportReason.choices)
    details = models.TextField(_("details"), blank=True, max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    handled_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("handled by")
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    resolution_note = models.TextField(_("resolution"), blank=True)
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("listing report")
        verbose_name_plural = _("listing reports")
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["listing", "reporter"], condition=Q(status="open"), name="report_one_open_per_reporter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} · {self.listing}"
