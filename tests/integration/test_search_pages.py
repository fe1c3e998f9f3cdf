"""The search page: query box with suggestions, facets with counts, active-filter chips,
sort, result cards (cover, grade and erasure badges, seller, distance), state in the
URL, and a fixed number of SQL queries however many results there are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.search_support import ALL_GATES, draft, graded_erased_phone, publish

pytestmark = pytest.mark.django_db
HERE = {"lat": "31.200", "lon": "121.440"}


@pytest.fixture
def listings(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    with django_capture_on_commit_callbacks(execute=True):
        phone = graded_erased_phone(title="苹果手机 iPhone 13", lat=31.205, lon=121.445)
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    with django_capture_on_commit_callbacks(execute=True):
        far = publish(draft(title="华为手机 Mate 40", lat=31.38, lon=121.25, district="嘉定区"))
        book = publish(draft(category="books", title="手机摄影入门"))
        desk = publish(draft(category="furniture", title="实木书桌"))
    return {"phone": phone, "far": far, "book": book, "desk": desk}


def get(client, **params):
    response = client.get("/search/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def facet(html: str, name: str) -> dict[str, str]:
    """label → count of one facet group in the sidebar."""
    section = re.search(rf'data-facet="{name}">(.*?)</section>', html, re.S).group(1)
    return dict(re.findall(r'<span class="facet-label">(.*?)</span> <span class="facet-count">(\d+)</span>', section))


def test_results_facets_and_cards(client, listings):
    html = get(client, q="手机", **HERE)
    assert "3 listings found" in html
    for key in ("phone", "far", "book"):
        assert listings[key].title in html
    assert "实木书桌" not in html
    assert facet(html, "category") == {"Electronics": "2", "Books": "1"}
    assert facet(html, "grade") == {"A": "1"}
    assert facet(html, "erasure_verified") == {"Erasure verified": "1"}
    card = re.search(rf'data-listing-id="{listings["phone"].pk}">(.*?)</li>', html, re.S).group(1)
    assert "Grade A · certified" in card
    # The erasure badge: wipe_cert's when its badge provider is on, else the card's own.
    assert "Data erased · verified" in card or "Erasure verified" in card
    assert "0.7 km away" in card
    assert "Private seller" in card
    assert re.search(r'<img src="/media/listings/\S+-320\.webp"', card)


def test_narrowing_keeps_the_state_in_the_url_and_shows_chips(client, listings):
    html = get(client, q="手机", grade="A", erasure_verified="1", within="10", **HERE)
    assert "1 listing found" in html
    assert listings["phone"].title in html and listings["far"].title not in html
    for chip in ("“手机”", "Grade: A", "Erasure verified", "Within 10 km of the chosen point"):
        assert chip in html
    assert facet(html, "grade") == {"A": "1"}
    assert facet(html, "category") == {"Electronics": "1"}
    # The grade chip removes the grade and keeps everything else.
    remove = re.search(r'<a class="chip" href="([^"]+)">Grade: A', html).group(1).replace("&amp;", "&")
    assert "grade=" not in remove and "erasure_verified=1" in remove and "within=10" in remove
    wider = client.get(remove, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert listings["phone"].title in wider and "Grade: A" not in wider


def test_facet_links_toggle_values(client, listings):
    html = get(client, q="手机")
    link = re.search(r'<a class="facet-option" href="([^"]+)"><span class="facet-label">Books', html).group(1)
    assert link.replace("&amp;", "&") == "/search/?q=%E6%89%8B%E6%9C%BA&category=books"
    narrowed = get(client, q="手机", category="books")
    assert "1 listing found" in narrowed and 'aria-current="true"' in narrowed


def test_rendering_results_costs_a_fixed_number_of_queries(client, listings, django_capture_on_commit_callbacks):
    client.force_login(UserFactory())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            get(client, q="手机", **HERE)
        return len(captured)

    few = queries()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            publish(draft(title=f"二手手机 {n}", lat=31.2, lon=121.44))
    assert "8 listings found" in get(client, q="手机")
    assert queries() == few


def test_the_page_uses_static_javascript_only_and_offers_suggestions(client, listings):
    html = get(client)
    assert '<script src="/static/search/search.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script (CSP)
    assert 'data-suggest-url="/api/v1/search/suggest"' in html
    assert client.get("/api/v1/search/suggest", {"q": "苹果"}).json() == {"suggestions": ["苹果手机 iPhone 13"]}


def test_invalid_parameters_are_ignored_with_a_note(client, listings):
    html = get(client, q="手机", price_min="cheap", category="spaceships")
    assert "Some filters were ignored" in html
    assert "3 listings found" in html


def test_saving_is_offered_to_logged_in_buyers(client, listings):
    assert "Log in to save this search" in get(client, q="手机")
    client.force_login(UserFactory())
    html = get(client, q="手机")
    assert "Save this search" in html
    client.post("/search/saved/new/", {"querystring": "q=手机"})
    assert "This search is saved." in get(client, q="手机")


def test_navigation_links_to_search(client):
    assert '<a href="/search/">Search</a>' in client.get("/search/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_buyer_keeps_only_the_cars_they_can_register_in_their_city(
    client, english, django_capture_on_commit_callbacks
):
    from django.test import override_settings

    from marketplace.city.models import RelocationCity
    from marketplace.services.listings import listing_create, listing_publish
    from tests.conftest import CORE_GATES
    from tests.listings import ATTRIBUTES, COMMON, add_photos
    from tests.vin import with_check_digit

    strict = RelocationCity.objects.create(name="北京市", minimum_standard="cn6b")
    lenient = RelocationCity.objects.create(name="成都市", minimum_standard="cn5")
    seller = UserFactory()
    titles = {}
    for vin, standard, title in (
        ("LSVAU2180N2183294", "cn5", "老款轿车 国五"),
        ("LSVAU2180N2183295", "cn6b", "新款轿车 国六"),
    ):
        listing = listing_create(
            actor=seller,
            category="vehicles",
            data={**COMMON, "title": title, "price": 5_000_000},
            attributes={**ATTRIBUTES["vehicles"], "vin": with_check_digit(vin), "emission_standard": standard},
        )
        add_photos(listing, 3)
        with (
            override_settings(MARKETPLACE_PUBLICATION_GATES=CORE_GATES),
            django_capture_on_commit_callbacks(execute=True),
        ):
            listing_publish(actor=seller, listing_id=listing.pk)
        titles[standard] = title

    page = client.get("/search/", {"category": "vehicles"}).content.decode()
    assert "Can be registered in" in page and "北京市" in page and "成都市" in page
    assert titles["cn5"] in page and titles["cn6b"] in page

    page = client.get("/search/", {"category": "vehicles", "registration_city": strict.pk}).content.decode()
    assert titles["cn6b"] in page and titles["cn5"] not in page
    assert "Vehicles that can be registered in 北京市" in page
    page = client.get("/search/", {"category": "vehicles", "registration_city": lenient.pk}).content.decode()
    assert titles["cn6b"] in page and titles["cn5"] in page

    unknown = client.get("/search/", {"category": "vehicles", "registration_city": 999_999}).content.decode()
    assert "Unknown city." in unknown and titles["cn5"] in unknown
