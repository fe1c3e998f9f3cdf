"""The page cache (marketplace/page_cache.py): anonymous visitors get public pages from the
cache (``X-Cache: hit``, no SQL), every change made through the services shows on the next
visit, and listing and verification pages answer conditional GETs with 304."""

from __future__ import annotations

import html
import socket
import uuid

import pytest
import redis
from django.test import Client, override_settings
from django.utils import translation

from cms.models import FleaMarketPage, HomePage
from grading.badges import grade_label
from grading.services import self_assessment_submit
from marketplace.credit.selectors import tier_label
from marketplace.credit.services import credit_event_record
from marketplace.models import ListingStatus
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import listing_publish, listing_reopen, listing_update, listing_withdraw
from tests.cms import home, make_market, organiser_org
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration import test_erasure
from tests.integration.test_erasure import fresh_log, import_and_sign, laptop_listing, make_technician
from tests.listings import add_photos, make_listing
from tests.orders import published_listing
from tests.unit.test_grading_rules import BOOK
from wipe_cert.services import certificate_revoke

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 600


def reprice(seller, listing, price: int) -> None:
    """A seller changes the price of a listing on sale: withdraw, reopen, edit, publish."""
    listing_withdraw(actor=seller, listing_id=listing.pk)
    listing_reopen(actor=seller, listing_id=listing.pk)
    listing_update(actor=seller, listing_id=listing.pk, data={"price": price})
    with override_settings(MARKETPLACE_PUBLICATION_GATES=CORE_GATES):
        listing_publish(actor=seller, listing_id=listing.pk)


def english(function, *args):
    with translation.override("en"):
        return function(*args)


def visitor(language: str = "en") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language)


def text(response) -> str:
    return html.unescape(response.content.decode())


def hit(client: Client, url: str, django_assert_num_queries):
    """A second visit, answered from the cache without touching the database."""
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200
    assert response["X-Cache"] == "hit"
    return response


def test_a_listing_page_is_cached_for_visitors_and_shows_a_new_price(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller = UserFactory()
    listing = published_listing(seller=seller, title="红楼梦 全四册", price=4500)
    url = f"/listings/{listing.pk}/"
    client = visitor()
    first = client.get(url)
    assert first["X-Cache"] == "miss"
    assert "¥45" in text(first)
    assert "¥45" in text(hit(client, url, django_assert_num_queries))
    assert "¥45" in text(hit(visitor(), url, django_assert_num_queries))  # another visitor too

    with django_capture_on_commit_callbacks(execute=True):
        reprice(seller, listing, 3900)

    after = client.get(url)
    assert after["X-Cache"] == "miss"
    assert "¥39" in text(after) and "¥45" not in text(after)


def test_a_withdrawn_listing_is_gone_and_a_sold_one_says_so(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller = UserFactory()
    withdrawn = published_listing(seller=seller, title="旧沙发")
    sold = published_listing(seller=seller, title="旧书桌")
    client = visitor()
    for listing in (withdrawn, sold):
        client.get(f"/listings/{listing.pk}/")
        hit(client, f"/listings/{listing.pk}/", django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        listing_withdraw(actor=seller, listing_id=withdrawn.pk)
        listing_transition(listing=sold, to_status=ListingStatus.RESERVED, actor=None)
    assert client.get(f"/listings/{withdrawn.pk}/").status_code == 404
    assert "Reserved" in text(client.get(f"/listings/{sold.pk}/"))

    with django_capture_on_commit_callbacks(execute=True):
        listing_transition(listing=sold, to_status=ListingStatus.SOLD, actor=None)
    assert "Sold" in text(client.get(f"/listings/{sold.pk}/"))


def test_browse_and_home_are_cached_and_show_new_listings_and_prices(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller = UserFactory()
    old = published_listing(seller=seller, title="旧台灯", price=2000)
    client = visitor()
    for url in ("/browse/", "/"):
        assert "旧台灯" in text(client.get(url))
        hit(client, url, django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        reprice(seller, old, 1500)
        published_listing(seller=seller, title="新书架")
    for url in ("/browse/", "/"):
        page = text(client.get(url))
        assert "新书架" in page, url
    assert "¥15" in text(client.get("/browse/"))


def test_a_new_grade_shows_on_the_listing_page(settings, django_assert_num_queries, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]
    seller = UserFactory()
    listing = make_listing(seller=seller)  # a book: sellers grade books themselves
    add_photos(listing)
    first = self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    listing_publish(actor=seller, listing_id=listing.pk)
    url = f"/listings/{listing.pk}/"
    client = visitor()
    client.get(url)
    assert f"Grade {english(grade_label, first)}" in text(hit(client, url, django_assert_num_queries))

    with django_capture_on_commit_callbacks(execute=True):
        second = self_assessment_submit(actor=seller, listing_id=listing.pk, answers={**BOOK, "condition": "good"})

    after = text(client.get(url))
    assert english(grade_label, first) != english(grade_label, second)
    assert f"Grade {english(grade_label, second)}" in after
    assert f"Grade {english(grade_label, first)}" not in after


def test_a_revoked_certificate_shows_on_the_verify_and_listing_pages(
    provider, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]
    technician = make_technician(provider)
    listing = laptop_listing()
    with django_capture_on_commit_callbacks(execute=True):
        certificate = import_and_sign(provider, technician, listing, data=fresh_log())
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    verify_url, listing_url = f"/verify/{certificate.pk}/", f"/listings/{listing.pk}/"
    client = visitor()
    assert 'data-status="valid"' in text(client.get(verify_url))
    assert 'data-status="valid"' in text(hit(client, verify_url, django_assert_num_queries))
    assert client.get(listing_url).status_code == 200
    hit(client, listing_url, django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(actor=technician, certificate_id=certificate.pk, reason="Wrong drive was wiped")

    revoked = client.get(verify_url)
    assert revoked["X-Cache"] == "miss"
    assert 'data-status="revoked"' in text(revoked)
    assert client.get(listing_url).status_code == 404  # off sale until erased again


def test_a_sellers_new_credit_tier_shows_on_their_listing(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller = UserFactory(display_name="卖家老李")
    listing = published_listing(seller=seller)
    url = f"/listings/{listing.pk}/"
    client = visitor()
    client.get(url)
    hit(client, url, django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            credit_event_record(
                subject_id=seller.pk, role="seller", kind="moderator_sanction", negative=1.0, weight=5.0, reason=str(i)
            )

    after = client.get(url)
    assert after["X-Cache"] == "miss"
    assert english(tier_label, "restricted") in text(after)


def test_a_published_cms_page_shows_at_once(django_assert_num_queries, django_capture_on_commit_callbacks):
    page = home()
    client = visitor()
    client.get("/")
    hit(client, "/", django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        draft = HomePage.objects.get(pk=page.pk)
        draft.intro = "本周六河畔跳蚤市场"
        draft.save_revision().publish()

    after = client.get("/")
    assert after["X-Cache"] == "miss"
    assert "本周六河畔跳蚤市场" in text(after)


def test_a_flea_market_page_is_cached_and_a_new_market_shows_on_the_home_page(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    org, _organiser = organiser_org()
    market = make_market(org)
    client = visitor()
    client.get(market.url)
    assert "Every second Saturday by the river." in text(hit(client, market.url, django_assert_num_queries))
    client.get("/")
    hit(client, "/", django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        draft = FleaMarketPage.objects.get(pk=market.pk)
        draft.intro = "Now every Saturday."
        draft.save_revision().publish()
        make_market(org, slug="harbour-market", title="Harbour flea market")

    assert "Now every Saturday." in text(client.get(market.url))
    assert "Harbour flea market" in text(client.get("/"))


def test_languages_are_cached_apart_and_chosen_without_a_csrf_token(django_assert_num_queries):
    listing = published_listing(seller=UserFactory())
    url = f"/listings/{listing.pk}/"
    visitor("en").get(url)
    visitor("zh-hans").get(url)
    english = hit(visitor("en"), url, django_assert_num_queries)
    chinese = hit(visitor("zh-hans"), url, django_assert_num_queries)
    assert '<html lang="en">' in text(english) and '<html lang="zh-hans">' in text(chinese)

    # A reader's page has no form needing a token, so a hit sets no cookie: the language
    # switcher is a GET form, answered by setting the language cookie.
    assert "csrfmiddlewaretoken" not in text(english) and not english.cookies
    assert 'action="/language/" method="get"' in text(english)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    switched = client.get("/language/", {"language": "zh-hans", "next": url})
    assert switched.status_code == 302 and switched["Location"] == url
    assert switched.cookies["django_language"].value == "zh-hans"
    assert '<html lang="zh-hans">' in text(client.get(url))
    # Only our own pages as the next stop, and only languages we ship.
    assert client.get("/language/", {"language": "en", "next": "https://evil.example/"})["Location"] == "/"
    assert "django_language" not in client.get("/language/", {"language": "xx", "next": url}).cookies


def test_listing_pages_answer_conditional_gets(django_capture_on_commit_callbacks):
    seller = UserFactory()
    listing = published_listing(seller=seller, price=4500)
    url = f"/listings/{listing.pk}/"
    client = visitor()
    first = client.get(url)
    etag = first["ETag"]
    assert "Cookie" in first["Vary"] and "Accept-Language" in first["Vary"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304  # from the cache
    assert client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    # Another visitor with a CSRF cookie (they once opened a form) gets a tag of their own.
    other = visitor()
    other.cookies["csrftoken"] = "a" * 32
    assert other.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200

    # Members' pages are rendered and hashed. (A buyer's page has a fresh idempotency key in
    # its buy form each time, so it never matches; the seller's page has none.)
    member = Client(HTTP_ACCEPT_LANGUAGE="en")
    member.force_login(seller)
    mine = member.get(url)
    assert member.get(url, HTTP_IF_NONE_MATCH=mine["ETag"]).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        reprice(seller, listing, 3900)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert member.get(url, HTTP_IF_NONE_MATCH=mine["ETag"]).status_code == 200


def test_the_verify_page_answers_conditional_gets(provider, django_capture_on_commit_callbacks):
    technician = make_technician(provider)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = import_and_sign(provider, technician, None, data=fresh_log())
    url = f"/verify/{certificate.pk}/"
    client = visitor()
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(actor=technician, certificate_id=certificate.pk, reason="Disk swapped after erasure")
    after = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and 'data-status="revoked"' in text(after)


def test_nothing_is_stored_when_the_page_cache_is_off(settings):
    settings.PAGE_CACHE_SECONDS = 0
    listing = published_listing(seller=UserFactory())
    client = visitor()
    client.get(f"/listings/{listing.pk}/")
    second = client.get(f"/listings/{listing.pk}/")
    assert "X-Cache" not in second
    assert second["ETag"]


REDIS_URL = "redis://127.0.0.1:6379/3"


@pytest.fixture
def real_redis(settings):
    """The production cache backend on a real Redis (database 3), under a key prefix of its own."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-page-cache-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    }
    yield
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_with_redis_the_cache_is_shared_and_invalidated(
    real_redis, django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller = UserFactory()
    listing = published_listing(seller=seller, price=4500)
    url = f"/listings/{listing.pk}/"
    visitor().get(url)
    assert "¥45" in text(hit(visitor(), url, django_assert_num_queries))
    with django_capture_on_commit_callbacks(execute=True):
        reprice(seller, listing, 3900)
    assert "¥39" in text(visitor().get(url))


def test_with_redis_unreachable_pages_are_rendered_and_fresh(settings, django_capture_on_commit_callbacks):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    seller = UserFactory()
    listing = published_listing(seller=seller, price=4500)
    url = f"/listings/{listing.pk}/"
    first = visitor().get(url)
    assert first.status_code == 200 and "¥45" in text(first)
    with django_capture_on_commit_callbacks(execute=True):
        reprice(seller, listing, 3900)
    again = visitor().get(url)
    assert again.status_code == 200 and again.get("X-Cache") != "hit"
    assert "¥39" in text(again)
