"""The logged-in user is kept in the cache (marketplace/auth_backends.py): a member's
request reads no user from the database, and any save of the user counts at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _user_cache_on(settings):
    settings.AUTH_USER_CACHE_SECONDS = 300
    cache.clear()


def user_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "marketplace_user"' in q["sql"]]


def member(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_members_next_request_reads_no_user_from_the_database():
    user = UserFactory()
    client = member(user)
    assert client.get("/accounts/profile/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/profile/").status_code == 200
    assert not user_reads(queries)


def test_a_deactivated_account_is_logged_out_on_its_next_request(django_capture_on_commit_callbacks):
    user = UserFactory()
    client = member(user)
    assert client.get("/accounts/profile/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert client.get("/accounts/profile/").status_code == 302  # to the log-in page


def test_a_new_password_logs_out_other_sessions(django_capture_on_commit_callbacks):
    user = UserFactory()
    client = member(user)
    assert client.get("/accounts/profile/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user.set_password("a whole new passphrase 2026")
        user.save()
    assert client.get("/accounts/profile/").status_code == 302


def test_a_new_staff_flag_counts_at_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    client = member(user)
    assert 'href="/cms-admin/"' not in client.get("/browse/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        user.is_staff = True
        user.save()
    assert 'href="/cms-admin/"' in client.get("/browse/").content.decode()


def test_without_a_shared_cache_every_request_reads_the_user(settings):
    settings.AUTH_USER_CACHE_SECONDS = 0
    client = member(UserFactory())
    client.get("/accounts/profile/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/accounts/profile/")
    assert user_reads(queries)
