"""The "Credit" menu of the Wagtail admin (staff only) and the policy table as a snippet."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from marketplace.credit import admin_views as views
from marketplace.credit.models import TierEffect, TierEffectKind
from marketplace.credit.services import tier_requirements_changed


@hooks.register("register_admin_urls")
def credit_admin_urls() -> list[Any]:
    return [
        path("credit/", views.SubjectsView.as_view(), name="credit_admin_subjects"),
        path("credit/users/<int:user_id>/", views.SubjectView.as_view(), name="credit_admin_subject"),
        path("credit/events/<int:event_id>/reverse/", views.EventReverseView.as_view(), name="credit_admin_reverse"),
        path("credit/appeals/", views.AppealsView.as_view(), name="credit_admin_appeals"),
        path("credit/rings/", views.RingsView.as_view(), name="credit_admin_rings"),
        path("credit/partner-tokens/", views.PartnerTokensView.as_view(), name="credit_admin_tokens"),
    ]


class StaffMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return bool(request.user.is_authenticated and request.user.is_staff)


class TierEffectViewSet(SnippetViewSet):
    model = TierEffect
    icon = "list-ul"
    menu_label = _("Credit policy table")
    add_to_admin_menu = False
    list_display = ("role", "tier", "effect", "limit", "active")
    list_filter = ("role", "tier", "effect", "active")


register_snippet(TierEffectViewSet)


def _requirements_touched(instances: Any) -> None:
    """A staff edit of a minimum of completed orders changes who reaches which tier."""
    if any(isinstance(i, TierEffect) and i.effect == TierEffectKind.MIN_COMPLETED_ORDERS for i in instances):
        tier_requirements_changed()


@hooks.register("after_create_snippet")
def tier_effect_created(request: HttpRequest, instance: Any) -> None:
    _requirements_touched([instance])


@hooks.register("after_edit_snippet")
def tier_effect_edited(request: HttpRequest, instance: Any) -> None:
    _requirements_touched([instance])


@hooks.register("after_delete_snippet")
def tier_effect_deleted(request: HttpRequest, instances: Any) -> None:
    _requirements_touched(instances)


@hooks.register("register_admin_menu_item")
def credit_menu_item() -> MenuItem:
    menu = Menu(
        items=[
            StaffMenuItem(_("Subjects"), reverse("credit_admin_subjects"), name="credit-subjects", icon_name="user"),
            StaffMenuItem(_("Appeals"), reverse("credit_admin_appeals"), name="credit-appeals", icon_name="help"),
            StaffMenuItem(_("Rating rings"), reverse("credit_admin_rings"), name="credit-rings", icon_name="warning"),
            StaffMenuItem(
                _("Policy table"), "/cms-admin/snippets/credit/tiereffect/", name="credit-policy", icon_name="list-ul"
            ),
            StaffMenuItem(_("Partner tokens"), reverse("credit_admin_tokens"), name="credit-tokens", icon_name="key"),
        ]
    )
    return StaffSubmenu(_("Credit"), menu, name="credit", icon_name="pick", order=260)


class StaffSubmenu(SubmenuMenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return bool(request.user.is_authenticated and request.user.is_staff)
