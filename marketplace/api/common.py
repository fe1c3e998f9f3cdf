"""What every API module shares: who the caller is, the error shape, and the
authentication of public reads. Imported by the core's API modules and by the plug-ins'
(grading, wipe_cert); it imports none of them."""

from __future__ import annotations

from typing import Any

from allauth.headless.contrib.ninja.security import x_session_token_auth
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja import Schema

from marketplace.api.security import session_auth
from marketplace.models import User


def request_user(request: HttpRequest) -> User:
    """The authenticated user, whichever of the API's auth methods let them in."""
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else request.user  # type: ignore[return-value]


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any]


class AnonymousAllowed:
    """Last auth method of the public reads: lets a visitor in without credentials. A
    request that does present a session token which did not authenticate is refused.
    The OpenAPI document lists "no credentials" among these operations' security."""

    openapi_anonymous = True

    def __call__(self, request: HttpRequest) -> AnonymousUser | None:
        if request.headers.get("X-Session-Token"):
            return None
        return AnonymousUser()


anonymous_allowed = AnonymousAllowed()
PUBLIC_READ_AUTH = [x_session_token_auth, session_auth, anonymous_allowed]
