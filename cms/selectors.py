"""Reads for community pages, the calendar feed and the organisers' screens, each with the
joins it needs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone, translation

from cms.models import (
    BookSwapPage,
    ConsignmentEventPage,
    ConsignorRegistration,
    FleaMarketDate,
    FleaMarketPage,
    ListingAtEvent,
    RegistrationStatus,
    StallApplication,
    StallApplicationStatus,
    StallCapacity,
    StallFeePayment,
    StallFeePaymentStatus,
    StallType,
    SwapBook,
    SwapBookStatus,
)
from marketplace.city.green import Estimate
from marketplace.city.selectors import counts_green_estimate
from marketplace.city.services import item_type_of
from marketplace.extensions import attach_badges
from marketplace.models import DeliveryMethod, Listing, Order, OrderStatus
from marketplace.selectors import BROWSABLE_STATUSES, BrowseFilters, listing_cover, listings_browse

CALENDAR_PAST_DAYS = 60
CALENDAR_FUTURE_DAYS = 400


# --- Listings on community pages -----------------------------------------------------------


@dataclass(frozen=True)
class ListingCard:
    listing: Listing
    has_photo: bool
    thumbnail: str | None


def listing_cards(listings: Sequence[Listing]) -> list[ListingCard]:
    listings = list(listings)
    attach_badges(listings)
    cards = []
    for listing in listings:
        cover = listing_cover(listing)
        cards.append(
            ListingCard(
                listing=listing, has_photo=cover is not None, thumbnail=cover.rendition_url(320) if cover else None
            )
        )
    return cards


def featured_listings(*, limit: int) -> list[ListingCard]:
    """The newest published listings (the same query as browsing)."""
    return listing_cards(list(listings_browse(filters=BrowseFilters())[:limit])) if limit else []


def shop_listings(*, organisation_id: int | None, limit: int) -> list[ListingCard]:
    if organisation_id is None or not limit:
        return []
    listings = listings_browse(filters=BrowseFilters()).filter(seller_organisation_id=organisation_id)
    return listing_cards(list(listings[:limit]))


# --- Events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventItem:
    uid: str
    kind: str  # "flea_market" | "consignment_event"
    title: str
    starts: dt.datetime
    ends: dt.datetime
    venue: str
    address: str
    url: str
    cancelled: bool
    latitude: Decimal | None
    longitude: Decimal | None
    description: str
    updated: dt.datetime | None


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _market_dates(*, first: dt.date, last: dt.date, include_cancelled: bool) -> QuerySet[FleaMarketDate]:
    live_markets = FleaMarketPage.objects.live().values("pk")
    dates = FleaMarketDate.objects.filter(market__in=live_markets, date__gte=first, date__lte=last)
    if not include_cancelled:
        dates = dates.filter(cancelled=False)
    return dates.select_related("market").order_by("date", "pk")


def _market_items(dates: QuerySet[FleaMarketDate]) -> list[EventItem]:
    items = []
    for market_date in dates:
        market = market_date.market
        items.append(
            EventItem(
                uid=f"flea-market-date-{market_date.pk}",
                kind="flea_market",
                title=market.title,
                starts=_local(market_date.date, market_date.opens),
                ends=_local(market_date.date, market_date.closes),
                venue=market.venue,
                address=market.address,
                url=str(market.get_url() or ""),
                cancelled=market_date.cancelled,
                latitude=market.latitude,
                longitude=market.longitude,
                description=market_date.note or market.intro,
                updated=market.last_published_at,
            )
        )
    return items


def _consignment_items(*, start: dt.datetime, end: dt.datetime) -> list[EventItem]:
    events = ConsignmentEventPage.objects.live().filter(sale_ends__gte=start, sale_starts__lte=end)
    return [
        EventItem(
            uid=f"consignment-event-{event.pk}",
            kind="consignment_event",
            title=event.title,
            starts=event.sale_starts,
            ends=event.sale_ends,
            venue=event.venue,
            address=event.address,
            url=str(event.get_url() or ""),
            cancelled=False,
            latitude=event.latitude,
            longitude=event.longitude,
            description=event.intro,
            updated=event.last_published_at,
        )
        for event in events.order_by("sale_starts", "pk")
    ]


def upcoming_events(*, limit: int, today: dt.date | None = None) -> list[EventItem]:
    today = today or timezone.localdate()
    last = today + dt.timedelta(days=CALENDAR_FUTURE_DAYS)
    items = _market_items(_market_dates(first=today, last=last, include_cancelled=False)[:limit])
    items += _consignment_items(start=_local(today, dt.time.min), end=_local(last, dt.time.max))
    return sorted(items, key=lambda item: item.starts)[:limit]


def calendar_events(*, today: dt.date | None = None) -> list[EventItem]:
    """Everything for the iCal feed, cancelled dates included (so calendars drop them)."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=CALENDAR_PAST_DAYS)
    last = today + dt.timedelta(days=CALENDAR_FUTURE_DAYS)
    items = _market_items(_market_dates(first=first, last=last, include_cancelled=True))
    items += _consignment_items(start=_local(first, dt.time.min), end=_local(last, dt.time.max))
    return sorted(items, key=lambda item: (item.starts, item.uid))


# --- A flea market's page --------------------------------------------------------------------


@dataclass(frozen=True)
class StallAvailability:
    stall_type: StallType
    capacity: int
    approved: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.approved, 0)


@dataclass(frozen=True)
class MarketDateOverview:
    market_date: FleaMarketDate
    stalls: list[StallAvailability]
    listings: list[ListingCard]


def market_upcoming_dates(*, market: FleaMarketPage, today: dt.date) -> list[MarketDateOverview]:
    dates = list(FleaMarketDate.objects.filter(market=market, date__gte=today).order_by("date", "pk"))
    for market_date in dates:
        market_date.market = market  # the page shows each date's hours (`opens`): no query per date
    stall_types = list(market.stall_types.all())
    approved: dict[tuple[int, int], int] = {
        (row["market_date_id"], row["stall_type_id"]): row["n"]
        for row in StallApplication.objects.filter(market_date__in=dates, status=StallApplicationStatus.APPROVED)
        .values("market_date_id", "stall_type_id")
        .annotate(n=Count("pk"))
    }
    overrides: dict[tuple[int, int], int] = {
        (row.market_date_id, row.stall_type_id): row.capacity
        for row in StallCapacity.objects.filter(market_date__in=dates, capacity__isnull=False)
        if row.capacity is not None
    }
    marks = ListingAtEvent.objects.filter(market_date__in=dates, listing__status__in=BROWSABLE_STATUSES).select_related(
        "listing"
    )
    listing_ids = {mark.listing_id for mark in marks}
    listings = {listing.pk: listing for listing in listings_browse(filters=BrowseFilters()).filter(pk__in=listing_ids)}
    # One set of cards (badges: a fixed number of queries) for every date, not one per date.
    cards = {card.listing.pk: card for card in listing_cards(list(listings.values()))}
    cards_by_date: dict[int, list[ListingCard]] = defaultdict(list)
    for mark in marks:
        if mark.listing_id in listings:
            cards_by_date[mark.market_date_id].append(cards[mark.listing_id])
    return [
        MarketDateOverview(
            market_date=market_date,
            stalls=[
                StallAvailability(
                    stall_type=stall_type,
                    capacity=overrides.get((market_date.pk, stall_type.pk), stall_type.capacity),
                    approved=approved.get((market_date.pk, stall_type.pk), 0),
                )
                for stall_type in stall_types
            ],
            listings=cards_by_date.get(market_date.pk, []),
        )
        for market_date in dates
    ]


def applications_of(*, user_id: int, market: FleaMarketPage) -> QuerySet[StallApplication]:
    return (
        StallApplication.objects.filter(applicant_id=user_id, market_date__market=market)
        .select_related("market_date", "stall_type", "organisation")
        .prefetch_related(
            "add_ons",
            Prefetch(
                "fee_payments",
                queryset=StallFeePayment.objects.filter(
                    status__in=[StallFeePaymentStatus.REFUNDING, StallFeePaymentStatus.REFUNDED]
                ),
                to_attr="card_refunds",
            ),
        )
        .order_by("market_date__date", "pk")
    )


# --- Organisers' screens ---------------------------------------------------------------------


def markets_run_by(*, organisation_ids: Sequence[int], superuser: bool = False) -> QuerySet[FleaMarketPage]:
    markets = (
        FleaMarketPage.objects.all()
        if superuser
        else FleaMarketPage.objects.filter(organisation_id__in=organisation_ids)
    )
    return (
        markets.select_related("organisation")
        .prefetch_related(
            Prefetch(
                "dates",
                queryset=FleaMarketDate.objects.annotate(
                    pending=Count("applications", filter=Q(applications__status=StallApplicationStatus.PENDING)),
                    approved=Count("applications", filter=Q(applications__status=StallApplicationStatus.APPROVED)),
                    waitlisted=Count("applications", filter=Q(applications__status=StallApplicationStatus.WAITLISTED)),
                ).order_by("date"),
            )
        )
        .order_by("title")
    )


def date_applications(*, market_date_id: int) -> QuerySet[StallApplication]:
    return (
        StallApplication.objects.filter(market_date_id=market_date_id)
        .select_related("applicant", "organisation", "stall_type", "market_date__market")
        .prefetch_related("add_ons")
        .order_by("status", "waitlisted_at", "created_at", "pk")
    )


def vendor_list(*, market_date_id: int) -> list[StallApplication]:
    """Approved vendors of a date in stall-number order (for printing)."""
    return list(
        StallApplication.objects.filter(market_date_id=market_date_id, status=StallApplicationStatus.APPROVED)
        .select_related("applicant", "organisation", "stall_type")
        .prefetch_related("add_ons")
        .order_by("stall_number", "pk")
    )


def consignment_events_run_by(
    *, organisation_ids: Sequence[int], superuser: bool = False
) -> QuerySet[ConsignmentEventPage]:
    events = (
        ConsignmentEventPage.objects.all()
        if superuser
        else ConsignmentEventPage.objects.filter(organisation_id__in=organisation_ids)
    )
    return events.annotate(
        registered=Count("registrations", filter=Q(registrations__status=RegistrationStatus.REGISTERED))
    ).order_by("-sale_starts")


def event_registrations(*, event_id: int) -> QuerySet[ConsignorRegistration]:
    return (
        ConsignorRegistration.objects.filter(event_id=event_id)
        .select_related("consignor", "slot")
        .prefetch_related("items")
        .order_by("number")
    )


# --- Grading standards -------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardSummary:
    key: str
    title: str
    version: str
    source: str
    url: str


def _localised(value: object) -> str:
    if isinstance(value, dict):
        language = "en" if translation.get_language() == "en" else "zh"
        return str(value.get(language) or value.get("zh") or value.get("en") or "")
    return str(value or "")


def grading_standards() -> list[StandardSummary]:
    """The newest published version of every grading rule set."""
    from grading.models import RuleSetStatus, RuleSetVersion

    newest: dict[str, RuleSetVersion] = {}
    for version in RuleSetVersion.objects.filter(status=RuleSetStatus.PUBLISHED).order_by(
        "key", "-published_at", "-pk"
    ):
        newest.setdefault(version.key, version)
    return [
        StandardSummary(
            key=key,
            title=_localised(version.document.get("title")) or key,
            version=version.version,
            source=_localised(version.document.get("source")),
            url=f"/grading/standards/{key}/",
        )
        for key, version in sorted(newest.items())
    ]


# --- Search: which events a listing is offered at ------------------------------------------


def listing_event_ids(listing_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """Listing id → ids of the upcoming, not cancelled market dates it is marked
    "available at" (one query for the whole batch). Used by the search index."""
    today = timezone.localdate()
    found: dict[int, list[int]] = defaultdict(list)
    rows = (
        ListingAtEvent.objects.filter(
            listing_id__in=list(listing_ids), market_date__date__gte=today, market_date__cancelled=False
        )
        .order_by("market_date__date", "market_date_id")
        .values_list("listing_id", "market_date_id")
    )
    for listing_id, market_date_id in rows:
        found[listing_id].append(market_date_id)
    return {listing_id: tuple(ids) for listing_id, ids in found.items()}


def event_labels(values: Sequence[str]) -> dict[str, str]:
    """Search facet value (a market date id) → "Market name · date", in one query."""
    ids = [int(value) for value in values if str(value).isdigit()]
    if not ids:
        return {}
    dates = FleaMarketDate.objects.filter(pk__in=ids).select_related("market")
    return {str(d.pk): f"{d.market.title} · {d.date.isoformat()}" for d in dates}


# --- Green account per event ------------------------------------------------------------------


def market_green_estimate(*, market: FleaMarketPage) -> Estimate:
    """CO2e avoided by the sales completed at this market's dates (orders handed over at
    an event, of listings marked available there); two queries."""
    rows = (
        Order.objects.filter(
            status=OrderStatus.COMPLETED,
            delivery_method=DeliveryMethod.EVENT,
            listing__event_availability__market_date__market=market,
        )
        .order_by()
        .values("listing__category", "listing__electronics__device_type", "listing__furniture__furniture_type")
        .annotate(n=Count("pk", distinct=True))
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
    return counts_green_estimate(counts=counts)


def swap_green_estimate(*, page: BookSwapPage) -> Estimate:
    """CO2e avoided by the books passed on at this school's swap days (handed over to a
    pupil or donated to a class library); two queries."""
    books = SwapBook.objects.filter(
        swap_day__page=page, status__in=[SwapBookStatus.HANDED_OVER, SwapBookStatus.DONATED]
    ).count()
    return counts_green_estimate(counts=[("books", "", books)] if books else [])
