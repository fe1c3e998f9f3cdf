"""Property-based API testing: schemathesis generates requests for every operation in
/api/v1/openapi.json and sends them to the Django WSGI application in-process (no
server). No request may produce a server error, and every response must match the
status codes and bodies the document promises.

Bounded and deterministic so it fits the normal run: a fixed number of examples per
operation, derandomized (the same inputs on every run)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from config.api import api
from tests.factories import UserFactory
from tests.listings import make_listing
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_the_test_connection")]

MAX_EXAMPLES = 10


def load_schema(mode: GenerationMode) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    loaded.config.generation.update(modes=[mode])
    return loaded


@pytest.fixture
def keep_the_test_connection():
    """The WSGI handler closes old database connections when a request starts and ends;
    Django's test client switches that off, and so must we: on PostgreSQL it would close
    the connection holding the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Valid requests: must get a documented status and body. Invalid requests (wrong types,
# missing fields, paths no route matches): must never get a server error.
schema = load_schema(GenerationMode.POSITIVE)
negative = load_schema(GenerationMode.NEGATIVE)


@pytest.fixture
def session_token(client, settings):
    """A signed-in seller with a draft and a published listing, facing another seller's
    listing; requests carry their headless session token (no CSRF cookie dance)."""
    # Generated bodies hit rate-limited endpoints many times; the limits have their own tests.
    settings.ACCOUNT_RATE_LIMITS = False
    user = UserFactory()
    make_listing(seller=user)
    published_listing(seller=user, title="自己的书")
    published_listing(seller=UserFactory(), title="别人的书")
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_and_matches_its_schema(case, session_token):
    case.call_and_validate(
        headers={"X-Session-Token": session_token},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@negative.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_refuses_invalid_requests_without_server_errors(case, session_token):
    case.call_and_validate(
        headers={"X-Session-Token": session_token}, checks=[not_a_server_error, response_schema_conformance]
    )


@schema.include(method="GET").parametrize()
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_anonymous_callers_without_server_errors(case, db):
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, response_schema_conformance])
