"""The database backend: the `SearchEntry` table as an index, queried with the ORM.

PostgreSQL matches tokens through a weighted tsvector (GIN-indexed, `simple`
configuration: the tokens are already analysed by search.text, CJK bigrams included)
and ranks with ts_rank; for short Chinese queries ("书", "手机") it also ranks by
pg_trgm word similarity to the title when that extension is installed, so the
closest titles come first. SQLite matches the same tokens with LIKE. Distances are
computed in SQL (haversine, after a bounding box on the indexed coordinates).

A search is two queries whatever the number of matches, and neither touches every match
of a common word: one statement counts the total (up to TOTAL_COUNT_LIMIT, then "10 000+")
and every facet (over at most FACET_SAMPLE candidates, one pass each with CASE filters);
the other reads the page, relevance ranking only the newest RANK_WINDOW matches."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from django.contrib.postgres.search import SearchQuery as PgSearchQuery
from django.contrib.postgres.search import SearchRank, TrigramWordSimilarity
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone

from marketplace.models import Category, DeviceType
from search.backends.base import BackendHealth, SearchBackend
from search.models import SearchEntry, SearchSuggestion
from search.query import (
    DELIVERY_OPTIONS,
    EARTH_RADIUS_KM,
    FACETS,
    MAX_RESULT_WINDOW,
    PRICE_BUCKET_KEYS,
    PRICE_BUCKETS,
    SELLER_TYPES,
    TOTAL_COUNT_LIMIT,
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
# Facets counted per value of one column (the event column holds " 7 9 ": split afterwards).
GROUPED_COLUMNS = {
    "category": "category",
    "device_type": "device_type",
    "grade": "grade",
    "price": "price_bucket",
    "city": "city",
    "district": "district",
    "seller_type": "seller_type",
    "seller_tier": "seller_tier",
    "event": "event_keys",
}
# Facet values that are a boolean column.
FLAG_COLUMNS = {
    ("delivery", "ship"): "delivery_ship",
    ("delivery", "pickup"): "delivery_pickup",
    ("delivery", "event"): "delivery_event",
    ("erasure_verified", "true"): "erasure_verified",
    ("certified", "true"): "certified",
}
CANDIDATE_COLUMNS = [c for c in GROUPED_COLUMNS.values() if c != "price_bucket"] + list(FLAG_COLUMNS.values())
HIT_COLUMNS = ("listing_id", "latitude", "longitude", "grade", "certified", "erasure_verified", "seller_tier")
# Facets count at most this many matches (and the total stops there: "10 000+").
FACET_SAMPLE = TOTAL_COUNT_LIMIT
# Relevance ranks the newest this-many matches; older ones follow, newest first.
RANK_WINDOW = 1000
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


# The weighted vector of an entry's tokens: title A, attributes B, identifiers C, description D.
VECTOR_SQL = " || ".join(
    f"setweight(to_tsvector('simple'::regconfig, COALESCE(u.{column}, '')), '{weight}')"
    for column, weight in (("title_tokens", "A"), ("attribute_tokens", "B"), ("identifiers", "C"), ("body_tokens", "D"))
)


def _insert_postgres(entries: list[SearchEntry], *, replacing: bool) -> None:
    """Write a batch of entries with one set-based statement: INSERT … SELECT from the
    batch sent as one JSON array (jsonb_to_recordset), the vector computed by the same
    statement, so each row and its index entries are written once (no UPDATE afterwards)
    and no per-row SQL is built in Python. `replacing` updates the entries that exist."""
    fields = [f for f in SearchEntry._meta.concrete_fields if f.name != "search_vector"]
    now = timezone.now()
    rows = []
    for entry in entries:
        entry.indexed_at = now
        row: dict[str, Any] = {}
        for field in fields:
            value = getattr(entry, field.attname)
            row[str(field.column)] = value.isoformat() if isinstance(value, dt.datetime) else value
        rows.append(row)
    quote = connection.ops.quote_name
    columns = [quote(str(field.column)) for field in fields]
    definitions = [f"{quote(str(field.column))} {field.db_type(connection)}" for field in fields]
    sql = (
        f"INSERT INTO {quote(SearchEntry._meta.db_table)} ({', '.join(columns)}, {quote('search_vector')}) "  # noqa: S608
        f"SELECT {', '.join(f'u.{column}' for column in columns)}, {VECTOR_SQL} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS u({', '.join(definitions)})"
    )
    if replacing:
        updated = [quote(name) for name in [*UPDATED_FIELDS, "indexed_at", "search_vector"]]
        sql += f" ON CONFLICT ({quote('listing_id')}) DO UPDATE SET " + ", ".join(
            f"{column} = EXCLUDED.{column}" for column in updated
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, ensure_ascii=False)])


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


def _price_bucket() -> Case:
    """The key of the price bucket a row falls in (the buckets do not overlap)."""
    whens = [
        When(Q(price__gte=bucket.low) & (Q(price__lt=bucket.high) if bucket.high else Q()), then=Value(bucket.key))
        for bucket in PRICE_BUCKETS
    ]
    return Case(*whens, default=Value(""), output_field=CharField())


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
                if _postgres():
                    _insert_postgres(entries, replacing=replacing)
                elif replacing:
                    SearchEntry.objects.bulk_create(
                        entries, update_conflicts=True, unique_fields=["listing_id"], update_fields=UPDATED_FIELDS
                    )
                else:
                    SearchEntry.objects.bulk_create(entries)
                if replacing:
                    SearchSuggestion.objects.filter(listing_id__in=ids).delete()
                SearchSuggestion.objects.bulk_create(suggestions)
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
        self,
        queryset: QuerySet[SearchEntry],
        query: SearchQuery,
        exact: Expression | None,
        rank: Expression | None,
        *,
        sort_found: bool = False,
    ) -> QuerySet[SearchEntry]:
        """`queryset` in the query's order. `sort_found`: the matches are few (the total is
        exact, at most TOTAL_COUNT_LIMIT) and found through the GIN index, so sort them
        rather than walk a sort index checking every row for the words: a LIMIT makes
        PostgreSQL prefer that walk, which reads the whole index when the matches are
        rare or all at its far end (sofas sorted dearest first)."""
        sort = query.effective_sort
        published: Any = F("published_at")
        price: Any = F("price")
        if sort_found and _postgres():
            # The same values, but expressions no index is ordered by.
            published = ExpressionWrapper(published + Value(dt.timedelta(0)), output_field=DateTimeField())
            price = ExpressionWrapper(price + Value(0), output_field=BigIntegerField())
        if sort == Sort.NEWEST:
            return queryset.order_by(published.desc(), "-listing_id")
        if sort == Sort.PRICE_ASC:
            return queryset.order_by(price.asc(), "-listing_id")
        if sort == Sort.PRICE_DESC:
            return queryset.order_by(price.desc(), "-listing_id")
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

    def _facet_statement(
        self, base: QuerySet[SearchEntry], matching: QuerySet[SearchEntry], filters: dict[str, Q]
    ) -> tuple[str, list[Any]]:
        """One SQL statement for every facet count and the total.

        The candidates are at most FACET_SAMPLE + 1 rows of `base` (the text and the
        filters that are not facets) that fail at most one facet filter, in whatever
        order the index gives them: a fixed amount of work for common words. Each facet
        counts the candidates passing every filter but its own (FILTER-like CASE
        expressions over flags computed once per row), one UNION ALL branch per facet
        over the materialised candidates. The total counts `matching` up to
        TOTAL_COUNT_LIMIT + 1 rows (taken from the candidates when nothing is filtered)."""
        flags = {f"f_{name}": ExpressionWrapper(q, output_field=BooleanField()) for name, q in filters.items()}
        candidates = base.annotate(**flags, price_bucket=_price_bucket()).order_by()
        if len(filters) > 1:
            misses = sum(
                (Case(When(q, then=Value(0)), default=Value(1), output_field=IntegerField()) for q in filters.values()),
                start=Value(0, output_field=IntegerField()),
            )
            candidates = candidates.alias(facet_misses=misses).filter(facet_misses__lte=1)
        columns = [*CANDIDATE_COLUMNS, "price_bucket", *flags]
        sample_sql, sample_params = candidates.values(*columns)[: FACET_SAMPLE + 1].query.sql_with_params()
        quote = connection.ops.quote_name

        def counted(facet: str) -> str:
            others = [quote(f"f_{name}") for name in filters if name != facet]
            return f"COUNT(CASE WHEN {' AND '.join(others)} THEN 1 END)" if others else "COUNT(*)"

        # Only constant column names (quoted) are formatted into the SQL; values are parameters.
        branches: list[str] = []
        params: list[Any] = list(sample_params)
        for facet, column in GROUPED_COLUMNS.items():
            branches.append(
                f"SELECT %s, {quote(column)}, {counted(facet)} FROM candidates "  # noqa: S608
                f"WHERE {quote(column)} <> %s GROUP BY {quote(column)}"
            )
            params += [facet, " " if facet == "event" else ""]
        for (facet, value), column in FLAG_COLUMNS.items():
            branches.append(f"SELECT %s, %s, {counted(facet)} FROM candidates WHERE {quote(column)}")  # noqa: S608
            params += [facet, value]
        branches.append("SELECT %s, %s, COUNT(*) FROM candidates")
        params += ["#sample", ""]
        if filters:
            total_sql, total_params = matching.values("listing_id")[: TOTAL_COUNT_LIMIT + 1].query.sql_with_params()
            branches.append(f"SELECT %s, %s, COUNT(*) FROM ({total_sql}) capped")  # noqa: S608
            params += ["#total", "", *total_params]
        return f"WITH candidates AS ({sample_sql}) " + " UNION ALL ".join(branches), params

    def _facets_and_total(
        self, base: QuerySet[SearchEntry], matching: QuerySet[SearchEntry], filters: dict[str, Q]
    ) -> tuple[dict[str, list[FacetCount]], int, bool, bool]:
        """(facets, total, whether more match than `total`, whether the facets count only
        a sample of the candidates) in one query."""
        sql, params = self._facet_statement(base, matching, filters)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        sample = total = 0
        for facet, value, n in rows:
            if facet == "#sample":
                sample = int(n)
            elif facet == "#total":
                total = int(n)
            elif facet == "event":
                for key in str(value).split():  # " 7 9 ": the rows with both events
                    counts["event"][key] = counts["event"].get(key, 0) + int(n)
            elif n:
                counts[facet][str(value)] = int(n)
        if not filters:
            total = sample
        facets: dict[str, list[FacetCount]] = {}
        for name in FACETS:
            values = counts[name]
            if name in FIXED_VALUES:
                values = {value: n for value, n in values.items() if value in FIXED_VALUES[name]}
            order = PRICE_BUCKET_KEYS if name == "price" else None
            facets[name] = facet_counts(values, order=order)
        return facets, min(total, TOTAL_COUNT_LIMIT), total > TOTAL_COUNT_LIMIT, sample > FACET_SAMPLE

    def _page(
        self,
        matching: QuerySet[SearchEntry],
        query: SearchQuery,
        exact: Expression | None,
        rank: Expression | None,
        *,
        few: bool,
    ) -> list[dict[str, Any]]:
        """The rows of the requested page. Relevance ranks the newest matches only (a
        window of about RANK_WINDOW rows, a multiple of the page size so that no page
        straddles it), never every match of a common word; matches past the window
        follow, newest first. `few`: the words match at most TOTAL_COUNT_LIMIT
        listings (see `_ordered`)."""
        start, stop = query.offset, query.offset + query.per_page
        if start >= MAX_RESULT_WINDOW:
            return []
        sort_found = few and query.has_text
        newest = self._ordered(matching, query.with_changes(sort=Sort.NEWEST), None, None, sort_found=sort_found)
        if query.effective_sort == Sort.RELEVANCE and rank is not None:
            window = math.ceil(RANK_WINDOW / query.per_page) * query.per_page
            if start >= window:
                return list(newest.values(*HIT_COLUMNS)[start:stop])
            candidates = SearchEntry.objects.filter(listing_id__in=newest.values("listing_id")[:window])
            return list(self._ordered(candidates, query, exact, rank).values(*HIT_COLUMNS)[start:stop])
        ordered = self._ordered(matching, query, exact, rank, sort_found=sort_found)
        return list(ordered.values(*HIT_COLUMNS)[start:stop])

    def search(self, query: SearchQuery) -> SearchResult:
        with _timed() as timer:
            base, exact, rank = self._base(query)
            filters = {name: self._facet_filter(name, value) for name, value in query.active_facet_filters().items()}
            matching = base.filter(*filters.values())
            facets, total, more, partial = self._facets_and_total(base, matching, filters)
            rows = self._page(matching, query, exact, rank, few=not more)
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
            hits=hits,
            total=total,
            facets=facets,
            backend=self.name,
            engine_ms=round(timer.seconds * 1000, 3),
            total_is_lower_bound=more,
            facets_are_partial=partial,
        )

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        key = suggestion_key(prefix)
        if not key:
            return []
        texts = set(
            SearchSuggestion.objects.filter(key__startswith=key).values_list("text", flat=True).distinct()[:200]
        )
        return sorted(texts, key=lambda text: (len(text), text))[:limit]
