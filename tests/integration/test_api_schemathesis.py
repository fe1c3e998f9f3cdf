"""Property-based API testing: schemathesis generates requests for every operation of our
OpenAPI document (/api/v1/openapi.json) and of allauth's headless specification as we serve
it (/_allauth/openapi.json), and sends them to the Django WSGI application in-process (no
server), with DEBUG off as in production. No request may produce a server error, and every
response must match the bodies the documents promise (valid requests: the status codes too).

Bounded and deterministic so it fits the normal run: a fixed number of examples per
operation, derandomized (the same inputs on every run)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import RequestFactory
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from config.api import api
from config.urls import headless_openapi_json
from tests.factories import PASSWORD, UserFactory
from tests.listings import make_listing
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("production_like", "keep_the_test_connection")]

MAX_EXAMPLES = 5


def bounded(max_examples: int):
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def load(document: dict, mode: GenerationMode) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    loaded.config.generation.update(modes=[mode])
    return loaded


def headless_document() -> dict:
    """allauth's specification as we serve it, with each `{client}` path written out for
    both clients (a made-up client is just an unknown path, answered 404 like any other)."""
    document = json.loads(headless_openapi_json(RequestFactory().get("/_allauth/openapi.json")).content)
    client_parameter = {"$ref": "#/components/parameters/Client"}
    paths = {}
    for path, item in document["paths"].items():
        for client in ("app", "browser") if "{client}" in path else ("",):
            concrete = json.loads(json.dumps(item))
            for section in [concrete, *(op for op in concrete.values() if isinstance(op, dict))]:
                if isinstance(section.get("parameters"), list):
                    section["parameters"] = [p for p in section["parameters"] if p != client_parameter]
            paths[path.replace("{client}", client)] = concrete
    document["paths"] = paths
    return document


@pytest.fixture
def production_like(settings):
    settings.DEBUG = False
    # Generated requests hit rate-limited endpoints many times; the limits have their own
    # tests (test_api_error_shape).
    settings.ACCOUNT_RATE_LIMITS = False
    settings.API_WRITE_RATE = ""


def detach_connection_closing() -> None:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


@pytest.fixture
def keep_the_test_connection():
    """The WSGI handler closes old database connections when a request starts and ends;
    Django's test client switches that off, and so must we: on PostgreSQL it would close
    the connection holding the test's transaction."""
    detach_connection_closing()
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def session_token(client):
    """A signed-in demo seller with a draft and a published listing, facing another
    seller's listing; requests carry their headless session token (no CSRF cookie dance)."""
    user = UserFactory()
    make_listing(seller=user)
    published_listing(seller=user, title="自己的书")
    published_listing(seller=UserFactory(), title="别人的书")
    response = client.post(
        "/_allauth/app/v1/auth/login",
        json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    detach_connection_closing()  # the test client put the handlers back after its request
    return response.json()["meta"]["session_token"]


# --- Our API -----------------------------------------------------------------------------------
# Valid requests: a documented status and body. Invalid requests (wrong types, missing fields,
# paths no route matches): never a server error, and error bodies in the documented shape.
ours = load(api.get_openapi_schema(), GenerationMode.POSITIVE)
ours_negative = load(api.get_openapi_schema(), GenerationMode.NEGATIVE)


@ours.parametrize()
@bounded(MAX_EXAMPLES)
def test_api_never_fails_and_matches_its_schema(case, session_token):
    case.call_and_validate(
        headers={"X-Session-Token": session_token},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@ours_negative.parametrize()
@bounded(3)
def test_api_refuses_invalid_requests_without_server_errors(case, session_token):
    case.call_and_validate(
        headers={"X-Session-Token": session_token}, checks=[not_a_server_error, response_schema_conformance]
    )


@ours.include(method="GET").parametrize()
@bounded(2)
def test_api_answers_anonymous_callers_as_documented(case):
    """Anonymous callers: 401 exactly where the document asks for credentials (`ignored_auth`)."""
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance, ignored_auth]
    )


# --- allauth's headless API --------------------------------------------------------------------
headless = load(headless_document(), GenerationMode.POSITIVE)
headless_negative = load(headless_document(), GenerationMode.NEGATIVE)


@headless.parametrize()
@bounded(3)
def test_headless_api_never_fails_and_matches_its_specification(case, session_token):
    case.call_and_validate(
        headers={"X-Session-Token": session_token}, checks=[not_a_server_error, response_schema_conformance]
    )


@headless_negative.parametrize()
@bounded(2)
def test_headless_api_refuses_invalid_requests_without_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
