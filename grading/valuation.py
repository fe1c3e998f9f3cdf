"""Fair price bands. Pure: money in integer minor units, arithmetic in Decimal.

base price:
  - the median of at least five comparable sales, when there are that many;
  - vehicles: replacement cost × 成新率 by the years-used method,
    成新率 = (1 − years used / useful life), useful life 15 years by default
    (GB/T 30323-2013 appendix: 使用年限法);
  - otherwise the reference new price × (1 − annual depreciation)^age, not below a floor.
Then × the grade multiplier, ± the band."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

MIN_COMPARABLES = 5
Method = Literal["comparables", "years_used", "depreciation"]


@dataclass(frozen=True)
class ValuationParams:
    annual_depreciation_percent: int
    floor_percent: int = 10
    useful_life_years: int = 15
    band_percent: int = 15
    grade_multipliers: Mapping[str, int] | None = None  # percent per grade key


@dataclass(frozen=True)
class ValuationInput:
    category: str
    params: ValuationParams
    reference_new_price: int | None = None  # minor units; for vehicles the replacement cost
    age_years: Decimal | None = None
    comparable_prices: Sequence[int] = ()
    grade: str | None = None


@dataclass(frozen=True)
class Valuation:
    low: int
    fair: int
    high: int
    base: int
    method: Method
    multiplier_percent: int
    comparables_used: int = 0

    def position_of(self, price: int) -> Literal["below", "within", "above"]:
        if price < self.low:
            return "below"
        if price > self.high:
            return "above"
        return "within"


class ValuationUnavailable(ValueError):
    """Not enough information for a band (no comparables and no reference price)."""


def _money(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def base_price(data: ValuationInput) -> tuple[Decimal, Method]:
    if len(data.comparable_prices) >= MIN_COMPARABLES:
        return Decimal(statistics.median(sorted(data.comparable_prices))), "comparables"
    if data.reference_new_price is None or data.age_years is None:
        raise ValuationUnavailable("needs five comparable sales, or a reference new price and an age")
    reference = Decimal(data.reference_new_price)
    age = max(Decimal(0), data.age_years)
    floor = Decimal(data.params.floor_percent) / 100
    if data.category == "vehicles":
        life = Decimal(data.params.useful_life_years)
        newness = max(floor, Decimal(1) - age / life)  # 成新率
        return reference * newness, "years_used"
    keep = Decimal(1) - Decimal(data.params.annual_depreciation_percent) / 100
    factor = max(floor, keep ** int(age) * (Decimal(1) - (Decimal(1) - keep) * (age - int(age))))
    return reference * factor, "depreciation"


def value(data: ValuationInput) -> Valuation:
    """The fair price band for one item."""
    base, method = base_price(data)
    multipliers = data.params.grade_multipliers or {}
    multiplier = int(multipliers.get(data.grade or "", 100)) if method != "comparables" else 100
    fair = base * Decimal(multiplier) / 100
    spread = fair * Decimal(data.params.band_percent) / 100
    return Valuation(
        low=max(1, _money(fair - spread)),
        fair=max(1, _money(fair)),
        high=max(1, _money(fair + spread)),
        base=_money(base),
        method=method,
        multiplier_percent=multiplier,
        comparables_used=len(data.comparable_prices) if method == "comparables" else 0,
    )
