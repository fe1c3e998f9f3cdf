"""Erasure-certificate pages: the technicians' pages under /erasure/ (import a tool's
report, complete, sign, revoke), the public verification page /verify/<id>/ that the QR
code leads to, its PDF and signed bundle, and /.well-known/erasure-keys.json.

Thin: parse the form, call a wipe_cert service or selector, render. Domain errors become
field errors (ValidationFailed with `details.fields`) or messages; the services enforce
two-factor authentication, credentials and every rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace import page_cache
from marketplace.errors import DomainError, ErrorCode, MFARequired, NotFound
from marketplace.models import Listing, Role, User
from wipe_cert.forms import (
    CertificateImportForm,
    DraftCompleteForm,
    ManualCertificateForm,
    MediumCompleteForm,
    RevokeForm,
)
from wipe_cert.models import CertificateStatus, ErasureCertificate
from wipe_cert.pdf import certificate_pdf
from wipe_cert.presentation import (
    STATUS_EXPLANATIONS,
    STATUS_LABELS,
    check_line_display,
    device_display,
    device_type_label,
    display_status,
    lock_rows,
    medium_rows,
    missing_fields,
    parse_time,
    plain_payload,
    read_rows,
    source_format_label,
)
from wipe_cert.selectors import certificate_for_member, certificate_get, certificates_of_member, providers_of_member
from wipe_cert.services import (
    binding_problems,
    certificate_anchors,
    certificate_bind,
    certificate_bundle,
    certificate_can_see_identifiers,
    certificate_draft_create,
    certificate_draft_update,
    certificate_import,
    certificate_revoke,
    certificate_sign,
    keys_document,
    revocation_text,
)
from wipe_cert.signing import verify_bundle

CERTIFICATES_PER_PAGE = 30
REVOCABLE = frozenset({CertificateStatus.ACCEPTED, CertificateStatus.PENDING_REVIEW})
# How the pages group the form fields.
DEVICE_NAMES = ("device_type", "maker", "model", "serial", "imei", "imei2", "meid")
LOCK_NAMES = ("device_encrypted", "activation_lock", "frp", "mdm", "removable_media_removed", "sim_removed")
FIELD_GROUPS = {"device_names": DEVICE_NAMES, "lock_names": LOCK_NAMES}
# Service field names → form field names.
FIELD_NAMES = {"device.imeis": "imei", "device.meid": "meid", "device.serial": "serial", "file": "file"}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def show_error(request: HttpRequest, form: forms.BaseForm, exc: DomainError) -> None:
    """Field errors next to their fields; anything else at the top of the form. A missing
    second factor also gets a link to switch it on."""
    placed = False
    for key, field_messages in (exc.details.get("fields") or {}).items():
        name = FIELD_NAMES.get(key, key)
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if not placed or exc.code != ErrorCode.VALIDATION_ERROR:
        form.add_error(None, exc.message)
    if isinstance(exc, MFARequired):
        messages.warning(request, _("Switch on two-factor authentication in your account, then try again."))


# --- Technicians' pages ---------------------------------------------------------------------


@login_required
@require_GET
def certificate_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    providers = providers_of_member(user=user)
    page = Paginator(certificates_of_member(user=user), CERTIFICATES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "certificate": certificate,
            "status": display_status(certificate),
            "device": device_display(plain_payload(certificate).get("device") or {}, full=True),
            "source_format": source_format_label(certificate.source_format),
        }
        for certificate in page.object_list
    ]
    return render(
        request,
        "wipe_cert/list.html",
        {
            "providers": providers,
            "can_issue": bool(providers_of_member(user=user, roles=(Role.TECHNICIAN,))),
            "page": page,
            "rows": rows,
            "status_labels": STATUS_LABELS,
        },
    )


def _technician_providers(request: HttpRequest) -> list[Any]:
    return providers_of_member(user=_user(request), roles=(Role.TECHNICIAN,))


@login_required
@require_http_methods(["GET", "POST"])
def certificate_import_view(request: HttpRequest) -> HttpResponse:
    providers = _technician_providers(request)
    if not providers:
        return render(request, "wipe_cert/not_technician.html", status=403)
    form = CertificateImportForm(request.POST or None, request.FILES or None, providers=providers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            certificate, _report = certificate_import(
                technician=_user(request),
                provider_id=int(data["provider"]),
                report_format=data["format"],
                data=upload.read(),
                filename=upload.name or "",
                media_type=data.get("media_type") or None,
                device=form.device(),
                listing_id=data.get("listing_id"),
            )
        except DomainError as exc:
            show_error(request, form, exc)
        else:
            messages.success(
                request, _("The report was read. Check what it recorded, add what it lacks, then sign the certificate.")
            )
            return redirect("erasure_detail", pk=certificate.pk)
    return render(request, "wipe_cert/import.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def certificate_new_view(request: HttpRequest) -> HttpResponse:
    providers = _technician_providers(request)
    if not providers:
        return render(request, "wipe_cert/not_technician.html", status=403)
    form = ManualCertificateForm(request.POST or None, providers=providers)
    if request.method == "POST" and form.is_valid():
        try:
            certificate = certificate_draft_create(
                technician=_user(request),
                provider_id=int(form.cleaned_data["provider"]),
                device=form.device(),
                media=[form.medium()],
                locks=form.locks(),
                device_encrypted=form.device_encrypted_value(),
                listing_id=form.cleaned_data.get("listing_id"),
            )
        except DomainError as exc:
            show_error(request, form, exc)
        else:
            messages.success(request, _("The draft was saved. Check it, then sign the certificate."))
            return redirect("erasure_detail", pk=certificate.pk)
    medium_names = [name for name in form.fields if name not in {"provider", "listing_id", *DEVICE_NAMES, *LOCK_NAMES}]
    return render(
        request,
        "wipe_cert/new.html",
        {
            "form": form,
            "device_names": ("provider", "listing_id", *DEVICE_NAMES),
            "medium_names": medium_names,
            "lock_names": LOCK_NAMES,
        },
    )


def _member_certificate(request: HttpRequest, pk: Any) -> ErasureCertificate:
    certificate = certificate_for_member(user=_user(request), certificate_id=pk)
    if certificate is None:
        raise Http404(_("No such certificate."))
    return certificate


def _medium_forms(certificate: ErasureCertificate, data: Any = None) -> list[MediumCompleteForm]:
    read_only = set((certificate.imported or {}).get("read_fields") or [])
    return [
        MediumCompleteForm(data, medium=medium, read_only=read_only, prefix=f"medium-{index}")
        for index, medium in enumerate(certificate.payload.get("media") or [])
    ]


def _pending_binding(certificate: ErasureCertificate) -> list[tuple[str, str]]:
    """Why an accepted certificate was not attached to the listing named at import."""
    listing_id = (certificate.imported or {}).get("listing_id")
    if certificate.status != CertificateStatus.ACCEPTED or not listing_id or certificate.listing_id == listing_id:
        return []
    listing = Listing.objects.filter(pk=listing_id).first()
    return binding_problems(certificate, listing) if listing is not None else []


def _detail(
    request: HttpRequest,
    certificate: ErasureCertificate,
    *,
    complete_form: DraftCompleteForm | None = None,
    medium_forms: list[MediumCompleteForm] | None = None,
    revoke_form: RevokeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    payload = plain_payload(certificate)
    is_draft = certificate.status == CertificateStatus.DRAFT
    public = display_status(certificate)
    context: dict[str, Any] = {
        "certificate": certificate,
        "status": public,
        "status_label": STATUS_LABELS.get(public, public),
        "device": device_display(payload.get("device") or {}, full=True),
        "media": medium_rows(payload.get("media") or [], full=True),
        "locks": lock_rows(payload.get("locks") or {}),
        "read_rows": read_rows(certificate),
        "missing": missing_fields(certificate),
        "source_format": source_format_label(certificate.source_format),
        "device_type": device_type_label(str((payload.get("device") or {}).get("type") or "")),
        "imported": bool((certificate.imported or {}).get("read_fields")),
        "reasons": (certificate.acceptance or {}).get("reasons") or [],
        "is_draft": is_draft,
        "complete_form": complete_form or (DraftCompleteForm(payload=payload) if is_draft else None),
        "medium_forms": medium_forms or (_medium_forms(certificate) if is_draft else []),
        "revoke_form": revoke_form or (RevokeForm() if certificate.status in REVOCABLE else None),
        "binding_problems": _pending_binding(certificate),
        "issued": parse_time(payload.get("issued_at")),
        **FIELD_GROUPS,
    }
    return render(request, "wipe_cert/detail.html", context, status=status)


@login_required
@require_GET
def certificate_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    return _detail(request, _member_certificate(request, pk))


@login_required
@require_POST
def certificate_complete(request: HttpRequest, pk: Any) -> HttpResponse:
    certificate = _member_certificate(request, pk)
    if certificate.status != CertificateStatus.DRAFT:
        messages.error(request, _("A signed certificate cannot be changed."))
        return redirect("erasure_detail", pk=certificate.pk)
    form = DraftCompleteForm(request.POST, payload=certificate.payload)
    medium_forms = _medium_forms(certificate, request.POST)
    if form.is_valid() and all(medium_form.is_valid() for medium_form in medium_forms):
        media_changes = [medium_form.changes() for medium_form in medium_forms]
        try:
            certificate_draft_update(
                technician=_user(request),
                certificate_id=certificate.pk,
                device=form.device(),
                media=media_changes if any(media_changes) else None,
                locks=form.locks(),
                device_encrypted=form.device_encrypted_value(),
            )
        except DomainError as exc:
            show_error(request, form, exc)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("erasure_detail", pk=certificate.pk)
    return _detail(request, certificate, complete_form=form, medium_forms=medium_forms, status=200)


def _signing_outcome(request: HttpRequest, certificate: ErasureCertificate) -> None:
    if certificate.status == CertificateStatus.ACCEPTED:
        messages.success(
            request, _("The certificate is valid: signed, countersigned by the platform and in the transparency log.")
        )
    elif certificate.status == CertificateStatus.PENDING_REVIEW:
        messages.warning(
            request, _("The certificate was signed; it reaches only the NIST Clear level and waits for staff review.")
        )
    else:
        messages.error(request, _("The certificate was signed but rejected: see the reasons below."))


@login_required
@require_POST
def certificate_sign_view(request: HttpRequest, pk: Any) -> HttpResponse:
    certificate = _member_certificate(request, pk)
    try:
        signed = certificate_sign(technician=_user(request), certificate_id=certificate.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        for problem in (exc.details.get("problems") or [])[:10]:
            messages.error(request, str(problem))
        if isinstance(exc, MFARequired):
            messages.warning(request, _("Switch on two-factor authentication in your account, then try again."))
    else:
        _signing_outcome(request, signed)
    return redirect("erasure_detail", pk=certificate.pk)


@login_required
@require_POST
def certificate_revoke_view(request: HttpRequest, pk: Any) -> HttpResponse:
    certificate = _member_certificate(request, pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            certificate_revoke(actor=_user(request), certificate_id=certificate.pk, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            show_error(request, form, exc)
        else:
            messages.success(
                request, _("The certificate was revoked; its listing is off sale and the seller was told.")
            )
            return redirect("erasure_detail", pk=certificate.pk)
    return _detail(request, certificate, revoke_form=form, status=200)


@login_required
@require_POST
def certificate_bind_view(request: HttpRequest, listing_id: int) -> HttpResponse:
    """The seller attaches a certificate by its id (from the provider or the PDF)."""
    certificate_id = (request.POST.get("certificate_id") or "").strip()
    if certificate_get(certificate_id=certificate_id) is None:
        messages.error(request, _("No certificate has this number; copy it from the certificate or the PDF."))
    else:
        try:
            certificate_bind(actor=_user(request), certificate_id=certificate_id, listing_id=listing_id)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
            for problem in (exc.details.get("problems") or [])[1:]:
                messages.error(request, problem["message"])
        else:
            messages.success(request, _("The erasure certificate is attached to your listing."))
    return redirect("listing_manage", pk=listing_id)


# --- Public verification ----------------------------------------------------------------------


def _signed_certificate(pk: Any) -> ErasureCertificate:
    """Any signed certificate; drafts are not certificates yet."""
    certificate = certificate_get(certificate_id=pk)
    if certificate is None or certificate.status == CertificateStatus.DRAFT:
        raise Http404(_("No such certificate."))
    return certificate


def _verified(certificate: ErasureCertificate) -> tuple[dict[str, Any], str, Any]:
    bundle = certificate_bundle(certificate)
    check = verify_bundle(bundle, certificate_anchors(certificate))
    return bundle, display_status(certificate, check), check


def identifiers_context(request: HttpRequest, certificate: ErasureCertificate) -> dict[str, Any]:
    """The device and its media as this visitor may see them: in full for the provider,
    the seller, the buyer of a completed order and staff, else masked. The personal part
    "erasure_identifiers" of the verification page."""
    payload = plain_payload(certificate)
    can_see = request.user.is_authenticated and certificate_can_see_identifiers(
        user=_user(request), certificate=certificate
    )
    return {
        "device": device_display(payload.get("device") or {}, full=can_see),
        "media": medium_rows(payload.get("media") or [], full=can_see),
        "can_download": can_see,
    }


@require_GET
@page_cache.cache_public_page(lambda request, pk: (page_cache.ERASURE, page_cache.SITE), members=True)
def verify_page(request: HttpRequest, pk: Any) -> HttpResponse:
    certificate = _signed_certificate(pk)
    bundle, status, check = _verified(certificate)
    payload = plain_payload(certificate)
    log: Mapping[str, Any] = bundle.get("log") or {}
    checkpoint: Mapping[str, Any] = log.get("checkpoint") or {}
    return render(
        request,
        "wipe_cert/verify.html",
        {
            "certificate": certificate,
            "status": status,
            "status_label": STATUS_LABELS.get(status, status),
            "status_explanation": STATUS_EXPLANATIONS.get(status, ""),
            "revocation": revocation_text(certificate),
            "platform_fingerprint": (bundle.get("keys") or {}).get("platform", {}).get("fingerprint", ""),
            "provider": payload.get("provider") or {},
            "issued": parse_time(payload.get("issued_at")),
            **identifiers_context(request, certificate),
            "log": log,
            "checkpoint": checkpoint,
            "checkpoint_time": parse_time(checkpoint.get("timestamp")),
            "check": check,
            "check_lines": [check_line_display(line) for line in check.checks],
            "problem_lines": [check_line_display(line) for line in check.problems],
            "json_url": f"/api/v1/erasure-certificates/{certificate.pk}/verification",
        },
    )


@require_GET
def verify_redirect(request: HttpRequest, pk: Any) -> HttpResponse:
    return redirect("erasure_verify", pk=pk, permanent=True)


@require_GET
def certificate_pdf_view(request: HttpRequest, pk: Any) -> HttpResponse:
    certificate = _signed_certificate(pk)
    _bundle, status, _check = _verified(certificate)
    verify_url = request.build_absolute_uri(reverse("erasure_verify", args=(certificate.pk,)))
    response = HttpResponse(
        certificate_pdf(certificate, status=status, verify_url=verify_url), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="erasure-certificate-{certificate.pk}.pdf"'
    return response


@require_GET
def certificate_bundle_view(request: HttpRequest, pk: Any) -> HttpResponse:
    """The signed bundle, for `python -m wipe_cert.verify`. Its payload holds identifiers
    only as salted commitments, so anyone may download it; the provider, the seller, the
    buyer of a completed order and staff also get the opening (salt and identifiers) to
    check the device in hand."""
    certificate = _signed_certificate(pk)
    opening = certificate_can_see_identifiers(user=_user(request), certificate=certificate)
    response = JsonResponse(
        certificate_bundle(certificate, with_opening=opening), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Content-Disposition"] = f'attachment; filename="erasure-certificate-{certificate.pk}.json"'
    return response


@require_GET
def erasure_keys(request: HttpRequest) -> HttpResponse:
    """Every provider and platform key, revoked ones included, for offline verifiers."""
    response = JsonResponse(keys_document(), json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response
