"""Statistics benchmark: the dashboard's aggregates at 1M orders, against a baseline
measured in the same run.

Creates a throwaway PostgreSQL database, loads N completed-and-other orders (default
1 000 000, each with its sold listing; electronics and furniture with their attribute
rows) with COPY, builds the nightly rollup (timed), ANALYZEs, and then times, as the
median of --rounds after a warm-up:

  baseline      SELECT count(*) FROM marketplace_order (one sequential pass over orders)
  dashboard     the trade summary of the last 12 months from the rollup (what the staff
                dashboard and public summary run), everywhere and for one district
  live          the same figures grouped straight from the orders (what the dashboard
                would cost without the rollup)
  export        the bureau export of one month for one district (every row fetched)
  nightly       the rollup refresh of the last CITY_ROLLUP_WINDOW_DAYS days

and prints each as a ratio to the baseline (absolute times only next to their ratio).

    .venv/bin/python bench/stats.py                       # 1M orders
    .venv/bin/python bench/stats.py --orders 100000 --rounds 3
    .venv/bin/python bench/stats.py --database-url postgres://postgres@127.0.0.1:5432

The database is xunhuan_bench_stats_<pid> on that server, dropped at the end. Not part of
`make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import DEFAULT_SERVER, DETACHED, throwaway_database  # noqa: E402

PLACES = {
    "上海市": ["徐汇区", "浦东新区", "静安区", "黄浦区", "闵行区", "杨浦区"],
    "北京市": ["朝阳区", "海淀区", "东城区", "西城区"],
    "杭州市": ["西湖区", "拱墅区", "滨江区"],
}
DEVICES = ["phone", "phone", "laptop", "tablet", "desktop", "wearable", "camera", "console"]
FURNITURE = ["sofa", "chair", "table", "desk", "bed", "wardrobe"]


def timed(label: str, func: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = func()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _copy(model: Any, rows: Iterator[dict[str, Any]], *, explicit_pk: bool) -> int:
    """COPY rows into the model's table; fields not given get their Python default."""
    from django.db import connection
    from django.db.models import JSONField
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields if explicit_pk or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for f in fields:
                    value = row[f.attname] if f.attname in row else f.get_default()
                    values.append(Jsonb(value) if isinstance(f, JSONField) and value is not None else value)
                copy.write_row(values)
                count += 1
    return count


def load(orders: int, seed: int = 2026) -> dt.datetime:
    """N listings sold through N orders over the three years up to `now`."""
    from django.db import connection, transaction

    from marketplace.models import ElectronicsAttributes, FurnitureAttributes, Listing, Order, User

    seller = User.objects.create_user(email="bench-seller@example.org", password=None, display_name="Bench")
    buyer = User.objects.create_user(email="bench-buyer@example.org", password=None, display_name="Buyer")
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    span = 3 * 365 * 24 * 3600
    plan = []
    for n in range(1, orders + 1):
        category = rng.choices(["electronics", "furniture", "books", "vehicles"], weights=[5, 2, 3, 1])[0]
        city = rng.choices(list(PLACES), weights=[6, 2, 1])[0]
        completed_at = now - dt.timedelta(seconds=rng.randrange(span))
        ordered_at = completed_at - dt.timedelta(hours=rng.randint(2, 240))
        published_at = ordered_at - dt.timedelta(hours=rng.randint(1, 60 * 24))
        status = rng.choices(["completed", "refunded", "cancelled", "return_requested"], weights=[88, 5, 5, 2])[0]
        plan.append((n, category, city, rng.choice(PLACES[city]), completed_at, ordered_at, published_at, status))

    def listings() -> Iterator[dict[str, Any]]:
        for n, category, city, district, completed_at, _ordered, published_at, _status in plan:
            yield {
                "id": n,
                "category": category,
                "title": f"Bench {category} {n}",
                "price": 1000 + n % 500_000,
                "city": city,
                "district": district,
                "seller_user_id": seller.pk,
                "created_by_id": seller.pk,
                "status": "sold",
                "status_changed_at": completed_at,
                "published_at": published_at,
                "intake_at": published_at,
                "created_at": published_at,
                "updated_at": completed_at,
            }

    def electronics() -> Iterator[dict[str, Any]]:
        for n, category, *_rest in plan:
            if category == "electronics":
                yield {"listing_id": n, "device_type": DEVICES[n % len(DEVICES)], "brand": "B", "model_name": "M"}

    def furniture() -> Iterator[dict[str, Any]]:
        for n, category, *_rest in plan:
            if category == "furniture":
                yield {
                    "listing_id": n,
                    "furniture_type": FURNITURE[n % len(FURNITURE)],
                    "material": "wood",
                    "width_cm": 50,
                    "depth_cm": 50,
                    "height_cm": 50,
                }

    def order_rows() -> Iterator[dict[str, Any]]:
        for n, _category, _city, _district, completed_at, ordered_at, _published, status in plan:
            done = status in ("completed", "refunded", "return_requested")
            yield {
                "id": n,
                "listing_id": n,
                "buyer_id": buyer.pk,
                "seller_user_id": seller.pk,
                "status": status,
                "status_changed_at": completed_at,
                "delivery_method": "pickup",
                "payment_method": "cash",
                "amount": 1000 + n % 500_000,
                "currency": "CNY",
                "title": f"Bench {n}",
                "snapshot": {},
                "handed_over_at": completed_at if done else None,
                "completed_at": completed_at if done else None,
                "cancelled_at": completed_at if status == "cancelled" else None,
                "return_requested_at": completed_at + dt.timedelta(days=2) if status == "return_requested" else None,
                "created_at": ordered_at,
                "updated_at": completed_at,
            }

    with transaction.atomic():
        _copy(Listing, listings(), explicit_pk=True)
        _copy(ElectronicsAttributes, electronics(), explicit_pk=True)
        _copy(FurnitureAttributes, furniture(), explicit_pk=True)
        _copy(Order, order_rows(), explicit_pk=True)
        with connection.cursor() as cursor:
            for table in ("marketplace_listing", "marketplace_order"):
                # Table names from the tuple above, not from input.
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                cursor.execute(sql)
    return now


def median_seconds(func: Callable[[], Any], rounds: int) -> float:
    func()  # warm-up
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def live_figures(period: Any) -> None:
    """The dashboard's figures grouped straight from the orders (no rollup)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    from marketplace.city.services import TRADE_STATUSES, day_bounds
    from marketplace.models import Order

    start, end = day_bounds(period.start, period.end)
    orders = Order.objects.filter(status__in=TRADE_STATUSES, completed_at__gte=start, completed_at__lt=end).order_by()
    list(orders.values("listing__category").annotate(n=Count("pk"), v=Sum("amount")))
    list(orders.values("listing__city", "listing__district").annotate(n=Count("pk"), v=Sum("amount")))
    list(orders.annotate(m=TruncMonth("completed_at")).values("m").annotate(n=Count("pk"), v=Sum("amount")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="a PostgreSQL server (default %(default)s)")
    args = parser.parse_args()

    name = f"xunhuan_bench_stats_{os.getpid()}"
    with throwaway_database(args.database_url, name) as url:
        for variable in DETACHED:
            os.environ.pop(variable, None)
        os.environ.update(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=url)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from marketplace.city.periods import Period, last_months
        from marketplace.city.providers import Area
        from marketplace.city.selectors import area_choices, trade_summary, trades_for_export
        from marketplace.city.services import rollup_refresh, rollup_refresh_recent

        print(f"Statistics benchmark: {args.orders:,} orders, PostgreSQL {name}", flush=True)
        timed("migrate", lambda: call_command("migrate", verbosity=0))
        now = timed(f"load {args.orders:,} listings and orders (COPY)", lambda: load(args.orders))
        today = timezone.localtime(now).date()
        backfill = timed(
            "rollup backfill (whole history)",
            lambda: rollup_refresh(first_day=today - dt.timedelta(days=3 * 366), last_day=today),
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"  rollup rows: {backfill.rows:,}", flush=True)

        year = last_months(today, 12)
        month = Period(start=today.replace(day=1) - dt.timedelta(days=31), end=today.replace(day=1))
        district = Area("上海市", "徐汇区")

        def baseline() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM marketplace_order")
                cursor.fetchone()

        def dashboard(area: Area) -> Callable[[], None]:
            def run() -> None:
                trade_summary(period=year, area=area)
                area_choices()

            return run

        measurements = [
            ("baseline: SELECT count(*) FROM marketplace_order", baseline),
            ("dashboard, 12 months, everywhere (rollup)", dashboard(Area())),
            ("dashboard, 12 months, one district (rollup)", dashboard(district)),
            ("same figures live from the orders (no rollup)", lambda: live_figures(year)),
            (
                "export, one month, one district (all rows)",
                lambda: list(trades_for_export(period=month, area=district)),
            ),
            ("nightly rollup refresh (recent window)", lambda: rollup_refresh_recent(today=today)),
        ]
        results = []
        for label, func in measurements:
            rounds = 1 if label.startswith("nightly") else args.rounds
            results.append((label, median_seconds(func, rounds)))
        base = results[0][1]
        exported = sum(1 for _ in trades_for_export(period=month, area=district))
        print()
        print(f"{'measurement':<52} {'ratio to baseline':>18} {'median':>10}")
        for label, seconds in results:
            print(f"{label:<52} {seconds / base:>18.3f} {seconds * 1000:>8.1f}ms")
        print(f"\n(export rows: {exported:,}; rounds: {args.rounds}; ratio < 1 means faster than one count(*) pass)")
        connection.close()


if __name__ == "__main__":
    main()
