"""Reads for pages and the API, each with the joins it needs so a page runs a fixed
number of queries."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.models import Membership, Organisation, User


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name", "role")


def organisation_members(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("role", "user__display_name")
    )
