"""Fair price bands: integer money, comparables first, 成新率 for vehicles."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grading.valuation import ValuationInput, ValuationParams, ValuationUnavailable, value

PHONE = ValuationParams(annual_depreciation_percent=25, band_percent=15, grade_multipliers={"A": 100, "C": 80})
CAR = ValuationParams(
    annual_depreciation_percent=0,
    floor_percent=5,
    useful_life_years=15,
    band_percent=10,
    grade_multipliers={"二级": 100},
)


def test_the_median_of_five_comparable_sales_is_the_base():
    band = value(ValuationInput("electronics", PHONE, comparable_prices=[300000, 310000, 250000, 900000, 320000]))
    assert (band.method, band.base, band.fair) == ("comparables", 310000, 310000)
    assert (band.low, band.high) == (263500, 356500)
    assert band.comparables_used == 5


def test_fewer_than_five_comparables_fall_back_to_depreciation_with_the_grade_multiplier():
    band = value(
        ValuationInput(
            "electronics",
            PHONE,
            reference_new_price=599900,
            age_years=Decimal(2),
            comparable_prices=[1, 2, 3, 4],
            grade="C",
        )
    )
    # 5999.00 × 0.75² = 3374.44; × 80% = 2699.55
    assert (band.method, band.base, band.fair) == ("depreciation", 337444, 269955)


def test_vehicles_use_the_years_used_method():
    # 150,000 yuan replacement cost, 6 of 15 years used: 成新率 60% → 90,000 yuan
    band = value(ValuationInput("vehicles", CAR, reference_new_price=15_000_000, age_years=Decimal(6), grade="二级"))
    assert (band.method, band.fair, band.low, band.high) == ("years_used", 9_000_000, 8_100_000, 9_900_000)


def test_very_old_items_keep_the_floor_value():
    band = value(ValuationInput("vehicles", CAR, reference_new_price=10_000_000, age_years=Decimal(30)))
    assert band.base == 500_000


def test_no_information_no_band():
    with pytest.raises(ValuationUnavailable):
        value(ValuationInput("books", PHONE))


def test_position_of_an_asking_price():
    band = value(ValuationInput("electronics", PHONE, comparable_prices=[100000] * 5))
    assert [band.position_of(p) for p in (80000, 100000, 130000)] == ["below", "within", "above"]


@given(st.integers(1, 10**9), st.decimals(0, 40, places=2), st.sampled_from(["books", "electronics", "vehicles"]))
def test_bands_are_ordered_integers_and_older_is_never_worth_more(price, age, category):
    params = CAR if category == "vehicles" else PHONE
    young = value(ValuationInput(category, params, reference_new_price=price, age_years=age))
    old = value(ValuationInput(category, params, reference_new_price=price, age_years=age + 1))
    assert all(isinstance(x, int) for x in (young.low, young.fair, young.high))
    assert 1 <= young.low <= young.fair <= young.high
    assert old.fair <= young.fair
