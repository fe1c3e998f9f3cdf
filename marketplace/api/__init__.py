"""Marketplace endpoints of the JSON API. Authentication: allauth's browser session or
its headless app token in the X-Session-Token header."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from marketplace.models import User
from marketplace.selectors import user_memberships
from marketplace.services.accounts import user_has_mfa

router = Router(tags=["accounts"])


def request_user(request: HttpRequest) -> User:
    """The authenticated user, whichever of the API's auth methods let them in."""
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else request.user  # type: ignore[return-value]


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


# Imported last: the listings module uses `request_user` from this package.
from marketplace.api.listings import router as listings_router  # noqa: E402
from marketplace.api.orders import router as orders_router  # noqa: E402

router.add_router("", listings_router)
router.add_router("", orders_router)
