"""A seller's tier needs completed orders as well as a score: after one ¥45 sale a new
seller is not "excellent" with a top-rated badge, whatever the five stars say. The
minimums are rows of the staff-edited policy table, explained on "My credit", and a staff
edit of them changes who holds which tier."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.credit import scoring
from marketplace.credit.badges import seller_tier_badges
from marketplace.credit.models import CreditScore, TierEffect
from marketplace.credit.selectors import credit_breakdown, prior_tier, public_credit, seller_tiers_for_users
from marketplace.credit.services import credit_event_record, rating_submit
from marketplace.models import OrderStatus
from marketplace.services.orders import order_handover_confirm, order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


def sell_once(seller, buyer, price=4500):
    listing = published_listing(seller=seller, price=price, title="红楼梦 全四册")
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order = order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    assert order.status == OrderStatus.COMPLETED
    for user in (buyer, seller):  # both rate five stars: the ratings are revealed and count
        extra = {"as_described": 5} if user == buyer else {}
        rating_submit(user=user, order_id=order.pk, stars=5, communication=5, speed=5, **extra)
    return listing


def client_for(user):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_the_policy_table_starts_with_minimums_for_the_top_tiers():
    rows = TierEffect.objects.filter(effect="min_completed_orders", active=True)
    assert {(row.role, row.tier): row.limit for row in rows} == {
        ("seller", "excellent"): 20,
        ("seller", "good"): 5,
        ("shop", "excellent"): 20,
        ("shop", "good"): 5,
    }


def test_one_small_sale_does_not_make_a_top_rated_seller():
    seller, buyer = UserFactory(display_name="新卖家"), UserFactory()
    listing = sell_once(seller, buyer)

    stored = CreditScore.objects.get(user=seller, role="seller")
    by_score = scoring.POLICY.tier_for(stored.score)
    assert by_score.key in ("excellent", "good")  # five stars: the score alone would say so
    assert stored.tier == "fair" == seller_tiers_for_users([seller.pk])[seller.pk]
    assert seller_tier_badges([listing]) == {}
    assert public_credit(user=seller).badges == []
    assert "Top-rated seller" not in client_for(buyer).get(f"/listings/{listing.pk}/").content.decode()

    # "My credit" says why, and what the next tier needs.
    breakdown = credit_breakdown(user=seller, role="seller")
    assert (breakdown.tier.key, breakdown.completed_orders) == ("fair", 1)
    assert breakdown.score_tier is not None and breakdown.score_tier.key == by_score.key
    page = client_for(seller).get("/my/credit/?role=seller").content.decode()
    assert f"but that tier also needs at least {breakdown.score_tier_orders} completed orders; you have 1." in page
    assert "Next tier: Good from 800 points and at least 5 completed orders." in page
    assert "needs at least 5 completed orders (you have 1): 4 more to go." in page


def test_a_newcomer_without_sales_shows_the_tier_below_those_needing_orders():
    newcomer = UserFactory()
    assert prior_tier("seller").key == "fair"
    assert seller_tiers_for_users([newcomer.pk]) == {newcomer.pk: "fair"}
    # Roles without minimums in the table keep the prior's own tier.
    assert prior_tier("technician").key == scoring.score([], now=timezone.now()).tier.key == "good"


def test_enough_completed_orders_reach_the_tier_the_score_gives():
    seller, buyer = UserFactory(), UserFactory()
    for n in range(19):
        credit_event_record(subject_id=seller.pk, role="seller", kind="order_completed", positive=1.0, reason=str(n))
    listing = sell_once(seller, buyer)
    stored = CreditScore.objects.get(user=seller, role="seller")
    assert stored.tier == scoring.POLICY.tier_for(stored.score).key == "excellent"
    assert [badge.label for badge in seller_tier_badges([listing])[listing.pk]] == ["Top-rated seller"]


def test_a_staff_edit_of_the_minimum_takes_effect():
    seller, buyer = UserFactory(), UserFactory()
    sell_once(seller, buyer)
    assert CreditScore.objects.get(user=seller, role="seller").tier == "fair"
    staff = client_for(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    for tier in ("excellent", "good"):
        row = TierEffect.objects.get(role="seller", tier=tier, effect="min_completed_orders")
        url = f"/cms-admin/snippets/credit/tiereffect/edit/{row.pk}/"
        assert staff.get(url).status_code == 200
        form = {"role": "seller", "tier": tier, "effect": "min_completed_orders", "limit": "1", "active": "on"}
        response = staff.post(url, {**form, "note": "One sale is enough here."})
        assert response.status_code == 302, response.content.decode()[:2000]
        row.refresh_from_db()
        assert row.limit == 1

    stored = CreditScore.objects.get(user=seller, role="seller")
    assert stored.tier == scoring.POLICY.tier_for(stored.score).key != "fair"


def test_a_minimum_without_a_number_is_refused_with_a_clear_error():
    staff = client_for(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    row = TierEffect.objects.get(role="seller", tier="excellent", effect="min_completed_orders")
    response = staff.post(
        f"/cms-admin/snippets/credit/tiereffect/edit/{row.pk}/",
        {"role": "seller", "tier": "excellent", "effect": "min_completed_orders", "limit": "", "active": "on"},
    )
    assert response.status_code == 200
    assert "Give the number of completed orders the tier needs" in response.content.decode()
    row.refresh_from_db()
    assert row.limit == 20
