"""Data-erasure screens of the Wagtail admin: the review queue, all certificates with
revocation, signing keys, technician credentials, and the transparency log. Staff only.
Thin: parse the form, call a service of `wipe_cert.services`, show its DomainError as a
form error or a message."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.utils import quote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets import AdminDateInput, AdminDateTimeInput
from wagtail.admin.widgets.button import Button, HeaderButton, ListingButton

from marketplace.errors import DomainError
from marketplace.models import Organisation, OrganisationKind, User
from wipe_cert.models import CertificateStatus, ErasureCertificate, LogEntry, SigningKey, TechnicianCredential
from wipe_cert.presentation import device_display, format_value, medium_rows, plain_payload
from wipe_cert.selectors import certificate_get
from wipe_cert.services import (
    certificate_review,
    certificate_revoke,
    provider_key_create,
    provider_key_register,
    signing_key_revoke,
    technician_credential_add,
    technician_credential_verify,
)

REVOCABLE = frozenset({CertificateStatus.ACCEPTED, CertificateStatus.PENDING_REVIEW})


def show_domain_error(request: HttpRequest, form: forms.BaseForm, exc: DomainError) -> None:
    """The service's field errors on the form's fields; anything else as a form error."""
    placed = False
    for name, field_messages in (exc.details.get("fields") or {}).items():
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
    messages.error(request, exc.message)


def verify_url(certificate: ErasureCertificate) -> str:
    return reverse("erasure_verify", args=(certificate.pk,))


def erasure_providers() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.ERASURE_PROVIDER).order_by("name")


# --- Forms ---------------------------------------------------------------------------------


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=_("Review note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required: what you checked and why you decide so. It is kept with the certificate."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required. Kept on record and shown to those concerned."),
    )


class ProviderKeyCreateForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("Erasure provider"), queryset=Organisation.objects.none())
    valid_days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=3650, initial=365)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = erasure_providers()  # type: ignore[attr-defined]


class ProviderKeyRegisterForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("Erasure provider"), queryset=Organisation.objects.none())
    key_id = forms.CharField(label=_("Key id"), max_length=64, help_text=_("As the provider names it in payloads."))
    public_key = forms.CharField(label=_("Public key (base64, 32 bytes Ed25519)"), max_length=64)
    valid_from = forms.DateTimeField(label=_("Valid from"), widget=AdminDateTimeInput)
    valid_to = forms.DateTimeField(label=_("Valid to"), widget=AdminDateTimeInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = erasure_providers()  # type: ignore[attr-defined]


class CredentialAddForm(forms.Form):
    user_email = forms.EmailField(label=_("Technician's e-mail address"))
    provider = forms.ModelChoiceField(label=_("Erasure provider"), queryset=Organisation.objects.none())
    number = forms.CharField(label=_("Credential number"), max_length=64)
    issuer = forms.CharField(label=_("Issuer"), max_length=200)
    valid_from = forms.DateField(label=_("Valid from"), widget=AdminDateInput)
    valid_to = forms.DateField(label=_("Valid to"), widget=AdminDateInput)
    verified = forms.BooleanField(
        label=_("Verified with the issuer"), required=False, help_text=_("Only verified credentials let them sign.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = erasure_providers()  # type: ignore[attr-defined]

    def clean_user_email(self) -> User:
        email = self.cleaned_data["user_email"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(_("No account uses this e-mail address."))
        return user


# --- Form pages ------------------------------------------------------------------------------


class AdminFormView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """A form that calls one service: GET shows it, POST runs `perform` and goes back
    with a message, or shows the service's errors on the form."""

    model: Any = None
    permission_required: str | None = None
    template_name = "wipe_cert/admin/action_form.html"
    index_url_name: str | None = None
    url_name: str | None = None
    submit_button_label: Any = _("Save")
    submit_button_classname = "button"

    def get_action_url(self) -> str:
        assert self.url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.url_name)

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items = [*self.breadcrumbs_items]
        if self.index_url_name:
            items.append({"url": reverse(self.index_url_name), "label": capfirst(self.model._meta.verbose_name_plural)})
        items.append({"url": "", "label": self.get_page_title()})
        return items

    def description(self) -> str:
        return ""

    def summary(self) -> list[tuple[Any, Any]]:
        return []

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            description=self.description(),
            summary=self.summary(),
            action_url=self.get_action_url(),
            cancel_url=self.get_success_url(),
            submit_button_label=self.submit_button_label,
            submit_button_classname=self.submit_button_classname,
        )
        return context

    def perform(self, data: dict[str, Any]) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def form_valid(self, form: forms.Form) -> HttpResponse:
        try:
            message = self.perform(form.cleaned_data)
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(self.get_success_url())


class ObjectFormView(AdminFormView):
    """An AdminFormView about one object (its pk in the URL)."""

    def get_object(self) -> Any:
        found = self.model._default_manager.filter(pk=self.kwargs["pk"]).first()
        if found is None:
            raise Http404
        return found

    @cached_property
    def object(self) -> Any:
        # Looked up lazily, so PermissionCheckedMixin.dispatch runs first.
        return self.get_object()

    def get_action_url(self) -> str:
        assert self.url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.url_name, args=(quote(self.object.pk),))

    def get_page_subtitle(self) -> str:
        return str(self.object)

    def unavailable(self) -> str | None:
        """Why the action makes no sense for this object now, or None."""
        return None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reason = self.unavailable()
        if reason:
            messages.warning(request, reason)
            return HttpResponseRedirect(self.get_success_url())
        return super().get(request, *args, **kwargs)


# --- Certificates ---------------------------------------------------------------------------


def certificate_device(certificate: ErasureCertificate) -> str:
    device = certificate.payload.get("device") or {}
    return " ".join(str(device.get(key, "")) for key in ("maker", "model")).strip() or "—"


class CertificateIndexView(IndexView):
    revoke_url_name: str | None = None
    approve_url_name: str | None = None
    reject_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[ErasureCertificate]:
        return super().get_base_queryset().select_related("provider", "technician", "listing")

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "id",
                label=_("Certificate"),
                accessor=lambda certificate: str(certificate.pk)[:8],
                get_url=lambda certificate: self.get_inspect_url(certificate) or verify_url(certificate),
            ),
            Column("provider", label=_("Provider"), accessor="provider.name", sort_key="provider__name"),
            Column("device", label=_("Device"), accessor=certificate_device),
            StatusTagColumn(
                "status",
                label=_("Status"),
                accessor="get_status_display",
                sort_key="status",
                primary=lambda certificate: certificate.status == CertificateStatus.ACCEPTED,
            ),
            DateColumn("signed_at", label=_("Signed"), sort_key="signed_at"),
            Column(
                "listing",
                label=_("Listing"),
                accessor=lambda certificate: f"#{certificate.listing_id}" if certificate.listing_id else "—",
            ),
        ]

    def get_list_more_buttons(self, instance: ErasureCertificate) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        pk = quote(instance.pk)
        if instance.status == CertificateStatus.PENDING_REVIEW and self.user_has_permission("review"):
            if self.approve_url_name:
                buttons.append(
                    ListingButton(
                        gettext("Approve"),
                        url=reverse(self.approve_url_name, args=(pk,)),
                        icon_name="check",
                        priority=10,
                    )
                )
            if self.reject_url_name:
                buttons.append(
                    ListingButton(
                        gettext("Reject"), url=reverse(self.reject_url_name, args=(pk,)), icon_name="cross", priority=20
                    )
                )
        if instance.status in REVOCABLE and self.revoke_url_name and self.user_has_permission("revoke"):
            buttons.append(
                Button(gettext("Revoke"), url=reverse(self.revoke_url_name, args=(pk,)), icon_name="bin", priority=30)
            )
        if instance.status != CertificateStatus.DRAFT:
            buttons.append(
                Button(gettext("Public page"), url=verify_url(instance), icon_name="link-external", priority=40)
            )
        return buttons


class ReviewQueueIndexView(CertificateIndexView):
    """Certificates that reach only NIST Clear (e.g. flash overwritten once): oldest first."""

    page_title = _("Certificates waiting for review")

    def get_base_queryset(self) -> QuerySet[ErasureCertificate]:
        return super().get_base_queryset().filter(status=CertificateStatus.PENDING_REVIEW)


class CertificateInspectView(InspectView):
    def get_object(self, queryset: Any = None) -> ErasureCertificate:
        certificate = certificate_get(certificate_id=self.pk)
        if certificate is None:
            raise Http404
        return certificate

    def get_field_display_value(self, field_name: str, field: Any) -> Any:
        value = super().get_field_display_value(field_name, field)
        return "—" if value is None or value == "" else value

    def get_acceptance_display_value(self) -> str:
        reasons = (self.object.acceptance or {}).get("reasons") or []
        return "; ".join(f"{reason['message']} ({reason['code']})" for reason in reasons) or "—"

    def get_payload_display_value(self) -> str:
        device = device_display(plain_payload(self.object).get("device") or {}, full=True)
        media = [
            f"{row.get('type')}: {row['technique_label']} · {row.get('method_name') or ''} · "
            f"{format_value('verification', row.get('verification') or {})}"
            for row in medium_rows(plain_payload(self.object).get("media") or [], full=True)
        ]
        return " | ".join(
            [
                " ".join(str(device.get(key, "")) for key in ("type", "maker", "model", "serial")),
                *media,
            ]
        )


def _certificate_summary(certificate: ErasureCertificate) -> list[tuple[Any, Any]]:
    device = device_display(plain_payload(certificate).get("device") or {}, full=True)
    rows: list[tuple[Any, Any]] = [
        (_("Certificate"), certificate.pk),
        (_("Provider"), f"{certificate.provider.name} ({certificate.provider.uscc})"),
        (_("Technician"), certificate.technician.public_name),
        (_("Device"), " ".join(str(device.get(key, "")) for key in ("type", "maker", "model", "serial"))),
        (_("Status"), certificate.get_status_display()),
    ]
    for index, medium in enumerate(medium_rows(certificate.payload.get("media") or [], full=True), start=1):
        rows.append(
            (
                gettext("Medium %(number)d") % {"number": index},
                f"{medium.get('type')} · {medium['technique_label']} (NIST {medium['nist_label']}) · "
                f"{medium.get('method_name') or ''} {medium.get('passes', '')} · "
                f"{medium['verification_method_label']}: {medium['verification_result_label']}",
            )
        )
    for reason in (certificate.acceptance or {}).get("reasons") or []:
        rows.append((_("Rule"), f"{reason['outcome']}: {reason['message']} ({reason['code']})"))
    rows.append((_("Fingerprint (SHA-256)"), certificate.payload_sha256 or "—"))
    return rows


class CertificateActionView(ObjectFormView):
    model = ErasureCertificate

    def get_object(self) -> ErasureCertificate:
        certificate = certificate_get(certificate_id=self.kwargs["pk"])
        if certificate is None:
            raise Http404
        return certificate

    def summary(self) -> list[tuple[Any, Any]]:
        return _certificate_summary(self.object)


class CertificateReviewView(CertificateActionView):
    permission_required = "review"
    form_class = ReviewForm
    approve = True

    def unavailable(self) -> str | None:
        if self.object.status != CertificateStatus.PENDING_REVIEW:
            return gettext("This certificate is not waiting for review.")
        return None

    def description(self) -> str:
        if self.approve:
            return gettext(
                "Approving accepts the certificate although it reaches only NIST Clear: the platform countersigns "
                "it and writes it to the transparency log."
            )
        return gettext("Rejecting it means the device cannot be sold with this certificate.")

    def perform(self, data: dict[str, Any]) -> str:
        certificate = certificate_review(
            staff=self.request.user,  # type: ignore[arg-type]
            certificate_id=self.object.pk,
            approve=self.approve,
            note=data["note"],
        )
        if certificate.status == CertificateStatus.ACCEPTED:
            return gettext("Certificate %(id)s approved, countersigned and logged.") % {"id": certificate.pk}
        return gettext("Certificate %(id)s rejected.") % {"id": certificate.pk}


class CertificateApproveView(CertificateReviewView):
    page_title = _("Approve certificate")
    submit_button_label = _("Approve")
    approve = True


class CertificateRejectView(CertificateReviewView):
    page_title = _("Reject certificate")
    submit_button_label = _("Reject")
    submit_button_classname = "button serious"
    approve = False


class CertificateRevokeView(CertificateActionView):
    permission_required = "revoke"
    form_class = ReasonForm
    page_title = _("Revoke certificate")
    submit_button_label = _("Revoke")
    submit_button_classname = "button serious"

    def unavailable(self) -> str | None:
        if self.object.status not in REVOCABLE:
            return gettext("Only a valid certificate can be revoked.")
        return None

    def description(self) -> str:
        return gettext(
            "The listing it vouches for goes off sale, the seller is told, and the provider's credit records it."
        )

    def perform(self, data: dict[str, Any]) -> str:
        certificate = certificate_revoke(
            actor=self.request.user,  # type: ignore[arg-type]
            certificate_id=self.object.pk,
            reason=data["reason"],
        )
        return gettext("Certificate %(id)s revoked.") % {"id": certificate.pk}


# --- Signing keys -------------------------------------------------------------------------------


def key_state(key: SigningKey) -> str:
    now = timezone.now()
    if key.revoked_at is not None:
        return gettext("Revoked")
    if key.valid_to <= now:
        return gettext("Expired")
    if key.valid_from > now:
        return gettext("Not yet valid")
    return gettext("Active")


class SigningKeyIndexView(IndexView):
    create_url_name: str | None = None
    register_url_name: str | None = None
    revoke_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[SigningKey]:
        return super().get_base_queryset().select_related("organisation")

    @cached_property
    def header_buttons(self) -> list[Any]:
        buttons: list[Any] = []
        if self.create_url_name and self.user_has_permission("create"):
            buttons.append(
                HeaderButton(gettext("Create a platform-held key"), url=reverse(self.create_url_name), icon_name="plus")
            )
        if self.register_url_name and self.user_has_permission("register"):
            buttons.append(
                HeaderButton(gettext("Register a public key"), url=reverse(self.register_url_name), icon_name="key")
            )
        return buttons

    @cached_property
    def columns(self) -> list[Column]:
        # The title column carries the row's buttons (Revoke); a plain TitleColumn has none.
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column("key_id", label=_("Key id"), sort_key="key_id"),
            Column(
                "owner",
                label=_("Owner"),
                accessor=lambda key: key.organisation.name if key.organisation else gettext("Platform"),
            ),
            BooleanColumn(
                "held",
                label=_("Private key held by the platform"),
                accessor=lambda key: bool(key.private_key_encrypted),
            ),
            DateColumn("valid_from", label=_("Valid from"), sort_key="valid_from"),
            DateColumn("valid_to", label=_("Valid to"), sort_key="valid_to"),
            StatusTagColumn(
                "state",
                label=_("State"),
                accessor=key_state,
                primary=lambda key: key.revoked_at is None and key.valid_to > timezone.now(),
            ),
        ]

    def get_list_more_buttons(self, instance: SigningKey) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.revoked_at is None and self.revoke_url_name and self.user_has_permission("revoke"):
            buttons.append(
                ListingButton(
                    gettext("Revoke"),
                    url=reverse(self.revoke_url_name, args=(quote(instance.pk),)),
                    icon_name="bin",
                    priority=10,
                )
            )
        return buttons


class ProviderKeyCreateView(AdminFormView):
    model = SigningKey
    permission_required = "create"
    form_class = ProviderKeyCreateForm
    page_title = _("Create a platform-held provider key")
    submit_button_label = _("Create key")

    def description(self) -> str:
        return gettext(
            "A new Ed25519 key pair. The private key is encrypted with the platform's key and used when the "
            "provider's technicians sign certificates here."
        )

    def perform(self, data: dict[str, Any]) -> str:
        key = provider_key_create(
            actor=self.request.user,  # type: ignore[arg-type]
            provider_id=data["provider"].pk,
            valid_days=data["valid_days"],
        )
        return gettext("Key %(key)s created for %(provider)s.") % {"key": key.key_id, "provider": data["provider"]}


class ProviderKeyRegisterView(AdminFormView):
    model = SigningKey
    permission_required = "register"
    form_class = ProviderKeyRegisterForm
    page_title = _("Register a provider's public key")
    submit_button_label = _("Register key")

    def description(self) -> str:
        return gettext(
            "For providers that sign off-platform: certificates they upload are checked against this public key."
        )

    def perform(self, data: dict[str, Any]) -> str:
        key = provider_key_register(
            actor=self.request.user,  # type: ignore[arg-type]
            provider_id=data["provider"].pk,
            key_id=data["key_id"].strip(),
            public_key=data["public_key"].strip(),
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
        )
        return gettext("Key %(key)s registered for %(provider)s.") % {"key": key.key_id, "provider": data["provider"]}


class SigningKeyRevokeView(ObjectFormView):
    model = SigningKey
    permission_required = "revoke"
    form_class = ReasonForm
    page_title = _("Revoke signing key")
    submit_button_label = _("Revoke key")
    submit_button_classname = "button serious"

    def unavailable(self) -> str | None:
        return gettext("This key is already revoked.") if self.object.revoked_at is not None else None

    def description(self) -> str:
        return gettext(
            "Every certificate signed with this key stops verifying, and their listings are blocked from "
            "publication. Use this when a key leaked or was misused."
        )

    def summary(self) -> list[tuple[Any, Any]]:
        key = self.object
        return [
            (_("Key id"), key.key_id),
            (_("Owner"), key.organisation.name if key.organisation else gettext("Platform")),
            (_("Public key"), key.public_key),
            (_("Valid"), f"{key.valid_from:%Y-%m-%d %H:%M} – {key.valid_to:%Y-%m-%d %H:%M}"),
        ]

    def perform(self, data: dict[str, Any]) -> str:
        key = signing_key_revoke(
            actor=self.request.user,  # type: ignore[arg-type]
            key_id=self.object.key_id,
            reason=data["reason"],
        )
        return gettext("Key %(key)s revoked.") % {"key": key.key_id}


# --- Technician credentials ---------------------------------------------------------------------


def credential_state(credential: TechnicianCredential) -> str:
    today = timezone.localdate()
    if credential.valid_to < today:
        return gettext("Expired")
    if credential.verified_at is None:
        return gettext("Not verified")
    return gettext("Verified")


class CredentialIndexView(IndexView):
    add_item_label = _("Add credential")
    verify_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[TechnicianCredential]:
        return super().get_base_queryset().select_related("user", "provider")

    @cached_property
    def columns(self) -> list[Column]:
        # The title column carries the row's buttons (Verify); a plain TitleColumn has none.
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column("number", label=_("Credential number"), sort_key="number"),
            Column("user", label=_("Technician"), accessor=lambda credential: credential.user.email),
            Column("provider", label=_("Provider"), accessor="provider.name", sort_key="provider__name"),
            Column("issuer", label=_("Issuer"), sort_key="issuer"),
            DateColumn("valid_to", label=_("Valid to"), sort_key="valid_to"),
            StatusTagColumn(
                "state",
                label=_("State"),
                accessor=credential_state,
                primary=lambda credential: credential_state(credential) == gettext("Verified"),
            ),
        ]

    def get_list_more_buttons(self, instance: TechnicianCredential) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.verified_at is None and self.verify_url_name and self.user_has_permission("verify"):
            buttons.append(
                ListingButton(
                    gettext("Verify"),
                    url=reverse(self.verify_url_name, args=(quote(instance.pk),)),
                    icon_name="check",
                    priority=10,
                )
            )
        return buttons


class CredentialAddView(AdminFormView):
    model = TechnicianCredential
    permission_required = "add"
    form_class = CredentialAddForm
    page_title = _("Add technician credential")
    submit_button_label = _("Add credential")

    def perform(self, data: dict[str, Any]) -> str:
        credential = technician_credential_add(
            staff=self.request.user,  # type: ignore[arg-type]
            user=data["user_email"],
            provider_id=data["provider"].pk,
            number=data["number"],
            issuer=data["issuer"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            verified=data.get("verified", False),
        )
        return gettext("Credential %(credential)s added.") % {"credential": credential}


class CredentialVerifyForm(forms.Form):
    pass


class CredentialVerifyView(ObjectFormView):
    model = TechnicianCredential
    permission_required = "verify"
    form_class = CredentialVerifyForm
    page_title = _("Verify technician credential")
    submit_button_label = _("Yes, it is verified")

    def unavailable(self) -> str | None:
        return gettext("This credential is already verified.") if self.object.verified_at is not None else None

    def description(self) -> str:
        return gettext("Confirm that you checked the credential with its issuer. The technician may then sign.")

    def summary(self) -> list[tuple[Any, Any]]:
        credential = self.object
        return [
            (_("Technician"), f"{credential.user.public_name} <{credential.user.email}>"),
            (_("Provider"), credential.provider.name),
            (_("Credential"), f"{credential.issuer} {credential.number}"),
            (_("Valid"), f"{credential.valid_from} – {credential.valid_to}"),
        ]

    def perform(self, data: dict[str, Any]) -> str:
        credential = technician_credential_verify(
            staff=self.request.user,  # type: ignore[arg-type]
            credential_id=self.object.pk,
        )
        return gettext("Credential %(credential)s verified.") % {"credential": credential}


# --- Transparency log -----------------------------------------------------------------------------


class LogEntryIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[LogEntry]:
        return super().get_base_queryset().select_related("certificate")

    @cached_property
    def columns(self) -> list[Column]:
        return [
            Column("index", label=_("Index"), sort_key="index"),
            Column("kind", label=_("Entry"), accessor="get_kind_display"),
            TitleColumn(
                "subject",
                label=_("Certificate or key"),
                accessor=lambda entry: str(entry.certificate_id or entry.subject),
                get_url=lambda entry: (
                    reverse("erasure_verify", args=(entry.certificate_id,)) if entry.certificate_id else None
                ),
            ),
            Column("leaf_hash", label=_("Leaf hash")),
            DateColumn("created_at", label=_("Logged at"), sort_key="created_at"),
        ]
