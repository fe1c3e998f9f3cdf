"""What every app's staff screens in the Wagtail admin share: access follows `is_staff`
(active staff, with the 2FA the admin already requires), not Django model permissions,
and only the actions a screen lists exist (records are handled there, not edited)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.urls import URLPattern, path
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import BasePermissionPolicy

from marketplace.models import User


class StaffOnlyPermissionPolicy(BasePermissionPolicy):
    """Active staff may do the listed actions; nobody else may do anything."""

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


class StaffOnlyViewSet(ModelViewSet):
    """Access follows is_staff, so no model permissions are offered in the group
    permission editor."""

    copy_view_enabled = False
    add_to_reference_index = False

    def get_permissions_to_register(self) -> QuerySet[Permission]:
        return Permission.objects.none()

    def action_view(self, view_class: type, name: str) -> Any:
        """A view of this viewset for a custom action, under its own URL name."""
        return self.construct_view(view_class, url_name=self.get_url_name(name))

    def index_urls(self) -> list[URLPattern]:
        """The listing and its results URLs, for viewsets that add their own routes."""
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]
