"""The demo organiser adds a flea-market date in the Wagtail admin, the demo seller applies
for a stall on the public page, the organiser approves it, records the fee paid offline,
and the vendor list shows the seller."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from cms.demo import seed_cms_demo
from cms.models import FleaMarketDate, FleaMarketPage, StallApplication
from marketplace.management.commands import seed_demo
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from tests.e2e.wagtail_admin import fill_wagtail_date

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def demo(monkeypatch):
    """The demo accounts and the community pages (the listings are not needed here)."""
    monkeypatch.setattr(seed_demo, "demo_seeders", lambda: [seed_cms_demo])
    call_command("seed_demo")


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def a_free_weekday(market: FleaMarketPage) -> dt.date:
    taken = set(market.dates.values_list("date", flat=True))
    day = timezone.localdate() + dt.timedelta(days=45)
    while day in taken or day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def test_organiser_adds_a_date_seller_applies_organiser_approves_and_records_the_fee(page, browser, live_server, demo):
    market = FleaMarketPage.objects.get()
    day = a_free_weekday(market)
    use_english(page.context, live_server)

    # The organiser adds a date on the market's page in the Wagtail admin and publishes.
    log_in(page, "organizer@example.com")
    page.goto(f"/cms-admin/pages/{market.pk}/edit/")
    page.get_by_role("tab", name="Dates").click()
    new_row = market.dates.count()
    page.get_by_role("button", name="Add Market dates").click()
    fill_wagtail_date(page.locator(f"#id_dates-{new_row}-date"), f"{day:%Y-%m-%d}")
    page.locator(f"#id_dates-{new_row}-note").fill("Autumn special")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("published")
    market_date = FleaMarketDate.objects.get(market=market, date=day)

    # The seller applies for that date on the public page.
    seller_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    seller_context.set_default_timeout(15_000)
    use_english(seller_context, live_server)
    seller = seller_context.new_page()
    try:
        log_in(seller, "seller@example.com")
        seller.goto(market.url)
        expect(seller.locator(f"#date-{market_date.pk}")).to_contain_text("Autumn special")
        form = seller.locator("form.stall-form")
        form.get_by_label("Date").select_option(label=f"{day:%Y-%m-%d} 09:00–15:00")
        form.get_by_role("radio", name=re.compile(r"标准摊位 Standard")).check()
        form.get_by_role("checkbox", name=re.compile(r"电源 Power socket")).check()
        form.get_by_label("What you will sell").fill("Picture books")
        form.get_by_role("button", name="Send application").click()
        expect(seller.locator(".messages")).to_contain_text("Your application is sent")
        expect(seller.locator("#my-applications")).to_contain_text("Waiting for the organiser")

        # The organiser approves it and records the fee paid in cash.
        page.goto("/cms-admin/community/")
        page.get_by_role("link", name=f"{day:%Y-%m-%d}", exact=True).click()
        row = page.locator("tr", has_text="王卖家 Seller")
        expect(row).to_contain_text("Picture books")
        expect(row).to_contain_text("¥40.00")
        row.get_by_role("button", name="Approve").click()
        expect(page.locator(".messages")).to_contain_text("王卖家 Seller is approved")
        row = page.locator("tr", has_text="王卖家 Seller")
        row.get_by_label("Payment reference").fill("Cash receipt 0815")
        row.get_by_role("button", name="Record fee paid offline").click()
        expect(page.locator(".messages")).to_contain_text("recorded as paid")

        # The vendor list shows the seller, paid, and prints as a PDF.
        page.get_by_role("link", name="Vendor list", exact=True).click()
        vendors = page.locator("table.vendor-list")
        expect(vendors).to_contain_text("王卖家 Seller")
        expect(vendors).to_contain_text("Cash receipt 0815")
        pdf = page.request.get(f"/cms-admin/community/markets/dates/{market_date.pk}/vendors.pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")

        seller.reload()
        expect(seller.locator("#my-applications")).to_contain_text("fee paid")
    finally:
        seller_context.close()

    application = StallApplication.objects.get(market_date=market_date)
    assert (application.status, application.fee, application.payment_reference) == (
        "approved",
        4000,
        "Cash receipt 0815",
    )
