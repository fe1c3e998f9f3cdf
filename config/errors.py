"""Error pages: JSON in the API's error shape under /api/, friendly HTML elsewhere.

Under /api/ every error is `{"code", "message", "details"}`; under /_allauth/ (allauth's
headless API) it is allauth's own `{"status", "errors": [{"code", "message"}]}`, which its
clients and its OpenAPI specification expect. `ApiErrorMiddleware` turns the errors Django
answers in HTML there (405 from a view, 400 for a request it cannot read, 404 under DEBUG,
CSRF failures) into JSON, and `api_not_found` catches the paths nothing matches so they are
never redirected to a slash-appended URL (APPEND_SLASH).

A database that cannot be reached (connection refused or dropped mid-request:
OperationalError / InterfaceError) is an outage, not a bug: the visitor gets a 503 page
that asks them to try again shortly, with Retry-After, rendered without touching the
database (no context processors, no session). The transaction the request was in has
been rolled back, so nothing is half-written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

from marketplace.errors import ErrorCode

logger = logging.getLogger(__name__)

DATABASE_OUTAGE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
# A 429 that does not say how long to wait (allauth's rate limits) says this.
RATE_LIMIT_RETRY_AFTER_SECONDS = 60
API_PREFIX = "/api/"
HEADLESS_PREFIX = "/_allauth/"


def is_api_path(path: str) -> bool:
    return path.startswith((API_PREFIX, HEADLESS_PREFIX))


def api_error(
    request: HttpRequest, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    """An error in the shape of the API the request went to."""
    if request.path_info.startswith(HEADLESS_PREFIX):
        body: dict[str, Any] = {"status": status, "errors": [{"code": code, "message": message}]}
    else:
        body = {"code": code, "message": message, "details": details or {}}
    return JsonResponse(body, status=status)


def status_error(request: HttpRequest, status: int) -> JsonResponse:
    """The error for a bare HTTP status, when nothing more specific is known."""
    if status == 401:
        return api_error(request, 401, ErrorCode.UNAUTHENTICATED, _("Log in to use this endpoint."))
    if status == 403:
        return api_error(request, 403, ErrorCode.PERMISSION_DENIED, _("You may not do this."))
    if status == 404:
        return api_error(request, 404, ErrorCode.NOT_FOUND, _("Not found."))
    if status == 405:
        return api_error(request, 405, ErrorCode.METHOD_NOT_ALLOWED, _("This method is not allowed here."))
    if status == 413:
        return api_error(request, 413, ErrorCode.PAYLOAD_TOO_LARGE, _("The request body is too large."))
    if status == 415:
        return api_error(
            request,
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            _("Send the request body as JSON (Content-Type: application/json)."),
        )
    if status == 429:
        return api_error(request, 429, ErrorCode.RATE_LIMITED, _("Too many requests. Try again later."))
    return api_error(request, status, ErrorCode.BAD_REQUEST, _("The request could not be understood."))


def is_json(response: HttpResponseBase) -> bool:
    content_type = response.get("Content-Type", "")
    return "json" in content_type.split(";", 1)[0]


class ApiErrorMiddleware:
    """Under /api/ and /_allauth/: errors Django or a view answered in HTML (or with an
    empty body) become JSON in the API's error shape, whatever DEBUG says; a body too large
    to read is 413; a 429 always says when to come back (Retry-After). Server errors are
    left alone: handler500 answers them in JSON, and DEBUG shows the traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not is_api_path(request.path_info):
            return response
        if 400 <= response.status_code < 500 and not is_json(response):
            converted = status_error(request, response.status_code)
            for header in ("Allow", "Retry-After", "Vary"):
                if response.has_header(header):
                    converted[header] = response[header]
            response = converted
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RATE_LIMIT_RETRY_AFTER_SECONDS)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path_info):
            return None
        if isinstance(exception, RequestDataTooBig):
            return status_error(request, 413)
        if isinstance(exception, Http404):
            return status_error(request, 404)
        return None


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Every path under /api/ or /_allauth/ that no endpoint matched: a JSON 404, for any
    method, never a redirect. A path under /api/ that only differs from an endpoint's by a
    trailing slash is that endpoint (its views are CSRF-exempt: they check CSRF themselves)."""
    path = request.path_info
    if path.startswith(API_PREFIX) and path.endswith("/") and path.rstrip("/"):
        try:
            match = resolve(path.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found and getattr(match.func, "csrf_exempt", False):
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
    return status_error(request, 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a clear `csrf_failed` code for API callers, Django's page elsewhere."""
    if is_api_path(request.path_info):
        return api_error(
            request,
            403,
            ErrorCode.CSRF_FAILED,
            _("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."),
        )
    return html_csrf_failure(request, reason)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path_info):
        return status_error(request, 404)
    return html_page_not_found(request, exception)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "code": "service_unavailable",
                "message": _("The service is briefly unavailable. Try again in a moment."),
                "details": {},
            },
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    _type, exc, _tb = sys.exc_info()
    if isinstance(exc, DATABASE_OUTAGE):
        logger.error("Database unavailable while serving %s: %s", request.path_info, exc)
        return service_unavailable(request)
    if is_api_path(request.path_info):
        return api_error(request, 500, ErrorCode.SERVER_ERROR, _("Something went wrong on our side."))
    return html_server_error(request)
