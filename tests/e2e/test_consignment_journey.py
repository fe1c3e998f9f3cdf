"""Browser test (b): the shop takes in three items for a consignor, prints their tags,
one sells (a cash hand-over, done through the services), and the consignor's portal
shows the balance with the agreement's split applied."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from marketplace.consignment.models import ConsignmentItem
from marketplace.services.orders import order_handover_confirm, order_place
from tests.conftest import CORE_GATES
from tests.factories import PASSWORD, UserFactory
from tests.integration.test_consignment_services import make_agreement, make_shop
from tests.listings import add_photos

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def core_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES


def log_in(page, live_server, user) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


BOOKS = (
    ("三体 全三册", "45", "9787536692930"),
    ("活着 余华", "28.50", "9787506365437"),
    ("围城 典藏版", "680", "9787020090006"),
)


def test_take_in_three_items_print_tags_sell_one_and_the_consignor_sees_the_split(page, browser, live_server):
    shop, staff = make_shop(name="循环寄卖店")
    consignor = UserFactory(display_name="寄卖人小林")
    # 60 % up to ¥500, 70 % above; −10 % at 30 days, −20 % at 60.
    agreement = make_agreement(shop, staff, consignor=consignor)

    log_in(page, live_server, staff)
    page.goto(f"/consignment/agreements/{agreement.pk}/")
    page.get_by_role("link", name="Take items in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take items in for 寄卖人小林")
    for n, (title, price, isbn) in enumerate(BOOKS, start=1):
        row = page.locator(f"[data-intake-row='{n}']")
        row.get_by_label("Title").fill(title)
        row.get_by_label("Category").select_option("books")
        row.get_by_label("Asking price (¥)").fill(price)
        row.get_by_label("ISBN").fill(isbn)
    page.locator("[data-intake-row='2']").get_by_label("Condition notes").fill("封面有折痕")
    page.get_by_role("button", name="Take these items in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Intake batch #\d+$"))
    expect(page.locator(".messages")).to_contain_text("3 items taken in")
    rows = page.locator("tr[data-item-code]")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("¥680.00")

    tags = page.request.get(page.get_by_role("link", name="Print tags (PDF)").get_attribute("href"))
    assert tags.ok
    assert tags.headers["content-type"] == "application/pdf"
    assert tags.body().startswith(b"%PDF-")

    # The first book gets its photo and is published from the batch page; a buyer pays cash.
    items = list(ConsignmentItem.objects.select_related("listing").order_by("item_code"))
    sold = items[0]
    add_photos(sold.listing)
    page.get_by_role("button", name="Publish the items that are ready").click()
    expect(page.locator(".messages")).to_contain_text("1 item published.")
    expect(page.locator(".messages")).to_contain_text(f"{items[1].item_code}: Add at least one photo.")
    expect(page.locator(f"tr[data-item-code='{sold.item_code}'] [data-item-status]")).to_have_text("On sale")
    buyer = UserFactory(display_name="买家小陈")
    order = order_place(buyer=buyer, listing_id=sold.listing_id, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=staff, order_id=order.pk, code=order.handshake_code)

    consignor_page = browser.new_context(base_url=live_server.url).new_page()
    try:
        log_in(consignor_page, live_server, consignor)
        consignor_page.goto("/consignment/mine/")
        expect(consignor_page.get_by_role("heading", level=1)).to_have_text("My consigned items")
        # ¥45.00 sold in cash (no platform fee), 60 % to the consignor.
        expect(consignor_page.locator(f"[data-balance-shop='{shop.pk}']")).to_have_text("循环寄卖店 owes you ¥27.00")
        expect(consignor_page.locator("[data-sale-share]")).to_have_text("¥27.00")
        expect(consignor_page.locator(f"tr[data-item-code='{sold.item_code}'] [data-item-status]")).to_have_text("Sold")
        expect(consignor_page.locator("tr[data-item-code]")).to_have_count(3)
    finally:
        consignor_page.context.close()
