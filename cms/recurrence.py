"""Repeating market dates: weekly, every second week, or the n-th weekday of each month
(e.g. "every second Saturday"). Pure: dates in, dates out."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

HORIZON_DAYS = 366  # never generate further ahead than this
MAX_OCCURRENCES = 60


@dataclass(frozen=True)
class RecurrenceRule:
    kind: str  # "none" | "weekly" | "biweekly" | "monthly"
    weekday: int  # Monday = 0
    week_of_month: int  # 1..4, or -1 for the last
    starts: dt.date
    ends: dt.date | None = None


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    """The n-th `weekday` of the month (nth = -1: the last), or None if there is none."""
    days = [
        dt.date(year, month, day)
        for day in range(1, calendar.monthrange(year, month)[1] + 1)
        if dt.date(year, month, day).weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if 1 <= nth <= len(days) else None


def occurrences(rule: RecurrenceRule, *, today: dt.date) -> list[dt.date]:
    """The rule's dates from today (or its start, if later) to its end, at most a year
    ahead and at most MAX_OCCURRENCES of them."""
    if rule.kind not in {"weekly", "biweekly", "monthly"}:
        return []
    first = max(rule.starts, today)
    last = today + dt.timedelta(days=HORIZON_DAYS)
    if rule.ends is not None:
        last = min(last, rule.ends)
    found: list[dt.date] = []
    if rule.kind in {"weekly", "biweekly"}:
        step = 7 if rule.kind == "weekly" else 14
        # Anchored on the rule's start, so "every second week" keeps its rhythm.
        day = rule.starts + dt.timedelta(days=(rule.weekday - rule.starts.weekday()) % 7)
        while day <= last and len(found) < MAX_OCCURRENCES:
            if day >= first:
                found.append(day)
            day += dt.timedelta(days=step)
        return found
    year, month = first.year, first.month
    while dt.date(year, month, 1) <= last and len(found) < MAX_OCCURRENCES:
        day_or_none = nth_weekday(year, month, rule.weekday, rule.week_of_month)
        if day_or_none is not None and first <= day_or_none <= last:
            found.append(day_or_none)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found
