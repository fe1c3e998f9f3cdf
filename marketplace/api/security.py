"""How API callers authenticate, and how fast they may write.

Two ways in: allauth's headless session token in the X-Session-Token header (scripts and
apps), or the browser's session cookie. Only the cookie needs CSRF protection, and only
once it has identified someone:

- no session (or a token was sent instead): the cookie method steps aside, and a caller
  nothing else let in gets 401, never a CSRF error;
- a signed-in session without a valid CSRF token: 403 `csrf_failed`, which says what to fix.

A custom header cannot be sent cross-site without a CORS preflight we never grant, so a
request carrying X-Session-Token is not a cross-site forgery and needs no CSRF token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie
from ninja.throttling import SimpleRateThrottle
from ninja.utils import check_csrf

from marketplace.errors import ErrorCode, PermissionDenied
from marketplace.models import User

TOKEN_HEADER = "X-Session-Token"  # noqa: S105 - a header name, not a secret
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionAuth(APIKeyCookie):
    """Django's session cookie, with CSRF checked only for a signed-in session. (The class
    name is the security scheme's name in the OpenAPI document.)"""

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.headers.get(TOKEN_HEADER) or not request.user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDenied(
                _("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."),
                code=ErrorCode.CSRF_FAILED,
            )
        return request.user


session_auth = SessionAuth()


class WriteThrottle(SimpleRateThrottle):
    """Writes (anything but GET, HEAD and OPTIONS) per account, at API_WRITE_RATE (for
    example "120/m"; empty switches it off). Reads are not limited here."""

    scope = "writes"

    def __init__(self) -> None:
        super().__init__(rate="1/s")  # replaced by the setting on every request

    def allow_request(self, request: HttpRequest) -> bool:
        rate = getattr(settings, "API_WRITE_RATE", "")
        if not rate or request.method in SAFE_METHODS:
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "auth", None)
        if not isinstance(user, User):
            user = request.user
        if isinstance(user, User):
            # The account, not only its id: ids come back after a database is restored.
            ident = f"{user.pk}-{user.date_joined.timestamp()}"
        else:
            ident = self.get_ident(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}
