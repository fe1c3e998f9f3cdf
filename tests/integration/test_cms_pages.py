"""Community page types render what visitors need, with no inline script or style, and
Wagtail's own database search finds CMS pages (listings are not in it)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone
from wagtail.models import Page
from wagtail.search import index

from cms.models import FleaMarketDate, GradingStandardsPage, StandardPage
from grading.services import ruleset_load_shipped
from marketplace.models import Listing
from tests.cms import (
    event_index,
    home,
    make_book_swap,
    make_consignment_event,
    make_market,
    make_shop_page,
    make_standard_page,
    organiser_org,
    publish_child,
    publish_listing,
    school_org,
    shop_org,
)
from tests.factories import UserFactory
from tests.listings import make_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def assert_no_inline_code(html: str) -> None:
    """The strict CSP forbids inline scripts, styles and event handlers."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_home_page_shows_the_newest_listings_and_upcoming_events(en):
    seller = UserFactory()
    older = publish_listing(make_listing(seller=seller, title="Old atlas"))
    newest = publish_listing(make_listing(seller=seller, title="Brand-new find"))
    Listing.objects.filter(pk=older.pk).update(published_at=timezone.now() - dt.timedelta(days=3))
    draft = make_listing(seller=seller, title="Still a draft")
    org, _ = organiser_org()
    market = make_market(org, dates=[timezone.localdate() + dt.timedelta(days=5)])

    html = en.get("/").content.decode()

    assert html.index(newest.title) < html.index(older.title)  # newest first
    assert draft.title not in html
    assert "Upcoming events" in html
    assert market.title in html
    assert 'href="/events/calendar.ics"' in html
    assert_no_inline_code(html)


def test_flea_market_page_shows_venue_map_link_dates_stalls_and_rules(en):
    org, _ = organiser_org(name="Riverside Volunteers")
    day = timezone.localdate() + dt.timedelta(days=12)
    market = make_market(org, dates=[day], rules="<p>No food stalls.</p>")
    FleaMarketDate.objects.create(market=market, date=day + dt.timedelta(days=7), cancelled=True)

    response = en.get(market.url)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Riverside Volunteers" in html
    assert 'href="geo:31.176512,121.462345?q=31.176512,121.462345(Riverside%20Square%203)"' in html
    assert "tile" not in html.lower()  # no online map
    assert f"{day:%Y-%m-%d}" in html
    assert "Standard stall" in html and "¥30.00" in html and "2 of 2" in html
    assert "Power socket" in html
    assert "No food stalls." in html
    assert "Cancelled" in html
    assert "Log in to apply" in html
    assert_no_inline_code(html)


def test_consignment_shop_page_lists_the_shops_published_listings(en):
    org, owner = shop_org(name="Second Life")
    page = make_shop_page(org)
    from marketplace.services.listings import listing_create

    listing = listing_create(
        actor=owner,
        category="books",
        data={"title": "Shop copy of 三体", "price": 2000, "city": "上海市", "delivery_pickup": True},
        attributes={"isbn": "9787536692930", "book_title": "三体", "authors": ["刘慈欣"], "language": "zh"},
        seller_organisation=org,
    )
    publish_listing(listing, owner)
    other = publish_listing(make_listing(seller=UserFactory(), title="Somebody else's lamp"))

    html = en.get(page.url).content.decode()

    assert "Consignment terms" in html and "30% commission." in html
    assert "Shop copy of 三体" in html
    assert other.title not in html
    assert_no_inline_code(html)


def test_consignment_event_and_book_swap_pages_render(en):
    org, _ = organiser_org()
    event = make_consignment_event(org)
    school, _ = school_org(name="Xuhui Primary")
    swap = make_book_swap(school, intro="<p>Bring a book, take a book.</p>")

    event_html = en.get(event.url).content.decode()
    swap_html = en.get(swap.url).content.decode()

    assert "Drop-off slots" in event_html and "30% off" in event_html
    assert "Log in to register" in event_html
    assert "Bring a book, take a book." in swap_html
    assert "Join with your class code" in swap_html
    assert "No money is involved." in swap_html
    assert "payment" not in swap_html.lower() and "¥" not in swap_html
    for html in (event_html, swap_html):
        assert_no_inline_code(html)


def test_events_index_lists_upcoming_events_in_date_order(en):
    org, _ = organiser_org()
    today = timezone.localdate()
    make_market(org, dates=[today + dt.timedelta(days=30)], slug="later", title="Later market")
    make_market(org, dates=[today + dt.timedelta(days=3)], slug="sooner", title="Sooner market", grant_access=False)

    html = en.get(event_index().url).content.decode()

    assert html.index("Sooner market") < html.index("Later market")


def test_standard_page_rich_text_is_sanitised():
    page = StandardPage(
        title="Rules",
        slug="rules",
        body='<p onclick="x()">Fair <script>alert(1)</script><a href="javascript:x">y</a></p>',
    )
    page.clean()
    assert "<script" not in page.body
    assert "onclick" not in page.body
    assert "javascript:" not in page.body
    assert "Fair" in page.body


def test_grading_standards_page_links_to_each_published_rule_set(en):
    ruleset_load_shipped()
    page = publish_child(home(), GradingStandardsPage(title="Grading standards", slug="grading-standards"))

    html = en.get(page.url).content.decode()

    assert 'href="/grading/standards/books/"' in html
    assert 'href="/grading/standards/vehicles/"' in html
    assert "Used-book condition grading" in html


def test_cms_search_is_wagtails_database_backend_and_listings_are_not_indexed():
    assert settings.WAGTAILSEARCH_BACKENDS["default"]["BACKEND"] == "wagtail.search.backends.database"
    make_standard_page("Consignment rules", "<p>Unsold goods are donated after sixty days.</p>")

    found = Page.objects.live().search("donated")

    assert [page.title for page in found] == ["Consignment rules"]
    assert not issubclass(Listing, index.Indexed)
