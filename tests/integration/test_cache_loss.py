"""Losing the Redis cache takes nothing down: with Redis unreachable (a real closed port)
pages, login and the API keep answering and health names the problem; with the cache
wiped under a running site (a Redis restart without persistence) nobody is logged out and
no order or outbox entry is lost, because none of them live in the cache."""

from __future__ import annotations

import socket

import pytest
import redis
from django.core.cache import cache
from django.urls import reverse

from marketplace.models import Listing
from tests.factories import PASSWORD, TOTP_SECRET, UserFactory
from tests.integration.test_accounts import current_totp
from tests.orders import published_listing

pytestmark = pytest.mark.django_db

BACKEND = "config.cache.ResilientRedisCache"
REDIS_URL = "redis://127.0.0.1:6379/9"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_gone(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": BACKEND,
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.fixture
def real_redis(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {"default": {"BACKEND": BACKEND, "LOCATION": REDIS_URL}}
    yield redis.Redis.from_url(REDIS_URL)
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_with_redis_unreachable_pages_login_and_the_api_still_answer(client, redis_gone, english):
    listing = published_listing(seller=UserFactory(), price=5_000)
    assert client.get("/").status_code == 200
    assert client.get(reverse("listing_detail", args=(listing.pk,))).status_code == 200
    assert client.get("/api/v1/search", {"q": listing.title}).status_code == 200

    # Login counts failures in the cache (rate limits): it still logs the user in.
    user = UserFactory()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("listing_detail", args=(listing.pk,))).status_code == 200

    health = client.get("/api/v1/health").json()
    assert health["status"] == "degraded"
    assert health["cache_problem"] == "unreachable"


def test_an_unreachable_cache_answers_misses_and_refuses_nothing(redis_gone):
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    # allauth reads a refused add as "lock held" / "TOTP code used": the outage must not
    # refuse every login, so add answers as if it stored the key.
    assert cache.add("k", 1) is True
    cache.set("k", 1)
    cache.delete("k")
    with pytest.raises(ValueError):  # as Django reports a missing key
        cache.incr("k")


def test_health_is_ok_again_once_the_cache_answers(client, real_redis):
    health = client.get("/api/v1/health").json()
    assert health["cache_problem"] == ""


def test_a_wiped_cache_logs_nobody_out_and_loses_no_write(client, real_redis, english):
    seller = UserFactory()
    listing = published_listing(seller=seller, price=5_000)
    response = client.post(reverse("account_login"), {"login": seller.email, "password": PASSWORD})
    assert response.status_code == 302
    cache.set("fragment", "cached")
    assert real_redis.dbsize() > 0

    real_redis.flushdb()  # what a Redis restart without persistence leaves

    assert cache.get("fragment") is None
    page = client.get(reverse("my_listings"))
    assert page.status_code == 200 and listing.title in page.content.decode()
    response = client.post(reverse("listing_withdraw", args=(listing.pk,)))
    assert response.status_code == 302
    assert Listing.objects.get(pk=listing.pk).status == "withdrawn"


def test_with_redis_unreachable_staff_still_log_in_with_their_second_factor(client, redis_gone):
    staff = UserFactory(is_staff=True, is_superuser=True, with_totp=True)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(TOTP_SECRET)})
    assert response.status_code == 302
    assert client.get("/cms-admin/").status_code == 200
