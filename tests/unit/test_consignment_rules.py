"""The arithmetic of consignment agreements: tiers, markdowns and floors, who bears a
discount. No database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from marketplace.consignment.rules import (
    Bearer,
    Step,
    Terms,
    Tier,
    check_terms,
    consignor_amount,
    consignor_share_bp,
    floor_for,
    markdown_price,
    share_bp_for,
)
from marketplace.consignment.templatetags.consignment_tags import format_percent

# 60 % up to ¥500, 70 % above; −10 % at 30 days, −20 % at 60 days; floor 85 % of the original.
TERMS = Terms(
    tiers=(Tier(50_000, 6000), Tier(None, 7000)),
    steps=(Step(30, 1000), Step(60, 2000)),
    floor_percent_bp=8500,
    expiry_days=90,
)


def test_the_tier_follows_the_original_price_and_covers_the_whole_price():
    assert share_bp_for(TERMS, 50_000) == 6000
    assert share_bp_for(TERMS, 50_001) == 7000
    assert consignor_amount(TERMS, 80_000, 80_000) == 56_000  # 70 % of all of ¥800, not marginal


def test_markdowns_follow_the_days_on_sale_and_stop_at_the_floor():
    assert markdown_price(TERMS, 10_000, 29) == 10_000
    assert markdown_price(TERMS, 10_000, 30) == 9_000
    assert markdown_price(TERMS, 10_000, 61) == 8_500  # −20 % would be ¥80, the floor is ¥85
    absolute = Terms(tiers=TERMS.tiers, steps=TERMS.steps, floor_price=9_500)
    assert markdown_price(absolute, 10_000, 31) == 9_500
    # A floor above the original price never raises it.
    assert floor_for(Terms(tiers=TERMS.tiers, floor_price=20_000), 10_000) == 10_000


def test_who_bears_the_discount_changes_the_consignors_amount():
    original, sale = 10_000, 8_000  # ¥100 item sold for ¥80; consignor rate 60 %
    shared = Terms(tiers=(Tier(None, 6000),), bearer=Bearer.SHARED)
    shop = Terms(tiers=(Tier(None, 6000),), bearer=Bearer.SHOP)
    consignor = Terms(tiers=(Tier(None, 6000),), bearer=Bearer.CONSIGNOR)
    assert consignor_amount(shared, original, sale) == 4_800  # 60 % of ¥80
    assert consignor_amount(shop, original, sale) == 6_000  # 60 % of ¥100: the shop gets only ¥20
    assert consignor_amount(consignor, original, sale) == 4_000  # the shop keeps its ¥40
    assert consignor_share_bp(shop, original, sale) == 7_500
    assert consignor_share_bp(shop, 10_000, 9_000) == 6_667  # ¥60 of ¥90, rounded up: the ledger pays ¥60.00
    # No discount: every bearer gives the same.
    assert {consignor_amount(t, original, original) for t in (shared, shop, consignor)} == {6_000}


@given(
    original=st.integers(min_value=1, max_value=10**9),
    sale=st.integers(min_value=1, max_value=10**9),
    share=st.integers(min_value=0, max_value=10_000),
    bearer=st.sampled_from(list(Bearer)),
)
def test_the_consignor_never_gets_more_than_the_sale_or_less_than_nothing(original, sale, share, bearer):
    terms = Terms(tiers=(Tier(None, share),), bearer=bearer)
    amount = consignor_amount(terms, original, sale)
    assert 0 <= amount <= sale
    share_bp = consignor_share_bp(terms, original, sale)
    assert 0 <= share_bp <= 10_000
    # Applied by the ledger (rounding down), the rate gives the amount to within a fen per ¥100.
    assert amount <= sale * share_bp // 10_000 <= amount + sale // 10_000


@given(original=st.integers(min_value=1, max_value=10**9), days=st.integers(min_value=0, max_value=400))
def test_a_markdown_never_goes_below_the_floor_nor_above_the_original(original, days):
    price = markdown_price(TERMS, original, days)
    assert floor_for(TERMS, original) <= price <= original


def test_invalid_terms_are_reported_with_codes():
    bad = Terms(
        tiers=(Tier(50_000, 6000), Tier(50_000, 12_000)),
        steps=(Step(30, 2000), Step(60, 1000), Step(120, 3000)),
        floor_price=100,
        floor_percent_bp=5000,
        expiry_days=90,
    )
    codes = {problem.code for problem in check_terms(bad)}
    assert codes >= {
        "one_open_tier",
        "duplicate_tier",
        "share_range",
        "discount_increasing",
        "one_floor",
        "step_after_expiry",
    }
    assert check_terms(TERMS) == []


def test_percentages_are_shown_without_floats():
    assert format_percent(6000) == "60%"
    assert format_percent(6050) == "60.5%"
    assert format_percent(1234) == "12.34%"
