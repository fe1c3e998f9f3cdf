"""The JSON API under /api/v1/: one NinjaAPI, the apps' routers, and the single place
where errors become `{"code", "message", "details"}` responses."""

from __future__ import annotations

import logging
from typing import Any

from allauth.headless.contrib.ninja.security import x_session_token_auth
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, DataError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from config.errors import service_unavailable
from grading.api import router as grading_router
from marketplace.api import router as marketplace_router
from marketplace.api.credit import router as credit_router
from marketplace.errors import DomainError, ErrorCode
from search.api import router as search_router
from search.services import search_health
from wipe_cert.api import router as erasure_router

logger = logging.getLogger(__name__)

# allauth's security scheme leaves out where the token goes ("in", "name"), which makes the
# OpenAPI document invalid for clients and generators; say it is the X-Session-Token header.
x_session_token_auth.openapi_security_schema.update({"in": "header", "name": "X-Session-Token"})

MAX_ID = 2**63 - 1
ERROR_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


class XunhuanAPI(NinjaAPI):
    """Documents the errors every operation can answer, whatever its own `response=`
    says: 422 for parameters or a body that do not validate, 400 for a body that cannot
    be parsed at all. Clients and generated clients then know every status they may get."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    # Ids in paths are matched by Django's int converter (digits only) and
                    # stored as 64-bit integers.
                    if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                        parameter["schema"].setdefault("minimum", 0)
                        parameter["schema"].setdefault("maximum", MAX_ID)
                responses = operation.setdefault("responses", {})
                if operation.get("security") and 401 not in responses:
                    responses[401] = {"description": "Unauthorized", **ERROR_RESPONSE}
                if operation.get("parameters") or operation.get("requestBody"):
                    responses.setdefault(422, {"description": "Unprocessable Content", **ERROR_RESPONSE})
                if operation.get("requestBody"):
                    responses.setdefault(400, {"description": "Bad Request", **ERROR_RESPONSE})
        return schema


api = XunhuanAPI(
    title="Xunhuan API",
    version="1",
    description="The JSON API of the Xunhuan second-hand marketplace.",
    urls_namespace="api-v1",
    auth=[x_session_token_auth, django_auth],
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "details": details or {}}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, exc.http_status, str(exc.code), exc.message, exc.details)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        request, 422, ErrorCode.VALIDATION_ERROR, _("The request is not valid."), {"errors": exc.errors}
    )


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, ErrorCode.UNAUTHENTICATED, _("Log in to use this endpoint."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, ErrorCode.NOT_FOUND, _("Not found."))


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(request, 403, ErrorCode.PERMISSION_DENIED, _("You may not do this."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        401: ErrorCode.UNAUTHENTICATED,
        403: ErrorCode.PERMISSION_DENIED,
        404: ErrorCode.NOT_FOUND,
        409: ErrorCode.CONFLICT,
        429: ErrorCode.RATE_LIMITED,
    }.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
    return error_response(request, exc.status_code, code, str(exc.message))


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A number the database cannot hold (an id past 64 bits): the request is wrong, not the server.
    logger.warning("API request with a value out of range: %s", exc)
    return error_response(request, 422, ErrorCode.VALIDATION_ERROR, _("A value in the request is out of range."))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The database is unreachable (down, or the connection dropped): an outage, not a bug.
    # The request's transaction was rolled back.
    logger.error("Database unavailable during an API request: %s", exc)
    return service_unavailable(request)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if settings.DEBUG:
        raise exc
    logger.exception("Unhandled API error", exc_info=exc)
    return error_response(request, 500, ErrorCode.SERVER_ERROR, _("Something went wrong on our side."))


class HealthOut(Schema):
    status: str
    database: str
    broker: str
    search: str


def broker_label() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return "eager"
    return str(settings.CELERY_BROKER_URL).split("://", 1)[0]


@api.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, tags=["health"])
def health(request: HttpRequest) -> Status[dict[str, str]]:
    status, code = "ok", 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        status, code = "degraded", 503
    # An unreachable search engine degrades the service (searches fall back to the
    # database) but does not take it out of rotation.
    search = search_health()
    if not search.ok:
        status = "degraded"
    return Status(
        code, {"status": status, "database": connection.vendor, "broker": broker_label(), "search": search.backend}
    )


api.add_router("/", marketplace_router)
api.add_router("/", credit_router)
api.add_router("/", grading_router)
api.add_router("/", erasure_router)
api.add_router("/", search_router)
