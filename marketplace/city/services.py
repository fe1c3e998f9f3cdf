"""State changes of the city app: refreshing the statistics rollup, remembering a
buyer's registration city, and recording who edited a factor."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.city.models import DaysToSellRollup, RelocationCity, RollupRun, TradeRollup
from marketplace.errors import ValidationFailed
from marketplace.models import Dispute, Order, OrderStatus

# What counts as a trade: an order that completed and was not undone (returned,
# refunded, or still in a return or dispute). The rollup and the export agree on this.
TRADE_STATUSES = (OrderStatus.COMPLETED,)
# The days-to-sell histogram stops here; slower sales count as this many days.
DAYS_TO_SELL_CAP = 999
SESSION_REGISTRATION_CITY = "city.registration_city"

_PLACE_FIELDS = (
    "listing__category",
    "listing__electronics__device_type",
    "listing__furniture__furniture_type",
    "listing__city",
    "listing__district",
)


def item_type_of(category: str, device_type: str | None, furniture_type: str | None) -> str:
    """The rollup's item type: the device type of electronics, the furniture type of
    furniture, nothing for the other categories."""
    if category == "electronics":
        return device_type or ""
    if category == "furniture":
        return furniture_type or ""
    return ""


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def day_bounds(first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of first_day, start of the day after last_day) in the local time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


@dataclass
class _Cell:
    trades: int = 0
    value: int = 0
    delivered: int = 0
    returns: int = 0
    disputes: int = 0


def _key(day: dt.date, row: Iterable[Any], currency: str) -> tuple[Any, ...]:
    category, device_type, furniture_type, city, district = row
    return (day, category, item_type_of(category, device_type, furniture_type), city, district or "", currency)


@transaction.atomic
def rollup_refresh(*, first_day: dt.date, last_day: dt.date) -> RollupRun:
    """Recompute the daily figures for [first_day, last_day] from the orders. Idempotent;
    a later refund or return simply changes the figures of the day it is recomputed."""
    if last_day < first_day:
        raise ValidationFailed(_("The period ends before it starts."))
    start, end = day_bounds(first_day, last_day)
    cells: dict[tuple[Any, ...], _Cell] = defaultdict(_Cell)
    days_to_sell: dict[tuple[Any, ...], int] = defaultdict(int)

    trades = (
        Order.objects.filter(status__in=TRADE_STATUSES, completed_at__gte=start, completed_at__lt=end)
        .order_by()
        .values_list("completed_at", "created_at", "listing__published_at", "currency", "amount", *_PLACE_FIELDS)
    )
    for completed_at, created_at, published_at, currency, amount, *place in trades.iterator(chunk_size=5000):
        day = local_day(completed_at)
        cell = cells[_key(day, place, currency)]
        cell.trades += 1
        cell.value += amount
        if published_at is not None:
            days = min(max((created_at - published_at).days, 0), DAYS_TO_SELL_CAP)
            days_to_sell[(day, place[0], place[3], place[4] or "", days)] += 1

    delivered = (
        Order.objects.filter(
            Q(shipped_at__gte=start, shipped_at__lt=end) | Q(handed_over_at__gte=start, handed_over_at__lt=end)
        )
        .order_by()
        .values_list("shipped_at", "handed_over_at", "currency", *_PLACE_FIELDS)
    )
    for shipped_at, handed_over_at, currency, *place in delivered.iterator(chunk_size=5000):
        moment = shipped_at or handed_over_at
        if not start <= moment < end:
            continue
        cells[_key(local_day(moment), place, currency)].delivered += 1

    returns = (
        Order.objects.filter(return_requested_at__gte=start, return_requested_at__lt=end)
        .order_by()
        .values_list("return_requested_at", "currency", *_PLACE_FIELDS)
    )
    for requested_at, currency, *place in returns.iterator(chunk_size=5000):
        cells[_key(local_day(requested_at), place, currency)].returns += 1

    disputes = (
        Dispute.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values_list("created_at", "order__currency", *(f"order__{name}" for name in _PLACE_FIELDS))
    )
    for opened_at, currency, *place in disputes.iterator(chunk_size=5000):
        cells[_key(local_day(opened_at), place, currency)].disputes += 1

    TradeRollup.objects.filter(day__gte=first_day, day__lte=last_day).delete()
    DaysToSellRollup.objects.filter(day__gte=first_day, day__lte=last_day).delete()
    TradeRollup.objects.bulk_create(
        [
            TradeRollup(
                day=day,
                category=category,
                item_type=item_type,
                city=city,
                district=district,
                currency=currency,
                trades=cell.trades,
                value=cell.value,
                delivered=cell.delivered,
                returns=cell.returns,
                disputes=cell.disputes,
            )
            for (day, category, item_type, city, district, currency), cell in cells.items()
        ],
        batch_size=2000,
    )
    DaysToSellRollup.objects.bulk_create(
        [
            DaysToSellRollup(day=day, category=category, city=city, district=district, days=days, trades=count)
            for (day, category, city, district, days), count in days_to_sell.items()
        ],
        batch_size=2000,
    )
    return RollupRun.objects.create(first_day=first_day, last_day=last_day, rows=len(cells))


def rollup_refresh_recent(*, today: dt.date | None = None) -> RollupRun:
    """The nightly run: the last CITY_ROLLUP_WINDOW_DAYS days (long enough for returns and
    disputes to settle), or everything since the first order when there is no rollup yet."""
    today = today or timezone.localdate()
    window = int(getattr(settings, "CITY_ROLLUP_WINDOW_DAYS", 60))
    first_day = today - dt.timedelta(days=window)
    if not RollupRun.objects.exists():
        earliest = Order.objects.aggregate(first=Min("created_at"))["first"]
        if earliest is not None:
            first_day = min(first_day, local_day(earliest))
    return rollup_refresh(first_day=first_day, last_day=today)


def registration_city_choose(*, session: Any, city_id: int | None) -> RelocationCity | None:
    """Remember (or forget, with None) the city a buyer wants to register a car in."""
    if city_id is None:
        session.pop(SESSION_REGISTRATION_CITY, None)
        return None
    city = RelocationCity.objects.filter(pk=city_id).first()
    if city is None:
        raise ValidationFailed(_("Choose a city from the list."), details={"city": ["unknown"]})
    session[SESSION_REGISTRATION_CITY] = city.pk
    return city
