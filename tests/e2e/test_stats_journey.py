"""The demo admin signs in with two-factor authentication, opens the statistics dashboard
in the Wagtail admin on the demo data, narrows it to a period, downloads the CSV report
and finds exactly the trades completed in that period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from marketplace.city.services import day_bounds
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def current_totp_code() -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counters[len(counters) // 2]))


def test_staff_download_the_report_of_a_period_and_it_matches_the_orders(page, live_server):
    call_command("seed_demo")
    cache.clear()  # a code of this period may have been used already (replay protection)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=90), today - dt.timedelta(days=10)
    first, last = day_bounds(start, end)
    expected = list(
        Order.objects.filter(status=OrderStatus.COMPLETED, completed_at__gte=first, completed_at__lt=last).order_by(
            "completed_at", "pk"
        )
    )
    assert len(expected) >= 5, "the demo has past trades in the period"

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto("/accounts/login/")
    page.fill("#id_login", "admin@example.com")
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.fill("#id_code", current_totp_code())
    page.get_by_role("button", name="Sign In").click()

    page.goto("/cms-admin/")
    page.get_by_role("link", name="Statistics").first.click()
    expect(page).to_have_url(re.compile(r"/cms-admin/city/statistics/$"))
    expect(page.locator("h1")).to_contain_text("Statistics")
    expect(page.locator("svg.city-chart").first).to_be_visible()
    expect(page.get_by_role("heading", name="Appraisal and grading")).to_be_visible()

    page.fill("#id_start", start.isoformat())
    page.fill("#id_end", end.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"start={start.isoformat()}"))

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"xunhuan-trades-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    text = download.path().read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:2] == ["Order", "Completed on"]
    assert [int(row[0]) for row in rows] == [order.pk for order in expected]
    assert sum(int(row[6]) for row in rows) == sum(order.amount for order in expected)
    assert all(start.isoformat() <= row[1] <= end.isoformat() for row in rows)
