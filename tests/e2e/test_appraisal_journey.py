"""The demo appraiser logs in with two-factor authentication, claims the waiting phone
from the queue, grades it, signs, and the listing page shows the certified grade with a
link to the standard it was graded under."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import expect

from grading.models import Appraisal
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import Listing, ListingStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE_TITLE = "iPhone 13 128GB 蓝色"


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def current_totp_code() -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counters[len(counters) // 2]))


def group(page, name: str):
    """A question of the grading form (its radio buttons sit in a fieldset with a legend)."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(name)}:?$"))


def test_the_demo_appraiser_grades_the_waiting_phone_and_the_listing_shows_it(page, browser, live_server):
    call_command("seed_demo")
    cache.clear()  # a code of this period may have been used already (replay protection)
    phone = Listing.objects.get(title=PHONE_TITLE)
    assert phone.status == ListingStatus.PENDING_APPRAISAL
    use_english(page.context, live_server)

    page.goto("/accounts/login/")
    page.fill("#id_login", "appraiser@example.com")
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.fill("#id_code", current_totp_code())
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")

    page.goto("/appraisals/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Appraisal queue")
    row = page.locator(".queue-row", has_text=PHONE_TITLE)
    expect(row).to_contain_text("Phone")
    row.get_by_role("button", name=f"Claim {PHONE_TITLE}").click()

    expect(page).to_have_url(re.compile(rf"/appraisals/{phone.pk}/grade/$"))
    expect(page.locator(".messages")).to_contain_text(f"You claimed “{PHONE_TITLE}”")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Grade “{PHONE_TITLE}”")
    for question in (
        "IMEI on a blacklist (lost, stolen, unpaid)",
        "IMEI altered or not matching the logic board",
        "Activation lock (Find My) still on",
        "Factory reset protection (FRP) still on",
        "Still enrolled in MDM (company management)",
        "Swollen battery",
        "Liquid damage indicator tripped",
        "Cracked screen or back",
    ):
        group(page, question).get_by_label("No", exact=True).check()
    group(page, "Powers on").get_by_label("Yes", exact=True).check()
    page.get_by_label(re.compile(r"^Battery health")).fill("84")
    group(page, "Marks on the body").get_by_label("none", exact=True).check()
    group(page, "Screen scratches").get_by_label("none", exact=True).check()
    page.get_by_label("I inspected this item and sign this appraisal").check()
    page.get_by_role("button", name="Sign appraisal").click()

    # The seller had asked to publish; with a sellable grade the listing went live.
    expect(page).to_have_url(re.compile(rf"/listings/{phone.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("Appraisal signed: B.")
    expect(page.get_by_role("heading", level=1)).to_have_text(PHONE_TITLE)
    panel = page.locator(".grade-panel")
    expect(panel.locator(".grade-line .badge")).to_have_text("B")
    expect(panel).to_contain_text("Certified appraisal by 张鉴定师 Appraiser (申城二手鉴定评估中心)")
    expect(panel).to_contain_text("version 2026.1")
    expect(panel).not_to_contain_text("electronics-mobile")  # the standard by its title, not its key
    expect(page.locator(".listing-badges")).to_contain_text("Grade B · certified")
    appraisal = Appraisal.objects.get(listing=phone)
    assert (appraisal.grade, appraisal.kind, appraisal.appraiser.email) == ("B", "certified", "appraiser@example.com")

    visitor_context = browser.new_context(base_url=live_server.url)
    visitor_context.set_default_timeout(15_000)
    use_english(visitor_context, live_server)
    visitor = visitor_context.new_page()
    try:
        visitor.goto(f"/listings/{phone.pk}/")
        expect(visitor.locator(".grade-panel")).to_contain_text("Certified appraisal by 张鉴定师 Appraiser")
        visitor.locator(".grade-panel").get_by_role("link", name="Read the grading standard").click()
        expect(visitor).to_have_url(re.compile(r"/grading/standards/electronics-mobile/$"))
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Phones, tablets and laptops condition grading")
        expect(visitor.locator("[data-content-hash]")).to_have_text(appraisal.rule_set_hash)
    finally:
        visitor_context.close()
