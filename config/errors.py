"""Error pages: JSON in the API's error shape under /api/, friendly HTML elsewhere.

A database that cannot be reached (connection refused or dropped mid-request:
OperationalError / InterfaceError) is an outage, not a bug: the visitor gets a 503 page
that asks them to try again shortly, with Retry-After, rendered without touching the
database (no context processors, no session). The transaction the request was in has
been rolled back, so nothing is half-written."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

logger = logging.getLogger(__name__)

DATABASE_OUTAGE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": _("Not found."), "details": {}}, status=404)
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
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "message": _("Something went wrong on our side."), "details": {}}, status=500
        )
    return html_server_error(request)
