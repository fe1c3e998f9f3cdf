"""Pages run a fixed number of SQL queries, whatever the amount of data: each page is
loaded once with 3 listings (and orders), then again with 30, and must issue exactly the
same number of queries. bench/pages.py measures the same pages' speed.

Already covered elsewhere (not repeated here): the browse page (test_listing_pages,
2 → 30 listings), the listing page's photo count (test_listing_pages), the search page
(test_search_pages, 4 → 9 results), the profile's memberships (test_accounts)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from marketplace.models import Listing, ListingPhoto, ListingStatus, Order, User
from marketplace.services.lifecycle import listing_transition
from marketplace.services.orders import order_place
from tests.factories import UserFactory
from tests.listings import make_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit", "core_gates")]

FEW, MANY = 3, 30


def published(seller: User, n: int) -> Listing:
    """A published book with two photo rows (no image work), straight through the lifecycle."""
    listing = make_listing(seller=seller, title=f"二手书 {n} 号", price=1000 + n)
    for position in range(2):
        ListingPhoto.objects.create(
            listing=listing,
            original=f"listing-originals/{listing.pk}-{position}.jpg",
            sha256=f"{listing.pk:032d}{position:032d}",
            width=640,
            height=480,
            position=position,
            is_cover=position == 0,
            renditions={str(w): f"listings/{listing.pk}/{position}-{w}.webp" for w in (320, 960, 1920)},
        )
    listing_transition(listing=listing, to_status=ListingStatus.READY, actor=seller)
    listing_transition(listing=listing, to_status=ListingStatus.PUBLISHED, actor=seller)
    return listing


def buy(buyer: User, listing: Listing) -> Order:
    return order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")


def count(client: Client, url: str, expected_text: str = "") -> int:
    client.get(url, HTTP_ACCEPT_LANGUAGE="en")  # fills the per-process caches (Wagtail's site root paths)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, url
    if expected_text:
        assert expected_text in response.content.decode()
    return len(captured.captured_queries)


@pytest.fixture
def seller() -> User:
    return UserFactory(display_name="书店老王")


@pytest.fixture
def buyer() -> User:
    return UserFactory(display_name="买家小李")


def grow(seller: User, buyer: User, start: int, stop: int) -> list[Listing]:
    """More listings by the seller, every third one bought by the buyer."""
    listings = [published(seller, n) for n in range(start, stop)]
    for listing in listings[::3]:
        buy(buyer, listing)
    return listings


def test_home_page(client, seller, buyer, django_assert_num_queries):
    grow(seller, buyer, 0, FEW)
    few = count(client, "/", "二手书 0 号")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "二手书 29 号" in page  # the newest are featured


def test_home_page_logged_in(client, seller, buyer, django_assert_num_queries):
    client.force_login(buyer)
    grow(seller, buyer, 0, FEW)
    few = count(client, "/")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        client.get("/", HTTP_ACCEPT_LANGUAGE="en")


def test_listing_page_for_a_buyer(client, seller, buyer, django_assert_num_queries):
    client.force_login(buyer)
    listing = published(seller, 999)
    grow(seller, buyer, 0, FEW)
    few = count(client, f"/listings/{listing.pk}/", "二手书 999 号")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        client.get(f"/listings/{listing.pk}/", HTTP_ACCEPT_LANGUAGE="en")


def test_listing_page_for_its_seller(client, seller, buyer, django_assert_num_queries):
    client.force_login(seller)
    listing = published(seller, 999)
    grow(seller, buyer, 0, FEW)
    few = count(client, f"/listings/{listing.pk}/")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        client.get(f"/listings/{listing.pk}/", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_order_page(client, seller, buyer, party, django_assert_num_queries):
    order = buy(buyer, published(seller, 999))
    client.force_login(buyer if party == "buyer" else seller)
    grow(seller, buyer, 0, FEW)
    few = count(client, f"/orders/{order.pk}/", "二手书 999 号")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        client.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="en")


def test_my_orders_page(client, seller, buyer, django_assert_num_queries):
    client.force_login(buyer)
    grow(seller, buyer, 0, FEW)
    few = count(client, "/my/orders/")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        page = client.get("/my/orders/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "二手书 27 号" in page


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_profile_page(client, seller, buyer, who, django_assert_num_queries):
    client.force_login(buyer if who == "buyer" else seller)
    grow(seller, buyer, 0, FEW)
    few = count(client, "/accounts/profile/")
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="en")


def test_search_api(client, seller, buyer, django_assert_num_queries):
    grow(seller, buyer, 0, FEW)
    client.get("/api/v1/search", {"q": "二手书"})
    with CaptureQueriesContext(connection) as captured:
        first = client.get("/api/v1/search", {"q": "二手书"}).json()
    few = len(captured.captured_queries)
    grow(seller, buyer, FEW, MANY)
    with django_assert_num_queries(few):
        many = client.get("/api/v1/search", {"q": "二手书"}).json()
    assert len(many["results"]) > len(first["results"])
