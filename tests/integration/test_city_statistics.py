"""Trade statistics: the nightly rollup, the staff dashboard, the public summary and the
commerce-bureau export (CSV and XLSX) — the export of a period matches its orders."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.city.models import RollupRun, TradeRollup
from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection, StatsTable
from marketplace.city.selectors import trade_summary
from marketplace.city.services import rollup_refresh, rollup_refresh_recent
from marketplace.city.synthetic import PastTrade, past_trades_create
from marketplace.city.tasks import stats_rollup_task
from marketplace.models import Dispute, DisputeKind, Order, OrderStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def trade(category, item_type, district, amount, completed, *, listed_days=3, status=OrderStatus.COMPLETED, **extra):
    completed_at = at(completed) if isinstance(completed, str) else completed
    ordered_at = completed_at - dt.timedelta(days=1)
    return PastTrade(
        category=category,
        item_type=item_type,
        city="上海市",
        district=district,
        amount=amount,
        published_at=ordered_at - dt.timedelta(days=listed_days),
        ordered_at=ordered_at,
        completed_at=completed_at,
        status=status,
        **extra,
    )


@pytest.fixture
def parties():
    return UserFactory(display_name="卖家"), UserFactory(display_name="买家")


@pytest.fixture
def history(parties):
    seller, buyer = parties
    trades = [
        trade("electronics", "phone", "徐汇区", 250_000, "2026-01-05", listed_days=2),
        trade("electronics", "laptop", "徐汇区", 480_000, "2026-01-20", listed_days=10),
        trade("books", "", "静安区", 4_500, "2026-01-31", listed_days=1),
        trade("furniture", "sofa", "徐汇区", 120_000, "2026-02-14", listed_days=30),
        trade("books", "", "徐汇区", 3_000, "2026-02-28", listed_days=4),
        # Just before midnight local time on the last day: inside the period.
        trade("books", "", "徐汇区", 1_200, at("2026-02-28", 23) + dt.timedelta(minutes=59)),
        # Outside the period.
        trade("books", "", "徐汇区", 9_900, "2025-12-31"),
        trade("books", "", "徐汇区", 9_900, at("2026-03-01", 0)),
        # Undone: refunded after completion, and one still in a return.
        trade("electronics", "phone", "徐汇区", 99_000, "2026-01-10", status=OrderStatus.REFUNDED),
        trade(
            "electronics",
            "tablet",
            "静安区",
            77_000,
            "2026-02-03",
            status=OrderStatus.RETURN_REQUESTED,
            returned_at=at("2026-02-05"),
        ),
    ]
    return past_trades_create(trades=trades, seller=seller, buyer=buyer, key_prefix="t-")


PERIOD = Period(dt.date(2026, 1, 1), dt.date(2026, 2, 28))


def expected_orders(district: str | None = None) -> list[Order]:
    start = at("2026-01-01", 0)
    end = at("2026-03-01", 0)
    orders = Order.objects.filter(status=OrderStatus.COMPLETED, completed_at__gte=start, completed_at__lt=end)
    if district:
        orders = orders.filter(listing__district=district)
    return list(orders.order_by("completed_at", "pk"))


def test_rollup_counts_trades_value_days_to_sell_and_rates(history, parties):
    Dispute.objects.create(
        order=history[1], opened_by=parties[1], kind=DisputeKind.NOT_AS_DESCRIBED, description="屏幕有划痕"
    )
    Dispute.objects.filter(order=history[1]).update(created_at=at("2026-01-25"))
    run = rollup_refresh(first_day=dt.date(2025, 12, 1), last_day=dt.date(2026, 3, 31))
    assert run.rows > 0

    summary = trade_summary(period=PERIOD, area=Area())
    assert summary.total.trades == 6
    assert summary.total.value == {"CNY": 250_000 + 480_000 + 4_500 + 120_000 + 3_000 + 1_200}
    by_category = {f.key: f for f in summary.by_category}
    assert by_category["electronics"].trades == 2
    assert by_category["books"].trades == 3
    assert by_category["vehicles"].trades == 0
    # Days from publication to order: 2 and 10 for electronics, 1, 4 and 3 for books.
    assert by_category["electronics"].median_days_to_sell == 6
    assert by_category["books"].median_days_to_sell == 3
    assert summary.total.median_days_to_sell == 3.5
    # Delivered in the period: every order handed over inside it (completed or not).
    assert summary.total.delivered == 8
    assert summary.total.returns == 1 and summary.total.return_rate == 12.5
    assert summary.total.disputes == 1 and summary.total.dispute_rate == 12.5
    assert [(f.label, f.trades) for f in summary.by_month] == [("2026-01", 3), ("2026-02", 3)]
    assert {f.label: f.trades for f in summary.by_area} == {"上海市 徐汇区": 5, "上海市 静安区": 1}

    xuhui = trade_summary(period=PERIOD, area=Area("上海市", "徐汇区"))
    assert xuhui.total.trades == 5


def test_a_refund_after_completion_leaves_the_figures_when_the_day_is_recomputed(history):
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    assert trade_summary(period=PERIOD, area=Area()).total.trades == 6
    # Historical rows only: a real refund goes through the order services.
    Order.objects.filter(pk=history[0].pk).update(status=OrderStatus.REFUNDED)
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    assert trade_summary(period=PERIOD, area=Area()).total.trades == 5
    assert TradeRollup.objects.filter(day__lt=dt.date(2026, 1, 1)).count() == 0


def test_the_nightly_task_backfills_then_keeps_a_window_and_is_in_the_beat_schedule(history, time_machine):
    time_machine.move_to(at("2026-03-10"))
    stats_rollup_task.delay()
    first = RollupRun.objects.get()
    assert first.first_day == dt.date(2025, 12, 30)  # the first order, then the whole history
    assert trade_summary(period=PERIOD, area=Area()).total.trades == 6
    again = rollup_refresh_recent()
    assert again.first_day == dt.date(2026, 3, 10) - dt.timedelta(days=settings.CITY_ROLLUP_WINDOW_DAYS)
    assert trade_summary(period=PERIOD, area=Area()).total.trades == 6
    schedule = settings.CELERY_BEAT_SCHEDULE["city-stats-rollup"]
    assert schedule["task"] == "marketplace.city.tasks.stats_rollup_task"


# --- the staff dashboard and the export ----------------------------------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    client.cookies["django_language"] = "en"
    return client


QUERY = {"start": "2026-01-01", "end": "2026-02-28", "area": ""}


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_of_a_period_matches_its_orders(history, staff_client):
    response = staff_client.get(reverse("city_statistics_export", args=("csv",)), QUERY)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="xunhuan-trades-20260101-20260228.csv"' in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[0] == "Order" and header[6] == "Amount (minor units)"
    expected = expected_orders()
    assert [int(row[0]) for row in rows] == [order.pk for order in expected]
    assert sum(int(row[6]) for row in rows) == sum(order.amount for order in expected)
    assert len(rows) == 6
    assert rows[-1][1] == "2026-02-28"  # 23:59 local time is still the 28th
    # No personal data: neither party's name nor e-mail is in the file.
    body = "\n".join(",".join(row) for row in rows)
    assert "卖家" not in body and "买家" not in body and "@" not in body


def test_csv_export_for_a_district(history, staff_client):
    response = staff_client.get(reverse("city_statistics_export", args=("csv",)), {**QUERY, "area": "上海市|静安区"})
    _header, *rows = read_csv(response)
    expected = expected_orders("静安区")
    assert [int(row[0]) for row in rows] == [order.pk for order in expected]
    assert {row[5] for row in rows} == {"静安区"}


def test_xlsx_export_has_a_summary_that_agrees_with_its_trades(history, staff_client):
    from openpyxl import load_workbook

    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    response = staff_client.get(reverse("city_statistics_export", args=("xlsx",)), QUERY)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames[:2] == ["Summary", "Trades"]
    assert "Appraisal and grading" in book.sheetnames and "Data-erasure certificates" in book.sheetnames
    trades = list(book["Trades"].iter_rows(values_only=True))[1:]
    expected = expected_orders()
    assert [row[0] for row in trades] == [order.pk for order in expected]
    assert sum(row[6] for row in trades) == sum(order.amount for order in expected)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if len(row) > 1 and row[0]}
    assert summary["Trades"] == 6
    assert summary["Value (CNY)"] == 8587


def test_xlsx_export_writes_money_as_numbers_and_dates_as_dates(history, staff_client):
    """A spreadsheet can add up the amounts and sort by date: numbers with a two-decimal
    format, dates with a date format, no text standing in for either."""
    from openpyxl import load_workbook

    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    response = staff_client.get(reverse("city_statistics_export", args=("xlsx",)), QUERY)
    book = load_workbook(io.BytesIO(response.content))
    header, *trades = list(book["Trades"].iter_rows())
    assert [cell.value for cell in header][1] == "Completed on" and header[7].value == "Amount"
    expected = expected_orders()
    for row, order in zip(trades, expected, strict=True):
        assert row[1].is_date and row[1].number_format == "yyyy-mm-dd"
        assert row[1].value.date() == order.completed_at.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
        assert row[7].data_type == "n" and row[7].number_format == "#,##0.00"
        assert row[7].value * 100 == order.amount
    summary = {row[0].value: row for row in book["Summary"].iter_rows() if row[0].value}
    assert summary["Period"][1].is_date and summary["Period"][1].value.date() == dt.date(2026, 1, 1)
    value = summary["Value (CNY)"][1]
    assert value.data_type == "n" and value.number_format == "#,##0.00" and value.value == 8587


def test_an_invalid_period_is_refused_with_a_message(history, staff_client):
    response = staff_client.get(
        reverse("city_statistics_export", args=("csv",)), {"start": "2026-03-01", "end": "2026-01-01"}
    )
    assert response.status_code == 302
    page = staff_client.get(reverse("city_statistics_dashboard"), {"start": "2026-03-01", "end": "2026-01-01"})
    assert "The period ends before it starts." in page.content.decode()
    assert staff_client.get(reverse("city_statistics_export", args=("pdf",)), QUERY).status_code == 404


def test_dashboard_shows_figures_charts_and_provider_sections(history, staff_client):
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    page = staff_client.get(reverse("city_statistics_dashboard"), QUERY).content.decode()
    assert 'data-total="trades">6<' in page
    assert page.count("<svg") >= 5
    assert "<script" not in page.split("<main", 1)[-1].split("</main>", 1)[0]
    assert "Appraisal and grading" in page and "Data-erasure certificates" in page
    assert "export.csv?start=2026-01-01" in page


def test_dashboard_runs_a_fixed_number_of_queries_whatever_the_number_of_trades(
    parties, staff_client, django_assert_num_queries
):
    seller, buyer = parties
    past_trades_create(
        trades=[trade("books", "", "徐汇区", 1_000, "2026-01-05")], seller=seller, buyer=buyer, key_prefix="a-"
    )
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    url = reverse("city_statistics_dashboard")
    with CaptureQueriesContext(connection) as baseline:
        assert staff_client.get(url, QUERY).status_code == 200
    more = [
        trade(category, kind, district, 1_000 + n, f"2026-02-{1 + n % 27:02d}")
        for n, (category, kind, district) in enumerate(
            [("electronics", "phone", "静安区"), ("furniture", "sofa", "浦东新区"), ("books", "", "闵行区")] * 8
        )
    ]
    past_trades_create(trades=more, seller=seller, buyer=buyer, key_prefix="b-")
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    with django_assert_num_queries(len(baseline.captured_queries)):
        page = staff_client.get(url, QUERY).content.decode()
    assert 'data-total="trades">25<' in page


def test_export_runs_a_fixed_number_of_queries(parties, staff_client, django_assert_num_queries):
    seller, buyer = parties
    url = reverse("city_statistics_export", args=("csv",))
    past_trades_create(
        trades=[trade("books", "", "徐汇区", 1_000, "2026-01-05")], seller=seller, buyer=buyer, key_prefix="a-"
    )
    with CaptureQueriesContext(connection) as baseline:
        assert len(read_csv(staff_client.get(url, QUERY))) == 2
    past_trades_create(
        trades=[trade("electronics", "phone", "徐汇区", 1_000, "2026-01-06") for _ in range(15)],
        seller=seller,
        buyer=buyer,
        key_prefix="b-",
    )
    with django_assert_num_queries(len(baseline.captured_queries)):
        assert len(read_csv(staff_client.get(url, QUERY))) == 17


@pytest.mark.parametrize("who", ["anonymous", "citizen", "inactive staff"])
def test_only_staff_see_the_dashboard_and_exports(history, client, who):
    if who == "citizen":
        client.force_login(UserFactory())
    elif who == "inactive staff":
        client.force_login(UserFactory(is_staff=True, is_active=False))
    for url in (
        reverse("city_statistics_dashboard"),
        reverse("city_statistics_export", args=("csv",)),
        reverse("city_statistics_export", args=("xlsx",)),
    ):
        response = client.get(url, QUERY)
        assert response.status_code in (302, 403), url
        assert "text/csv" not in response.get("Content-Type", "")
    assert client.post(reverse("city_statistics_refresh")).status_code in (302, 403)
    assert not RollupRun.objects.exists()


def test_staff_without_superuser_can_open_the_dashboard(history, client):
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True, with_totp=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.get(reverse("city_statistics_dashboard"), QUERY).status_code == 200


def test_refresh_now_recalculates_and_returns_to_the_same_filter(history, staff_client):
    response = staff_client.post(reverse("city_statistics_refresh"), {"query": "start=2026-01-01&end=2026-02-28"})
    assert response.status_code == 302
    assert response["Location"].endswith("?start=2026-01-01&end=2026-02-28")
    assert RollupRun.objects.count() == 1
    assert staff_client.get(reverse("city_statistics_refresh")).status_code == 405


def fake_provider(period: Period, area: Area) -> StatsSection:
    return StatsSection(
        key="fake",
        title="Fake figures",
        tables=[StatsTable(key="t", title="Things", headers=("Thing", "Count"), rows=[("<x>", 3)], chart_column=1)],
    )


def test_statistics_providers_come_from_settings(history, staff_client, settings):
    settings.CITY_STATISTICS_PROVIDERS = ["tests.integration.test_city_statistics.fake_provider"]
    page = staff_client.get(reverse("city_statistics_dashboard"), QUERY).content.decode()
    assert "Fake figures" in page and "&lt;x&gt;" in page and "<x>" not in page
    assert "Appraisal and grading" not in page


def test_public_summary_has_totals_and_no_personal_data(history, client, django_assert_max_num_queries, time_machine):
    time_machine.move_to(at("2026-03-10"))
    rollup_refresh(first_day=dt.date(2025, 12, 1), last_day=dt.date(2026, 3, 10))
    client.cookies["django_language"] = "en"
    with django_assert_max_num_queries(8):
        page = client.get(reverse("city_statistics")).content.decode()
    assert 'data-total="trades">8<' in page  # the twelve months up to 2026-03-10
    assert "<svg" in page
    assert "卖家" not in page and "买家" not in page
