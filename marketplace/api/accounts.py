"""The caller's own account in the JSON API (`/me`)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from marketplace.api.common import request_user
from marketplace.selectors import user_memberships
from marketplace.services.accounts import user_has_mfa

router = Router(tags=["accounts"])


class MembershipOut(Schema):
    organisation_id: int
    organisation_name: str
    organisation_kind: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    display_name: str
    preferred_language: str
    mfa_enabled: bool
    is_staff: bool
    memberships: list[MembershipOut]


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, object]:
    user = request_user(request)
    return {
        "id": user.pk,
        "email": user.email,
        "display_name": user.display_name,
        "preferred_language": user.preferred_language,
        "mfa_enabled": user_has_mfa(user=user),
        "is_staff": user.is_staff,
        "memberships": [
            {
                "organisation_id": m.organisation_id,
                "organisation_name": m.organisation.name,
                "organisation_kind": m.organisation.kind,
                "role": m.role,
            }
            for m in user_memberships(user=user)
        ],
    }
