"""Issuing, importing, signing, accepting, binding and revoking erasure certificates,
and the transparency log."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Listing,
    ListingStatus,
    Membership,
    Order,
    OrderStatus,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from marketplace.models.listings import LIVE_STATUSES
from marketplace.services.accounts import user_act_as
from marketplace.services.listings import listing_can_manage
from marketplace.services.notifications import moderators, notify
from marketplace.signals import DomainSignal, erasure_certificate_revoked, listing_changed
from marketplace.validators import normalise_imei, normalise_meid, normalise_serial
from wipe_cert import merkle
from wipe_cert.acceptance import Outcome, decide
from wipe_cert.importers import ImportedReport, ReportUnreadable, import_report
from wipe_cert.keys import (
    encrypt_private_key,
    identifier_key,
    new_key_id,
    platform_key,
    private_key_of,
    public_b64,
)
from wipe_cert.models import (
    CertificateIdentifier,
    CertificateStatus,
    ErasureCertificate,
    LogCheckpoint,
    LogEntry,
    LogEntryKind,
    SigningKey,
    TechnicianCredential,
)
from wipe_cert.payload import (
    LEGACY_SCHEMA_VERSION,
    SCHEMA_VERSION,
    PayloadInvalid,
    commit_identifiers,
    fingerprint,
    opening_problems,
    validate_payload,
)
from wipe_cert.signing import (
    BUNDLE_FORMAT,
    CERTIFICATE_REVOKED,
    KEY_REGISTERED,
    KEY_REVOKED,
    KEYS_FORMAT,
    LOG_ID,
    BundleCheck,
    TrustAnchors,
    checkpoint_body,
    key_fingerprint,
    leaf_hash_of,
    log_leaf,
    sign,
    signed_statement,
    unb64,
    verify_bundle,
    verify_signature,
)

# Sent on commit when a certificate is revoked: the credit system scores the provider,
# orders tell their buyers. Arguments: certificate_id, provider_id, listing_id.
certificate_revoked = DomainSignal("wipe_cert.certificate_revoked")

ACCEPTED_LIKE = frozenset({CertificateStatus.ACCEPTED})


# --- identifiers ------------------------------------------------------------------------


def identifier_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalised device identifier under the platform's secret."""
    return hmac.new(identifier_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _device_identifiers(device: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Identifiers in clear (a draft's or an opening's device), normalised for comparison."""
    found = set()
    if device.get("serial"):
        found.add(("serial", normalise_serial(str(device["serial"]))))
    for imei in device.get("imeis") or []:
        found.add(("imei", str(imei)))
    if device.get("meid"):
        found.add(("meid", str(device["meid"])))
    return found


def payload_identifier_hashes(payload: Mapping[str, Any]) -> list[str]:
    """Keyed hashes of a device given in clear (a draft payload or an opening)."""
    return sorted(identifier_hash(kind, value) for kind, value in _device_identifiers(payload.get("device") or {}))


def listing_identifier_hashes(listing: Listing) -> set[str]:
    ids = listing.identifiers()
    pairs = set()
    if ids.get("serial"):
        pairs.add(("serial", ids["serial"]))
    for key in ("imei", "imei2"):
        if ids.get(key):
            pairs.add(("imei", ids[key]))
    if ids.get("meid"):
        pairs.add(("meid", ids["meid"]))
    return {identifier_hash(kind, value) for kind, value in pairs}


def mask(value: str) -> str:
    return f"•••• {value[-4:]}" if value else ""


# --- who may act ---------------------------------------------------------------------------


def _provider(provider_id: int) -> Organisation:
    provider = Organisation.objects.filter(pk=provider_id, kind=OrganisationKind.ERASURE_PROVIDER).first()
    if provider is None:
        raise NotFound(_("No such erasure provider."))
    if provider.verified_at is None:
        raise PermissionDenied(_("The erasure provider has not been verified by staff yet."))
    return provider


def technician_credential(*, technician: User, provider: Organisation) -> TechnicianCredential:
    """The technician must be the provider's member, use 2FA and hold a valid, verified credential."""
    user_act_as(user=technician, role=Role.TECHNICIAN, organisation=provider)
    today = timezone.localdate()
    credential = (
        TechnicianCredential.objects.filter(
            user=technician,
            provider=provider,
            verified_at__isnull=False,
            valid_from__lte=today,
            valid_to__gte=today,
        )
        .order_by("-valid_to")
        .first()
    )
    if credential is None:
        raise PermissionDenied(
            _("You need a verified, unexpired technician credential of this provider."), code="credential_required"
        )
    return credential


def _provider_manager(user: User, provider: Organisation) -> bool:
    return Membership.objects.filter(
        user=user, organisation=provider, role__in=[Role.OWNER, Role.STAFF, Role.TECHNICIAN]
    ).exists()


def certificate_can_see_identifiers(*, user: User, certificate: ErasureCertificate) -> bool:
    """Full identifiers and the opening of their commitments: the provider, the seller,
    the buyer of a completed order and staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or _provider_manager(user, certificate.provider):
        return True
    if certificate.listing is None:
        return False
    if listing_can_manage(user=user, listing=certificate.listing):
        return True
    # The buyer of a completed order has the device in hand and may check it.
    return Order.objects.filter(listing=certificate.listing, buyer=user, status=OrderStatus.COMPLETED).exists()


# --- keys -----------------------------------------------------------------------------------


@transaction.atomic
def provider_key_create(*, actor: User, provider_id: int, valid_days: int = 365) -> SigningKey:
    """A new key pair for a provider that lets the platform sign on its behalf."""
    provider = _provider(provider_id)
    if not (actor.is_staff or Membership.objects.filter(user=actor, organisation=provider, role=Role.OWNER).exists()):
        raise PermissionDenied(_("Only the provider's owner or staff can create keys."))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    now = timezone.now()
    key = SigningKey.objects.create(
        key_id=new_key_id("provider"),
        organisation=provider,
        public_key=public_b64(private),
        private_key_encrypted=encrypt_private_key(private),
        valid_from=now - dt.timedelta(minutes=1),
        valid_to=now + dt.timedelta(days=valid_days),
    )
    key_registration_entry(key)
    return key


@transaction.atomic
def provider_key_register(
    *, actor: User, provider_id: int, key_id: str, public_key: str, valid_from: dt.datetime, valid_to: dt.datetime
) -> SigningKey:
    """Register the public half of a key the provider keeps off-platform."""
    provider = _provider(provider_id)
    if not (actor.is_staff or Membership.objects.filter(user=actor, organisation=provider, role=Role.OWNER).exists()):
        raise PermissionDenied(_("Only the provider's owner or staff can register keys."))
    try:
        if len(unb64(public_key)) != 32:
            raise ValueError
    except ValueError as exc:
        raise ValidationFailed(_("That is not a base64 Ed25519 public key (32 bytes).")) from exc
    if valid_to <= valid_from:
        raise ValidationFailed(_("A key must be valid for some time."))
    if SigningKey.objects.filter(key_id=key_id).exists():
        raise Conflict(_("That key id is already registered."), code="key_id_taken")
    key = SigningKey.objects.create(
        key_id=key_id, organisation=provider, public_key=public_key, valid_from=valid_from, valid_to=valid_to
    )
    key_registration_entry(key)
    return key


@transaction.atomic
def signing_key_revoke(*, actor: User, key_id: str, reason: str) -> SigningKey:
    """Revoke a provider's key: a platform-signed revocation goes into the transparency
    log, and every certificate the key signed is revoked at once — its listing leaves
    sale and search, unshipped orders on it are held for a moderator, everyone concerned
    is told. The admin and the API both call this."""
    key = (
        SigningKey.objects.select_for_update(of=("self",)).select_related("organisation").filter(key_id=key_id).first()
    )
    if key is None:
        raise NotFound(_("No such key."))
    owner = (
        key.organisation is not None
        and Membership.objects.filter(user=actor, organisation=key.organisation, role=Role.OWNER).exists()
    )
    if not (actor.is_staff or owner):
        raise PermissionDenied(_("Only the provider's owner or staff can revoke its keys."))
    if key.is_platform:
        raise Conflict(
            _("Platform keys are rotated by the operators, not revoked here."), code="platform_key_not_revocable"
        )
    if not reason.strip():
        raise ValidationFailed(_("Give the reason for revoking the key."))
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.revocation_reason = reason.strip()[:300]
    key.save(update_fields=["revoked_at", "revocation_reason"])
    key_registration_entry(key)
    _log_statement(
        LogEntryKind.KEY_REVOKED,
        key.key_id,
        {
            "type": KEY_REVOKED,
            "key_id": key.key_id,
            "owner_uscc": key.organisation.uscc if key.organisation else "",
            "revoked_at": key.revoked_at.isoformat(),
            "reason": key.revocation_reason,
        },
    )
    affected = (
        ErasureCertificate.objects.select_for_update()
        .filter(provider_key=key, status__in=[CertificateStatus.ACCEPTED, CertificateStatus.PENDING_REVIEW])
        .order_by("pk")
    )
    for certificate in affected:
        _revoke(
            certificate,
            actor=actor,
            at=key.revoked_at,
            reason=key.revocation_reason,
            with_key=True,
        )
    return key


def key_registration_entry(key: SigningKey) -> LogEntry:
    """The platform-signed statement registering a provider key in the transparency log;
    written when the key is created or registered (and, for keys older than this record,
    the first time a bundle needs it)."""
    entry = LogEntry.objects.filter(kind=LogEntryKind.KEY_REGISTERED, subject=key.key_id).first()
    if entry is not None:
        return entry
    organisation = key.organisation
    return _log_statement(
        LogEntryKind.KEY_REGISTERED,
        key.key_id,
        {
            "type": KEY_REGISTERED,
            "key_id": key.key_id,
            "alg": "Ed25519",
            "public_key": key.public_key,
            "owner_name": organisation.name if organisation else "",
            "owner_uscc": organisation.uscc if organisation else "",
            "valid_from": key.valid_from.isoformat(),
            "valid_to": key.valid_to.isoformat(),
            "registered_at": timezone.now().isoformat(),
        },
    )


def _active_provider_key(provider: Organisation) -> SigningKey:
    now = timezone.now()
    key = (
        SigningKey.objects.filter(organisation=provider, revoked_at__isnull=True, valid_from__lte=now, valid_to__gt=now)
        .exclude(private_key_encrypted="")
        .order_by("-valid_from")
        .first()
    )
    if key is None:
        raise Conflict(
            _("The provider has no key the platform can sign with; create one or upload a signed certificate."),
            code="no_signing_key",
        )
    return key


# --- drafts ---------------------------------------------------------------------------------


def _draft_payload(
    *,
    device: Mapping[str, Any],
    media: Sequence[Mapping[str, Any]],
    locks: Mapping[str, Any] | None,
    device_encrypted: bool | None,
    exceptions: Sequence[str] | None,
    source_format: str,
    source_sha256: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "device": _clean_device(device),
        "media": [dict(m) for m in media],
        "locks": dict(locks or {}),
        "exceptions": list(exceptions or []),
        "source_report": {"format": source_format, "sha256": source_sha256},
    }
    if device_encrypted is not None:
        payload["device_encrypted"] = device_encrypted
    return payload


def _clean_serial(value: str) -> str:
    """A serial as typed or read. One that is not printable text arrives from the
    importers as "hex:" and its bytes, kept exactly; others are normalised as listings are."""
    if value[:4].lower() == "hex:":
        return "hex:" + value[4:].strip().lower()
    return normalise_serial(value)


def _clean_device(device: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise identifiers the way listings store them, with field errors."""
    from django.core.exceptions import ValidationError

    clean = {k: v for k, v in dict(device).items() if v not in (None, "", [])}
    errors: dict[str, list[str]] = {}
    if clean.get("serial"):
        clean["serial"] = _clean_serial(str(clean["serial"]))
    try:
        if clean.get("imeis"):
            clean["imeis"] = [normalise_imei(str(i)) for i in clean["imeis"]]
    except ValidationError as exc:
        errors["device.imeis"] = exc.messages
    try:
        if clean.get("meid"):
            clean["meid"] = normalise_meid(str(clean["meid"]))
    except ValidationError as exc:
        errors["device.meid"] = exc.messages
    if errors:
        raise ValidationFailed(_("Some device fields are not valid."), details={"fields": errors})
    return clean


@transaction.atomic
def certificate_draft_create(
    *,
    technician: User,
    provider_id: int,
    device: Mapping[str, Any],
    media: Sequence[Mapping[str, Any]],
    locks: Mapping[str, Any] | None = None,
    device_encrypted: bool | None = None,
    exceptions: Sequence[str] | None = None,
    listing_id: int | None = None,
) -> ErasureCertificate:
    """A certificate typed in by a technician (no tool report)."""
    provider = _provider(provider_id)
    credential = technician_credential(technician=technician, provider=provider)
    payload = _draft_payload(
        device=device,
        media=media,
        locks=locks,
        device_encrypted=device_encrypted,
        exceptions=exceptions,
        source_format="manual",
        source_sha256=None,
    )
    listing = Listing.objects.filter(pk=listing_id).first() if listing_id else None
    if listing_id and listing is None:
        raise NotFound(_("No such listing."))
    return ErasureCertificate.objects.create(
        provider=provider,
        technician=technician,
        credential=credential,
        payload=payload,
        source_format="manual",
        imported={"listing_id": listing_id} if listing_id else {},
    )


@transaction.atomic
def certificate_import(
    *,
    technician: User,
    provider_id: int,
    report_format: str,
    data: bytes,
    filename: str,
    media_type: str | None = None,
    device: Mapping[str, Any] | None = None,
    locks: Mapping[str, Any] | None = None,
    listing_id: int | None = None,
) -> tuple[ErasureCertificate, ImportedReport]:
    """A draft made from an erasure tool's report. The report is stored with its SHA-256;
    what it records is read from it, the technician adds only what it lacks."""
    from django.conf import settings

    provider = _provider(provider_id)
    credential = technician_credential(technician=technician, provider=provider)
    if len(data) > settings.WIPE_CERT_REPORT_MAX_BYTES:
        raise ValidationFailed(_("The report file is too large."), details={"fields": {"file": [_("Too large.")]}})
    try:
        # What the report lacks is kept in English (the msgids) and translated for each
        # reader when shown (presentation.missing_fields), not in the importer's language.
        with translation.override(None):
            report = import_report(report_format, data)
    except ReportUnreadable as exc:
        raise ValidationFailed(
            _("The file could not be read as %(format)s: %(why)s") % {"format": report_format, "why": exc},
            code=exc.code,
            details={"fields": {"file": [str(exc)]}},
        ) from exc
    media = [dict(m) for m in report.media]
    if media_type:
        for medium in media:
            medium["type"] = media_type
    merged_device = {**report.device, **dict(device or {})}
    merged_device.pop("path", None)
    merged_device.pop("global_data_erased", None)
    payload = _draft_payload(
        device=merged_device,
        media=media,
        locks=locks,
        device_encrypted=None,
        exceptions=None,
        source_format=report.format,
        source_sha256=report.sha256,
    )
    if listing_id and not Listing.objects.filter(pk=listing_id).exists():
        raise NotFound(_("No such listing."))
    certificate = ErasureCertificate(
        provider=provider,
        technician=technician,
        credential=credential,
        payload=payload,
        source_format=report.format,
        source_sha256=report.sha256,
        imported={
            "read_fields": report.read_fields,
            "missing": report.missing,
            "filename": filename[:200],
            "listing_id": listing_id,
        },
    )
    certificate.source_report.save(f"{report.sha256[:16]}-{report.format}.txt", ContentFile(data), save=False)
    certificate.save()
    return certificate, report


def _certificate_for_technician(technician: User, certificate_id: Any) -> ErasureCertificate:
    certificate = ErasureCertificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None or not _provider_manager(technician, certificate.provider):
        raise NotFound(_("No such certificate."))
    return certificate


@transaction.atomic
def certificate_draft_update(
    *,
    technician: User,
    certificate_id: Any,
    device: Mapping[str, Any] | None = None,
    media: Sequence[Mapping[str, Any]] | None = None,
    locks: Mapping[str, Any] | None = None,
    device_encrypted: bool | None = None,
    exceptions: Sequence[str] | None = None,
) -> ErasureCertificate:
    """Complete a draft. Fields read from a tool report cannot be overwritten."""
    certificate = _certificate_for_technician(technician, certificate_id)
    technician_credential(technician=technician, provider=certificate.provider)
    if certificate.status != CertificateStatus.DRAFT:
        raise Conflict(_("A signed certificate cannot be changed."), code="certificate_signed")
    payload = copy.deepcopy(certificate.payload)
    if device is not None:
        payload["device"] = _clean_device({**payload.get("device", {}), **dict(device)})
    if media is not None:
        read_only = set(certificate.imported.get("read_fields", []))
        current = payload.get("media", [])
        if read_only and len(media) != len(current):
            raise ValidationFailed(_("The media of an imported report cannot be added or removed."))
        merged = []
        for index, change in enumerate(media):
            base = dict(current[index]) if index < len(current) else {}
            # What the report recorded is final; what it left empty the technician fills in.
            touched = sorted(
                k for k in change if k in read_only and base.get(k) not in (None, "") and change[k] != base.get(k)
            )
            if touched:
                raise ValidationFailed(
                    _("These fields were read from the tool's report and cannot be typed over: %(fields)s")
                    % {"fields": ", ".join(touched)},
                    details={"fields": {f"media.{index}.{k}": [_("Read from the report.")] for k in touched}},
                )
            merged.append({**base, **dict(change)})
        payload["media"] = merged
    if locks is not None:
        payload["locks"] = {**payload.get("locks", {}), **dict(locks)}
    if device_encrypted is not None:
        payload["device_encrypted"] = device_encrypted
    if exceptions is not None:
        payload["exceptions"] = list(exceptions)
    certificate.payload = payload
    certificate.save(update_fields=["payload", "updated_at"])
    return certificate


# --- signing and acceptance ------------------------------------------------------------------


def _final_payload(
    certificate: ErasureCertificate, key: SigningKey, credential: TechnicianCredential
) -> dict[str, Any]:
    draft = copy.deepcopy(certificate.payload)
    media = draft.get("media", [])
    failed = any(m.get("result") == "failed" or m.get("status") == "failed" for m in media)
    payload = {
        "schema": SCHEMA_VERSION,
        "certificate_id": str(certificate.pk),
        "issued_at": timezone.now().isoformat(),
        "provider": {"name": certificate.provider.name, "uscc": certificate.provider.uscc, "key_id": key.key_id},
        "technician": {"name": certificate.technician.public_name, "credential": credential.number},
        **draft,
        "overall_result": "fail" if failed else "pass",
    }
    payload.setdefault("exceptions", [])
    return payload


def _invalid_payload(exc: PayloadInvalid) -> ValidationFailed:
    return ValidationFailed(
        _("The certificate is incomplete or not valid."), code="certificate_invalid", details={"problems": exc.problems}
    )


@transaction.atomic
def certificate_sign(*, technician: User, certificate_id: Any) -> ErasureCertificate:
    """The provider's key (held by the platform) signs the completed draft; then the
    platform decides acceptance."""
    certificate = _certificate_for_technician(technician, certificate_id)
    credential = technician_credential(technician=technician, provider=certificate.provider)
    if certificate.status != CertificateStatus.DRAFT:
        raise Conflict(_("This certificate is already signed."), code="certificate_signed")
    key = _active_provider_key(certificate.provider)
    draft = _final_payload(certificate, key, credential)
    payload, opening = commit_identifiers(draft)
    try:
        validate_payload(payload)
    except PayloadInvalid as exc:
        raise _invalid_payload(exc) from exc
    certificate.payload = payload
    certificate.identifier_opening = opening
    certificate.payload_sha256 = fingerprint(payload)
    certificate.provider_key = key
    certificate.provider_signature = sign(private_key_of(key), payload)
    certificate.signed_at = timezone.now()
    certificate.identifier_hashes = payload_identifier_hashes(draft)
    certificate.status = CertificateStatus.PENDING_REVIEW  # placeholder until decided below
    certificate.save()
    _record_identifiers(certificate)
    return _decide_and_record(certificate)


@transaction.atomic
def certificate_upload_signed(*, actor: User, provider_id: int, envelope: Mapping[str, Any]) -> ErasureCertificate:
    """A certificate the provider signed off-platform: {"payload", "key_id", "signature"}."""
    provider = _provider(provider_id)
    if not _provider_manager(actor, provider):
        raise PermissionDenied(_("Only the provider's members can upload its certificates."))
    if Membership.objects.filter(user=actor, organisation=provider, role=Role.TECHNICIAN).exists():
        user_act_as(user=actor, role=Role.TECHNICIAN, organisation=provider)
    payload = envelope.get("payload")
    if not isinstance(payload, Mapping):
        raise ValidationFailed(_("The envelope has no payload."), code="certificate_invalid")
    try:
        validate_payload(payload)
    except PayloadInvalid as exc:
        raise _invalid_payload(exc) from exc
    if payload["schema"] == LEGACY_SCHEMA_VERSION:
        raise ValidationFailed(
            _(
                "Certificates with device identifiers in clear are no longer accepted: sign a %(schema)s payload "
                "with salted commitments and send its opening."
            )
            % {"schema": SCHEMA_VERSION},
            code="identifiers_in_clear",
        )
    opening = envelope.get("opening")
    if not isinstance(opening, Mapping) or opening_problems(payload, opening):
        raise ValidationFailed(
            _("The opening (salt and identifiers) does not match the certificate's identifier commitments."),
            code="opening_mismatch",
            details={"problems": opening_problems(payload, opening) if isinstance(opening, Mapping) else []},
        )
    opening = {
        "salt": str(opening["salt"]),
        "device": _clean_device(dict(opening.get("device") or {})),
        "media": list(opening.get("media") or []),
    }
    if opening_problems(payload, opening):
        raise ValidationFailed(
            _("Write the identifiers in the opening the way they were committed (normalised)."),
            code="opening_mismatch",
        )
    key = SigningKey.objects.filter(key_id=envelope.get("key_id"), organisation=provider).first()
    if key is None or payload["provider"]["key_id"] != key.key_id:
        raise ValidationFailed(_("The certificate names a key this provider has not registered."), code="unknown_key")
    if payload["provider"]["uscc"] != provider.uscc:
        raise ValidationFailed(_("The certificate was issued by another provider."), code="wrong_provider")
    if not verify_signature(key.public_key, payload, str(envelope.get("signature", ""))):
        raise ValidationFailed(
            _("The signature does not match: the certificate was changed or signed with another key."),
            code="bad_signature",
        )
    issued = dt.datetime.fromisoformat(payload["issued_at"])
    if key.revoked_at is not None or not key.valid_from <= issued <= key.valid_to:
        raise ValidationFailed(
            _("The key was revoked or not valid when the certificate was signed."), code="key_invalid"
        )
    if ErasureCertificate.objects.filter(pk=payload["certificate_id"]).exists():
        raise Conflict(_("A certificate with this id already exists."), code="certificate_exists")
    technician = actor
    certificate = ErasureCertificate.objects.create(
        id=payload["certificate_id"],
        provider=provider,
        technician=technician,
        payload=dict(payload),
        payload_sha256=fingerprint(payload),
        provider_key=key,
        provider_signature=str(envelope["signature"]),
        signed_at=timezone.now(),
        identifier_opening=opening,
        identifier_hashes=payload_identifier_hashes(opening),
        status=CertificateStatus.PENDING_REVIEW,
        source_format=payload["source_report"]["format"],
        source_sha256=payload["source_report"].get("sha256") or "",
    )
    _record_identifiers(certificate)
    return _decide_and_record(certificate)


def _record_identifiers(certificate: ErasureCertificate) -> None:
    CertificateIdentifier.objects.bulk_create(
        CertificateIdentifier(certificate=certificate, hash=digest) for digest in certificate.identifier_hashes
    )


def _decide_and_record(certificate: ErasureCertificate) -> ErasureCertificate:
    # The credit policy table may send a low-tier technician's certificates to staff
    # before they count (imported here to keep this change to this function).
    from marketplace.credit.effects import requires_review
    from marketplace.credit.models import CreditRole

    decision = decide(certificate.payload)
    certificate.acceptance = decision.as_dict()
    held = decision.outcome == Outcome.PASS and requires_review(certificate.technician_id, CreditRole.TECHNICIAN)
    if held:
        certificate.acceptance["outcome"] = str(Outcome.REVIEW)
        certificate.acceptance["reasons"].append(
            {
                "code": "technician_credit_review",
                "outcome": str(Outcome.REVIEW),
                "message": "the technician's credit tier requires staff review before their certificates count",
                "medium": None,
            }
        )
    if decision.outcome == Outcome.PASS and not held:
        certificate.save(update_fields=["acceptance", "updated_at"])
        return _accept(certificate)
    certificate.status = (
        CertificateStatus.REJECTED if decision.outcome == Outcome.FAIL else CertificateStatus.PENDING_REVIEW
    )
    certificate.save(update_fields=["acceptance", "status", "updated_at"])
    if certificate.status == CertificateStatus.PENDING_REVIEW:
        notify(
            users=moderators(),
            kind="certificate_review",
            subject=gettext_lazy("Erasure certificate to review"),
            body=gettext_lazy(
                "Certificate %(id)s passes the erasure rules, but its technician's credit tier requires staff "
                "review before it counts; approve or reject it."
            )
            if held
            else gettext_lazy("Certificate %(id)s reaches only NIST Clear on flash storage; approve or reject it."),
            params={"id": str(certificate.pk)},
            link="/cms-admin/",
        )
    return certificate


def _accept(certificate: ErasureCertificate, reviewer: User | None = None) -> ErasureCertificate:
    """Countersign and append to the log. The platform key row is the log's lock."""
    key = platform_key()
    SigningKey.objects.select_for_update().filter(pk=key.pk).first()
    accepted_at = timezone.now()
    counter = {
        "payload_sha256": certificate.payload_sha256,
        "provider_signature": certificate.provider_signature,
        "accepted_at": accepted_at.isoformat(),
    }
    certificate.countersigned = counter
    certificate.countersignature = sign(private_key_of(key), counter)
    certificate.platform_key = key
    certificate.accepted_at = accepted_at
    certificate.status = CertificateStatus.ACCEPTED
    if reviewer is not None:
        certificate.reviewed_by = reviewer
    certificate.save()
    leaf = log_leaf(
        certificate_id=str(certificate.pk),
        payload_sha256=certificate.payload_sha256,
        provider_signature=certificate.provider_signature,
        accepted_at=counter["accepted_at"],
    )
    if certificate.provider_key is not None:
        key_registration_entry(certificate.provider_key)
    _log_append(LogEntryKind.CERTIFICATE, str(certificate.pk), leaf, certificate=certificate)
    listing_id = certificate.imported.get("listing_id")
    if listing_id:
        # If it does not fit, the seller sees why when binding or publishing.
        with contextlib.suppress(ValidationFailed, Conflict):
            _bind(certificate=certificate, listing=Listing.objects.select_for_update(of=("self",)).get(pk=listing_id))
    return certificate


@transaction.atomic
def certificate_review(*, staff: User, certificate_id: Any, approve: bool, note: str) -> ErasureCertificate:
    if not staff.is_staff:
        raise PermissionDenied(_("Only staff review certificates."))
    certificate = ErasureCertificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise NotFound(_("No such certificate."))
    if certificate.status != CertificateStatus.PENDING_REVIEW:
        raise Conflict(_("This certificate is not waiting for review."), code="not_in_review")
    if not note.strip():
        raise ValidationFailed(_("Write down why you approve or reject it."))
    certificate.review_note = note.strip()
    certificate.reviewed_by = staff
    if approve:
        certificate.save(update_fields=["review_note", "reviewed_by", "updated_at"])
        return _accept(certificate, reviewer=staff)
    certificate.status = CertificateStatus.REJECTED
    certificate.save(update_fields=["review_note", "reviewed_by", "status", "updated_at"])
    return certificate


# --- binding to listings --------------------------------------------------------------------


def _completed_at(payload: Mapping[str, Any]) -> dt.datetime | None:
    ends = [m.get("ended_at") for m in payload.get("media", []) if m.get("ended_at")]
    return max(dt.datetime.fromisoformat(e) for e in ends) if ends else None


# A report's capacity may differ from the listed one by decimal/binary units (512 GB is
# 476.8 GiB; a "512 GiB" drive is 549.8 GB) and by vendors' rounding: 10 % covers that,
# and no real device is mistaken for one ten times its size.
CAPACITY_TOLERANCE = 0.10


def _model_key(value: str) -> str:
    return "".join(ch for ch in value.casefold() if ch.isalnum())


def device_mismatches(payload: Mapping[str, Any], listing: Listing) -> list[tuple[str, str]]:
    """The device in the report must be the device in the listing: its model and its
    storage capacity (within CAPACITY_TOLERANCE). Identifiers are compared separately."""
    attributes = listing.attributes
    problems: list[tuple[str, str]] = []
    listed_model = _model_key(f"{getattr(attributes, 'model_name', '') or ''}")
    reported_model = _model_key(str((payload.get("device") or {}).get("model") or ""))
    if listed_model and reported_model and listed_model not in reported_model and reported_model not in listed_model:
        problems.append(
            (
                "model_mismatch",
                _("The certificate is for a %(reported)s, but the listing is for a %(listed)s.")
                % {
                    "reported": (payload.get("device") or {}).get("model"),
                    "listed": getattr(attributes, "model_name", ""),
                },
            )
        )
    listed_gb = getattr(attributes, "storage_capacity_gb", None)
    reported = sum(int(m.get("capacity_bytes") or 0) for m in payload.get("media") or [])
    if listed_gb and reported:
        listed = listed_gb * 1_000_000_000
        if abs(reported - listed) > listed * CAPACITY_TOLERANCE:
            problems.append(
                (
                    "capacity_mismatch",
                    _(
                        "The erased storage holds %(reported)s GB, but the listing says %(listed)s GB: the report is "
                        "not of this device's storage."
                    )
                    % {"reported": f"{reported / 1_000_000_000:.3g}", "listed": listed_gb},
                )
            )
    return problems


def binding_problems(
    certificate: ErasureCertificate, listing: Listing, *, check_duplicates: bool = True
) -> list[tuple[str, str]]:
    """Why this certificate cannot vouch for this listing's device (code, message)."""
    problems: list[tuple[str, str]] = []
    if certificate.status != CertificateStatus.ACCEPTED:
        problems.append(
            (
                "certificate_not_accepted",
                _("The certificate is not valid (%(status)s).") % {"status": certificate.get_status_display()},
            )
        )
    wanted = listing_identifier_hashes(listing)
    if not wanted or not wanted & set(certificate.identifier_hashes):
        problems.append(
            (
                "identifier_mismatch",
                _("The certificate is for another device: its serial number/IMEI does not match this listing's."),
            )
        )
    problems += device_mismatches(certificate.payload, listing)
    completed = _completed_at(certificate.payload)
    if completed is None or completed < listing.intake_at:
        problems.append(
            ("erased_before_intake", _("The erasure was done before the item was taken in; it must be erased again."))
        )
    if (
        certificate.listing_id is not None
        and certificate.listing_id != listing.pk
        and certificate.listing is not None
        and certificate.listing.status in LIVE_STATUSES
    ):
        problems.append(("bound_elsewhere", _("The certificate already belongs to another live listing.")))
    elif (
        check_duplicates
        and CertificateIdentifier.objects.filter(
            hash__in=certificate.identifier_hashes,
            certificate__status=CertificateStatus.ACCEPTED,
            certificate__listing__status__in=list(LIVE_STATUSES),
        )
        .exclude(certificate__listing=listing)
        .exists()
    ):
        problems.append(("device_listed_elsewhere", _("This device is already certified for another live listing.")))
    return problems


def _bind(*, certificate: ErasureCertificate, listing: Listing) -> ErasureCertificate:
    problems = binding_problems(certificate, listing)
    if problems:
        raise ValidationFailed(
            problems[0][1], code=problems[0][0], details={"problems": [{"code": c, "message": m} for c, m in problems]}
        )
    previous = ErasureCertificate.objects.filter(listing=listing, status=CertificateStatus.ACCEPTED).exclude(
        pk=certificate.pk
    )
    previous.update(status=CertificateStatus.SUPERSEDED, superseded_by=certificate)
    certificate.listing = listing
    certificate.bound_at = timezone.now()
    certificate.save(update_fields=["listing", "bound_at", "updated_at"])
    listing_id = listing.pk
    # Buyers see the erasure badge and search filters by it: announce the change.
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
    return certificate


@transaction.atomic
def certificate_bind(*, actor: User, certificate_id: Any, listing_id: int) -> ErasureCertificate:
    """The seller attaches an accepted certificate to the listing of that device."""
    listing = Listing.objects.select_for_update(of=("self",)).filter(pk=listing_id).first()
    if listing is None or not listing_can_manage(user=actor, listing=listing):
        raise NotFound(_("No such listing."))
    certificate = ErasureCertificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise NotFound(_("No such certificate."))
    return _bind(certificate=certificate, listing=listing)


# --- revocation -----------------------------------------------------------------------------


@transaction.atomic
def certificate_revoke(*, actor: User, certificate_id: Any, reason: str) -> ErasureCertificate:
    """Revoke a certificate (the provider found a fault, or staff did): a platform-signed
    revocation goes into the transparency log, the listing leaves sale and search until a
    new certificate is attached, unshipped orders are held, and everyone concerned hears
    of it."""
    certificate = ErasureCertificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise NotFound(_("No such certificate."))
    if not (actor.is_staff or _provider_manager(actor, certificate.provider)):
        raise PermissionDenied(_("Only the provider or staff can revoke a certificate."))
    if not reason.strip():
        raise ValidationFailed(_("Give the reason for revoking the certificate."))
    if certificate.status == CertificateStatus.REVOKED:
        return certificate
    if certificate.status not in (CertificateStatus.ACCEPTED, CertificateStatus.PENDING_REVIEW):
        raise Conflict(_("Only a valid certificate can be revoked."), code="certificate_not_valid")
    _revoke(certificate, actor=actor, at=timezone.now(), reason=reason.strip()[:500], with_key=False)
    return certificate


def _revoke(
    certificate: ErasureCertificate, *, actor: User, at: dt.datetime, reason: str, with_key: bool
) -> ErasureCertificate:
    """One certificate stops vouching for its device, on every surface at once."""
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = at
    certificate.revoked_by = actor
    certificate.revocation_reason = reason
    certificate.revoked_with_key = with_key
    certificate.save()
    if not with_key and hasattr(certificate, "log_entry"):
        # A key revocation is one statement for all the key's certificates.
        _log_statement(
            LogEntryKind.CERTIFICATE_REVOKED,
            str(certificate.pk),
            {
                "type": CERTIFICATE_REVOKED,
                "certificate_id": str(certificate.pk),
                "revoked_at": at.isoformat(),
                "reason": reason,
            },
        )
    listing = certificate.listing
    held: list[int] = []
    if listing is not None and listing.status in LIVE_STATUSES:
        from marketplace.services.orders import listing_take_off_sale

        why = revocation_text(certificate)
        held = listing_take_off_sale(
            listing_id=listing.pk, to_status=ListingStatus.PENDING_ERASURE, reason=why, actor=actor
        )
        listing.refresh_from_db()
        seller = listing.seller_user or listing.created_by
        notify(
            users=[seller],
            kind="certificate_revoked",
            subject=gettext_lazy("The erasure certificate of “%(title)s” was revoked"),
            body=gettext_lazy(
                "%(why)s The listing is off sale until the device is erased again and a new certificate is attached."
            ),
            params={"title": listing.title, "why": why},
            link=f"/my/listings/{listing.pk}/",
        )
    ids = (str(certificate.pk), certificate.provider_id, listing.pk if listing else None)
    transaction.on_commit(
        lambda: certificate_revoked.send(
            sender=ErasureCertificate, certificate_id=ids[0], provider_id=ids[1], listing_id=ids[2], held_orders=held
        )
    )
    if not with_key:
        # The marketplace's own domain event, for the credit system (which never imports
        # wipe_cert). A compromised provider key is not the technician's fault.
        technician_id = certificate.technician_id
        transaction.on_commit(
            lambda: erasure_certificate_revoked.send(
                sender=ErasureCertificate, certificate_id=ids[0], provider_id=ids[1], technician_id=technician_id
            )
        )
    return certificate


def revocation_text(certificate: ErasureCertificate) -> str:
    """Why a revoked certificate no longer counts, in the reader's language."""
    if certificate.status != CertificateStatus.REVOKED or certificate.revoked_at is None:
        return ""
    when = date_format(timezone.localtime(certificate.revoked_at), "DATE_FORMAT")
    if certificate.revoked_with_key:
        return _("The provider's signing key was revoked on %(date)s (%(reason)s).") % {
            "date": when,
            "reason": certificate.revocation_reason,
        }
    return _("The certificate was revoked on %(date)s because: %(reason)s") % {
        "date": when,
        "reason": certificate.revocation_reason,
    }


# --- the log ----------------------------------------------------------------------------------


@transaction.atomic
def _log_append(
    kind: str, subject: str, leaf: Mapping[str, Any], *, certificate: ErasureCertificate | None = None
) -> LogEntry:
    """Append one leaf. The platform key row is the log's lock, so indices never collide."""
    key = platform_key()
    SigningKey.objects.select_for_update().filter(pk=key.pk).first()
    last = LogEntry.objects.order_by("-index").values_list("index", flat=True).first()
    return LogEntry.objects.create(
        index=0 if last is None else last + 1,
        kind=kind,
        subject=subject,
        certificate=certificate,
        leaf=dict(leaf),
        leaf_hash=leaf_hash_of(leaf).hex(),
    )


def _log_statement(kind: str, subject: str, statement: Mapping[str, Any]) -> LogEntry:
    """A statement signed by the platform key, appended to the log."""
    key = platform_key()
    return _log_append(kind, subject, signed_statement(private_key_of(key), key.key_id, statement))


def _inclusion_proofs(indexes: Sequence[int], checkpoint: Any) -> dict[int, list[str]]:
    """Inclusion proofs (hex) of log entries in the tree a checkpoint signed. The log only
    grows, so a proof against a given tree (size and root) never changes: proofs are kept in
    the cache and the leaves, which grow with every certificate, are read only when one is
    missing."""
    keys = {index: f"merkle-proof:{index}:{checkpoint.tree_size}:{checkpoint.root_hash}" for index in indexes}
    found = cache.get_many(list(keys.values()))
    proofs = {index: found[key] for index, key in keys.items() if key in found}
    missing = [index for index in indexes if index not in proofs]
    if missing:
        leaves = _leaf_hashes(upto=checkpoint.tree_size)
        for index in missing:
            proofs[index] = [p.hex() for p in merkle.inclusion_proof(index, leaves)]
        cache.set_many({keys[index]: proofs[index] for index in missing}, timeout=None)
    return proofs


def _leaf_hashes(upto: int | None = None) -> list[bytes]:
    entries = LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)
    if upto is not None:
        entries = entries.filter(index__lt=upto)
    return [bytes.fromhex(h) for h in entries]


@transaction.atomic
def checkpoint_publish() -> LogCheckpoint | None:
    """Sign the current tree head if the log grew since the last checkpoint."""
    key = platform_key()
    SigningKey.objects.select_for_update().filter(pk=key.pk).first()
    leaves = _leaf_hashes()
    last = LogCheckpoint.objects.order_by("-tree_size").first()
    if not leaves or (last is not None and last.tree_size == len(leaves)):
        return None
    root_hash = merkle.root(leaves).hex()
    timestamp = timezone.now().isoformat()
    body = checkpoint_body(tree_size=len(leaves), root_hash=root_hash, timestamp=timestamp)
    return LogCheckpoint.objects.create(
        tree_size=len(leaves),
        root_hash=root_hash,
        timestamp=timestamp,
        key=key,
        signature=sign(private_key_of(key), body),
    )


def checkpoint_covering(index: int) -> LogCheckpoint:
    checkpoint = LogCheckpoint.objects.filter(tree_size__gt=index).select_related("key").order_by("-tree_size").first()
    if checkpoint is None:
        checkpoint = checkpoint_publish() or LogCheckpoint.objects.select_related("key").order_by("-tree_size").first()
    assert checkpoint is not None  # noqa: S101 - the entry exists, so the log is not empty
    return checkpoint


def _key_info(key: SigningKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {
        "key_id": key.key_id,
        "public_key": key.public_key,
        "fingerprint": key_fingerprint(key.public_key),
        "valid_from": key.valid_from.isoformat(),
        "valid_to": key.valid_to.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def public_status(certificate: ErasureCertificate) -> str:
    return {
        CertificateStatus.ACCEPTED: "valid",
        CertificateStatus.REVOKED: "revoked",
        CertificateStatus.SUPERSEDED: "superseded",
    }.get(CertificateStatus(certificate.status), str(certificate.status))


def _statements(kind: str, subjects: Sequence[str]) -> list[dict[str, Any]]:
    return [
        dict(leaf) for leaf in LogEntry.objects.filter(kind=kind, subject__in=subjects).values_list("leaf", flat=True)
    ]


def certificate_bundle(certificate: ErasureCertificate, *, with_opening: bool = False) -> dict[str, Any]:
    """Everything needed to verify the certificate offline against the platform's keys:
    the payload (identifiers as salted commitments), signatures, the provider key's
    platform-signed registration and both log proofs under one signed checkpoint, and any
    platform-signed revocation. `with_opening` adds the salt and the identifiers in clear,
    for those allowed to see them, so they can check the device in hand."""
    provider_key = certificate.provider_key
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "status": public_status(certificate),
        "payload": certificate.payload,
        "provider_signature": {
            "key_id": provider_key.key_id if provider_key else "",
            "alg": "Ed25519",
            "signature": certificate.provider_signature,
        },
        "keys": {"provider": _key_info(provider_key), "platform": _key_info(certificate.platform_key)},
    }
    if certificate.countersignature:
        bundle["platform_countersignature"] = {
            "key_id": certificate.platform_key.key_id if certificate.platform_key else "",
            "alg": "Ed25519",
            "signed": certificate.countersigned,
            "signature": certificate.countersignature,
        }
    entry = LogEntry.objects.filter(certificate=certificate).first()
    registration = key_registration_entry(provider_key) if provider_key is not None and entry is not None else None
    if entry is not None and registration is not None:
        checkpoint = checkpoint_covering(max(entry.index, registration.index))
        proofs = _inclusion_proofs([entry.index, registration.index], checkpoint)
        body = checkpoint_body(
            tree_size=checkpoint.tree_size, root_hash=checkpoint.root_hash, timestamp=checkpoint.timestamp
        )
        bundle["log"] = {
            "index": entry.index,
            "leaf_hash": entry.leaf_hash,
            "proof": proofs[entry.index],
            "checkpoint": {**body, "key_id": checkpoint.key.key_id, "signature": checkpoint.signature},
        }
        bundle["keys"]["provider"]["registration"] = {
            **registration.leaf,
            "log": {
                "index": registration.index,
                "proof": proofs[registration.index],
            },
        }
    revocations = _statements(LogEntryKind.CERTIFICATE_REVOKED, [str(certificate.pk)])
    if provider_key is not None:
        revocations += _statements(LogEntryKind.KEY_REVOKED, [provider_key.key_id])
    if revocations:
        bundle["revocations"] = revocations
    if with_opening and certificate.identifier_opening:
        bundle["opening"] = certificate.identifier_opening
    return bundle


def certificate_verify(certificate: ErasureCertificate) -> BundleCheck:
    """Full verification, as an outside verifier holding the platform's keys does it."""
    return verify_bundle(certificate_bundle(certificate), certificate_anchors(certificate))


def certificate_anchors(certificate: ErasureCertificate) -> TrustAnchors:
    """The platform's keys and the statements that concern this certificate (fewer queries
    than the whole keys document)."""
    anchors = TrustAnchors(
        platform_keys=dict(SigningKey.objects.filter(organisation__isnull=True).values_list("key_id", "public_key"))
    )
    key_id = certificate.provider_key.key_id if certificate.provider_key else ""
    anchors.add_statements(
        list(
            LogEntry.objects.filter(
                Q(kind__in=[LogEntryKind.KEY_REGISTERED, LogEntryKind.KEY_REVOKED], subject=key_id)
                | Q(kind=LogEntryKind.CERTIFICATE_REVOKED, subject=str(certificate.pk))
            )
            .order_by("index")
            .values_list("leaf", flat=True)
        )
    )
    return anchors


def signature_problems(certificate: ErasureCertificate) -> list[str]:
    """Signature, countersignature and key checks on the stored record, without queries
    beyond the keys loaded with it (used by the publication gate on many listings)."""
    problems = []
    provider_key, platform = certificate.provider_key, certificate.platform_key
    payload = certificate.payload
    if provider_key is None or not verify_signature(provider_key.public_key, payload, certificate.provider_signature):
        problems.append(_("the provider signature does not match the certificate"))
    if provider_key is not None:
        issued = dt.datetime.fromisoformat(payload.get("issued_at", "1970-01-01T00:00:00+00:00"))
        if provider_key.revoked_at is not None:
            problems.append(_("the provider's key was revoked"))
        elif not provider_key.valid_from <= issued <= provider_key.valid_to:
            problems.append(_("the provider's key was not valid when signing"))
    counter = certificate.countersigned or {}
    if (
        platform is None
        or counter.get("payload_sha256") != fingerprint(payload)
        or not verify_signature(platform.public_key, counter, certificate.countersignature)
    ):
        problems.append(_("the platform countersignature does not match"))
    return problems


def public_keys() -> list[dict[str, Any]]:
    """Every key, revoked ones included, with its owner (the human-readable list)."""
    keys = SigningKey.objects.select_related("organisation").order_by("pk")
    return [
        {
            **_key_info(key),
            "owner": "platform" if key.organisation is None else key.organisation.name,
            "owner_uscc": key.organisation.uscc if key.organisation else None,
            "alg": "Ed25519",
        }
        for key in keys
    ]


def keys_document() -> dict[str, Any]:
    """/.well-known/erasure-keys.json, the trust anchor for offline verifiers: the platform
    keys with their fingerprints, every platform-signed statement registering or revoking
    a provider key or revoking a certificate (each a transparency-log leaf) and the latest
    signed checkpoint."""
    platform_key()  # the platform key exists before anyone pins it
    platform_keys = SigningKey.objects.filter(organisation__isnull=True).order_by("pk")
    checkpoint = LogCheckpoint.objects.select_related("key").order_by("-tree_size", "-pk").first()
    return {
        "format": KEYS_FORMAT,
        "log_id": LOG_ID,
        "platform_keys": [{**_key_info(key), "alg": "Ed25519"} for key in platform_keys],
        "statements": [
            {**entry.leaf, "log_index": entry.index}
            for entry in LogEntry.objects.exclude(kind=LogEntryKind.CERTIFICATE).order_by("index")
        ],
        "checkpoint": (
            {
                **checkpoint_body(
                    tree_size=checkpoint.tree_size, root_hash=checkpoint.root_hash, timestamp=checkpoint.timestamp
                ),
                "key_id": checkpoint.key.key_id,
                "signature": checkpoint.signature,
            }
            if checkpoint is not None
            else None
        ),
        "keys": public_keys(),
    }


def certificates_for_listings(listing_ids: Sequence[int]) -> dict[int, ErasureCertificate]:
    """The current (non-superseded) certificate bound to each listing."""
    rows = (
        ErasureCertificate.objects.filter(listing_id__in=listing_ids)
        .exclude(status=CertificateStatus.SUPERSEDED)
        .select_related("provider_key", "platform_key", "provider")
        .order_by("listing_id", "-bound_at")
    )
    found: dict[int, ErasureCertificate] = {}
    for row in rows:
        found.setdefault(row.listing_id, row)  # type: ignore[arg-type]
    return found


def listings_sharing_a_device(listing_ids: Sequence[int]) -> set[int]:
    """Listings whose certified device is also certified for another live listing."""
    own = CertificateIdentifier.objects.filter(
        certificate__listing_id__in=listing_ids, certificate__status=CertificateStatus.ACCEPTED
    ).values_list("certificate__listing_id", "hash")
    by_hash: dict[str, set[int]] = {}
    for listing_id, digest in own:
        by_hash.setdefault(digest, set()).add(listing_id)
    clashes = CertificateIdentifier.objects.filter(
        hash__in=list(by_hash),
        certificate__status=CertificateStatus.ACCEPTED,
        certificate__listing__status__in=list(LIVE_STATUSES),
    ).values_list("certificate__listing_id", "hash")
    shared: set[int] = set()
    for other_listing, digest in clashes:
        shared |= {listing_id for listing_id in by_hash.get(digest, set()) if listing_id != other_listing}
    return shared


# --- technician credentials (staff) -------------------------------------------------------


@transaction.atomic
def technician_credential_add(
    *,
    staff: User,
    user: User,
    provider_id: int,
    number: str,
    issuer: str,
    valid_from: dt.date,
    valid_to: dt.date,
    verified: bool = False,
) -> TechnicianCredential:
    """Staff record a technician's credential (from the paper or the issuer's register);
    it counts only once verified."""
    if not staff.is_staff:
        raise PermissionDenied(_("Only staff record technician credentials."))
    provider = Organisation.objects.filter(pk=provider_id, kind=OrganisationKind.ERASURE_PROVIDER).first()
    if provider is None:
        raise NotFound(_("No such erasure provider."))
    if not Membership.objects.filter(user=user, organisation=provider, role=Role.TECHNICIAN).exists():
        raise ValidationFailed(
            _("%(user)s is not a technician of %(provider)s.") % {"user": user.public_name, "provider": provider.name},
            details={"fields": {"user": [_("Add the technician membership first.")]}},
        )
    if valid_to < valid_from:
        raise ValidationFailed(
            _("The credential must end after it starts."), details={"fields": {"valid_to": [_("Before the start.")]}}
        )
    number, issuer = number.strip(), issuer.strip()
    if TechnicianCredential.objects.filter(issuer=issuer, number=number).exists():
        raise Conflict(
            _("This issuer's credential number is already recorded."),
            code="credential_exists",
            details={"fields": {"number": [_("Already recorded.")]}},
        )
    return TechnicianCredential.objects.create(
        user=user,
        provider=provider,
        number=number,
        issuer=issuer,
        valid_from=valid_from,
        valid_to=valid_to,
        verified_at=timezone.now() if verified else None,
    )


@transaction.atomic
def technician_credential_verify(*, staff: User, credential_id: int) -> TechnicianCredential:
    """Staff checked the credential with its issuer: from now on the technician may sign."""
    if not staff.is_staff:
        raise PermissionDenied(_("Only staff verify technician credentials."))
    credential = TechnicianCredential.objects.select_for_update().filter(pk=credential_id).first()
    if credential is None:
        raise NotFound(_("No such credential."))
    if credential.verified_at is None:
        credential.verified_at = timezone.now()
        credential.save(update_fields=["verified_at"])
    return credential
