"""Erasure providers' keys, technicians' credentials, certificates and the append-only
transparency log. Records are never hard-deleted (minimum retention: three years)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models import Listing, Organisation, User
from marketplace.models.listings import private_storage


class NoDeleteQuerySet(models.QuerySet):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Erasure records are kept for at least three years and never deleted.")


class SigningKey(models.Model):
    """An Ed25519 key. Provider keys belong to an erasure provider; platform keys
    (organisation empty) countersign accepted certificates and log checkpoints. A
    private key is kept only when the platform signs for its owner, encrypted with
    the key in WIPE_CERT_ENCRYPTION_KEY."""

    key_id = models.CharField(_("key id"), max_length=64, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="signing_keys"
    )
    public_key = models.CharField(_("public key (base64)"), max_length=64)
    private_key_encrypted = models.TextField(blank=True, editable=False)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.CharField(_("revocation reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(valid_to__gt=models.F("valid_from")), name="signing_key_window"),
        ]

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_platform(self) -> bool:
        return self.organisation_id is None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Signing keys are revoked, never deleted.")


class TechnicianCredential(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="technician_credentials")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="technician_credentials")
    number = models.CharField(_("credential number"), max_length=64)
    issuer = models.CharField(_("issuer"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("technician credential")
        verbose_name_plural = _("technician credentials")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["issuer", "number"], name="technician_credential_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.number}"


class CertificateStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_REVIEW = "pending_review", _("Waiting for staff review (clear level)")
    ACCEPTED = "accepted", _("Valid")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded")


class ErasureCertificate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="erasure_certificates")
    technician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    credential = models.ForeignKey(TechnicianCredential, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=20, choices=CertificateStatus.choices, default=CertificateStatus.DRAFT)
    # Before signing: the draft being completed. After signing: exactly what was signed.
    payload = models.JSONField()
    payload_sha256 = models.CharField(max_length=64, blank=True)
    provider_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    provider_signature = models.CharField(max_length=128, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    acceptance = models.JSONField(default=dict, blank=True)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    platform_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    countersigned = models.JSONField(default=dict, blank=True)
    countersignature = models.CharField(max_length=128, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = models.CharField(max_length=500, blank=True)
    # Why it was revoked: the certificate itself, or the provider key that signed it.
    revoked_with_key = models.BooleanField(default=False)
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Keyed hashes (HMAC-SHA256 with a platform secret) of the device's serial/IMEIs/MEID,
    # so identifiers can be compared without showing them.
    identifier_hashes = models.JSONField(default=list, blank=True)
    # The secret salt and the identifiers in clear behind the payload's commitments
    # (wipe_cert.payload.commit_identifiers). Never public: only the provider, the seller,
    # the buyer of a completed order and staff see it.
    identifier_opening = models.JSONField(default=dict, blank=True, editable=False)
    listing = models.ForeignKey(
        Listing, on_delete=models.PROTECT, null=True, blank=True, related_name="erasure_certificates"
    )
    bound_at = models.DateTimeField(null=True, blank=True)
    source_format = models.CharField(max_length=30, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_report = models.FileField(storage=private_storage, upload_to="erasure-reports/%Y/%m/", blank=True)
    imported = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("erasure certificate")
        verbose_name_plural = _("erasure certificates")
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(provider_signature="") & Q(signed_at__isnull=False)),
                name="certificate_signed_unless_draft",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | ~Q(countersignature=""), name="certificate_accepted_countersigned"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Erasure certificates are kept for at least three years and never deleted.")


class LogEntryKind(models.TextChoices):
    CERTIFICATE = "certificate", _("Certificate accepted")
    KEY_REGISTERED = "key_registered", _("Provider key registered")
    KEY_REVOKED = "key_revoked", _("Provider key revoked")
    CERTIFICATE_REVOKED = "certificate_revoked", _("Certificate revoked")


class LogEntry(models.Model):
    """One leaf of the transparency log: an accepted certificate, or a platform-signed
    statement registering or revoking a provider key or revoking a certificate. The
    database refuses UPDATE and DELETE on this table (triggers created by the migration)."""

    index = models.PositiveBigIntegerField(primary_key=True)
    kind = models.CharField(max_length=30, choices=LogEntryKind.choices, default=LogEntryKind.CERTIFICATE)
    # The key id or certificate id a statement is about.
    subject = models.CharField(max_length=64, blank=True, db_index=True)
    certificate = models.OneToOneField(
        ErasureCertificate, on_delete=models.PROTECT, related_name="log_entry", null=True, blank=True
    )
    leaf = models.JSONField()
    leaf_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("transparency log entry")
        verbose_name_plural = _("transparency log")
        ordering: ClassVar[list[str]] = ["index"]

    def __str__(self) -> str:
        return f"#{self.index}"


class LogCheckpoint(models.Model):
    """A signed tree head, published periodically (append-only like the entries)."""

    tree_size = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40)
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    signature = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("log checkpoint")
        verbose_name_plural = _("log checkpoints")
        ordering: ClassVar[list[str]] = ["-tree_size", "-pk"]

    def __str__(self) -> str:
        return f"{self.tree_size} {self.root_hash[:12]}"


class CertificateIdentifier(models.Model):
    """One keyed hash of a certified device identifier, for matching across listings."""

    certificate = models.ForeignKey(ErasureCertificate, on_delete=models.PROTECT, related_name="identifiers")
    hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["certificate", "hash"], name="certificate_identifier_unique"),
        ]

    def __str__(self) -> str:
        return self.hash[:12]
