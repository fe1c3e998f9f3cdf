"""The pure pieces of the city app: relocation rules, green-account arithmetic, periods,
medians and the SVG charts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.city.charts import bar_chart, column_chart
from marketplace.city.green import Factor, estimate, round_significant
from marketplace.city.periods import Period, last_months, median_from_histogram, rate_percent
from marketplace.city.relocation import EMISSION_ORDER, accepted_standards, can_register


def test_a_city_accepts_its_minimum_and_everything_cleaner():
    assert accepted_standards("cn5") == ["cn5", "cn6a", "cn6b", "ev"]
    assert accepted_standards("cn6b") == ["cn6b", "ev"]
    assert can_register("cn6a", "cn5")
    assert can_register("ev", "cn6b")
    assert not can_register("cn4", "cn5")
    assert not can_register("mystery", "cn3")


def test_an_unknown_minimum_is_an_error_not_a_silent_yes():
    with pytest.raises(ValueError, match="unknown emission standard"):
        accepted_standards("cn9")


@given(st.sampled_from(EMISSION_ORDER), st.sampled_from(EMISSION_ORDER))
def test_can_register_agrees_with_accepted_standards(standard, minimum):
    assert can_register(standard, minimum) == (standard in accepted_standards(minimum))


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("0.4", 0), ("7", 7), ("123.4", 120), ("125", 130), ("8765", 8800), ("99.6", 100), ("0", 0)],
)
def test_estimates_are_rounded_to_two_significant_digits(value, rounded):
    assert round_significant(Decimal(value)) == rounded


FACTORS = [
    Factor("electronics", "", Decimal("40"), 70),
    Factor("electronics", "phone", Decimal("30"), 50),
    Factor("books", "", Decimal("1"), 50),
]


def test_estimate_uses_the_item_type_then_the_category_and_states_a_range():
    result = estimate([("electronics", "phone", 3), ("electronics", "laptop", 1), ("books", "", 10)], FACTORS)
    # 3×30 + 1×40 (category factor) + 10×1
    assert result.kg == Decimal("140")
    assert result.low_kg == Decimal("45") + Decimal("12") + Decimal("5")
    assert result.high_kg == Decimal("135") + Decimal("68") + Decimal("15")
    assert (result.about_kg, result.low_about_kg, result.high_about_kg) == (140, 62, 220)
    assert result.items == 14 and result.items_without_factor == 0


def test_items_without_a_factor_are_counted_but_not_estimated():
    result = estimate([("vehicles", "", 2), ("books", "", 4)], FACTORS)
    assert result.items == 6
    assert result.items_without_factor == 2
    assert result.kg == Decimal("4")
    assert not result.is_empty
    assert estimate([("vehicles", "", 2)], FACTORS).is_empty


@given(
    st.lists(st.tuples(st.sampled_from(["electronics", "books"]), st.sampled_from(["", "phone"]), st.integers(0, 500)))
)
def test_the_range_always_contains_the_estimate(counts):
    result = estimate(counts, FACTORS)
    assert 0 <= result.low_kg <= result.kg <= result.high_kg


def test_periods_and_months():
    period = Period(dt.date(2026, 1, 15), dt.date(2026, 3, 2))
    assert period.days == 47
    assert period.months() == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert last_months(dt.date(2026, 3, 10), 12) == Period(dt.date(2025, 4, 1), dt.date(2026, 3, 10))
    with pytest.raises(ValueError, match="ends before"):
        Period(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_median_from_a_histogram():
    assert median_from_histogram({}) is None
    assert median_from_histogram({5: 1}) == 5
    assert median_from_histogram({1: 2, 10: 1}) == 1
    assert median_from_histogram({1: 1, 3: 1}) == 2
    assert median_from_histogram({2: 3, 4: 1, 30: 2}) == 3


@given(st.lists(st.integers(0, 60), min_size=1, max_size=50))
def test_median_from_histogram_matches_the_median_of_the_values(values):
    import statistics

    histogram: dict[int, int] = {}
    for value in values:
        histogram[value] = histogram.get(value, 0) + 1
    assert median_from_histogram(histogram) == statistics.median(values)


def test_rates():
    assert rate_percent(1, 8) == 12.5
    assert rate_percent(3, 0) is None


def test_charts_are_plain_svg_with_escaped_labels_and_no_inline_style_or_script():
    svg = bar_chart([("<b>书</b>", 10), ("Phones", 5)], title="Trades & value")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "&lt;b&gt;书&lt;/b&gt;" in svg and "<b>" not in svg
    assert "Trades &amp; value" in svg
    assert "style=" not in svg and "<script" not in svg and " on" not in svg.replace("font", "")
    # The largest value gets the full width, the others their share.
    assert 'width="300" height="22"' in svg and 'width="150" height="22"' in svg
    columns = column_chart([("01", 0), ("02", 4)], title="By month")
    assert columns.count("<rect") == 2 and "style=" not in columns
    assert "–" in bar_chart([], title="empty")
