"""Reporting periods and the small pieces of arithmetic the statistics need. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    """Whole local days, both ends included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[dt.date]:
        """First day of every month the period touches."""
        found = []
        month = self.start.replace(day=1)
        while month <= self.end:
            found.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return found


def last_months(today: dt.date, count: int) -> Period:
    """The `count` calendar months up to and including today's."""
    start = today.replace(day=1)
    for _ in range(count - 1):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return Period(start=start, end=today)


def median_from_histogram(histogram: Mapping[int, int]) -> float | None:
    """Median of a distribution given as value → count (the lower-upper midpoint for an
    even total). None when empty."""
    total = sum(count for count in histogram.values() if count > 0)
    if total == 0:
        return None
    ordered = sorted((value, count) for value, count in histogram.items() if count > 0)

    def nth(index: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return value
        raise AssertionError("index beyond total")  # pragma: no cover

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def rate_percent(part: int, whole: int) -> float | None:
    """A share in percent with one decimal, None when there is nothing to divide by."""
    if whole <= 0:
        return None
    return round(part * 100 / whole, 1)


def merge_counts(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for value, count in pairs:
        merged[value] = merged.get(value, 0) + count
    return merged
