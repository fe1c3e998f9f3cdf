"""The consignment screen of the Wagtail admin (staff only): releasing consignors."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from marketplace.consignment.admin_views import AgreementsAdminView


@hooks.register("register_admin_urls")
def consignment_admin_urls() -> list[Any]:
    return [path("consignment/agreements/", AgreementsAdminView.as_view(), name="consignment_admin_agreements")]


class StaffMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_staff)


@hooks.register("register_admin_menu_item")
def consignment_menu_item() -> MenuItem:
    return StaffMenuItem(
        _("Consignment agreements"),
        reverse("consignment_admin_agreements"),
        name="consignment-agreements",
        icon_name="group",
        order=266,
    )
