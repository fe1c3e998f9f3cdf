"""What the search backends exchange: the indexed document, the query with its filters,
and the result with hits and facet counts. Plain dataclasses, no Django, so both
backends (and the contract tests) speak exactly the same language."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from search.text import identifier_candidates, query_parts

# Only these listing states are in the index; anything else is removed on change.
INDEXED_STATUSES = ("published", "reserved")
EARTH_RADIUS_KM = 6371.0088
MAX_PER_PAGE = 50
# Elasticsearch's default index.max_result_window: deeper pages are not served.
MAX_RESULT_WINDOW = 10_000
# Backends may stop counting matches here: the total is then a lower bound ("10 000+").
TOTAL_COUNT_LIMIT = 10_000


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    DISTANCE = "distance"


@dataclass(frozen=True)
class PriceBucket:
    key: str  # in yuan, as it appears in URLs: "100-500", "50000-"
    low: int  # minor units, inclusive
    high: int | None  # minor units, exclusive


PRICE_BUCKETS: tuple[PriceBucket, ...] = (
    PriceBucket("0-100", 0, 10_000),
    PriceBucket("100-500", 10_000, 50_000),
    PriceBucket("500-2000", 50_000, 200_000),
    PriceBucket("2000-10000", 200_000, 1_000_000),
    PriceBucket("10000-50000", 1_000_000, 5_000_000),
    PriceBucket("50000-", 5_000_000, None),
)
PRICE_BUCKET_KEYS = tuple(bucket.key for bucket in PRICE_BUCKETS)

# Facet names, in the order pages show them. Keyword facets count the values of one
# field; "price" counts PRICE_BUCKETS; the two flags count listings that have them.
KEYWORD_FACETS = ("category", "device_type", "grade", "city", "district", "seller_tier", "event", "delivery")
FLAG_FACETS = ("erasure_verified", "certified")
FACETS = (
    "category",
    "device_type",
    "grade",
    "price",
    "erasure_verified",
    "certified",
    "city",
    "district",
    "delivery",
    "seller_type",
    "seller_tier",
    "event",
)
SELLER_TYPES = ("user", "shop")
DELIVERY_OPTIONS = ("ship", "pickup", "event")


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle (haversine) distance."""
        phi1, phi2 = math.radians(self.lat), math.radians(other.lat)
        d_phi = phi2 - phi1
        d_lambda = math.radians(other.lon - self.lon)
        a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True)
class IndexDocument:
    """Everything search knows about one listing."""

    listing_id: int
    title: str
    category: str
    price: int  # minor units
    published_at: dt.datetime
    description: str = ""
    brand: str = ""
    model: str = ""
    book_title: str = ""
    authors: tuple[str, ...] = ()
    isbn: str = ""
    identifiers: tuple[str, ...] = ()  # ISBN-13 and VIN, matched exactly
    device_type: str = ""
    emission_standard: str = ""  # vehicles: the China emission standard (cn5, cn6b, ev…)
    grade: str = ""
    certified: bool = False
    erasure_verified: bool = False
    currency: str = "CNY"
    city: str = ""
    district: str = ""
    location: GeoPoint | None = None
    delivery: tuple[str, ...] = ()
    seller_type: str = "user"
    seller_tier: str = ""
    event_ids: tuple[int, ...] = ()
    status: str = "published"
    suggestions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Engines keep dates to the millisecond; so does the document, or sorting by date
        # would break ties differently from one backend to the other.
        millis = self.published_at.replace(microsecond=self.published_at.microsecond // 1000 * 1000)
        object.__setattr__(self, "published_at", millis)

    def as_dict(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "title": self.title,
            "description": self.description,
            "brand": self.brand,
            "model": self.model,
            "book_title": self.book_title,
            "authors": list(self.authors),
            "isbn": self.isbn,
            "identifiers": list(self.identifiers),
            "category": self.category,
            "device_type": self.device_type,
            "emission_standard": self.emission_standard,
            "grade": self.grade,
            "certified": self.certified,
            "erasure_verified": self.erasure_verified,
            "price": self.price,
            "currency": self.currency,
            "city": self.city,
            "district": self.district,
            "location": {"lat": self.location.lat, "lon": self.location.lon} if self.location else None,
            "delivery": list(self.delivery),
            "seller_type": self.seller_type,
            "seller_tier": self.seller_tier,
            "event_ids": list(self.event_ids),
            "status": self.status,
            "published_at": self.published_at.astimezone(dt.UTC).isoformat(),
            "suggestions": list(self.suggestions),
        }

    def fingerprint(self) -> str:
        """Changes whenever anything indexed changes; drift repair compares these."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexDocument:
        location = data.get("location")
        return cls(
            listing_id=int(data["listing_id"]),
            title=data["title"],
            description=data.get("description", ""),
            brand=data.get("brand", ""),
            model=data.get("model", ""),
            book_title=data.get("book_title", ""),
            authors=tuple(data.get("authors", ())),
            isbn=data.get("isbn", ""),
            identifiers=tuple(data.get("identifiers", ())),
            category=data["category"],
            device_type=data.get("device_type", ""),
            emission_standard=data.get("emission_standard", ""),
            grade=data.get("grade", ""),
            certified=bool(data.get("certified")),
            erasure_verified=bool(data.get("erasure_verified")),
            price=int(data["price"]),
            currency=data.get("currency", "CNY"),
            city=data.get("city", ""),
            district=data.get("district", ""),
            location=GeoPoint(float(location["lat"]), float(location["lon"])) if location else None,
            delivery=tuple(data.get("delivery", ())),
            seller_type=data.get("seller_type", "user"),
            seller_tier=data.get("seller_tier", ""),
            event_ids=tuple(int(i) for i in data.get("event_ids", ())),
            status=data.get("status", "published"),
            published_at=dt.datetime.fromisoformat(data["published_at"]),
            suggestions=tuple(data.get("suggestions", ())),
        )


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    categories: tuple[str, ...] = ()
    device_types: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    price_buckets: tuple[str, ...] = ()  # PRICE_BUCKET_KEYS; several mean any of them
    price_min: int | None = None  # minor units, inclusive
    price_max: int | None = None
    cities: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    erasure_verified: bool = False
    certified: bool = False
    seller_tiers: tuple[str, ...] = ()
    event_ids: tuple[int, ...] = ()
    delivery: tuple[str, ...] = ()
    seller_types: tuple[str, ...] = ()
    near: GeoPoint | None = None
    within_km: float | None = None  # needs `near`
    published_after: dt.datetime | None = None  # for saved-search alerts
    # Vehicles only where they can be registered: the emission standards the buyer's city
    # accepts for transferred used cars (None: no such filter; other categories pass).
    registrable_standards: tuple[str, ...] | None = None
    sort: Sort = Sort.RELEVANCE
    page: int = 1
    per_page: int = 20

    @property
    def has_text(self) -> bool:
        """Whether the text asks for anything (stop words and punctuation alone do not)."""
        return bool(query_parts(self.text) or identifier_candidates(self.text))

    @property
    def effective_sort(self) -> Sort:
        """Relevance needs words to be relevant to, and distance a point."""
        if self.sort == Sort.DISTANCE and self.near is None:
            return Sort.RELEVANCE if self.has_text else Sort.NEWEST
        if self.sort == Sort.RELEVANCE and not self.has_text:
            return Sort.NEWEST
        return self.sort

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def with_changes(self, **changes: Any) -> SearchQuery:
        return replace(self, **changes)

    def price_ranges(self) -> list[tuple[int | None, int | None]]:
        """The price filter as ranges (low inclusive, high exclusive), any of which
        matches; the min/max fields narrow every range."""
        chosen = [bucket for bucket in PRICE_BUCKETS if bucket.key in self.price_buckets]
        ranges: list[tuple[int | None, int | None]] = (
            [(bucket.low, bucket.high) for bucket in chosen] if chosen else [(None, None)]
        )
        upper = self.price_max + 1 if self.price_max is not None else None
        narrowed = []
        for low, high in ranges:
            if self.price_min is not None:
                low = max(low or 0, self.price_min)
            if upper is not None:
                high = upper if high is None else min(high, upper)
            narrowed.append((low, high))
        return narrowed

    def active_facet_filters(self) -> dict[str, Any]:
        """Facet name → what this query asks of it, for the facets it filters on.
        Facet counts apply every filter except the facet's own, so a buyer sees the
        alternatives to what they picked."""
        active: dict[str, Any] = {}
        values = {
            "category": self.categories,
            "device_type": self.device_types,
            "grade": self.grades,
            "city": self.cities,
            "district": self.districts,
            "seller_tier": self.seller_tiers,
            "event": self.event_ids,
            "delivery": self.delivery,
            "seller_type": self.seller_types,
        }
        for name, chosen in values.items():
            if chosen:
                active[name] = tuple(chosen)
        if self.price_buckets or self.price_min is not None or self.price_max is not None:
            active["price"] = self.price_ranges()
        if self.erasure_verified:
            active["erasure_verified"] = True
        if self.certified:
            active["certified"] = True
        return active


@dataclass(frozen=True)
class Hit:
    listing_id: int
    score: float | None = None
    distance_km: float | None = None
    grade: str = ""
    certified: bool = False
    erasure_verified: bool = False
    seller_tier: str = ""


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    backend: str = ""
    engine_ms: float | None = None  # the engine's own time (ES `took`, SQL time)
    # More than `total` listings match (a backend that stops counting at TOTAL_COUNT_LIMIT).
    total_is_lower_bound: bool = False
    # The facet counts cover only part of the matches (the first TOTAL_COUNT_LIMIT or so
    # the engine found), not all of them: always so when the total is a lower bound.
    facets_are_partial: bool = False


def facet_counts(counts: Mapping[str, int], *, order: tuple[str, ...] | None = None) -> list[FacetCount]:
    """Non-zero counts, most frequent first (ties by value), or in a fixed `order`."""
    if order is not None:
        return [FacetCount(value, counts[value]) for value in order if counts.get(value)]
    ranked = sorted(((value, n) for value, n in counts.items() if n and value), key=lambda item: (-item[1], item[0]))
    return [FacetCount(value, n) for value, n in ranked]


def hit_distance(query: SearchQuery, location: GeoPoint | None) -> float | None:
    if query.near is None or location is None:
        return None
    return round(query.near.distance_km(location), 3)
