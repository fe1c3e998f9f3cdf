"""The "Grading" menu of the Wagtail admin: rule-set versions (draft, publish, older
grades acceptable or not), appraiser credentials (verify, revoke, private document),
price flags and valuation parameters. Staff only; state changes go through
grading.services (see grading.admin_views)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from grading.admin_views import (
    AppraisalApproveView,
    AppraisalRejectView,
    AppraisalReviewFilterSet,
    AppraisalReviewIndexView,
    AppraisalReviewInspectView,
    CredentialDocumentView,
    CredentialFilterSet,
    CredentialIndexView,
    CredentialInspectView,
    CredentialRevokeView,
    CredentialVerifyView,
    PriceFlagFilterSet,
    PriceFlagIndexView,
    PriceFlagReviewView,
    RuleSetAcceptableView,
    RuleSetCreateView,
    RuleSetEditView,
    RuleSetIndexView,
    RuleSetInspectView,
    RuleSetPublishView,
)
from grading.forms import RuleSetDocumentForm, ValuationParametersForm
from grading.models import Appraisal, AppraiserCredential, PriceFlag, RuleSetVersion, ValuationParameters
from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet

# Registered before any viewset asks for a policy (Wagtail would otherwise fall back to
# Django model permissions). The actions listed are all that exist for each model.
register_permission_policy(
    RuleSetVersion, StaffOnlyPermissionPolicy(RuleSetVersion, actions={"view", "add", "change", "publish"})
)
register_permission_policy(
    AppraiserCredential, StaffOnlyPermissionPolicy(AppraiserCredential, actions={"view", "verify"})
)
register_permission_policy(PriceFlag, StaffOnlyPermissionPolicy(PriceFlag, actions={"view", "review"}))
register_permission_policy(Appraisal, StaffOnlyPermissionPolicy(Appraisal, actions={"view", "review"}))
register_permission_policy(
    ValuationParameters,
    StaffOnlyPermissionPolicy(ValuationParameters, actions={"view", "add", "change", "delete"}),
)


class RuleSetVersionViewSet(StaffOnlyViewSet):
    model = RuleSetVersion
    name = "rule-sets"
    icon = "list-ol"
    menu_label = _("Rule-set versions")
    index_view_class = RuleSetIndexView
    add_view_class = RuleSetCreateView
    edit_view_class = RuleSetEditView
    inspect_view_class = RuleSetInspectView
    inspect_view_enabled = True
    inspect_view_fields = (
        "key",
        "version",
        "category",
        "device_types",
        "status",
        "acceptable",
        "content_hash",
        "created_at",
        "published_at",
        "published_by",
    )
    list_filter = ("key", "status", "category")
    search_fields = ("key", "version")
    ordering = ("key", "-published_at", "-pk")

    def get_form_class(self, for_update: bool = False) -> type[RuleSetDocumentForm]:
        return RuleSetDocumentForm

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(
            publish_url_name=self.get_url_name("publish"),
            acceptable_url_name=self.get_url_name("acceptable"),
            **kwargs,
        )

    def get_edit_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # No history or usage screens: appraisals record the version they were made with.
        return super().get_edit_view_kwargs(usage_url_name=None, history_url_name=None, **kwargs)

    def get_inspect_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_inspect_view_kwargs(
            publish_url_name=self.get_url_name("publish"),
            acceptable_url_name=self.get_url_name("acceptable"),
            **kwargs,
        )

    def get_urlpatterns(self) -> list[URLPattern]:
        # Versions are never deleted: appraisals point at them.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("new/", self.add_view, name="add"),
            path("edit/<int:pk>/", self.edit_view, name="edit"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("publish/<int:pk>/", self.action_view(RuleSetPublishView, "publish"), name="publish"),
            path("acceptable/<int:pk>/", self.action_view(RuleSetAcceptableView, "acceptable"), name="acceptable"),
        ]


class AppraiserCredentialViewSet(StaffOnlyViewSet):
    model = AppraiserCredential
    name = "appraiser-credentials"
    icon = "key"
    menu_label = _("Appraiser credentials")
    index_view_class = CredentialIndexView
    inspect_view_class = CredentialInspectView
    filterset_class = CredentialFilterSet
    search_fields = ("number", "issuer", "user__email", "user__display_name")
    ordering = ("-created_at",)
    inspect_view_enabled = True
    inspect_view_fields = (
        "user",
        "issuer",
        "number",
        "categories",
        "valid_from",
        "valid_to",
        "organisation",
        "document",
        "state",
        "verified_at",
        "verified_by",
        "revoked_at",
        "created_at",
    )

    def _action_urls(self) -> dict[str, str]:
        return {
            "verify_url_name": self.get_url_name("verify"),
            "revoke_url_name": self.get_url_name("revoke"),
            "document_url_name": self.get_url_name("document"),
        }

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(**self._action_urls(), **kwargs)

    def get_inspect_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_inspect_view_kwargs(**self._action_urls(), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        # Appraisers submit credentials; staff verify or revoke them, never edit them.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("verify/<int:pk>/", self.action_view(CredentialVerifyView, "verify"), name="verify"),
            path("revoke/<int:pk>/", self.action_view(CredentialRevokeView, "revoke"), name="revoke"),
            path("document/<int:pk>/", self.construct_view(CredentialDocumentView), name="document"),
        ]


class PriceFlagViewSet(StaffOnlyViewSet):
    model = PriceFlag
    name = "price-flags"
    icon = "warning"
    menu_label = _("Price flags")
    index_view_class = PriceFlagIndexView
    filterset_class = PriceFlagFilterSet
    search_fields = ("listing__title",)
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(review_url_name=self.get_url_name("review"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        # Flags are raised by the price check; moderators only mark them reviewed.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("review/<int:pk>/", self.action_view(PriceFlagReviewView, "review"), name="review"),
        ]


class AppraisalReviewViewSet(StaffOnlyViewSet):
    """Appraisals held for staff review because of the appraiser's credit tier."""

    model = Appraisal
    name = "appraisal-reviews"
    icon = "doc-full-inverse"
    menu_label = _("Appraisals to review")
    index_view_class = AppraisalReviewIndexView
    inspect_view_class = AppraisalReviewInspectView
    filterset_class = AppraisalReviewFilterSet
    search_fields = ("listing__title", "appraiser__email", "appraiser__display_name")
    ordering = ("-signed_at",)
    inspect_view_enabled = True
    inspect_view_fields = (
        "listing",
        "appraiser",
        "organisation",
        "grade",
        "sellable",
        "score",
        "rule_set_key",
        "rule_set_version",
        "result",
        "signed_at",
        "review_status",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    )

    def _action_urls(self) -> dict[str, str]:
        return {"approve_url_name": self.get_url_name("approve"), "reject_url_name": self.get_url_name("reject")}

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(**self._action_urls(), **kwargs)

    def get_inspect_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_inspect_view_kwargs(**self._action_urls(), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        # Signed appraisals are never edited; staff only approve or reject held ones.
        return [
            *self.index_urls(),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("approve/<int:pk>/", self.action_view(AppraisalApproveView, "approve"), name="approve"),
            path("reject/<int:pk>/", self.action_view(AppraisalRejectView, "reject"), name="reject"),
        ]


class ValuationParametersViewSet(StaffOnlyViewSet):
    model = ValuationParameters
    name = "valuation-parameters"
    icon = "sliders"
    menu_label = _("Valuation parameters")
    list_display = (
        "category",
        "device_type",
        "annual_depreciation_percent",
        "floor_percent",
        "useful_life_years",
        "band_percent",
        DateColumn("updated_at", label=_("Updated at"), sort_key="updated_at"),
    )
    list_filter = ("category",)
    ordering = ("category", "device_type")

    def get_form_class(self, for_update: bool = False) -> type[ValuationParametersForm]:
        return ValuationParametersForm


class GradingViewSetGroup(ModelViewSetGroup):
    menu_label = _("Grading")
    menu_icon = "tasks"
    menu_order = 260
    items = (
        RuleSetVersionViewSet,
        AppraiserCredentialViewSet,
        AppraisalReviewViewSet,
        PriceFlagViewSet,
        ValuationParametersViewSet,
    )


@hooks.register("register_admin_viewset")
def register_grading_viewsets() -> GradingViewSetGroup:
    return GradingViewSetGroup()
