"""Phone layouts (issue 17): browse sorts by newest or price and keeps the order in the URL
through the pages; the search page folds its filters into a drawer that counts them and
picks a distance from a radius select with the point in hidden fields; the listing page
has a swipeable gallery and a buy bar that is the same for every visitor; the sell form
comes in sections."""

from __future__ import annotations

import re

import pytest

from marketplace.models import Listing
from tests.factories import UserFactory
from tests.integration.test_listing_pages import (  # noqa: F401 (fixtures)
    core_gates,
    english,
    make_listing,
    publish,
    seller,
)

pytestmark = pytest.mark.django_db
TITLES = re.compile(r'<span class="card-title">([^<]+)</span>')


def titles(client, url: str) -> list[str]:
    response = english(client).get(url)
    assert response.status_code == 200
    return TITLES.findall(response.content.decode())


@pytest.fixture
def priced(seller):  # noqa: F811
    """Three books: the cheapest is the oldest, the dearest in the middle."""
    for title, price in (("Cheap", 1000), ("Dear", 9000), ("Middle", 5000)):
        publish(make_listing(seller, title=title, price=price))


def test_browse_sorts_newest_first_by_default_and_by_price_both_ways(client, priced):
    assert titles(client, "/browse/") == ["Middle", "Dear", "Cheap"]
    assert titles(client, "/browse/?sort=newest") == ["Middle", "Dear", "Cheap"]
    assert titles(client, "/browse/?sort=price_asc") == ["Cheap", "Middle", "Dear"]
    assert titles(client, "/browse/?sort=price_desc") == ["Dear", "Middle", "Cheap"]
    # Sorting within a filter, and the sort select shows the chosen order.
    page = english(client).get("/browse/?category=books&sort=price_desc").content.decode()
    assert TITLES.findall(page) == ["Dear", "Middle", "Cheap"]
    assert re.search(r'<option value="price_desc" selected>Price: high to low</option>', page)
    # The sort form keeps the other filters.
    assert '<input type="hidden" name="category" value="books">' in page


def test_an_unknown_sort_is_ignored_with_a_message(client, priced):
    response = english(client).get("/browse/?sort=bogus")
    page = response.content.decode()
    assert TITLES.findall(page) == ["Middle", "Dear", "Cheap"]
    assert "Some filters were ignored" in page and "Sort by" in page


def test_the_sort_is_kept_through_the_pages(client, seller):  # noqa: F811
    for index in range(30):
        publish(make_listing(seller, title=f"Book {index:02d}", price=1000 + index))
    first = english(client).get("/browse/?sort=price_asc").content.decode()
    assert TITLES.findall(first)[:2] == ["Book 00", "Book 01"]
    assert 'href="?sort=price_asc&amp;page=2"' in first
    second = titles(client, "/browse/?sort=price_asc&page=2")
    assert second == [f"Book {index:02d}" for index in range(24, 30)]
    assert titles(client, "/browse/?sort=price_desc&page=2") == [f"Book {index:02d}" for index in range(5, -1, -1)]


def test_browse_with_words_takes_the_price_order_to_search(client, priced):
    response = client.get("/browse/?q=book&sort=price_asc")
    assert response.status_code == 302 and "sort=price_asc" in response["Location"]


def test_browse_and_home_share_one_card_with_price_and_badges(client, priced):
    page = english(client).get("/browse/").content.decode()
    card = re.search(r'<li class="listing-card">(.*?)</li>', page, re.S).group(1)
    assert 'class="card-link"' in card and 'class="card-price"' in card and "¥50.00" in card
    assert "data-listing-id" not in page  # only search cards carry their id


# --- Search -------------------------------------------------------------------------------


def search(client, **params) -> str:
    response = client.get("/search/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_search_distance_is_a_radius_select_with_the_point_in_hidden_fields(client):
    page = search(client)
    form = re.search(r'<form method="get" action="/search/" class="search-distance card">(.*?)</form>', page, re.S)
    assert form is not None
    form_html = form.group(1)
    # No raw coordinate inputs; the point travels in hidden fields.
    assert 'type="number"' not in form_html
    assert re.search(r'<input type="hidden" name="lat" value=""', form_html)
    assert re.search(r'<input type="hidden" name="lon" value=""', form_html)
    select = re.search(r'<select id="search-within" name="within">(.*?)</select>', form_html, re.S).group(1)
    assert re.findall(r'<option value="(\d*)"', select)[:4] == ["", "1", "3", "5"]
    assert "Within 10 km" in select
    assert "Use my location" in form_html

    chosen = search(client, lat="31.200", lon="121.440", within="10")
    form_html = re.search(r'class="search-distance card">(.*?)</form>', chosen, re.S).group(1)
    assert '<input type="hidden" name="lat" value="31.200"' in form_html
    assert '<input type="hidden" name="lon" value="121.440"' in form_html
    assert '<option value="10" selected>' in form_html
    assert "Apply distance" in form_html


def test_search_filters_sit_in_a_drawer_that_counts_them(client):
    page = search(client, q="手机")
    assert re.search(r'<details class="search-facets filters-drawer" data-open-wide', page)
    assert "data-active-filters" not in page  # the words are not a filter
    page = search(client, q="手机", grade="A", lat="31.200", lon="121.440", within="10")
    count = re.search(r"data-active-filters>(\d+)<", page)
    assert count is not None and count.group(1) == "2"  # the grade and the distance


# --- Listing page and sell form ---------------------------------------------------------------


def test_listing_page_has_a_gallery_and_a_buy_bar_the_same_for_everyone(client, seller):  # noqa: F811
    listing = publish(make_listing(seller, title="Bar test"))
    anonymous = english(client).get(f"/listings/{listing.pk}/").content.decode()
    client.force_login(UserFactory())
    member = english(client).get(f"/listings/{listing.pk}/").content.decode()
    bars = [re.search(r'<nav class="buy-bar".*?</nav>', page, re.S) for page in (anonymous, member)]
    assert all(bars) and bars[0].group(0) == bars[1].group(0)
    bar = bars[0].group(0)
    assert 'href="#buy"' in bar and 'href="#offer"' in bar and 'href="#message"' in bar and "¥45.00" in bar
    assert 'id="buy"' in member  # the panel the bar points at


def test_the_bar_is_not_offered_for_a_listing_that_is_not_on_sale(client, seller):  # noqa: F811
    listing = publish(make_listing(seller, title="Sold soon"))
    Listing.objects.filter(pk=listing.pk).update(status="reserved")
    page = english(client).get(f"/listings/{listing.pk}/").content.decode()
    assert "Sold soon" in page and 'class="buy-bar"' not in page


def test_the_sell_form_comes_in_sections_with_every_field_once(client, seller):  # noqa: F811
    client.force_login(seller)
    page = english(client).get("/sell/electronics/").content.decode()
    legends = re.findall(r"<legend>(\d\. [^<]+)</legend>", page)
    assert legends[:3] == ["1. The listing", "2. Details: Electronics", "3. Place and delivery"]
    assert "4. Photos" in page and "Fields marked * are required." in page
    for name in ("title", "price_yuan", "city", "delivery_pickup", "purchased_on", "attributes-imei"):
        assert page.count(f'name="{name}"') == 1, name
    places = page.index("3. Place and delivery")
    assert page.index('name="city"') > places > page.index('name="title"')
