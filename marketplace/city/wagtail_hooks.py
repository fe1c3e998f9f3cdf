"""The city screens of the Wagtail admin, staff only: the statistics dashboard and its
exports, the green-account factors and the vehicle relocation rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import BooleanColumn, DateColumn
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies.base import BasePermissionPolicy
from wagtail.permissions import register_permission_policy

from marketplace.city.admin_views import StatisticsDashboardView, StatisticsExportView, StatisticsRefreshView
from marketplace.city.models import GreenFactor, RelocationCity
from marketplace.models import User


class StaffOnlyPermissionPolicy(BasePermissionPolicy):
    """Access follows is_staff (active staff), not Django model permissions."""

    def __init__(self, model: Any, *, actions: Iterable[str]):
        super().__init__(model)
        self.actions = frozenset(actions)

    def user_has_permission(self, user: Any, action: str) -> bool:
        return bool(user.is_authenticated and user.is_active and user.is_staff) and action in self.actions

    def user_has_any_permission(self, user: Any, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions: Iterable[str]) -> QuerySet[User]:
        if self.actions.isdisjoint(actions):
            return User.objects.none()
        return User.objects.filter(is_active=True, is_staff=True)


EDIT_ACTIONS = {"view", "add", "change", "delete"}
register_permission_policy(GreenFactor, StaffOnlyPermissionPolicy(GreenFactor, actions=EDIT_ACTIONS))
register_permission_policy(RelocationCity, StaffOnlyPermissionPolicy(RelocationCity, actions=EDIT_ACTIONS))


class StaffOnlyViewSet(ModelViewSet):
    copy_view_enabled = False
    add_to_reference_index = False

    def get_permissions_to_register(self) -> QuerySet[Permission]:
        return Permission.objects.none()


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
