"""Reads of the city app. Every function runs a fixed number of queries whatever the
number of orders: the statistics read the rollup tables, the export reads one period of
orders through the (status, completed_at) index."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from marketplace.city.green import Estimate, Factor, estimate
from marketplace.city.models import DaysToSellRollup, GreenFactor, RelocationCity, RollupRun, TradeRollup
from marketplace.city.periods import Period, median_from_histogram, merge_counts, rate_percent
from marketplace.city.providers import Area
from marketplace.city.relocation import accepted_standards
from marketplace.city.services import TRADE_STATUSES, day_bounds, item_type_of
from marketplace.models import Category, Order, User

DEFAULT_CURRENCY = "CNY"


@dataclass
class TradeFigures:
    key: Any
    label: str
    trades: int = 0
    value: dict[str, int] = field(default_factory=dict)  # currency → minor units
    delivered: int = 0
    returns: int = 0
    disputes: int = 0
    median_days_to_sell: float | None = None

    @property
    def value_cny(self) -> int:
        return self.value.get(DEFAULT_CURRENCY, 0)

    @property
    def return_rate(self) -> float | None:
        return rate_percent(self.returns, self.delivered)

    @property
    def dispute_rate(self) -> float | None:
        return rate_percent(self.disputes, self.delivered)

    def add(self, row: dict[str, Any]) -> None:
        self.trades += row.get("trades") or 0
        currency = row.get("currency") or DEFAULT_CURRENCY
        self.value[currency] = self.value.get(currency, 0) + (row.get("value") or 0)
        self.delivered += row.get("delivered") or 0
        self.returns += row.get("returns") or 0
        self.disputes += row.get("disputes") or 0


@dataclass
class TradeSummary:
    period: Period
    area: Area
    total: TradeFigures
    by_category: list[TradeFigures]
    by_area: list[TradeFigures]
    by_month: list[TradeFigures]
    last_run: RollupRun | None


def _rollup(model: type[TradeRollup] | type[DaysToSellRollup], period: Period, area: Area) -> QuerySet[Any]:
    rows = model.objects.filter(day__gte=period.start, day__lte=period.end).order_by()
    if area.city:
        rows = rows.filter(city=area.city)
    if area.district:
        rows = rows.filter(district=area.district)
    return rows


_SUMS = {
    "trades": Sum("trades"),
    "value": Sum("value"),
    "delivered": Sum("delivered"),
    "returns": Sum("returns"),
    "disputes": Sum("disputes"),
}


def last_rollup_run() -> RollupRun | None:
    return RollupRun.objects.order_by("-finished_at", "-pk").first()


def trade_summary(*, period: Period, area: Area) -> TradeSummary:
    """Trades and value by category, place and month, median days to sell, return and
    dispute rates, for whole days of the period (five queries)."""
    rollup = _rollup(TradeRollup, period, area)
    categories = {value: TradeFigures(key=value, label=str(label)) for value, label in Category.choices}
    for row in rollup.values("category", "currency").annotate(**_SUMS):
        categories.setdefault(row["category"], TradeFigures(key=row["category"], label=row["category"])).add(row)

    areas: dict[tuple[str, str], TradeFigures] = {}
    for row in rollup.values("city", "district", "currency").annotate(**_SUMS):
        place = (row["city"], row["district"])
        areas.setdefault(place, TradeFigures(key=place, label=" ".join(p for p in place if p))).add(row)

    months = {month: TradeFigures(key=month, label=f"{month:%Y-%m}") for month in period.months()}
    for row in rollup.annotate(month=TruncMonth("day")).values("month", "currency").annotate(**_SUMS):
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        months.setdefault(month, TradeFigures(key=month, label=f"{month:%Y-%m}")).add(row)

    histograms: dict[str, dict[int, int]] = defaultdict(dict)
    for row in _rollup(DaysToSellRollup, period, area).values("category", "days").annotate(n=Sum("trades")):
        histograms[row["category"]][row["days"]] = row["n"]
    for category, figures in categories.items():
        figures.median_days_to_sell = median_from_histogram(histograms.get(category, {}))

    total = TradeFigures(key="total", label="")
    for figures in categories.values():
        total.trades += figures.trades
        total.delivered += figures.delivered
        total.returns += figures.returns
        total.disputes += figures.disputes
        for currency, value in figures.value.items():
            total.value[currency] = total.value.get(currency, 0) + value
    total.median_days_to_sell = median_from_histogram(
        merge_counts(pair for histogram in histograms.values() for pair in histogram.items())
    )
    return TradeSummary(
        period=period,
        area=area,
        total=total,
        by_category=list(categories.values()),
        by_area=sorted(areas.values(), key=lambda f: (-f.trades, f.label)),
        by_month=[months[key] for key in sorted(months)],
        last_run=last_rollup_run(),
    )


def area_choices() -> list[tuple[str, str]]:
    """Every city and district the rollup knows, for the report's area select."""
    places = TradeRollup.objects.order_by("city", "district").values_list("city", "district").distinct()
    found: list[tuple[str, str]] = []
    cities_seen: set[str] = set()
    for city, district in places:
        if city not in cities_seen:
            cities_seen.add(city)
            found.append((city, ""))
        if district:
            found.append((city, district))
    return found


@dataclass(frozen=True)
class ExportRow:
    order_id: int
    completed_on: dt.date
    category: str
    item_type: str
    city: str
    district: str
    amount: int
    currency: str
    seller_kind: str  # "person" or "organisation"
    delivery: str


def trades_for_export(*, period: Period, area: Area) -> Iterator[ExportRow]:
    """Every trade completed in the period (local days) and area, straight from the
    orders, oldest first. No personal data: no names, no addresses. One query."""
    from marketplace.city.services import local_day

    start, end = day_bounds(period.start, period.end)
    orders = Order.objects.filter(
        status__in=TRADE_STATUSES, completed_at__gte=start, completed_at__lt=end, **area.filter_kwargs("listing__")
    ).order_by("completed_at", "pk")
    values = orders.values_list(
        "pk",
        "completed_at",
        "listing__category",
        "listing__electronics__device_type",
        "listing__furniture__furniture_type",
        "listing__city",
        "listing__district",
        "amount",
        "currency",
        "seller_organisation_id",
        "delivery_method",
    )
    for (
        pk,
        completed_at,
        category,
        device,
        furniture,
        city,
        district,
        amount,
        currency,
        org,
        delivery,
    ) in values.iterator(chunk_size=2000):
        yield ExportRow(
            order_id=pk,
            completed_on=local_day(completed_at),  # type: ignore[arg-type]  # filtered on it
            category=category,
            item_type=item_type_of(category, device, furniture),
            city=city,
            district=district,
            amount=amount,
            currency=currency,
            seller_kind="organisation" if org else "person",
            delivery=delivery,
        )


# --- Green account ------------------------------------------------------------------------


def green_factors() -> list[Factor]:
    return [
        Factor(
            category=row.category,
            item_type=row.item_type,
            kg_co2e=row.kg_co2e,
            uncertainty_percent=row.uncertainty_percent,
        )
        for row in GreenFactor.objects.order_by("category", "item_type")
    ]


def user_green_estimate(*, user: User) -> Estimate:
    """The user's completed trades, bought, sold or consigned (two queries)."""
    rows = (
        Order.objects.filter(status__in=TRADE_STATUSES)
        .filter(Q(buyer=user) | Q(seller_user=user) | Q(consignor=user))
        .order_by()
        .values("listing__category", "listing__electronics__device_type", "listing__furniture__furniture_type")
        .annotate(n=Count("pk"))
    )
    counts = [
        (
            row["listing__category"],
            item_type_of(
                row["listing__category"],
                row["listing__electronics__device_type"],
                row["listing__furniture__furniture_type"],
            ),
            row["n"],
        )
        for row in rows
    ]
    return estimate(counts, green_factors())


def platform_green_estimate(*, period: Period | None = None) -> Estimate:
    """Every trade in the rollup (all time unless a period is given); two queries."""
    rows = TradeRollup.objects.order_by()
    if period is not None:
        rows = rows.filter(day__gte=period.start, day__lte=period.end)
    counts = [
        (row["category"], row["item_type"], row["n"])
        for row in rows.values("category", "item_type").annotate(n=Sum("trades"))
    ]
    return estimate(counts, green_factors())


def counts_green_estimate(*, counts: list[tuple[str, str, int]]) -> Estimate:
    """For other apps (event pages) that count their own reused items; one query."""
    return estimate(counts, green_factors())


# --- Vehicle relocation -------------------------------------------------------------------


def relocation_cities() -> list[RelocationCity]:
    return list(RelocationCity.objects.order_by("province", "name"))


def relocation_city_labels(values: Sequence[str]) -> dict[str, str]:
    """Search: city id → its name, for the "can be registered in" chip (one query)."""
    ids = [int(value) for value in values if str(value).isdigit()]
    return {str(pk): name for pk, name in RelocationCity.objects.filter(pk__in=ids).values_list("pk", "name")}


def relocation_city_choices() -> list[tuple[int, str]]:
    """Search: the destination cities a buyer may pick (one query)."""
    return [(city.pk, city.name) for city in relocation_cities()]


def emission_standards_accepted(city_id: int) -> list[str]:
    """The emission standards (EmissionStandard values) a used car may have to be
    registered in this city; empty for an unknown city. For search filters:
    `vehicle__emission_standard__in=emission_standards_accepted(city_id)`."""
    minimum = RelocationCity.objects.filter(pk=city_id).values_list("minimum_standard", flat=True).first()
    return accepted_standards(minimum) if minimum else []
