"""One error shape for every answer of the JSON API, `{"code", "message", "details"}`, and
allauth's `{"status", "errors"}` under /_allauth/: with or without a trailing slash, under
DEBUG as in production, never an HTML page or a redirect."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import PASSWORD, UserFactory
from tests.listings import make_listing
from tests.orders import published_listing

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def api():
    """A client that enforces CSRF like a browser does, and reports server errors as responses."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.fixture
def signed_in(api):
    user = UserFactory()
    api.force_login(user)
    api.user = user
    return api


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code
    assert body["message"]
    return body


def assert_headless_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert body["errors"][0]["code"] == code


def session_token(api: Client, user) -> str:
    response = api.post(
        "/_allauth/app/v1/auth/login",
        json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


# --- 404: paths no endpoint matches, never a redirect (APPEND_SLASH) ------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/listings/-1/publish"),
        ("post", "/api/v1/listings/-1/publish/"),
        ("patch", "/api/v1/listings/abc"),
        ("patch", "/api/v1/listings/abc/"),
        ("put", "/api/v1/no-such-thing"),
        ("get", "/api/v1/no-such-thing/"),
        ("delete", "/api/v2/listings/1"),
    ],
)
def test_paths_nothing_matches_are_json_404(debug, signed_in, method, path):
    if method == "get":
        response = signed_in.get(path)
    else:
        response = getattr(signed_in, method)(path, "{}", content_type="application/json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_trailing_slash_reaches_the_same_endpoint(debug, signed_in, slash):
    assert signed_in.get(f"/api/v1/me{slash}").json()["id"] == signed_in.user.pk
    assert_error(Client().get(f"/api/v1/me{slash}"), 401, "unauthenticated")


def test_not_yours_and_missing_are_the_same_404(debug, signed_in):
    draft = make_listing(seller=UserFactory())
    for path in ("/api/v1/listings/{}", "/api/v1/listings/{}/messages"):
        theirs = assert_error(signed_in.get(path.format(draft.pk)), 404, "not_found")
        missing = assert_error(signed_in.get(path.format(draft.pk + 10_000)), 404, "not_found")
        assert theirs == missing


# --- 401 and CSRF ---------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_unauthenticated_writes_get_401_not_a_csrf_error(debug, api, slash):
    response = api.post(f"/api/v1/listings{slash}", "{}", content_type="application/json")
    assert_error(response, 401, "unauthenticated")


def test_token_clients_never_see_csrf_errors(debug, api):
    user = UserFactory()
    token = session_token(Client(), user)
    response = api.post("/api/v1/listings", "{}", content_type="application/json", headers={"X-Session-Token": token})
    assert_error(response, 422, "validation_error")
    api.force_login(user)  # a session cookie too: the token still decides, CSRF is not asked for
    forged = api.post("/api/v1/listings", "{}", content_type="application/json", headers={"X-Session-Token": "no"})
    assert_error(forged, 401, "unauthenticated")


def test_cookie_clients_without_a_csrf_token_get_csrf_failed(debug, signed_in):
    response = signed_in.post("/api/v1/listings", "{}", content_type="application/json")
    assert_error(response, 403, "csrf_failed")
    signed_in.get("/_allauth/browser/v1/config")  # sets the CSRF cookie
    token = signed_in.cookies["csrftoken"].value
    response = signed_in.post("/api/v1/listings", "{}", content_type="application/json", headers={"X-CSRFToken": token})
    assert_error(response, 422, "validation_error")


def test_headless_browser_endpoints_answer_csrf_failures_in_json(debug, api):
    response = api.post("/_allauth/browser/v1/auth/login", "{}", content_type="application/json")
    assert_headless_error(response, 403, "csrf_failed")


# --- 403, 405, 413, 415, 422 ------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_forbidden(debug, signed_in, slash):
    body = assert_error(signed_in.get(f"/api/v1/appraisals/queue{slash}"), 403, "permission_denied")
    assert body["details"] == {}


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize("method", ["put", "delete", "trace"])
def test_method_not_allowed(debug, signed_in, method, slash):
    response = getattr(signed_in, method)(f"/api/v1/me{slash}")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("slash", ["", "/"])
def test_body_too_large(debug, settings, api, slash):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    token = session_token(Client(), UserFactory())
    body = json.dumps({"title": "x" * 2000})
    response = api.post(
        f"/api/v1/listings{slash}", body, content_type="application/json", headers={"X-Session-Token": token}
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_body_not_json(debug, api, content_type):
    token = session_token(Client(), UserFactory())
    response = api.post("/api/v1/listings", "{}", content_type=content_type, headers={"X-Session-Token": token})
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("slash", ["", "/"])
def test_invalid_body(debug, api, slash):
    token = session_token(Client(), UserFactory())
    response = api.post(
        f"/api/v1/listings{slash}",
        '{"price": "cheap"}',
        content_type="application/json",
        headers={"X-Session-Token": token},
    )
    body = assert_error(response, 422, "validation_error")
    assert body["details"]["errors"]


# --- 429 -----------------------------------------------------------------------------------------


def test_writes_past_the_rate_get_429_with_retry_after(debug, settings, api):
    cache.clear()
    settings.API_WRITE_RATE = "2/m"
    token = session_token(Client(), UserFactory())
    headers = {"X-Session-Token": token}
    for _ in range(2):
        api.post("/api/v1/listings", "{}", content_type="application/json", headers=headers)
    response = api.post("/api/v1/listings", "{}", content_type="application/json", headers=headers)
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 60
    assert api.get("/api/v1/listings", headers=headers).status_code == 200  # reads are not limited


def test_failed_logins_past_the_limit_get_429_with_retry_after(debug, api):
    cache.clear()
    user = UserFactory()
    attempt = json.dumps({"email": user.email, "password": "wrong password"})
    statuses = [
        api.post("/_allauth/app/v1/auth/login", attempt, content_type="application/json").status_code for _ in range(6)
    ]
    assert statuses[:5] == [400] * 5
    response = api.post("/_allauth/app/v1/auth/login", attempt, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["status"] == 429
    assert 0 < int(response["Retry-After"]) <= 5 * 60
    cache.clear()


def test_headless_429s_always_say_when_to_come_back(debug, settings, api):
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}
    attempt = json.dumps({"email": "nobody@example.com", "password": "wrong password"})
    api.post("/_allauth/app/v1/auth/login", attempt, content_type="application/json")
    response = api.post("/_allauth/app/v1/auth/login", attempt, content_type="application/json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    cache.clear()


# --- allauth endpoints we do not use ------------------------------------------------------------


@pytest.mark.parametrize("client_kind", ["app", "browser"])
@pytest.mark.parametrize(
    "path",
    ["account/phone", "auth/phone/verify", "auth/phone/verify/resend", "auth/code/confirm", "tokens/refresh"],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "trace"])
def test_unused_allauth_endpoints_are_404(debug, api, client_kind, path, method):
    response = getattr(api, method)(f"/_allauth/{client_kind}/v1/{path}")
    assert_headless_error(response, 404, "not_found")
    assert_headless_error(getattr(api, method)(f"/_allauth/{client_kind}/v1/{path}/"), 404, "not_found")


def test_the_served_allauth_specification_leaves_them_out(api):
    paths = api.get("/_allauth/openapi.json").json()["paths"]
    assert not [path for path in paths if "phone" in path or "code/confirm" in path or "tokens/refresh" in path]
    assert "/_allauth/{client}/v1/auth/login" in paths


# --- the OpenAPI document states each operation's real security ----------------------------------


def test_operations_documented_as_authenticated_refuse_anonymous_callers(debug, api):
    """Every GET without path parameters: anonymous access works exactly when the document
    lists an empty security requirement (or none at all)."""
    spec = api.get("/api/v1/openapi.json").json()
    listing = published_listing(seller=UserFactory())
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None or path.endswith("/credit-report"):
            continue
        security = operation.get("security")
        concrete = path.replace("{listing_id}", str(listing.pk))
        if "{" in concrete:
            continue
        response = api.get(concrete, {"q": "书"})
        if security and {} not in security:
            assert response.status_code == 401, (path, response.status_code)
        else:
            assert response.status_code != 401, (path, response.status_code)
