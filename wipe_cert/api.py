"""Erasure certificates in the JSON API: drafts typed in or imported from a tool's report,
signing, binding to a listing, revocation, off-platform signatures and public verification.

The paths and the JSON are a public contract. Endpoints stay thin: parse the request,
call a wipe_cert service, render with `certificate_json`. Full device identifiers only
for the provider's members, the bound listing's seller and staff (see
`certificate_can_see_identifiers`); everyone else sees the last four characters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from marketplace.api.common import PUBLIC_READ_AUTH, ErrorOut, request_user
from marketplace.errors import NotFound, ValidationFailed
from marketplace.models import User
from wipe_cert.importers import IMPORTERS
from wipe_cert.models import CertificateStatus, ErasureCertificate
from wipe_cert.presentation import (
    MEDIA_TYPES,
    device_display,
    display_status,
    media_display,
    missing_fields,
    plain_payload,
    read_values,
)
from wipe_cert.selectors import certificate_get
from wipe_cert.services import (
    certificate_anchors,
    certificate_bind,
    certificate_bundle,
    certificate_can_see_identifiers,
    certificate_draft_create,
    certificate_draft_update,
    certificate_import,
    certificate_revoke,
    certificate_sign,
    certificate_upload_signed,
    keys_document,
    public_status,
    revocation_text,
    signing_key_revoke,
)
from wipe_cert.signing import key_fingerprint, verify_bundle

router = Router(tags=["erasure certificates"])

# Who may download the signed bundle (payload with full identifiers) for offline checks.
BUNDLE_AVAILABLE_TO = "everyone; the opening of the identifiers: provider, seller, buyer of a completed order, staff"


# --- Input ------------------------------------------------------------------------


class DeviceIn(Schema):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    type: StrictStr = Field(description="phone, tablet, laptop, desktop, … (the listing's device types)")
    maker: StrictStr = ""
    model: StrictStr = ""
    serial: StrictStr = ""
    imeis: list[StrictStr] = Field(default_factory=list, max_length=2)
    meid: StrictStr = ""


class DevicePatchIn(Schema):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    type: StrictStr | None = None
    maker: StrictStr | None = None
    model: StrictStr | None = None
    serial: StrictStr | None = None
    imeis: list[StrictStr] | None = Field(default=None, max_length=2)
    meid: StrictStr | None = None


class CertificateCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    provider_id: StrictInt
    device: DeviceIn
    media: list[dict[str, Any]] = Field(
        min_length=1, max_length=16, description="Storage media as in the payload schema (type, technique, …)."
    )
    locks: dict[str, Any] = Field(default_factory=dict)
    device_encrypted: StrictBool | None = None
    exceptions: list[StrictStr] = Field(default_factory=list)
    listing_id: StrictInt | None = Field(default=None, description="Bind to this listing once accepted.")


class CertificateUpdateIn(Schema):
    """Complete a draft; only the parts given change. Fields read from a tool's report
    cannot be typed over (422)."""

    model_config = ConfigDict(extra="forbid")

    device: DevicePatchIn | None = None
    media: list[dict[str, Any]] | None = Field(default=None, max_length=16)
    locks: dict[str, Any] | None = None
    device_encrypted: StrictBool | None = None
    exceptions: list[StrictStr] | None = None


class UploadIn(Schema):
    model_config = ConfigDict(extra="forbid")

    provider_id: StrictInt
    payload: dict[str, Any] = Field(
        description="The certificate payload exactly as signed (schema xunhuan.erasure-certificate/2: identifiers "
        "as salted commitments)."
    )
    opening: dict[str, Any] = Field(
        description='The commitments\' opening: {"salt": hex (≥16 bytes), "device": {"serial", "imeis", "meid"}, '
        '"media": [{"serial"}]}. Kept private by the platform.'
    )
    key_id: StrictStr = Field(description="The provider's registered key that signed it.")
    signature: StrictStr = Field(description="Ed25519 over the RFC 8785 canonical payload, base64.")


class BindIn(Schema):
    model_config = ConfigDict(extra="forbid")

    certificate_id: uuid.UUID


class RevokeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(min_length=1, max_length=500)


# --- Output -----------------------------------------------------------------------


class ProviderOut(Schema):
    id: int
    name: str
    uscc: str


class UrlsOut(Schema):
    verify: str = Field(description="The public verification page (the QR code's target).")
    verification: str
    pdf: str


class CertificateOut(Schema):
    id: uuid.UUID
    status: str = Field(description="draft, pending_review, accepted, rejected, revoked or superseded")
    public_status: str = Field(description="valid, revoked, superseded, rejected, pending_review or draft")
    provider: ProviderOut
    technician: str
    device: dict[str, Any] = Field(description="Identifiers masked (last 4 characters) unless you may see them.")
    device_encrypted: bool | None
    media: list[dict[str, Any]]
    locks: dict[str, Any]
    exceptions: list[str]
    overall_result: str | None
    source_report: dict[str, Any]
    issued_at: str | None
    signed_at: dt.datetime | None
    accepted_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: str
    revocation: str = Field(
        description="Why the certificate no longer counts, in the reader's language; empty if valid."
    )
    payload_sha256: str | None = Field(description="SHA-256 of the RFC 8785 canonical payload (the fingerprint).")
    acceptance: dict[str, Any] | None = Field(description="outcome (pass/review/fail) and reasons with stable codes.")
    identifiers_masked: bool
    listing_id: int | None = Field(description="The bound listing; only for those who see full identifiers.")
    review_note: str | None
    imported: dict[str, Any] | None = Field(description="What an import read (read_fields, missing); drafts only.")
    payload: dict[str, Any] | None = Field(description="The whole payload; only for those who see full identifiers.")
    urls: UrlsOut


class ImportOut(Schema):
    certificate: CertificateOut
    read_fields: dict[str, Any] = Field(
        description='Values read from the report, by field ("media.0.passes": 3); they cannot be typed over.'
    )
    missing: list[str] = Field(description="What the report does not contain: add it before signing.")


class VerificationResultOut(Schema):
    valid: bool
    checks: list[str]
    problems: list[str]


class VerificationOut(Schema):
    certificate_id: uuid.UUID
    status: str = Field(description="valid, revoked, superseded, rejected, pending_review, or invalid")
    verification: VerificationResultOut
    display: dict[str, Any] = Field(description="What the certificate says, identifiers masked.")
    payload_sha256: str
    provider_signature: dict[str, Any]
    platform_countersignature: dict[str, Any] | None
    keys: dict[str, Any]
    log: dict[str, Any] | None = Field(description="Log index, leaf hash, inclusion proof and signed checkpoint.")
    bundle: dict[str, Any] | None = Field(
        description="The complete signed bundle for `python -m wipe_cert.verify` (identifiers as salted commitments); "
        "with its `opening` for the provider, the seller, the buyer of a completed order and staff."
    )
    bundle_available_to: str


# --- Rendering --------------------------------------------------------------------


def urls_of(certificate: ErasureCertificate) -> dict[str, str]:
    return {
        "verify": f"/verify/{certificate.pk}/",
        "verification": f"/api/v1/erasure-certificates/{certificate.pk}/verification",
        "pdf": f"/verify/{certificate.pk}/certificate.pdf",
    }


def certificate_json(certificate: ErasureCertificate, *, full: bool) -> dict[str, Any]:
    signed = certificate.payload or {}
    payload = plain_payload(certificate)
    is_draft = certificate.status == CertificateStatus.DRAFT
    return {
        "id": certificate.pk,
        "status": certificate.status,
        "public_status": public_status(certificate),
        "provider": {
            "id": certificate.provider.pk,
            "name": certificate.provider.name,
            "uscc": certificate.provider.uscc,
        },
        "technician": certificate.technician.public_name,
        "device": device_display(payload.get("device") or {}, full=full),
        "device_encrypted": payload.get("device_encrypted"),
        "media": media_display(payload.get("media") or [], full=full),
        "locks": payload.get("locks") or {},
        "exceptions": payload.get("exceptions") or [],
        "overall_result": payload.get("overall_result"),
        "source_report": {"format": certificate.source_format, "sha256": certificate.source_sha256 or None},
        "issued_at": payload.get("issued_at"),
        "signed_at": certificate.signed_at,
        "accepted_at": certificate.accepted_at,
        "revoked_at": certificate.revoked_at,
        "revocation_reason": certificate.revocation_reason,
        "revocation": revocation_text(certificate),
        "payload_sha256": certificate.payload_sha256 or None,
        "acceptance": certificate.acceptance or None,
        "identifiers_masked": not full,
        "listing_id": certificate.listing_id if full else None,
        "review_note": certificate.review_note if full else None,
        "imported": (
            {"read_fields": read_values(certificate), "missing": missing_fields(certificate)}
            if full and is_draft and certificate.imported.get("read_fields") is not None
            else None
        ),
        "payload": signed if full else None,
        "urls": urls_of(certificate),
    }


def _reloaded(certificate: ErasureCertificate) -> ErasureCertificate:
    found = certificate_get(certificate_id=certificate.pk)
    assert found is not None  # noqa: S101 - it was just written
    return found


def _visible(user: User, certificate_id: uuid.UUID) -> tuple[ErasureCertificate, bool]:
    """The certificate and whether the user sees full identifiers; drafts only for those."""
    certificate = certificate_get(certificate_id=certificate_id)
    if certificate is None:
        raise NotFound(_("No such certificate."))
    full = certificate_can_see_identifiers(user=user, certificate=certificate)
    if certificate.status == CertificateStatus.DRAFT and not full:
        raise NotFound(_("No such certificate."))
    return certificate, full


def _field_error(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The request is not valid."), details={"fields": {name: [message]}})


def _int_from(form: QueryDict, name: str, *, required: bool) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            raise _field_error(name, _("This field is required."))
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise _field_error(name, _("Enter a whole number.")) from exc


def _device_from(form: QueryDict) -> dict[str, Any]:
    device: dict[str, Any] = {
        "type": form.get("device_type", ""),
        "maker": form.get("maker", ""),
        "model": form.get("model", ""),
        "serial": form.get("serial", ""),
        "meid": form.get("meid", ""),
    }
    imeis = [value for value in (form.get("imei", ""), form.get("imei2", "")) if value.strip()]
    if imeis:
        device["imeis"] = imeis
    return {key: value.strip() if isinstance(value, str) else value for key, value in device.items() if value}


# --- Endpoints --------------------------------------------------------------------

CERTIFICATE_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post("/erasure-certificates", response={201: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_create_endpoint(request: HttpRequest, payload: CertificateCreateIn) -> Status[dict[str, Any]]:
    """A draft typed in by a technician of the provider (two-factor authentication and a
    verified credential required). Sign it to have it checked and accepted."""
    actor = request_user(request)
    certificate = certificate_draft_create(
        technician=actor,
        provider_id=payload.provider_id,
        device=payload.device.model_dump(),
        media=payload.media,
        locks=payload.locks,
        device_encrypted=payload.device_encrypted,
        exceptions=payload.exceptions,
        listing_id=payload.listing_id,
    )
    return Status(201, certificate_json(_reloaded(certificate), full=True))


@router.post(
    "/erasure-certificates/import",
    response={201: ImportOut, **CERTIFICATE_ERRORS},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "format": {"type": "string", "enum": sorted(IMPORTERS)},
                            "provider_id": {"type": "integer"},
                            "media_type": {"type": "string", "enum": list(MEDIA_TYPES)},
                            "listing_id": {"type": "integer"},
                            "device_type": {"type": "string"},
                            "maker": {"type": "string"},
                            "model": {"type": "string"},
                            "serial": {"type": "string"},
                            "imei": {"type": "string"},
                            "imei2": {"type": "string"},
                            "meid": {"type": "string"},
                        },
                        "required": ["file", "format", "provider_id"],
                    }
                }
            },
            "required": True,
        }
    },
)
def certificate_import_endpoint(request: HttpRequest) -> Status[dict[str, Any]]:
    """A draft made from an erasure tool's report (multipart). Method, passes, verification,
    errors and the disk's identity are read from the file and listed in `read_fields`; give
    the device fields the report lacks. An unreadable or unsupported file: 422
    `report_unreadable`, and nothing is created."""
    form = request.POST
    upload = request.FILES.get("file")
    if upload is None:
        raise _field_error("file", _("Attach the tool's report."))
    provider_id = cast(int, _int_from(form, "provider_id", required=True))
    listing_id = _int_from(form, "listing_id", required=False)
    media_type = (form.get("media_type") or "").strip()
    if media_type and media_type not in MEDIA_TYPES:
        raise _field_error("media_type", _("Choose one of: %(types)s") % {"types": ", ".join(MEDIA_TYPES)})
    certificate, _report = certificate_import(
        technician=request_user(request),
        provider_id=provider_id,
        report_format=(form.get("format") or "").strip(),
        data=upload.read(),
        filename=upload.name or "",
        media_type=media_type or None,
        device=_device_from(form),
        listing_id=listing_id,
    )
    certificate = _reloaded(certificate)
    return Status(
        201,
        {
            "certificate": certificate_json(certificate, full=True),
            "read_fields": read_values(certificate),
            "missing": missing_fields(certificate),
        },
    )


@router.post("/erasure-certificates/upload", response={201: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_upload_endpoint(request: HttpRequest, payload: UploadIn) -> Status[dict[str, Any]]:
    """A certificate the provider signed off-platform with a registered key. The signature
    is checked, then the platform decides acceptance as for certificates signed here."""
    certificate = certificate_upload_signed(
        actor=request_user(request),
        provider_id=payload.provider_id,
        envelope={
            "payload": payload.payload,
            "key_id": payload.key_id,
            "signature": payload.signature,
            "opening": payload.opening,
        },
    )
    return Status(201, certificate_json(_reloaded(certificate), full=True))


@router.get(
    "/erasure-certificates/{uuid:certificate_id}",
    response={200: CertificateOut, 401: ErrorOut, 404: ErrorOut},
    auth=PUBLIC_READ_AUTH,
)
def certificate_read(request: HttpRequest, certificate_id: uuid.UUID) -> dict[str, Any]:
    """Anyone may read a signed certificate, with identifiers masked; the provider, the
    bound listing's seller and staff see them in full. Drafts: 404 for everyone else."""
    certificate, full = _visible(request_user(request), certificate_id)
    return certificate_json(certificate, full=full)


@router.patch("/erasure-certificates/{uuid:certificate_id}", response={200: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_update_endpoint(
    request: HttpRequest, certificate_id: uuid.UUID, payload: CertificateUpdateIn
) -> dict[str, Any]:
    """Complete a draft (the provider's technicians). `media` is a list of partial media,
    in the draft's order."""
    device = payload.device.model_dump(exclude_none=True) if payload.device is not None else None
    certificate = certificate_draft_update(
        technician=request_user(request),
        certificate_id=certificate_id,
        device=device,
        media=payload.media,
        locks=payload.locks,
        device_encrypted=payload.device_encrypted,
        exceptions=payload.exceptions,
    )
    return certificate_json(_reloaded(certificate), full=True)


@router.post("/erasure-certificates/{uuid:certificate_id}/sign", response={200: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_sign_endpoint(request: HttpRequest, certificate_id: uuid.UUID) -> dict[str, Any]:
    """The provider's key signs the completed draft; the platform then decides: `accepted`
    (countersigned and logged), `pending_review` (clear level only; staff decide) or
    `rejected`, with the reasons in `acceptance`."""
    certificate = certificate_sign(technician=request_user(request), certificate_id=certificate_id)
    return certificate_json(_reloaded(certificate), full=True)


@router.post("/erasure-certificates/{uuid:certificate_id}/revoke", response={200: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_revoke_endpoint(request: HttpRequest, certificate_id: uuid.UUID, payload: RevokeIn) -> dict[str, Any]:
    """The provider or staff withdraw a certificate: its listing goes off sale and the
    seller is told."""
    certificate = certificate_revoke(actor=request_user(request), certificate_id=certificate_id, reason=payload.reason)
    return certificate_json(_reloaded(certificate), full=True)


@router.post("/listings/{int:listing_id}/erasure-certificate", response={200: CertificateOut, **CERTIFICATE_ERRORS})
def certificate_bind_endpoint(request: HttpRequest, listing_id: int, payload: BindIn) -> dict[str, Any]:
    """The seller attaches an accepted certificate to the listing of that very device. 422
    with the problem's code: certificate_not_accepted, identifier_mismatch,
    erased_before_intake, bound_elsewhere, device_listed_elsewhere (all in
    `details.problems`)."""
    actor = request_user(request)
    certificate = certificate_bind(actor=actor, certificate_id=payload.certificate_id, listing_id=listing_id)
    return certificate_json(_reloaded(certificate), full=True)


def _display(certificate: ErasureCertificate) -> dict[str, Any]:
    payload = plain_payload(certificate)
    provider = payload.get("provider") or {}
    return {
        "provider": {"name": provider.get("name", ""), "uscc": provider.get("uscc", "")},
        "issued_at": payload.get("issued_at"),
        "device": device_display(payload.get("device") or {}, full=False),
        "media": [
            {
                key: medium.get(key)
                for key in (
                    "type",
                    "nist_level",
                    "technique",
                    "method_name",
                    "passes",
                    "random_passes",
                    "blanking",
                    "verification",
                    "tool",
                    "started_at",
                    "ended_at",
                    "serial",
                )
                if key in medium
            }
            for medium in media_display(payload.get("media") or [], full=False)
        ],
        "overall_result": payload.get("overall_result"),
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "revocation_reason": certificate.revocation_reason or None,
        "revocation": revocation_text(certificate) or None,
    }


@router.get(
    "/erasure-certificates/{uuid:certificate_id}/verification",
    response={200: VerificationOut, 401: ErrorOut, 404: ErrorOut},
    auth=PUBLIC_READ_AUTH,
)
def certificate_verification(request: HttpRequest, certificate_id: uuid.UUID) -> dict[str, Any]:
    """Public verification: status, what the certificate says (identifiers masked), the
    signatures, the keys, the log entry with its inclusion proof and signed checkpoint, and
    the platform's own verification of the whole bundle.

    Privacy: the signed payload holds the device's serial numbers and IMEIs only as
    salted commitments (HMAC-SHA256 under a secret 256-bit salt per certificate) with
    their last four characters, so the bundle is public and nothing in it lets anyone
    search for an identifier. The provider, the seller, the buyer of a completed order and
    staff also get `bundle.opening` (salt and identifiers in clear) to check the device in
    hand: `python -m wipe_cert.verify bundle.json --keys erasure-keys.json --identifier imei=…`."""
    user = request_user(request)
    certificate, full = _visible(user, certificate_id)
    if certificate.status == CertificateStatus.DRAFT:
        raise NotFound(_("This certificate has not been signed yet."), code="not_signed")
    bundle = certificate_bundle(certificate, with_opening=full)
    check = verify_bundle(bundle, certificate_anchors(certificate))
    return {
        "certificate_id": certificate.pk,
        "status": display_status(certificate, check),
        "verification": {"valid": check.valid, "checks": check.checks, "problems": check.problems},
        "display": _display(certificate),
        "payload_sha256": certificate.payload_sha256,
        "provider_signature": bundle["provider_signature"],
        "platform_countersignature": bundle.get("platform_countersignature"),
        "keys": bundle["keys"],
        "log": bundle.get("log"),
        "bundle": bundle,
        "bundle_available_to": BUNDLE_AVAILABLE_TO,
    }


# --- Keys --------------------------------------------------------------------------


class KeyRevokeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(min_length=1, max_length=300)


class KeyOut(Schema):
    key_id: str
    public_key: str
    fingerprint: str
    valid_from: str
    valid_to: str
    revoked_at: str | None
    owner: str
    owner_uscc: str | None
    alg: str


@router.get("/erasure-keys", response={200: dict[str, Any]}, auth=PUBLIC_READ_AUTH)
def erasure_keys_endpoint(request: HttpRequest) -> dict[str, Any]:
    """The keys document (also at /.well-known/erasure-keys.json): the trust anchor for
    `python -m wipe_cert.verify --keys`. Platform keys with fingerprints, every
    platform-signed registration and revocation statement, the latest signed checkpoint."""
    return keys_document()


@router.post("/erasure-keys/{key_id}/revoke", response={200: KeyOut, **CERTIFICATE_ERRORS})
def erasure_key_revoke_endpoint(request: HttpRequest, key_id: str, payload: KeyRevokeIn) -> dict[str, Any]:
    """Staff (or the provider's owner) revoke a provider key. Every certificate it signed
    is revoked at once: listings leave sale and search, unshipped orders are held for a
    moderator, sellers and buyers are told; the revocation enters the transparency log."""
    key = signing_key_revoke(actor=request_user(request), key_id=key_id, reason=payload.reason)
    return {
        "key_id": key.key_id,
        "public_key": key.public_key,
        "fingerprint": key_fingerprint(key.public_key),
        "valid_from": key.valid_from.isoformat(),
        "valid_to": key.valid_to.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "owner": key.organisation.name if key.organisation else "platform",
        "owner_uscc": key.organisation.uscc if key.organisation else None,
        "alg": "Ed25519",
    }
