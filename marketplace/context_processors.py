"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from marketplace.models import Membership, OrganisationKind, Role
from marketplace.selectors import unread_notification_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    """The unread count for the navigation: one COUNT query, and only when a page
    actually shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": SimpleLazyObject(lambda: unread_notification_count(user=user)),
        # Roles for the role-specific links (appraisal queue, erasure workbench, consignment
        # desk): one query, only when read.
        "user_roles": SimpleLazyObject(lambda: _roles(user)),
    }


def _roles(user: Any) -> set[str]:
    """The user's roles, plus "consignment_desk" when they run or staff a consignment shop
    and "market_organiser" when they run an event organiser (its flea markets' stall
    applications wait for them)."""
    roles: set[str] = set()
    for role, kind in Membership.objects.filter(user=user).values_list("role", "organisation__kind"):
        roles.add(role)
        if kind == OrganisationKind.CONSIGNMENT_SHOP and role in (Role.OWNER, Role.STAFF):
            roles.add("consignment_desk")
        if kind == OrganisationKind.EVENT_ORGANISER and role in (Role.OWNER, Role.ORGANISER, Role.STAFF):
            roles.add("market_organiser")
    return roles
