"""Repeating market dates (pure; no database)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cms.recurrence import HORIZON_DAYS, MAX_OCCURRENCES, RecurrenceRule, nth_weekday, occurrences

SATURDAY = 5


def test_every_second_saturday_of_the_month():
    rule = RecurrenceRule(kind="monthly", weekday=SATURDAY, week_of_month=2, starts=dt.date(2026, 1, 1))
    found = occurrences(rule, today=dt.date(2026, 1, 1))[:4]
    assert found == [dt.date(2026, 1, 10), dt.date(2026, 2, 14), dt.date(2026, 3, 14), dt.date(2026, 4, 11)]


def test_the_last_sunday_and_a_missing_fifth_weekday():
    assert nth_weekday(2026, 2, 6, -1) == dt.date(2026, 2, 22)
    assert nth_weekday(2026, 2, 0, 5) is None


def test_every_second_week_keeps_its_rhythm_from_the_start():
    rule = RecurrenceRule(kind="biweekly", weekday=SATURDAY, week_of_month=1, starts=dt.date(2026, 1, 3))
    assert occurrences(rule, today=dt.date(2026, 1, 12))[:2] == [dt.date(2026, 1, 17), dt.date(2026, 1, 31)]


def test_no_rule_no_dates_and_the_end_date_is_respected():
    assert occurrences(RecurrenceRule("none", 5, 2, dt.date(2026, 1, 1)), today=dt.date(2026, 1, 1)) == []
    rule = RecurrenceRule(
        kind="weekly", weekday=SATURDAY, week_of_month=1, starts=dt.date(2026, 1, 1), ends=dt.date(2026, 1, 17)
    )
    assert occurrences(rule, today=dt.date(2026, 1, 1)) == [
        dt.date(2026, 1, 3),
        dt.date(2026, 1, 10),
        dt.date(2026, 1, 17),
    ]


@given(
    kind=st.sampled_from(["weekly", "biweekly", "monthly"]),
    weekday=st.integers(0, 6),
    nth=st.sampled_from([1, 2, 3, 4, -1]),
    starts=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
    offset=st.integers(-400, 400),
)
def test_dates_are_on_the_weekday_in_the_window_and_bounded(kind, weekday, nth, starts, offset):
    today = starts + dt.timedelta(days=offset)
    found = occurrences(RecurrenceRule(kind, weekday, nth, starts), today=today)
    assert len(found) <= MAX_OCCURRENCES
    assert found == sorted(set(found))
    for day in found:
        assert day.weekday() == weekday
        assert max(starts, today) <= day <= today + dt.timedelta(days=HORIZON_DAYS)
