"""The JSON API under /api/v1/: one NinjaAPI, the apps' routers, and the single place
where errors become `{"code", "message", "details"}` responses."""

from __future__ import annotations

import logging
from typing import Any

from allauth.headless.contrib.ninja.security import x_session_token_auth
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.parser import Parser

from config.cache import cache_problem
from config.errors import service_unavailable
from grading.api import router as grading_router
from marketplace.api import router as marketplace_router
from marketplace.api.security import WriteThrottle, session_auth
from marketplace.credit.api import router as credit_router
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
RATE_LIMITED_RESPONSE = {
    "description": "Too Many Requests: writes past API_WRITE_RATE",
    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    **ERROR_RESPONSE,
}


JSON_TYPES = ("application/json",)


class UnsupportedMediaType(Exception):
    """A JSON body sent as something else (form data, text/plain): 415."""


class JSONParser(Parser):
    """Bodies are JSON. A body labelled as another media type is refused rather than
    guessed at; one with no Content-Type at all is read as JSON."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.content_type or ""
        if content_type and content_type not in JSON_TYPES and not content_type.endswith("+json"):
            raise UnsupportedMediaType(content_type)
        return super().parse_body(request)


class XunhuanOpenAPISchema(OpenAPISchema):
    def operation_security(self, operation: Operation) -> Any:
        """An operation that also lets visitors in without credentials (a public read)
        says so: an empty requirement among the alternatives."""
        security = super().operation_security(operation)
        if security and any(getattr(auth, "openapi_anonymous", False) for auth in operation.auth_callbacks):
            security.append({})
        return security


class XunhuanAPI(NinjaAPI):
    """Documents the errors every operation can answer, whatever its own `response=`
    says: 422 for parameters or a body that do not validate, 400 for a body that cannot
    be parsed at all, 413 and 415 for a body too large or not JSON, 429 for writes past
    the rate limit. Clients and generated clients then know every status they may get."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = XunhuanOpenAPISchema(self, path_prefix)
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
                    responses.setdefault(413, {"description": "Content Too Large", **ERROR_RESPONSE})
                    responses.setdefault(415, {"description": "Unsupported Media Type", **ERROR_RESPONSE})
        for method in ("post", "put", "patch", "delete"):
            for operations in schema["paths"].values():
                if method in operations and operations[method].get("security"):
                    operations[method]["responses"].setdefault(429, RATE_LIMITED_RESPONSE)
        return schema


api = XunhuanAPI(
    title="Xunhuan API",
    version="1",
    description="The JSON API of the Xunhuan second-hand marketplace.",
    urls_namespace="api-v1",
    auth=[x_session_token_auth, session_auth],
    parser=JSONParser(),
    throttle=[WriteThrottle()],
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


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 413, ErrorCode.PAYLOAD_TOO_LARGE, _("The request body is too large."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # A body that could not be read comes wrapped in a 400; say what was wrong with it.
    if isinstance(exc.__cause__, RequestDataTooBig):
        return on_too_big(request, exc.__cause__)
    if isinstance(exc.__cause__, UnsupportedMediaType):
        return error_response(
            request,
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            _("Send the request body as JSON (Content-Type: application/json)."),
        )
    if exc.status_code == 429:
        return error_response(request, 429, ErrorCode.RATE_LIMITED, _("Too many requests. Try again later."))
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
    search_problem: str = Field(
        "", description="Why search is degraded, e.g. 'index missing', 'unreachable', 'timeout'; empty when it is not."
    )
    cache_problem: str = Field(
        "", description="'unreachable' when the Redis cache failed in the last minute (pages work without it)."
    )


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
    # A search engine that cannot answer degrades the service (searches fall back to the
    # database) but does not take it out of rotation.
    search = search_health()
    if not search.ok:
        status = "degraded"
    # A lost cache is survivable too (config/cache.py), but an operator must see it.
    cache.get("health-probe")
    if cache_problem():
        status = "degraded"
    return Status(
        code,
        {
            "status": status,
            "database": connection.vendor,
            "broker": broker_label(),
            "search": search.backend,
            "search_problem": "" if search.ok else search.detail,
            "cache_problem": cache_problem(),
        },
    )


api.add_router("/", marketplace_router)
api.add_router("/", credit_router)
api.add_router("/", grading_router)
api.add_router("/", erasure_router)
api.add_router("/", search_router)
