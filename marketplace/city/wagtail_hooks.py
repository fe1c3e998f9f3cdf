"""The city screens of the Wagtail admin, staff only: the statistics dashboard and its
exports, the green-account factors and the vehicle relocation rules."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import BooleanColumn, DateColumn
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from marketplace.city.admin_views import StatisticsDashboardView, StatisticsExportView, StatisticsRefreshView
from marketplace.city.models import GreenFactor, RelocationCity
from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet

EDIT_ACTIONS = {"view", "add", "change", "delete"}
register_permission_policy(GreenFactor, StaffOnlyPermissionPolicy(GreenFactor, actions=EDIT_ACTIONS))
register_permission_policy(RelocationCity, StaffOnlyPermissionPolicy(RelocationCity, actions=EDIT_ACTIONS))


class _RecordEditor:
    request: HttpRequest
    form: Any

    def save_instance(self) -> Any:
        self.form.instance.updated_by = self.request.user
        return super().save_instance()  # type: ignore[misc]


class GreenFactorCreateView(_RecordEditor, CreateView):
    pass


class GreenFactorEditView(_RecordEditor, EditView):
    pass


class GreenFactorViewSet(StaffOnlyViewSet):
    model = GreenFactor
    name = "green-factors"
    icon = "pick"
    menu_label = _("Green-account factors")
    add_view_class = GreenFactorCreateView
    edit_view_class = GreenFactorEditView
    form_fields = ("category", "item_type", "kg_co2e", "uncertainty_percent", "source", "source_url", "note")
    list_display = (
        "category",
        "item_type_display",
        "kg_co2e",
        "uncertainty_percent",
        "source",
        DateColumn("updated_at", label=_("Updated at"), sort_key="updated_at"),
    )
    list_filter = ("category",)
    search_fields = ("source", "note", "item_type")
    ordering = ("category", "item_type")


class RelocationCityViewSet(StaffOnlyViewSet):
    model = RelocationCity
    name = "relocation-rules"
    icon = "site"
    menu_label = _("Vehicle relocation rules")
    form_fields = ("name", "province", "minimum_standard", "is_example", "source", "note")
    list_display = (
        "name",
        "province",
        "minimum_standard",
        BooleanColumn("is_example", label=_("Example entry")),
        DateColumn("updated_at", label=_("Updated at"), sort_key="updated_at"),
    )
    list_filter = ("minimum_standard", "is_example")
    search_fields = ("name", "province")
    ordering = ("province", "name")


class CityViewSetGroup(ModelViewSetGroup):
    menu_label = _("City data")
    menu_icon = "site"
    menu_order = 270
    items = (GreenFactorViewSet, RelocationCityViewSet)


@hooks.register("register_admin_viewset")
def register_city_viewsets() -> CityViewSetGroup:
    return CityViewSetGroup()


@hooks.register("register_admin_urls")
def city_admin_urls() -> list[Any]:
    return [
        path("city/statistics/", StatisticsDashboardView.as_view(), name="city_statistics_dashboard"),
        path(
            "city/statistics/export.<str:fmt>",
            StatisticsExportView.as_view(),
            name="city_statistics_export",
        ),
        path("city/statistics/refresh/", StatisticsRefreshView.as_view(), name="city_statistics_refresh"),
    ]


class StaffMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_staff)


@hooks.register("register_admin_menu_item")
def statistics_menu_item() -> MenuItem:
    return StaffMenuItem(
        _("Statistics"), reverse("city_statistics_dashboard"), name="city-statistics", icon_name="table", order=265
    )
