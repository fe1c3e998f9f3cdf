"""Phone layouts at 390×844 (issue 17): a one-row header whose menu opens; home and browse
show two cards side by side; on the search page the first result is on the first screen
and the filters wait in a closed drawer that opens; the listing page shows the price and
the buy bar on the first screen, its gallery swipes sideways and the bar leads to the
buy panel; no page scrolls sideways. Screenshots go to test-artifacts/phone/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from marketplace.services.listings import listing_create, listing_publish
from tests.conftest import CORE_GATES
from tests.e2e.test_listing_journey import serve_media
from tests.factories import PASSWORD, UserFactory
from tests.listings import ATTRIBUTES, COMMON, add_photos
from tests.orders import published_listing

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "phone"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    serve_media(context)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def listings(db):
    seller = UserFactory(display_name="书友小王")
    books = [
        published_listing(
            seller=seller, title=f"二手书 {n} 这是一个很长很长的标题，在手机上要截成两行", price=1000 * (n + 1)
        )
        for n in range(4)
    ]
    # The newest has three photos: added while it is a draft (a listing on sale keeps them).
    newest = listing_create(
        actor=seller,
        category="books",
        data={**COMMON, "title": "二手书 有三张照片", "price": 5000, "delivery_ship": True, "delivery_pickup": True},
        attributes=dict(ATTRIBUTES["books"]),
    )
    add_photos(newest, 3)
    with override_settings(MARKETPLACE_PUBLICATION_GATES=CORE_GATES):
        books.append(listing_publish(actor=seller, listing_id=newest.pk))
    return books


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def assert_no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def assert_two_cards_side_by_side(page) -> None:
    cards = page.locator(".listing-grid > .listing-card")
    expect(cards.nth(1)).to_be_visible()
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert first and second
    assert abs(first["y"] - second["y"]) < 1 and second["x"] >= first["x"] + first["width"]
    assert first["width"] < PHONE["width"] / 2


def test_header_is_one_row_with_a_menu_and_home_and_browse_show_two_columns(phone, listings):
    page = phone
    page.goto("/")
    header = page.locator(".site-header")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    box = header.bounding_box()
    assert box and box["height"] < 80  # brand and menu button in one row
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Browse", exact=True)).to_be_hidden()
    assert_two_cards_side_by_side(page)
    assert_no_sideways_scroll(page)
    shot(page, "home.png")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Language")).to_be_visible()
    assert_no_sideways_scroll(page)
    nav.get_by_role("link", name="Browse", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Browse second-hand goods")
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")

    # The filters wait in a closed drawer; the cards come first.
    expect(page.get_by_label("Category")).to_be_hidden()
    assert_two_cards_side_by_side(page)
    assert_no_sideways_scroll(page)
    page.get_by_label("Sort by").select_option(label="Price: low to high")
    expect(page).to_have_url(re.compile(r"sort=price_asc"))
    expect(page.locator(".card-title").first).to_contain_text("二手书 0")
    expect(page.locator(".card-price").first).to_contain_text("¥10.00")
    page.locator("summary", has_text="Filters").click()
    expect(page.get_by_label("Category")).to_be_visible()
    assert_no_sideways_scroll(page)


def test_search_shows_the_first_result_on_the_first_screen_with_filters_in_a_drawer(phone, listings):
    page = phone
    page.goto("/search/?q=二手书&category=books")
    expect(page.locator(".result-count")).to_have_text("5 listings found")
    first = page.locator(".search-results > .listing-card").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box and box["y"] < PHONE["height"], box
    filters = page.get_by_role("navigation", name="Filters")
    expect(filters).to_be_hidden()
    toggle = page.locator("summary", has_text="Filters")
    expect(toggle.locator("[data-active-filters]")).to_contain_text("1")  # the category
    assert_no_sideways_scroll(page)
    shot(page, "search.png")

    toggle.click()
    expect(filters).to_be_visible()
    expect(page.get_by_label("Within")).to_be_visible()
    expect(page.get_by_label("Latitude")).to_have_count(0)  # no raw coordinates
    assert_no_sideways_scroll(page)


def test_listing_page_has_price_and_buy_bar_on_the_first_screen_and_a_swipeable_gallery(phone, listings, live_server):
    page = phone
    listing = listings[-1]
    buyer = UserFactory(email="phone-buyer@example.org", preferred_language="en")
    page.goto("/accounts/login/")
    page.fill("#id_login", buyer.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")

    page.goto(f"/listings/{listing.pk}/")
    price = page.locator(".listing-price")
    expect(price).to_have_text("¥50.00")
    price_box = price.bounding_box()
    assert price_box and price_box["y"] + price_box["height"] < PHONE["height"]
    bar = page.get_by_role("navigation", name="Buy this item")
    expect(bar).to_be_visible()
    bar_box = bar.bounding_box()
    assert bar_box and bar_box["y"] + bar_box["height"] <= PHONE["height"] and bar_box["y"] > PHONE["height"] / 2
    assert_no_sideways_scroll(page)
    shot(page, "listing.png")

    gallery = page.locator(".gallery")
    expect(page.locator(".gallery-item")).to_have_count(3)
    assert gallery.evaluate("el => el.scrollWidth > el.clientWidth")
    gallery.evaluate("el => el.scrollBy({left: el.clientWidth, behavior: 'instant'})")
    page.wait_for_function("document.querySelector('.gallery').scrollLeft > 0")
    # Snapped to the second photo: it starts where the first did (the gallery bleeds to the
    # screen's edges and keeps the page's margin as its scroll padding).
    second, frame = page.locator("#photo-2").bounding_box(), gallery.bounding_box()
    inset = gallery.evaluate("el => parseFloat(getComputedStyle(el).scrollPaddingLeft) || 0")
    assert second and frame and abs(second["x"] - (frame["x"] + inset)) < 2, (second, frame, inset)

    bar.get_by_role("link", name="Make an offer").click()
    expect(page.get_by_label("Your price (¥)")).to_be_visible()
    bar.get_by_role("link", name="Buy", exact=True).click()
    buy = page.get_by_role("button", name="Buy for ¥50.00")
    expect(buy).to_be_in_viewport()
    # The bar never covers the buy button: the button is clickable where it is.
    buy_box, bar_box = buy.bounding_box(), bar.bounding_box()
    assert buy_box and bar_box and buy_box["y"] + buy_box["height"] <= bar_box["y"]
    shot(page, "buy.png")
    buy.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))


def test_the_sell_form_fits_a_phone(phone, live_server):
    page = phone
    seller = UserFactory(email="phone-seller@example.org", preferred_language="en")
    page.goto("/accounts/login/")
    page.fill("#id_login", seller.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    page.goto("/sell/electronics/")
    expect(page.get_by_role("group", name="3. Place and delivery")).to_be_visible()
    assert_no_sideways_scroll(page)
