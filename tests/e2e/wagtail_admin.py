"""Helpers for driving the Wagtail admin's own widgets in browser tests."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

# The calendar of Wagtail's date, time and date-time fields (the vendored jquery.datetimepicker).
DATE_PICKER = ".xdsoft_datetimepicker"


def fill_wagtail_date(field: Locator, value: str) -> None:
    """Type into a Wagtail admin date/date-time field and close its calendar again.

    The calendar opens on a 100 ms timer started when the field gains focus, and the timer
    does not check whether the field still has focus when it fires. Filling the next field
    straight away therefore leaves the calendar open until something is clicked outside it.
    It is placed once, under or over wherever the field was at that instant (the admin is
    still smooth-scrolling a newly added inline panel into view), and at z-index 500 it
    covers the page footer (z-index 32) when it lands there: then it takes the click meant
    for "More actions". So wait until it has opened, then leave the field (the calendar
    closes on blur and on Tab; it ignores Escape) and wait until it is hidden."""
    open_calendar = field.page.locator(f"{DATE_PICKER}:visible")
    field.fill(value)
    expect(open_calendar).to_have_count(1)
    field.blur()
    expect(open_calendar).to_have_count(0)
    expect(field).to_have_value(value)
