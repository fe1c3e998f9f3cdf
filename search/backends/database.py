"""The database backend: the `SearchEntry` table as an index, queried with the ORM.

PostgreSQL matches tokens through a weighted tsvector (GIN-indexed, `simple`
configuration: the tokens are already analysed by search.text, CJK bigrams included)
and ranks with ts_rank; for short Chinese queries ("书", "手机") it also ranks by
pg_trgm word similarity to the title when that extension is installed, so the
closest titles come first. SQLite matches the same tokens with LIKE. Distances are
computed in SQL (haversine, after a bounding box on the indexed coordinates), facets
with one conditional-count query plus a GROUP BY per open-ended facet."""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.contrib.postgres.search import SearchQuery as PgSearchQuery
from django.contrib.postgres.search import SearchRank, SearchVector, TrigramWordSimilarity
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Count, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression, Expression
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt

from marketplace.models import Category, DeviceType
from search.backends.base import BackendHealth, SearchBackend
from search.models import SearchEntry, SearchSuggestion
from search.query import (
    DELIVERY_OPTIONS,
    EARTH_RADIUS_KM,
    FACETS,
    MAX_RESULT_WINDOW,
    PRICE_BUCKETS,
    SELLER_TYPES,
    FacetCount,
    GeoPoint,
    Hit,
    IndexDocument,
    SearchQuery,
    SearchResult,
    Sort,
    facet_counts,
    hit_distance,
)
from search.text import document_tokens, identifier_candidates, is_short_cjk, query_tokens, suggestion_key

BATCH = 1000
KM_PER_DEGREE = 111.195
VEHICLES = Category.VEHICLES.value
# Facets with a fixed set of values: counted together in one query.
FIXED_VALUES: dict[str, tuple[str, ...]] = {
    "category": tuple(Category.values),
    "device_type": tuple(DeviceType.values),
    "seller_type": SELLER_TYPES,
    "delivery": DELIVERY_OPTIONS,
}
GROUPED_FIELDS = {"grade": "grade", "city": "city", "district": "district", "seller_tier": "seller_tier"}
KEYWORD_FIELDS = {
    "category": "category",
    "device_type": "device_type",
    "grade": "grade",
    "city": "city",
    "district": "district",
    "seller_tier": "seller_tier",
    "seller_type": "seller_type",
}
UPDATED_FIELDS = [
    f.name for f in SearchEntry._meta.concrete_fields if f.name not in ("listing_id", "search_vector", "indexed_at")
]


def _padded(tokens: Iterable[str]) -> str:
    return f" {' '.join(tokens)} "


def _batches(items: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@functools.cache
def _trigram_available(database: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def trigram_available() -> bool:
    return _postgres() and _trigram_available(str(connection.settings_dict["NAME"]))


class _SqlTimer:
    """Adds up the time the database spends on this backend's queries."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


@contextlib.contextmanager
def _timed() -> Iterator[_SqlTimer]:
    timer = _SqlTimer()
    with connection.execute_wrapper(timer):
        yield timer


def entry_for(document: IndexDocument) -> SearchEntry:
    title_tokens = document_tokens(document.title)
    attribute_tokens = document_tokens(
        document.brand, document.model, document.book_title, *document.authors, document.isbn
    )
    body_tokens = document_tokens(document.description)
    return SearchEntry(
        listing_id=document.listing_id,
        title=document.title[:200],
        title_tokens=_padded(title_tokens),
        attribute_tokens=_padded(attribute_tokens),
        body_tokens=_padded(body_tokens),
        identifiers=_padded(document.identifiers),
        category=document.category,
        device_type=document.device_type,
        emission_standard=document.emission_standard,
        grade=document.grade,
        certified=document.certified,
        erasure_verified=document.erasure_verified,
        price=document.price,
        currency=document.currency,
        city=document.city,
        district=document.district,
        latitude=document.location.lat if document.location else None,
        longitude=document.location.lon if document.location else None,
        delivery_ship="ship" in document.delivery,
        delivery_pickup="pickup" in document.delivery,
        delivery_event="event" in document.delivery,
        seller_type=document.seller_type,
        seller_tier=document.seller_tier,
        event_keys=_padded(str(event_id) for event_id in document.event_ids),
        status=document.status,
        published_at=document.published_at,
        fingerprint=document.fingerprint(),
        document=document.as_dict(),
    )


def repr_token(token: str) -> str:
    """A token quoted for a raw tsquery (tokens never contain quotes or backslashes)."""
    return "'" + token.replace("'", "").replace("\\", "") + "'"


def _search_vector() -> CombinedExpression:
    return (
        SearchVector("title_tokens", weight="A", config="simple")
        + SearchVector("attribute_tokens", weight="B", config="simple")
        + SearchVector("identifiers", weight="C", config="simple")
        + SearchVector("body_tokens", weight="D", config="simple")
    )


def _distance_km(lat: float, lon: float) -> Expression:
    """Haversine distance from (lat, lon) to the entry's coordinates, in SQL."""
    phi = math.radians(lat)
    d_phi = Radians(F("latitude")) - Value(phi)
    d_lambda = Radians(F("longitude")) - Value(math.radians(lon))
    a = Power(Sin(d_phi / Value(2.0)), 2) + Value(math.cos(phi)) * Cos(Radians(F("latitude"))) * Power(
        Sin(d_lambda / Value(2.0)), 2
    )
    expression: Expression = Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(a, Value(1.0), output_field=FloatField())))
    return expression


class DatabaseBackend(SearchBackend):
    name = "database"

    # --- writing ------------------------------------------------------------------

    def bulk_index(self, documents: Iterable[IndexDocument]) -> int:
        return self._write(documents, replacing=True)

    def _write(self, documents: Iterable[IndexDocument], *, replacing: bool) -> int:
        """Insert entries with their suggestions; `replacing` when they may exist already."""
        written = 0
        for batch in _batches(documents):
            entries = [entry_for(document) for document in batch]
            ids = [entry.listing_id for entry in entries]
            suggestions = [
                SearchSuggestion(listing_id=document.listing_id, text=text[:200], key=suggestion_key(text)[:200])
                for document in batch
                for text in document.suggestions
            ]
            with transaction.atomic():
                if replacing:
                    SearchEntry.objects.bulk_create(
                        entries, update_conflicts=True, unique_fields=["listing_id"], update_fields=UPDATED_FIELDS
                    )
                    SearchSuggestion.objects.filter(listing_id__in=ids).delete()
                else:
                    SearchEntry.objects.bulk_create(entries)
                SearchSuggestion.objects.bulk_create(suggestions)
                if _postgres():
                    SearchEntry.objects.filter(listing_id__in=ids).update(search_vector=_search_vector())
            written += len(entries)
        return written

    def delete_many(self, listing_ids: Iterable[int]) -> None:
        for batch in _batches(listing_ids):
            with transaction.atomic():
                SearchEntry.objects.filter(listing_id__in=batch).delete()
                SearchSuggestion.objects.filter(listing_id__in=batch).delete()

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        # One transaction: searches see the old rows until the new ones are committed.
        with transaction.atomic():
            self.clear()
            return self._write(documents, replacing=False)

    def clear(self) -> None:
        SearchEntry.objects.all().delete()
        SearchSuggestion.objects.all().delete()

    def fingerprints(self) -> dict[int, str]:
        return dict(SearchEntry.objects.values_list("listing_id", "fingerprint"))

    def health(self) -> BackendHealth:
        try:
            SearchEntry.objects.exists()
        except DatabaseError as exc:
            return BackendHealth(self.name, ok=False, detail=str(exc))
        return BackendHealth(self.name, ok=True)

    # --- reading --------------------------------------------------------------------

    def _text_filter(self, query: SearchQuery) -> tuple[Q | None, Expression | None, Expression | None]:
        """(filter, exact-identifier flag, relevance) for the query's text."""
        tokens = query_tokens(query.text)
        identifiers = identifier_candidates(query.text)
        text_q: Q | None = None
        rank: Expression | None = None
        exact: Expression | None = None
        if identifiers:
            ident_q = Q()
            for identifier in identifiers:
                ident_q |= Q(identifiers__contains=f" {identifier} ")
            exact = Case(When(ident_q, then=Value(1)), default=Value(0), output_field=IntegerField())
        if _postgres():
            # Identifiers are in the vector too, so "all the words, or the exact item" is
            # one GIN-indexed match. Tokens are [0-9a-z] runs or CJK characters and
            # identifiers [0-9A-Z]: safe inside a raw tsquery.
            alternatives = [f"({' & '.join(repr_token(t) for t in tokens)})"] if tokens else []
            # ":C": only where the vector has it as an identifier, not a word in a text.
            alternatives += [f"{repr_token(identifier.lower())}:C" for identifier in identifiers]
            if alternatives:
                tsquery = PgSearchQuery(" | ".join(alternatives), search_type="raw", config="simple")
                text_q = Q(search_vector=tsquery)
                rank = SearchRank(F("search_vector"), tsquery)
            return text_q, exact, rank
        if tokens:
            text_q = Q()
            in_title = Q()
            for token in tokens:
                needle = f" {token} "
                text_q &= (
                    Q(title_tokens__contains=needle)
                    | Q(attribute_tokens__contains=needle)
                    | Q(body_tokens__contains=needle)
                )
                in_title &= Q(title_tokens__contains=needle)
            rank = Case(When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField())
        if identifiers:
            ident_q = Q()
            for identifier in identifiers:
                ident_q |= Q(identifiers__contains=f" {identifier} ")
            text_q = ident_q if text_q is None else text_q | ident_q
        return text_q, exact, rank

    def _facet_filter(self, name: str, value: Any) -> Q:
        if name in KEYWORD_FIELDS:
            return Q(**{f"{KEYWORD_FIELDS[name]}__in": list(value)})
        if name == "event":
            q = Q()
            for event_id in value:
                q |= Q(event_keys__contains=f" {event_id} ")
            return q
        if name == "delivery":
            q = Q()
            for option in value:
                q |= Q(**{f"delivery_{option}": True})
            return q
        if name == "price":
            q = Q()
            for low, high in value:
                part = Q()
                if low is not None:
                    part &= Q(price__gte=low)
                if high is not None:
                    part &= Q(price__lt=high)
                q |= part
            return q
        if name in ("erasure_verified", "certified"):
            return Q(**{name: True})
        raise ValueError(f"unknown facet {name}")

    def _base(self, query: SearchQuery) -> tuple[QuerySet[SearchEntry], Expression | None, Expression | None]:
        queryset = SearchEntry.objects.all()
        text_q, exact, rank = self._text_filter(query) if query.has_text else (None, None, None)
        if text_q is not None:
            queryset = queryset.filter(text_q)
        if query.published_after is not None:
            queryset = queryset.filter(published_at__gte=query.published_after)
        if query.registrable_standards is not None:
            queryset = queryset.filter(
                ~Q(category=VEHICLES) | Q(emission_standard__in=list(query.registrable_standards))
            )
        if query.near is not None and (query.within_km or query.effective_sort == Sort.DISTANCE):
            queryset = queryset.annotate(distance=_distance_km(query.near.lat, query.near.lon))
            if query.within_km:
                d_lat = query.within_km / KM_PER_DEGREE
                d_lon = query.within_km / (KM_PER_DEGREE * max(math.cos(math.radians(query.near.lat)), 0.01))
                queryset = queryset.filter(
                    latitude__range=(query.near.lat - d_lat, query.near.lat + d_lat),
                    longitude__range=(query.near.lon - d_lon, query.near.lon + d_lon),
                    distance__lte=query.within_km,
                )
        return queryset, exact, rank

    def _ordered(
        self, queryset: QuerySet[SearchEntry], query: SearchQuery, exact: Expression | None, rank: Expression | None
    ) -> QuerySet[SearchEntry]:
        sort = query.effective_sort
        if sort == Sort.NEWEST:
            return queryset.order_by("-published_at", "-listing_id")
        if sort == Sort.PRICE_ASC:
            return queryset.order_by("price", "-listing_id")
        if sort == Sort.PRICE_DESC:
            return queryset.order_by("-price", "-listing_id")
        if sort == Sort.DISTANCE:
            return queryset.order_by(F("distance").asc(nulls_last=True), "-listing_id")
        order: list[Any] = []
        if exact is not None:
            queryset = queryset.annotate(exact=exact)
            order.append("-exact")
        if trigram_available() and is_short_cjk(query.text):
            queryset = queryset.annotate(similarity=TrigramWordSimilarity(query.text.strip(), "title"))
            order.append("-similarity")
        if rank is not None:
            queryset = queryset.annotate(rank=rank)
            order.append("-rank")
        return queryset.order_by(*order, "-published_at", "-listing_id")

    def _count_facets(self, queryset: QuerySet[SearchEntry], names: Sequence[str]) -> dict[str, list[FacetCount]]:
        found: dict[str, list[FacetCount]] = {}
        aggregates: dict[str, Count] = {}
        for name in names:
            if name in FIXED_VALUES:
                for value in FIXED_VALUES[name]:
                    condition = (
                        Q(**{f"delivery_{value}": True}) if name == "delivery" else Q(**{KEYWORD_FIELDS[name]: value})
                    )
                    aggregates[f"{name}:{value}"] = Count("listing_id", filter=condition)
            elif name == "price":
                for bucket in PRICE_BUCKETS:
                    condition = Q(price__gte=bucket.low) & (Q(price__lt=bucket.high) if bucket.high else Q())
                    aggregates[f"price:{bucket.key}"] = Count("listing_id", filter=condition)
            elif name in ("erasure_verified", "certified"):
                aggregates[f"{name}:true"] = Count("listing_id", filter=Q(**{name: True}))
        if aggregates:
            counts = queryset.aggregate(**aggregates)
            for name in names:
                values = {key.split(":", 1)[1]: n for key, n in counts.items() if key.split(":", 1)[0] == name and n}
                if name == "price":
                    found[name] = facet_counts(values, order=tuple(b.key for b in PRICE_BUCKETS))
                elif name in FIXED_VALUES or name in ("erasure_verified", "certified"):
                    found[name] = facet_counts(values)
        for name in names:
            if name in GROUPED_FIELDS:
                field = GROUPED_FIELDS[name]
                rows = queryset.exclude(**{field: ""}).values(field).annotate(n=Count("listing_id")).order_by()
                found[name] = facet_counts({row[field]: row["n"] for row in rows})
            elif name == "event":
                events: dict[str, int] = {}
                for keys in queryset.exclude(event_keys=" ").values_list("event_keys", flat=True):
                    for key in keys.split():
                        events[key] = events.get(key, 0) + 1
                found[name] = facet_counts(events)
        return found

    def search(self, query: SearchQuery) -> SearchResult:
        with _timed() as timer:
            base, exact, rank = self._base(query)
            filters = {name: self._facet_filter(name, value) for name, value in query.active_facet_filters().items()}
            matching = base.filter(*filters.values())
            total = matching.count()
            rows: list[Any] = []
            if query.offset < min(total, MAX_RESULT_WINDOW):
                rows = list(
                    self._ordered(matching, query, exact, rank).values(
                        "listing_id",
                        "latitude",
                        "longitude",
                        "grade",
                        "certified",
                        "erasure_verified",
                        "seller_tier",
                    )[query.offset : query.offset + query.per_page]
                )
            # Facets not being filtered on share one set of filters; each facet that is
            # filtered on is counted without its own filter.
            groups: dict[str | None, list[str]] = {}
            for name in FACETS:
                groups.setdefault(name if name in filters else None, []).append(name)
            facets: dict[str, list[FacetCount]] = {}
            for excluded, names in groups.items():
                queryset = base.filter(*(q for name, q in filters.items() if name != excluded))
                facets.update(self._count_facets(queryset, names))
        hits = [
            Hit(
                listing_id=row["listing_id"],
                distance_km=hit_distance(
                    query,
                    None
                    if row["latitude"] is None or row["longitude"] is None
                    else GeoPoint(row["latitude"], row["longitude"]),
                ),
                grade=row["grade"],
                certified=row["certified"],
                erasure_verified=row["erasure_verified"],
                seller_tier=row["seller_tier"],
            )
            for row in rows
        ]
        return SearchResult(
            hits=hits, total=total, facets=facets, backend=self.name, engine_ms=round(timer.seconds * 1000, 3)
        )

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        key = suggestion_key(prefix)
        if not key:
            return []
        texts = set(
            SearchSuggestion.objects.filter(key__startswith=key).values_list("text", flat=True).distinct()[:200]
        )
        return sorted(texts, key=lambda text: (len(text), text))[:limit]
