"""The "Data erasure" menu of the Wagtail admin: certificates waiting for review, all
certificates (revocation), signing keys, technician credentials, and the transparency
log with its checkpoints. Staff only; every state change goes through wipe_cert.services
(see wipe_cert.admin_views)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet
from wipe_cert.admin_views import (
    CertificateApproveView,
    CertificateIndexView,
    CertificateInspectView,
    CertificateRejectView,
    CertificateRevokeView,
    CredentialAddView,
    CredentialIndexView,
    CredentialVerifyView,
    LogEntryIndexView,
    ProviderKeyCreateView,
    ProviderKeyRegisterView,
    ReviewQueueIndexView,
    SigningKeyIndexView,
    SigningKeyRevokeView,
)
from wipe_cert.models import ErasureCertificate, LogCheckpoint, LogEntry, SigningKey, TechnicianCredential

# Registered before any viewset asks for a policy (Wagtail would otherwise fall back to
# Django model permissions). The actions listed are all that exist for each model:
# nothing here edits or deletes a certificate, a key or a log entry.
register_permission_policy(
    ErasureCertificate, StaffOnlyPermissionPolicy(ErasureCertificate, actions={"view", "review", "revoke"})
)
register_permission_policy(
    SigningKey, StaffOnlyPermissionPolicy(SigningKey, actions={"view", "create", "register", "revoke"})
)
register_permission_policy(
    TechnicianCredential, StaffOnlyPermissionPolicy(TechnicianCredential, actions={"view", "add", "verify"})
)
register_permission_policy(LogEntry, StaffOnlyPermissionPolicy(LogEntry, actions={"view"}))
register_permission_policy(LogCheckpoint, StaffOnlyPermissionPolicy(LogCheckpoint, actions={"view"}))


class CertificateViewSet(StaffOnlyViewSet):
    model = ErasureCertificate
    name = "erasure-certificates"
    icon = "doc-full"
    menu_label = _("All certificates")
    index_view_class = CertificateIndexView
    inspect_view_class = CertificateInspectView
    inspect_view_enabled = True
    inspect_view_fields = (
        "provider",
        "technician",
        "credential",
        "status",
        "payload",
        "acceptance",
        "payload_sha256",
        "signed_at",
        "accepted_at",
        "reviewed_by",
        "review_note",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
        "listing",
        "source_format",
        "source_sha256",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("provider__name", "payload_sha256")
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(revoke_url_name=self.get_url_name("revoke"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *self.index_urls(),
            path("inspect/<str:pk>/", self.inspect_view, name="inspect"),
            path("revoke/<str:pk>/", self.action_view(CertificateRevokeView, "revoke"), name="revoke"),
        ]


class ReviewQueueViewSet(StaffOnlyViewSet):
    model = ErasureCertificate
    name = "erasure-review"
    icon = "tasks"
    menu_label = _("Waiting for review")
    index_view_class = ReviewQueueIndexView
    ordering = ("signed_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(
            approve_url_name=self.get_url_name("approve"),
            reject_url_name=self.get_url_name("reject"),
            inspect_url_name=f"{CertificateViewSet.name}:inspect",
            **kwargs,
        )

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *self.index_urls(),
            path("approve/<str:pk>/", self.action_view(CertificateApproveView, "approve"), name="approve"),
            path("reject/<str:pk>/", self.action_view(CertificateRejectView, "reject"), name="reject"),
        ]


class SigningKeyViewSet(StaffOnlyViewSet):
    model = SigningKey
    name = "erasure-keys"
    icon = "key"
    menu_label = _("Signing keys")
    index_view_class = SigningKeyIndexView
    search_fields = ("key_id", "organisation__name")
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(
            create_url_name=self.get_url_name("create"),
            register_url_name=self.get_url_name("register"),
            revoke_url_name=self.get_url_name("revoke"),
            **kwargs,
        )

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *self.index_urls(),
            path("create/", self.action_view(ProviderKeyCreateView, "create"), name="create"),
            path("register/", self.action_view(ProviderKeyRegisterView, "register"), name="register"),
            path("revoke/<int:pk>/", self.action_view(SigningKeyRevokeView, "revoke"), name="revoke"),
        ]


class TechnicianCredentialViewSet(StaffOnlyViewSet):
    model = TechnicianCredential
    name = "technician-credentials"
    icon = "user"
    menu_label = _("Technician credentials")
    index_view_class = CredentialIndexView
    search_fields = ("number", "issuer", "user__email", "provider__name")
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(verify_url_name=self.get_url_name("verify"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *self.index_urls(),
            path("add/", self.action_view(CredentialAddView, "add"), name="add"),
            path("verify/<int:pk>/", self.action_view(CredentialVerifyView, "verify"), name="verify"),
        ]


class LogEntryViewSet(StaffOnlyViewSet):
    model = LogEntry
    name = "erasure-log"
    icon = "list-ol"
    menu_label = _("Transparency log")
    index_view_class = LogEntryIndexView
    ordering = ("-index",)

    def get_urlpatterns(self) -> list[URLPattern]:
        return self.index_urls()


class LogCheckpointViewSet(StaffOnlyViewSet):
    model = LogCheckpoint
    name = "erasure-checkpoints"
    icon = "history"
    menu_label = _("Log checkpoints")
    list_display = (
        "tree_size",
        "root_hash",
        "timestamp",
        "key",
        DateColumn("created_at", label=_("Published"), sort_key="created_at"),
    )
    ordering = ("-tree_size", "-pk")

    def get_urlpatterns(self) -> list[URLPattern]:
        return self.index_urls()


class ErasureViewSetGroup(ModelViewSetGroup):
    menu_label = _("Data erasure")
    menu_icon = "lock"
    menu_order = 270
    items = (
        ReviewQueueViewSet,
        CertificateViewSet,
        SigningKeyViewSet,
        TechnicianCredentialViewSet,
        LogEntryViewSet,
        LogCheckpointViewSet,
    )


@hooks.register("register_admin_viewset")
def register_erasure_viewsets() -> ErasureViewSetGroup:
    return ErasureViewSetGroup()
