"""A seller lists a book from its ISBN (the catalogue fills in the rest), learns that a
photo and a grade are missing, adds a photo, self-assesses the book and publishes; a
visitor finds the book by browsing and opens it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import expect

from marketplace.models import BookRecord, ListingStatus, ListingStatusChange
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def label(text: str) -> re.Pattern[str]:
    """A field's label, with or without Django's trailing colon."""
    return re.compile(rf"^{re.escape(text)}:?$", re.IGNORECASE)


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def serve_media(context) -> None:
    """The test server does not serve uploaded media (a web server or object storage does
    in production); hand the rendition files to the browser from MEDIA_ROOT instead."""
    root = Path(settings.MEDIA_ROOT)

    def fulfil(route) -> None:
        name = unquote(urlparse(route.request.url).path).removeprefix(settings.MEDIA_URL)
        path = (root / name).resolve()
        if path.is_file() and root.resolve() in path.parents:
            route.fulfill(path=str(path))
        else:
            route.fulfill(status=404)

    context.route(re.compile(r".*/media/.*"), fulfil)


def test_seller_publishes_a_book_and_a_visitor_finds_it(page, browser, live_server, tmp_path):
    seller = UserFactory(email="reader@example.org", display_name="书友小王")
    # An earlier seller (or the demo) taught the catalogue this book.
    BookRecord.objects.create(
        isbn="9787020002207", title="红楼梦", authors=["曹雪芹", "高鹗"], publisher="人民文学出版社", year=1982
    )
    use_english(page.context, live_server)
    serve_media(page.context)

    page.goto("/accounts/login/")
    page.fill("#id_login", seller.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sell", exact=True).click()
    page.get_by_role("link", name=re.compile("^Books")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sell: Books")
    # Every field is reached through its label, the way a screen reader user finds it. The
    # ISBN comes first and fills in the book (in place: the script asks the JSON endpoint).
    page.get_by_label(label("ISBN-13")).fill("978-7-02-000220-7")
    with page.expect_response(re.compile(r"/sell/books/isbn/\?isbn=")):
        page.get_by_role("button", name="Look up").click()
    expect(page.locator("#isbn-lookup-status")).to_contain_text("Found “红楼梦”")
    expect(page.get_by_label(label("Book title"))).to_have_value("红楼梦")
    expect(page.get_by_label(label("Authors"))).to_have_value("曹雪芹、高鹗")
    expect(page.get_by_label(label("Publisher"))).to_have_value("人民文学出版社")
    expect(page.get_by_label(label("ISBN-13"))).to_have_value("9787020002207")
    expect(page.get_by_label(label("Title"))).to_have_count(0)  # the title is the book title
    page.get_by_label(label("Price (¥)")).fill("45")
    page.get_by_label(label("City")).fill("上海市")
    page.get_by_label(label("District")).fill("徐汇区")
    page.get_by_role("button", name="Save draft", exact=True).click()

    expect(page).to_have_url(re.compile(r"/my/listings/\d+/$"))
    expect(page.locator(".status-line .status")).to_have_text("Draft")
    expect(page.locator("#blocking")).to_contain_text("Add at least one photo.")
    expect(page.locator("#blocking")).to_contain_text("Grade the item: fill in the self-assessment")

    photo = tmp_path / "book.jpg"
    Image.new("RGB", (800, 600), "firebrick").save(photo, format="JPEG")
    page.set_input_files("#id_file", str(photo))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages")).to_contain_text("Photos added")
    expect(page.locator(".photo-list img")).to_have_count(1)
    expect(page.locator("#blocking")).not_to_contain_text("Add at least one photo.")

    # Books are self-assessed by their sellers against the public standard.
    page.locator(".grade-panel").get_by_role("link", name="Self-assess").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-assessment")
    page.get_by_role("group", name=re.compile(r"^Overall condition:?$")).get_by_label("Fine", exact=True).check()
    for question in (
        "Ex-library (stamps, labels)",
        "Book-club edition",
        "Dust jacket missing",
        "Missing pages",
        "Mould",
        "Water damage",
    ):
        page.get_by_role("group", name=re.compile(rf"^{re.escape(question)}:?$")).get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Save self-assessment").click()
    expect(page).to_have_url(re.compile(r"/my/listings/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Self-assessed: grade Fine.")
    expect(page.locator(".grade-panel")).to_contain_text("Self-assessed by the seller")
    expect(page.locator("#blocking")).to_have_count(0)

    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text("Your listing is published.")
    expect(page.locator(".status-line .status")).to_have_text("Published")
    # Books are self-assessed: the book never waited for an appraiser.
    assert not ListingStatusChange.objects.filter(to_status=ListingStatus.PENDING_APPRAISAL).exists()

    visitor_context = browser.new_context(base_url=live_server.url)
    visitor_context.set_default_timeout(15_000)
    use_english(visitor_context, live_server)
    serve_media(visitor_context)
    visitor = visitor_context.new_page()
    try:
        visitor.goto("/browse/")
        visitor.get_by_label(label("Category")).select_option("books")
        visitor.get_by_role("button", name="Show results").click()
        expect(visitor).to_have_url(re.compile(r"/browse/\?.*category=books"))
        card = visitor.locator(".listing-card", has_text="红楼梦")
        expect(card).to_contain_text("¥45.00")
        expect(card).to_contain_text("上海市")
        expect(card).to_contain_text("Grade Fine · self-assessed")
        card.get_by_role("link", name="红楼梦").click()

        expect(visitor.get_by_role("heading", level=1)).to_have_text("红楼梦")
        expect(visitor.locator(".listing-price")).to_have_text("¥45.00")
        expect(visitor.locator(".seller")).to_contain_text("书友小王")
        expect(visitor.locator("main")).not_to_contain_text(seller.email)
        gallery_image = visitor.locator(".gallery img").first
        expect(gallery_image).to_have_attribute("srcset", re.compile(r"320w.*960w"))
        assert visitor.evaluate("document.querySelector('.gallery img').naturalWidth") > 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        visitor.screenshot(path=str(ARTIFACTS / "listing_journey_visitor_detail.png"), full_page=True)
    finally:
        visitor_context.close()
