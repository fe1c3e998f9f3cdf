"""Revocation that bites. The demo buyer buys the demo's certified ThinkPad X1 with a card
(the money held at localstripe); staff, logged in with the second factor, revoke the
provider key that signed its erasure certificate in the Wagtail admin, with a reason. At
once the laptop is off sale and out of search, its certificate's verification page says
it was revoked (why and when), and the buyer's order is on hold: the buyer cancels it
from the order page and the card hold is released in full."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.formats import date_format
from playwright.sync_api import BrowserContext, Page, expect

from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import Listing, ListingStatus, Order, OrderStatus, PaymentStatus, User
from marketplace.services.payments import payment_for_order
from tests.support.localstripe import CARD_OK, payment_intent
from wipe_cert.models import CertificateStatus, ErasureCertificate

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LAPTOP = "ThinkPad X1 Carbon Gen 9 i7 16GB 512GB"  # certified and published by the demo
REASON = "Private key found on a public file share"


def use_english(context: BrowserContext, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def current_totp_code() -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counters[len(counters) // 2]))


def log_in(page: Page, email: str, *, totp: bool = False) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    if totp:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
        page.fill("#id_code", current_totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def type_card(page: Page, number: str) -> None:
    element = page.locator("[data-card-element]")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("12")
    element.locator("input[placeholder=exp_year]").fill("34")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("200030")


def test_revoking_the_provider_key_takes_the_laptop_off_sale_and_the_buyer_cancels_with_a_refund(
    page, browser, live_server, stripe_settings, localstripe_url
):
    call_command("seed_demo")
    cache.clear()  # a TOTP code of this period may have been used already (replay protection)
    laptop = Listing.objects.get(title=LAPTOP)
    assert laptop.status == ListingStatus.PUBLISHED
    certificate = ErasureCertificate.objects.select_related("provider_key").get(
        listing=laptop, status=CertificateStatus.ACCEPTED
    )
    key = certificate.provider_key
    assert key is not None and key.revoked_at is None
    buyer = User.objects.get(email="buyer@example.com")
    use_english(page.context, live_server)

    # The buyer buys the laptop, with its erasure verified, and authorises the card.
    log_in(page, buyer.email)
    page.goto(f"/listings/{laptop.pk}/")
    expect(page.get_by_role("link", name="Data erased · verified").first).to_have_attribute(
        "href", f"/verify/{certificate.pk}/"
    )
    buy = page.get_by_role("region", name="Buy")
    buy.get_by_label(re.compile(r"· Card \(held until you confirm receipt\)$")).first.check()
    buy.get_by_role("button", name=re.compile(r"^Buy for ¥")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))
    expect(page.locator("[data-card-element] input[placeholder=number]")).to_be_visible()
    type_card(page, CARD_OK)
    page.get_by_role("button", name=re.compile(r"^Authorise ¥")).click()
    expect(page.locator(".messages")).to_contain_text("Payment authorised")
    expect(page.locator("[data-order-status]")).to_have_text("Paid, money held")
    order = Order.objects.get(listing=laptop, buyer=buyer, status=OrderStatus.PAID)
    payment = payment_for_order(order.pk)
    assert payment is not None and payment.status == PaymentStatus.AUTHORISED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "requires_capture"

    # Reserved for the buyer, the laptop is still found by search.
    visitor_context = browser.new_context(base_url=live_server.url)
    use_english(visitor_context, live_server)
    visitor = visitor_context.new_page()
    visitor.goto("/search/?q=ThinkPad")
    expect(visitor.locator(f'[data-listing-id="{laptop.pk}"]')).to_contain_text("ThinkPad X1")

    # Staff, with the second factor, revoke the provider's key in the Wagtail admin.
    admin_context = browser.new_context(base_url=live_server.url)
    use_english(admin_context, live_server)
    admin = admin_context.new_page()
    log_in(admin, "admin@example.com", totp=True)
    admin.goto("/cms-admin/")
    admin.get_by_role("button", name="Data erasure").click()
    admin.get_by_role("link", name="Signing keys").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Signing keys")
    row = admin.get_by_role("row").filter(has_text=key.key_id)
    expect(row).to_contain_text("Active")
    row.get_by_role("link", name="Revoke").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Revoke signing key")
    admin.get_by_label("Reason").fill(REASON)
    admin.get_by_role("button", name="Revoke key").click()
    expect(admin.locator(".messages")).to_contain_text(f"Key {key.key_id} revoked.")
    expect(admin.get_by_role("row").filter(has_text=key.key_id)).to_contain_text("Revoked")

    key.refresh_from_db()
    assert key.revoked_at is not None and key.revocation_reason == REASON
    with translation.override("en"):
        revoked_on = date_format(timezone.localtime(key.revoked_at), "DATE_FORMAT")
    why = f"The provider's signing key was revoked on {revoked_on} ({REASON})."

    # At once: the certificate's verification page says revoked, with the reason and date.
    visitor.goto(f"/verify/{certificate.pk}/")
    expect(visitor.locator(".cert-verdict")).to_have_attribute("data-status", "revoked")
    expect(visitor.locator(".cert-verdict-label")).to_have_text("Revoked")
    expect(visitor.locator(".cert-verdict [data-revocation]")).to_have_text(why)

    # The laptop is off sale: not public, out of search.
    response = visitor.goto(f"/listings/{laptop.pk}/")
    assert response is not None and response.status == 404
    visitor.goto("/search/?q=ThinkPad")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Search")
    expect(visitor.locator(".result-count")).to_be_visible()
    expect(visitor.locator(f'[data-listing-id="{laptop.pk}"]')).to_have_count(0)
    expect(visitor.locator("main")).not_to_contain_text("ThinkPad X1")
    visitor_context.close()

    # Staff still see the listing: waiting for erasure, no verified badge, no Buy button.
    admin.goto(f"/listings/{laptop.pk}/")
    expect(admin.locator(".banner-not-public")).to_contain_text("Waiting for data erasure")
    expect(admin.locator(".listing-summary .status")).to_have_text("Waiting for data erasure")
    expect(admin.get_by_role("link", name="Data erased · verified")).to_have_count(0)
    panel = admin.locator(".erasure-panel")
    expect(panel.locator("[data-status]")).to_have_text("Revoked")
    expect(panel.locator("[data-revocation]")).to_have_text(why)
    expect(admin.get_by_role("button", name=re.compile(r"^Buy for"))).to_have_count(0)
    admin_context.close()
    laptop.refresh_from_db()
    assert laptop.status == ListingStatus.PENDING_ERASURE

    # The buyer's order is on hold; the buyer cancels it and the card hold is released.
    page.goto(f"/orders/{order.pk}/")
    expect(page.locator("[data-order-status]")).to_have_text("On hold")
    hold = page.locator("[data-order-hold]")
    expect(hold.get_by_role("heading", name="This order is on hold")).to_be_visible()
    expect(hold).to_contain_text(f"Why: {why}")
    hold.get_by_role("button", name="Cancel with a full refund").click()
    expect(page.locator(".messages")).to_contain_text("The order is cancelled.")
    expect(page.locator("[data-order-status]")).to_have_text("Cancelled")
    expect(page.locator("[data-order-hold]")).to_have_count(0)
    expect(page.locator("[data-payment-status]")).to_contain_text("Cancelled, hold released")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.at_fault == ""
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
