"""Green account (绿色账户): CO2e avoided by reuse, estimated from a factor per category
and item type. Pure: dataclasses in, values out, no ORM.

Every factor is a rough estimate with a stated uncertainty; the figures shown are
rounded to two significant digits and always come with a range, never as a precise
measurement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Factor:
    category: str
    item_type: str  # "" applies to the whole category
    kg_co2e: Decimal  # per item
    uncertainty_percent: int  # ± around kg_co2e


@dataclass(frozen=True)
class Estimate:
    items: int  # completed sales counted
    items_without_factor: int  # counted but not estimated (no factor for them)
    kg: Decimal  # central estimate, unrounded
    low_kg: Decimal
    high_kg: Decimal

    @property
    def about_kg(self) -> int:
        return round_significant(self.kg)

    @property
    def low_about_kg(self) -> int:
        return round_significant(self.low_kg)

    @property
    def high_about_kg(self) -> int:
        return round_significant(self.high_kg)

    @property
    def is_empty(self) -> bool:
        return self.items - self.items_without_factor <= 0


EMPTY = Estimate(items=0, items_without_factor=0, kg=Decimal(0), low_kg=Decimal(0), high_kg=Decimal(0))


def round_significant(value: Decimal, digits: int = 2) -> int:
    """123.4 → 120, 8765 → 8800, 0.4 → 0: no more precision than the factors have."""
    if value <= 0:
        return 0
    integer = int(value.to_integral_value(rounding=ROUND_HALF_UP))
    if integer == 0:
        return 0
    drop = max(len(str(integer)) - digits, 0)
    step = Decimal(10) ** drop
    return int((Decimal(integer) / step).to_integral_value(rounding=ROUND_HALF_UP) * step)


def factor_for(factors: Mapping[tuple[str, str], Factor], category: str, item_type: str) -> Factor | None:
    """The factor for the item type, else the category's general one."""
    return factors.get((category, item_type or "")) or factors.get((category, ""))


def estimate(counts: Iterable[tuple[str, str, int]], factors: Iterable[Factor]) -> Estimate:
    """`counts`: (category, item type, number of completed sales)."""
    table = {(f.category, f.item_type): f for f in factors}
    items = missing = 0
    kg = low = high = Decimal(0)
    for category, item_type, number in counts:
        if number <= 0:
            continue
        items += number
        factor = factor_for(table, category, item_type)
        if factor is None:
            missing += number
            continue
        central = factor.kg_co2e * number
        spread = central * Decimal(factor.uncertainty_percent) / 100
        kg += central
        low += max(central - spread, Decimal(0))
        high += central + spread
    return Estimate(items=items, items_without_factor=missing, kg=kg, low_kg=low, high_kg=high)
