"""The two main journeys on a phone's screen (390×844): a buyer finds a book through
search and a filter, buys it with the preselected way of getting and paying for it,
hands it over with their code and rates the seller; a seller lists a book, adds a photo,
self-assesses it and publishes. Screenshots of each step go to test-artifacts/phone/.

Elements are found by role and label (as a screen reader would), so the tests survive a
re-layout; anything a sticky header could cover is scrolled into view before the click."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import expect

from marketplace.credit.models import Rating
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.models import Listing, ListingStatus, Order, OrderStatus, User
from tests.orders import published_listing

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "phone"
BOOK_TITLE = "小王子 法汉对照 精装"
KNOWN_BOOK = "百年孤独"  # a demo book: the catalogue knows its ISBN


def label(text: str) -> re.Pattern[str]:
    """A field's label, with or without Django's trailing colon."""
    return re.compile(rf"^{re.escape(text)}:?$", re.IGNORECASE)


def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    return context.new_page()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def click(locator) -> None:
    """Scroll first, so that no sticky element covers the target, then a real click (never
    force=True: a covered target must fail the test, as it would fail a person)."""
    locator.scroll_into_view_if_needed()
    locator.click()


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    click(page.locator("main form button[type=submit]"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def go_to_search(page) -> None:
    """The main navigation's Search link; on a phone it may sit behind a menu button."""
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Search", exact=True)
    if not link.is_visible():
        click(page.get_by_role("button", name=re.compile(r"^Menu", re.IGNORECASE)))
    click(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")


def open_filters(page):
    """The filters: a drawer closed by default on a phone (its summary says "Filters")."""
    filters = page.get_by_role("navigation", name="Filters")
    if not filters.is_visible():
        click(page.locator("summary").filter(has_text=re.compile(r"^\s*Filters")))
    expect(filters).to_be_visible()
    return filters


def test_buyer_on_a_phone_searches_filters_buys_hands_over_and_rates(browser, live_server):
    call_command("seed_demo")
    seller = User.objects.get(email="seller@example.com")
    book = published_listing(seller=seller, title=BOOK_TITLE, price=3800, ship=False, pickup=True)

    page = phone_page(browser, live_server)
    log_in(page, "buyer@example.com")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shot(page, "buyer-1-home")

    go_to_search(page)
    page.get_by_label("Search for").fill("小王子")
    page.get_by_label("Search for").press("Enter")
    expect(page.locator(".result-count")).to_have_text("1 listing found")
    shot(page, "buyer-2-search")

    filters = open_filters(page)
    shot(page, "buyer-3-filters")
    click(filters.get_by_role("link", name=re.compile(r"^Books\b")))
    expect(page.locator(".filter-chips")).to_contain_text("Books")
    assert "category=books" in page.url
    expect(page.locator(".result-count")).to_have_text("1 listing found")

    click(page.get_by_role("link", name=re.compile(re.escape(BOOK_TITLE))).first)
    expect(page.get_by_role("heading", level=1)).to_have_text(BOOK_TITLE)
    gallery_photo = page.get_by_role("img", name=re.compile(rf"^{re.escape(BOOK_TITLE)}, photo 1$"))
    expect(gallery_photo).to_be_visible()
    shot(page, "buyer-4-listing")

    buy = page.get_by_role("region", name="Buy")
    # The one valid arrangement for a pickup-only book is preselected: the buyer only confirms.
    expect(buy.get_by_role("radio", name=re.compile(r"Cash"))).to_be_checked()
    click(buy.get_by_role("button", name="Buy for ¥38.00"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))
    order = Order.objects.get(listing=book)
    code = page.locator("[data-handshake-code]")
    expect(code).to_have_text(order.handshake_code)
    shot(page, "buyer-5-order")

    seller_page = phone_page(browser, live_server)
    try:
        log_in(seller_page, seller.email)
        seller_page.goto(f"/orders/{order.pk}/")
        seller_page.get_by_label(label("The buyer's hand-over code")).fill(code.inner_text().strip())
        click(seller_page.get_by_role("button", name="Confirm hand-over and cash received"))
        expect(seller_page.locator("[data-order-status]")).to_have_text("Completed")
        shot(seller_page, "seller-handover")
    finally:
        seller_page.context.close()

    page.reload()
    expect(page.locator("[data-order-status]")).to_have_text("Completed")
    click(page.get_by_role("link", name="Rate this order"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rate the seller")
    for question in ("Overall", "As described / as graded", "Communication", "Speed"):
        group = page.get_by_role("group", name=question)  # a substring: "Speed (payment, pickup)"
        click(group.get_by_role("radio", name=re.compile(r"^5")))
    page.get_by_label("Comment (optional)").fill("书和描述的一样，交接准时。")
    click(page.get_by_role("button", name="Submit rating"))
    expect(page.locator(".messages")).to_contain_text("your rating is saved")
    shot(page, "buyer-6-rated")
    page.context.close()

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert Rating.objects.get(order=order, rater__email="buyer@example.com").comment == "书和描述的一样，交接准时。"


def test_seller_on_a_phone_lists_a_book_adds_a_photo_self_assesses_and_publishes(browser, live_server, tmp_path):
    call_command("seed_demo")
    page = phone_page(browser, live_server)
    log_in(page, "seller@example.com")

    page.goto("/sell/")
    click(page.get_by_role("link", name=re.compile("^Books")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sell: Books")
    shot(page, "seller-1-form")
    # The ISBN on the back cover fills in the book (the demo taught the catalogue this one).
    page.get_by_label(label("ISBN-13")).fill("978-7-5442-5399-4")
    click(page.get_by_role("button", name="Look up"))
    expect(page.locator("#isbn-lookup-status")).to_contain_text(f"Found “{KNOWN_BOOK}”")
    expect(page.get_by_label(label("Book title"))).to_have_value(KNOWN_BOOK)
    expect(page.get_by_label(label("Authors"))).to_have_value("加西亚·马尔克斯")
    expect(page.get_by_label(label("Publisher"))).to_have_value("南海出版公司")
    shot(page, "seller-1b-isbn-found")
    page.get_by_label(label("Price (¥)")).fill("38")
    page.get_by_label(label("City")).fill("上海市")
    page.get_by_label(label("District")).fill("徐汇区")
    click(page.get_by_role("button", name="Save draft", exact=True))
    expect(page).to_have_url(re.compile(r"/my/listings/\d+/$"))
    listing_pk = int(re.findall(r"/my/listings/(\d+)/$", page.url)[0])
    expect(page.locator("#blocking")).to_contain_text("Add at least one photo.")

    photo = tmp_path / "book.jpg"
    Image.new("RGB", (800, 600), "steelblue").save(photo, format="JPEG")
    page.locator("#id_file").set_input_files(str(photo))
    click(page.get_by_role("button", name="Upload"))
    expect(page.locator(".messages")).to_contain_text("Photos added")
    expect(page.locator(".photo-list img")).to_have_count(1)
    shot(page, "seller-2-photo")

    click(page.locator(".grade-panel").get_by_role("link", name="Self-assess"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-assessment")
    click(page.get_by_role("group", name=label("Overall condition")).get_by_label("Fine", exact=True))
    for question in (
        "Ex-library (stamps, labels)",
        "Book-club edition",
        "Dust jacket missing",
        "Missing pages",
        "Mould",
        "Water damage",
    ):
        click(page.get_by_role("group", name=label(question)).get_by_label("No", exact=True))
    shot(page, "seller-3-self-assessment")
    click(page.get_by_role("button", name="Save self-assessment"))
    expect(page.locator(".messages")).to_contain_text("Self-assessed: grade Fine.")
    expect(page.locator("#blocking")).to_have_count(0)

    click(page.get_by_role("button", name="Publish"))
    expect(page.locator(".messages")).to_contain_text("Your listing is published.")
    expect(page.locator(".status-line .status")).to_have_text("Published")
    shot(page, "seller-4-published")
    page.context.close()

    listing = Listing.objects.get(pk=listing_pk)
    assert listing.status == ListingStatus.PUBLISHED and listing.title == KNOWN_BOOK
    assert listing.book.isbn == "9787544253994" and listing.book.year == 2011
    assert listing.seller_user is not None and listing.seller_user.email == "seller@example.com"
