"""The JSON API: health, OpenAPI, the error shape and headless (X-Session-Token) auth."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import connection

from marketplace.models import OrganisationKind, Role
from tests.factories import PASSWORD, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_health_reports_database_broker_and_search(client, settings):
    body = client.get("/api/v1/health").json()
    assert body == {
        "status": "ok",
        "database": connection.vendor,
        "broker": "eager",
        "search": "database",
        "search_problem": "",
        "cache_problem": "",
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    body = client.get("/api/v1/health").json()
    assert (body["broker"], body["search"]) == ("redis", "elasticsearch")


def test_openapi_document_and_interactive_docs_are_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Xunhuan API"
    assert "/api/v1/health" in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui-bundle.js" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_unauthenticated_request_gets_the_error_shape(client):
    assert_error_shape(client.get("/api/v1/me"), 401, "unauthenticated")


def test_unknown_api_path_gets_the_error_shape(client):
    assert_error_shape(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_session_authenticated_me(client):
    membership = MembershipFactory(
        role=Role.APPRAISER, organisation=OrganisationFactory(kind=OrganisationKind.APPRAISAL_INSTITUTION)
    )
    client.force_login(membership.user)
    body = client.get("/api/v1/me").json()
    assert body["email"] == membership.user.email
    assert body["mfa_enabled"] is False
    assert body["memberships"][0]["role"] == "appraiser"


def test_scripts_authenticate_with_a_headless_session_token(client):
    cache.clear()
    user = UserFactory()
    response = client.post(
        "/_allauth/app/v1/auth/login",
        data=json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["session_token"]
    body = client.get("/api/v1/me", headers={"X-Session-Token": token}).json()
    assert body["id"] == user.pk
    bad = client.get("/api/v1/me", headers={"X-Session-Token": "forged"})
    assert_error_shape(bad, 401, "unauthenticated")


def test_unverified_user_gets_no_session_token(client):
    cache.clear()
    user = UserFactory(verified=False)
    response = client.post(
        "/_allauth/app/v1/auth/login",
        data=json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert (
        "session_token" not in response.json().get("meta", {})
        or response.json()["meta"].get("is_authenticated") is False
    )
