"""The demo buyer buys a published phone with a test card typed into localstripe's stand-in
Stripe.js (a declined card first); the seller ships; the buyer confirms receipt; the
held payment is captured; both see the order completed; the ledger reconciles."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.models import LedgerTransaction, Order, OrderStatus, PaymentStatus, StripeEvent, User
from marketplace.services.payments import payment_for_order
from tests.conftest import CORE_GATES
from tests.orders import published_listing
from tests.support.localstripe import CARD_DECLINED_ON_ATTACH, CARD_OK, deliver_webhooks_to, payment_intent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def core_gates(settings):
    """The phone is published with the marketplace's own gates (grading and erasure have
    journeys of their own); the live server runs in this process, so this reaches it."""
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES


def log_in(page, live_server, user) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def type_card(page, number: str) -> None:
    element = page.locator("[data-card-element]")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("12")
    element.locator("input[placeholder=exp_year]").fill("34")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("200030")


def test_buy_a_phone_with_a_card_ship_confirm_and_get_paid(
    page, browser, live_server, stripe_settings, localstripe_url, request
):
    call_command("seed_demo")
    seller = User.objects.get(email="seller@example.com")
    buyer = User.objects.get(email="buyer@example.com")
    phone = published_listing(
        seller=seller, category="electronics", title="iPhone 13 128GB 午夜色", price=260_000, ship=True, pickup=False
    )

    # localstripe delivers its signed events to the live server's webhook, as Stripe would.
    deliver_webhooks_to(localstripe_url, f"{live_server.url}/payments/stripe/webhook/")
    request.addfinalizer(lambda: deliver_webhooks_to(localstripe_url, None))

    log_in(page, live_server, buyer)
    page.goto(f"/listings/{phone.pk}/")
    buy = page.get_by_role("region", name="Buy")
    buy.get_by_label("Shipping · Card (held until you confirm receipt)").check()
    buy.get_by_role("button", name="Buy for ¥2,600.00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))
    expect(page.locator("[data-order-status]")).to_have_text("Waiting for payment")

    # localstripe's Stripe.js mounts its card inputs in the form.
    expect(page.locator("[data-card-element] input[placeholder=number]")).to_be_visible()
    type_card(page, CARD_DECLINED_ON_ATTACH)
    page.get_by_role("button", name="Authorise ¥2,600.00").click()
    expect(page.locator("[data-payment-error]")).to_contain_text("Your card was declined. Nothing was charged")
    expect(page.locator("[data-order-status]")).to_have_text("Waiting for payment")

    type_card(page, CARD_OK)
    page.get_by_role("button", name="Authorise ¥2,600.00").click()
    expect(page.locator(".messages")).to_contain_text("Payment authorised")
    expect(page.locator("[data-order-status]")).to_have_text("Paid, money held")
    order = Order.objects.get(listing=phone)
    payment = payment_for_order(order.pk)
    assert payment.status == PaymentStatus.AUTHORISED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "requires_capture"

    seller_page = browser.new_context(base_url=live_server.url, locale="zh-CN").new_page()
    log_in(seller_page, live_server, seller)
    seller_page.goto(f"/orders/{order.pk}/")
    seller_page.get_by_label(re.compile("^Carrier")).fill("顺丰速运")
    seller_page.get_by_label(re.compile("^Tracking number")).fill("SF1234567890")
    seller_page.get_by_role("button", name="Mark as shipped").click()
    expect(seller_page.locator("[data-order-status]")).to_have_text("Shipped")

    page.reload()
    expect(page.locator("[data-order-status]")).to_have_text("Shipped")
    expect(page.get_by_text("顺丰速运 SF1234567890")).to_be_visible()
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator("[data-order-status]")).to_have_text("Completed")
    expect(page.locator("[data-payment-status]")).to_contain_text("Captured")

    seller_page.reload()
    expect(seller_page.locator("[data-order-status]")).to_have_text("Completed")
    seller_page.goto("/my/orders/?as=seller")
    expect(seller_page.get_by_role("row", name=re.compile("iPhone 13"))).to_contain_text("Completed")
    seller_page.context.close()

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "succeeded"
    # The capture's webhook arrived, passed the signature check and was applied once.
    deadline = time.monotonic() + 15
    while not StripeEvent.objects.filter(type="payment_intent.succeeded").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert StripeEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert LedgerTransaction.objects.filter(order=order, kind="buyer_payment").count() == 1
    call_command("ledger_reconcile")  # raises CommandError if anything does not reconcile
