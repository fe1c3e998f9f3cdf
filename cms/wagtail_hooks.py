"""The "Moderation" menu of the Wagtail admin: the report queue, prohibited terms, the
stolen-goods register and stolen-match alerts. Staff only; every state change goes
through marketplace.services.moderation (see cms.admin_views)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import BooleanColumn, DateColumn
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from cms.admin_views import (
    ListingReportIndexView,
    ReportDismissView,
    ReportTakeDownView,
    StolenMatchAlertIndexView,
    StolenReportCreateView,
    StolenReportForm,
    StolenReportIndexView,
    StolenReportResolveView,
)
from marketplace.models import ListingReport, ProhibitedTerm, StolenGoodsReport, StolenMatchAlert
from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet

# Registered before any viewset asks for a policy (Wagtail would otherwise fall back to
# Django model permissions). The actions listed are all that exist for each model.
register_permission_policy(ListingReport, StaffOnlyPermissionPolicy(ListingReport, actions={"view", "moderate"}))
register_permission_policy(
    ProhibitedTerm, StaffOnlyPermissionPolicy(ProhibitedTerm, actions={"view", "add", "change", "delete"})
)
register_permission_policy(
    StolenGoodsReport, StaffOnlyPermissionPolicy(StolenGoodsReport, actions={"view", "add", "resolve"})
)
register_permission_policy(StolenMatchAlert, StaffOnlyPermissionPolicy(StolenMatchAlert, actions={"view"}))


class ListingReportViewSet(StaffOnlyViewSet):
    model = ListingReport
    name = "listing-reports"
    icon = "warning"
    menu_label = _("Report queue")
    index_view_class = ListingReportIndexView
    list_filter = ("status", "reason")
    search_fields = ("listing__title", "details")
    ordering = ("open_first", "-created_at")
    inspect_view_enabled = True
    inspect_view_fields = (
        "listing",
        "reason",
        "details",
        "reporter",
        "status",
        "created_at",
        "handled_by",
        "handled_at",
        "resolution_note",
    )

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(
            take_down_url_name=self.get_url_name("take_down"), dismiss_url_name=self.get_url_name("dismiss"), **kwargs
        )

    def action_view(self, view_class: type, name: str) -> Any:
        return self.construct_view(view_class, url_name=self.get_url_name(name))

    def get_urlpatterns(self) -> list[URLPattern]:
        # Reports are created by users and handled here; never added, edited or deleted.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("take-down/<int:pk>/", self.action_view(ReportTakeDownView, "take_down"), name="take_down"),
            path("dismiss/<int:pk>/", self.action_view(ReportDismissView, "dismiss"), name="dismiss"),
        ]


class ProhibitedTermViewSet(StaffOnlyViewSet):
    model = ProhibitedTerm
    name = "prohibited-terms"
    icon = "cross"
    menu_label = _("Prohibited terms")
    form_fields = ("term", "category", "note", "active")
    list_display = (
        "term",
        "category",
        BooleanColumn("active", label=_("Active")),
        "note",
        DateColumn("created_at", label=_("Added"), sort_key="created_at"),
    )
    list_filter = ("category", "active")
    search_fields = ("term", "note")
    ordering = ("category", "term")


class StolenGoodsReportViewSet(StaffOnlyViewSet):
    model = StolenGoodsReport
    name = "stolen-goods"
    icon = "lock"
    menu_label = _("Stolen-goods register")
    index_view_class = StolenReportIndexView
    add_view_class = StolenReportCreateView
    list_filter = ("identifier_kind", "source", "active")
    search_fields = ("identifier", "reference", "description")
    ordering = ("-created_at",)
    inspect_view_enabled = True
    inspect_view_fields = (
        "identifier_kind",
        "identifier",
        "source",
        "reference",
        "description",
        "entered_by",
        "active",
        "created_at",
        "resolved_at",
    )

    def get_form_class(self, for_update: bool = False) -> type[StolenReportForm]:
        return StolenReportForm

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(resolve_url_name=self.get_url_name("resolve"), **kwargs)

    def get_add_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_add_view_kwargs(inspect_url_name=self.get_url_name("inspect"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        # Entries are never edited or deleted; "resolve" deactivates them.
        resolve_view = self.construct_view(StolenReportResolveView, url_name=self.get_url_name("resolve"))
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("new/", self.add_view, name="add"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("resolve/<int:pk>/", resolve_view, name="resolve"),
        ]


class StolenMatchAlertViewSet(StaffOnlyViewSet):
    model = StolenMatchAlert
    name = "stolen-match-alerts"
    icon = "warning"
    menu_label = _("Stolen-match alerts")
    index_view_class = StolenMatchAlertIndexView
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(
            report_inspect_url_name=f"{StolenGoodsReportViewSet.name}:inspect", **kwargs
        )

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]


class ModerationViewSetGroup(ModelViewSetGroup):
    menu_label = _("Moderation")
    menu_icon = "warning"
    menu_order = 250
    items = (ListingReportViewSet, ProhibitedTermViewSet, StolenGoodsReportViewSet, StolenMatchAlertViewSet)


@hooks.register("register_admin_viewset")
def register_moderation_viewsets() -> ModerationViewSetGroup:
    return ModerationViewSetGroup()


# --- Community pages (flea markets, consignment events, book swaps) --------------------
# Their hooks live in their own module; importing it registers them.
from cms import community_hooks  # noqa: E402, F401

# --- Orders: disputes to resolve and the order list (see cms/orders_admin.py) ------------
from cms.orders_admin import OrdersViewSetGroup  # noqa: E402


@hooks.register("register_admin_viewset")
def register_orders_viewsets() -> OrdersViewSetGroup:
    return OrdersViewSetGroup()
