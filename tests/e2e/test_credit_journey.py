"""After the completed demo order both parties rate each other (each rating sealed until
the other rated); the seller's public profile then shows their new tier; a moderator
(staff with two-factor authentication) applies an adjustment with a reason in the
Wagtail admin, and the seller sees it, with the reason, on their credit breakdown."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from marketplace.credit import scoring
from marketplace.credit.models import CreditEvent
from marketplace.credit.selectors import seller_tiers_for_users
from marketplace.credit.services import (
    EVENT_COLUMNS,
    _current_score,
    credit_adjust,
    credit_event_record,
    evidence_of,
    tier_min_orders,
)
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import Order, OrderStatus, User

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def current_totp_code() -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counters[len(counters) // 2]))


def log_in(page, email: str, *, totp: bool = False) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    if totp:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
        page.fill("#id_code", current_totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def rate(page, *, as_buyer: bool) -> None:
    for name in ("stars", "communication", "speed", *(("as_described",) if as_buyer else ())):
        page.locator(f"input[name={name}][value='5']").check()
    page.get_by_role("button", name="Submit rating").click()
    expect(page.locator(".messages")).to_contain_text("your rating is saved")


def put_seller_just_below_the_top_tier(seller: User, buyer: User, order: Order, moderator: User) -> None:
    """A moderator's setup adjustment sized so that the seller is one tier below the top
    and one five-star rating of this order lifts them into it."""
    now = timezone.now()
    top = scoring.POLICY.tiers[0]
    # The top tier also needs a number of completed orders (the policy table): the demo
    # seller's history is made long enough first, so the rating is what is missing.
    rows = list(CreditEvent.objects.filter(subject=seller, role="seller").order_by().values_list(*EVENT_COLUMNS))
    needed = tier_min_orders().get("seller", {}).get(top.key, 0)
    for n in range(needed - scoring.completed_orders(evidence_of(rows))):
        credit_event_record(
            subject_id=seller.pk, role="seller", kind="order_completed", positive=1.0, reason=f"earlier sale {n}"
        )
    rows = list(CreditEvent.objects.filter(subject=seller, role="seller").order_by().values_list(*EVENT_COLUMNS))
    evidence = evidence_of(rows)
    rating = scoring.Evidence(
        "next-rating",
        "rating",
        now,
        positive=1.0,
        value_minor=order.amount,
        counterparty=str(buyer.pk),
        rater_score=_current_score(buyer.pk, "buyer"),
    )
    low, high = 0.01, 20.0

    def raw(items: list[scoring.Evidence]) -> float:
        result = scoring.score(items, now=now + dt.timedelta(minutes=5))
        return 1000 * result.alpha / (result.alpha + result.beta)

    for _ in range(60):  # the largest lowering after which the rating still lifts the seller
        size = (low + high) / 2
        adjustment = scoring.Evidence("adj", "adjustment", now, negative=1.0, weight=size)
        if raw([*evidence, adjustment, rating]) >= top.minimum + 0.6:
            low = size
        else:
            high = size
    size = low
    adjustment = scoring.Evidence("adj", "adjustment", now, negative=1.0, weight=size)
    assert raw([*evidence, adjustment]) < top.minimum - 0.6
    credit_adjust(
        moderator=moderator, user_id=seller.pk, role="seller", direction="down", size=size, reason="test setup"
    )


def test_both_parties_rate_the_profile_shows_the_new_tier_and_a_moderator_adjusts(page, browser, live_server):
    call_command("seed_demo")
    cache.clear()  # a TOTP code of this period may have been used already (replay protection)
    seller = User.objects.get(email="seller@example.com")
    buyer = User.objects.get(email="buyer@example.com")
    admin = User.objects.get(email="admin@example.com")
    order = Order.objects.filter(seller_user=seller, buyer=buyer, status=OrderStatus.COMPLETED).first()
    assert order is not None, "the demo has a completed order between the demo buyer and seller"
    put_seller_just_below_the_top_tier(seller, buyer, order, admin)
    top = scoring.POLICY.tiers[0]
    before = seller_tiers_for_users([seller.pk])[seller.pk]
    assert before != top.key
    use_english(page.context, live_server)

    # The buyer rates from the order page.
    log_in(page, "buyer@example.com")
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("link", name="Rate this order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rate the seller")
    rate(page, as_buyer=True)
    expect(page.locator("[data-their-rating]")).to_have_count(0)

    # The seller sees that they were rated, but not how, until they rate too.
    seller_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    use_english(seller_context, live_server)
    seller_page = seller_context.new_page()
    log_in(seller_page, "seller@example.com")
    seller_page.goto(f"/orders/{order.pk}/rate/")
    expect(seller_page.locator("[data-sealed]")).to_be_visible()
    rate(seller_page, as_buyer=False)
    expect(seller_page.locator("[data-their-rating]")).to_contain_text("5 / 5")

    # The buyer now sees the seller's rating of them too.
    page.goto(f"/orders/{order.pk}/rate/")
    expect(page.locator("[data-their-rating]")).to_contain_text("5 / 5")

    # The seller's public profile shows the new tier.
    page.goto(f"/users/{seller.pk}/")
    expect(page.locator('[data-credit-tier="seller"]')).to_have_text(top.label_en)

    # A moderator, logged in with two-factor authentication, adjusts with a reason.
    admin_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    use_english(admin_context, live_server)
    admin_page = admin_context.new_page()
    log_in(admin_page, "admin@example.com", totp=True)
    admin_page.goto(f"/cms-admin/credit/?q={seller.email}")
    admin_page.get_by_role("link", name=re.compile(seller.display_name)).click()
    form = admin_page.locator("form[data-credit-adjust]")
    form.get_by_label("Role").select_option("seller")
    form.get_by_label("Direction").select_option("down")
    form.get_by_label("Size").fill("1.5")
    form.get_by_label("Reason (the user sees it)").fill("Slow replies to buyers in March")
    form.get_by_role("button", name="Record adjustment").click()
    expect(admin_page.get_by_text("Adjustment recorded")).to_be_visible()
    expect(admin_page.get_by_text("Slow replies to buyers in March").first).to_be_visible()

    # The seller sees it in their breakdown.
    seller_page.goto("/my/credit/?role=seller")
    expect(seller_page.locator("[data-moderator-events]")).to_contain_text("Slow replies to buyers in March")
    expect(seller_page.get_by_role("heading", name=re.compile(r"Why is my score \d+"))).to_be_visible()
    seller_context.close()
    admin_context.close()
