"""The Elasticsearch backend, built with elasticsearch-dsl.

Documents live in versioned indices (`<prefix>listings-<timestamp>`) behind the alias
`<prefix>listings`; `rebuild` fills a new index and swaps the alias in one atomic
call, so searches never see a missing or half-built index.

Text fields use the analyzer named in OPTIONS["ANALYZER"]: the built-in `cjk`
(bigrams, no plugin needed) by default, or `smartcn` / `ik_max_word` (searched with
`ik_smart`) where the cluster has those plugins. Each text field has an `en`
sub-field with English stemming and a `uni` sub-field (standard analyzer: one token
per Chinese character) for one-character queries, which bigrams cannot match.

OPTIONS["PLAIN_JSON"] makes the client speak plain `application/json`: the 8.x
client sends `application/vnd.elasticsearch+json; compatible-with=8`, which
OpenSearch and osmem-server refuse, and insists on the `X-Elastic-Product` response
header, which they do not send. Without it such an engine answers 406 to every request
with a body; the error then says to set SEARCH_PLAIN_JSON=1.

Every failure of the engine becomes SearchUnavailable (with its cause), so that searches
fall back to the database backend; a missing alias is SearchIndexMissing. Only `rebuild`
creates an index, and it puts the alias on it once it is filled: a search never gets
an answer from an empty or half-filled index (drift repair rebuilds a missing one)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from elastic_transport import ConnectionTimeout, HttpHeaders, SerializationError, TransportError, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError
from elasticsearch.helpers import BulkIndexError, bulk, scan
from elasticsearch_dsl import (
    Boolean,
    Completion,
    Date,
    Document,
    GeoPoint,
    Index,
    Keyword,
    Long,
    Q,
    Search,
    Text,
    analyzer,
)

from search.backends.base import BackendHealth, SearchBackend, SearchIndexMissing, SearchUnavailable
from search.query import (
    FACETS,
    MAX_RESULT_WINDOW,
    PRICE_BUCKETS,
    FacetCount,
    Hit,
    IndexDocument,
    SearchQuery,
    SearchResult,
    Sort,
    facet_counts,
    hit_distance,
)
from search.query import GeoPoint as Point
from search.text import identifier_candidates, query_parts, suggestion_key

logger = logging.getLogger(__name__)

# Index analyzer, search analyzer.
ANALYZERS = {
    "cjk": ("cjk", "cjk"),
    "smartcn": ("smartcn", "smartcn"),
    "ik_max_word": ("ik_max_word", "ik_smart"),
}
TEXT_FIELDS = ("title", "brand", "model", "book_title", "authors", "description")
BOOSTS = {"title": 3, "brand": 2, "model": 2, "book_title": 2, "authors": 2, "description": 1}
KEYWORD_FIELDS = {
    "category": "category",
    "device_type": "device_type",
    "grade": "grade",
    "city": "city",
    "district": "district",
    "seller_tier": "seller_tier",
    "event": "event_ids",
    "delivery": "delivery",
    "seller_type": "seller_type",
}
# Documents per bulk request: small documents, and far fewer round trips than the
# client's default of 500 (2.5 times faster to rebuild against osmem-server).
BULK_CHUNK = 2000
VEHICLES = "vehicles"  # marketplace Category.VEHICLES
SOURCE_FIELDS = ["listing_id", "location", "grade", "certified", "erasure_verified", "seller_tier"]
# Matches completion inputs against the typed prefix as whole lower-cased strings.
suggest_analyzer = analyzer("suggest_keyword", tokenizer="keyword", filter=["lowercase"])


class PlainJsonNode(Urllib3HttpNode):
    """A transport node for OpenSearch-compatible engines (see the module docstring)."""

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        plain = HttpHeaders()
        for name, value in (headers or {}).items():
            if name.lower() in ("accept", "content-type") and "vnd.elasticsearch+" in value:
                value = value.replace("vnd.elasticsearch+", "").split(";", 1)[0].strip()
            plain[name] = value
        response = super().perform_request(method, target, body=body, headers=plain, request_timeout=request_timeout)
        response_headers = HttpHeaders(response.meta.headers)
        response_headers["x-elastic-product"] = "Elasticsearch"
        return NodeApiResponse(dataclasses.replace(response.meta, headers=response_headers), response.body)


def document_class(analyzer_name: str) -> type[Any]:
    """The listing mapping for one analyzer choice."""
    index_analyzer, search_analyzer = ANALYZERS[analyzer_name]

    def text() -> Any:
        return Text(
            analyzer=index_analyzer,
            search_analyzer=search_analyzer,
            fields={"en": Text(analyzer="english"), "uni": Text(analyzer="standard")},
        )

    class ListingDocument(Document):
        listing_id = Long()
        title = text()
        description = text()
        brand = text()
        model = text()
        book_title = text()
        authors = text()
        isbn = Keyword()
        identifiers = Keyword()
        category = Keyword()
        device_type = Keyword()
        emission_standard = Keyword()
        grade = Keyword()
        certified = Boolean()
        erasure_verified = Boolean()
        price = Long()
        currency = Keyword()
        city = Keyword()
        district = Keyword()
        location = GeoPoint()
        delivery = Keyword()
        seller_type = Keyword()
        seller_tier = Keyword()
        event_ids = Keyword()
        status = Keyword()
        published_at = Date()
        suggest = Completion(analyzer=suggest_analyzer, search_analyzer=suggest_analyzer)
        fingerprint = Keyword(index=False)

        class Meta:
            dynamic = "strict"

    return ListingDocument


def _source(document: IndexDocument) -> dict[str, Any]:
    source = document.as_dict()
    suggestions = source.pop("suggestions")
    source["event_ids"] = [str(event_id) for event_id in source["event_ids"]]
    source["suggest"] = {"input": suggestions} if suggestions else None
    source["fingerprint"] = document.fingerprint()
    return {key: value for key, value in source.items() if value is not None}


PLAIN_JSON_HINT = (
    "The engine refuses the Elasticsearch 8 client's content type "
    "(application/vnd.elasticsearch+json): it looks OpenSearch-compatible. Set SEARCH_PLAIN_JSON=1."
)


def _index_not_found(error: Any) -> bool:
    return "index_not_found" in str(error)


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Every failure of the engine means "search cannot answer" (SearchUnavailable with
    its cause); the caller falls back to the database. Down, slow or overloaded engines
    are rested; quick refusals (a missing index, a 4xx) are not, but a 4xx other than
    a missing index is logged as an error: it is usually a bug or a misconfiguration."""
    try:
        yield
    except ConnectionTimeout as exc:
        raise SearchUnavailable(str(exc), cause="timeout") from exc
    except SerializationError as exc:
        raise SearchUnavailable(str(exc), cause="unreadable response", rest=False) from exc
    except TransportError as exc:
        raise SearchUnavailable(str(exc), cause="unreachable") from exc
    except UnsupportedProductError as exc:
        raise SearchUnavailable(str(exc), cause="not Elasticsearch", rest=False, hint=PLAIN_JSON_HINT) from exc
    except ApiError as exc:
        status = int(exc.meta.status)
        if status == 404 and _index_not_found(exc.error):
            raise SearchIndexMissing(str(exc)) from exc
        if status >= 500 or status == 429:
            raise SearchUnavailable(str(exc), cause=f"HTTP {status}") from exc
        if status in (406, 415):
            logger.error("Search engine refused our content type: %s", exc)
            raise SearchUnavailable(str(exc), cause="content type refused", rest=False, hint=PLAIN_JSON_HINT) from exc
        logger.error("Search engine refused a request: %s", exc)
        raise SearchUnavailable(str(exc), cause=f"HTTP {status}", rest=False) from exc


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, *, url: str = "", options: dict[str, Any] | None = None) -> None:
        super().__init__(url=url, options=options)
        analyzer_name = self.options.get("ANALYZER", "cjk")
        if analyzer_name not in ANALYZERS:
            raise ValueError(f"SEARCH_BACKEND OPTIONS ANALYZER must be one of {sorted(ANALYZERS)}")
        self.document_class = document_class(analyzer_name)
        self.alias = f"{self.options.get('INDEX_PREFIX', 'xunhuan-')}listings"
        client_options: dict[str, Any] = {
            "request_timeout": float(self.options.get("TIMEOUT", 3.0)),
            "max_retries": 1,
            "retry_on_timeout": False,
        }
        if self.options.get("PLAIN_JSON"):
            client_options["node_class"] = PlainJsonNode
        self.client = Elasticsearch(url, **client_options)

    # --- indices and the alias ------------------------------------------------------------

    def _new_index(self) -> str:
        name = f"{self.alias}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"
        index = Index(name, using=self.client)
        index.settings(number_of_shards=1, number_of_replicas=int(self.options.get("REPLICAS", 0)))
        index.document(self.document_class)
        index.create()
        return name

    def _indices_behind_alias(self) -> list[str]:
        if not self.client.indices.exists_alias(name=self.alias):
            return []
        return list(self.client.indices.get_alias(name=self.alias).body)

    # --- writing --------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]], *, require_alias: bool = False) -> int:
        """Write; with `require_alias`, writing to a missing alias raises SearchIndexMissing
        instead of letting the engine create an index of that name with guessed mappings."""
        with _unavailable_on_failure():
            try:
                written, _errors = bulk(
                    self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=True, require_alias=require_alias
                )
            except BulkIndexError as exc:
                if exc.errors and all(_index_not_found(error) for error in exc.errors):
                    raise SearchIndexMissing(str(exc.errors[0])[:300]) from exc
                # A document the mapping refuses is a bug, not an outage: fail loudly.
                logger.error("Elasticsearch refused documents: %s", exc.errors[:3])
                raise
        return int(written)

    def bulk_index(self, documents: Iterable[IndexDocument]) -> int:
        # Into the index behind the alias only: a missing index is rebuilt whole by drift
        # repair, never started with a few documents that searches would take for all.
        return self._bulk(
            (
                {"_op_type": "index", "_index": self.alias, "_id": str(doc.listing_id), "_source": _source(doc)}
                for doc in documents
            ),
            require_alias=True,
        )

    def delete_many(self, listing_ids: Iterable[int]) -> None:
        with _unavailable_on_failure():
            bulk(
                self.client,
                ({"_op_type": "delete", "_index": self.alias, "_id": str(i)} for i in listing_ids),
                raise_on_error=False,  # deleting what is not there is fine
            )

    def refresh(self) -> None:
        with _unavailable_on_failure():
            self.client.indices.refresh(index=self.alias)

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        with _unavailable_on_failure():
            name = self._new_index()
            written = self._bulk(
                {"_op_type": "index", "_index": name, "_id": str(doc.listing_id), "_source": _source(doc)}
                for doc in documents
            )
            self.client.indices.refresh(index=name)
            old = self._indices_behind_alias()
            actions: list[dict[str, Any]] = [{"remove": {"index": index, "alias": self.alias}} for index in old]
            actions.append({"add": {"index": name, "alias": self.alias}})
            self.client.indices.update_aliases(actions=actions)
            for index in old:
                self.client.indices.delete(index=index)
        return written

    def clear(self) -> None:
        with _unavailable_on_failure():
            for index in self._indices_behind_alias():
                self.client.indices.delete(index=index)

    def fingerprints(self) -> dict[int, str]:
        with _unavailable_on_failure():
            return {
                int(hit["_id"]): hit["_source"].get("fingerprint", "")
                for hit in scan(self.client, index=self.alias, query={"_source": ["fingerprint"]}, size=1000)
            }

    def health(self) -> BackendHealth:
        """The cluster's health, then a search with a body on the alias: that one also
        fails when the index is missing or the engine refuses our content type."""
        try:
            with _unavailable_on_failure():
                status = self.client.cluster.health(timeout="2s").body.get("status", "")
                if status not in ("green", "yellow"):
                    return BackendHealth(self.name, ok=False, detail=f"cluster {status}")
                self.client.search(index=self.alias, size=0, query={"match_all": {}})
        except SearchUnavailable as exc:
            return BackendHealth(self.name, ok=False, detail=exc.cause)
        return BackendHealth(self.name, ok=True, detail=f"cluster {status}")

    # --- reading --------------------------------------------------------------------------

    def _text_query(self, query: SearchQuery) -> Any:
        clauses = []
        for part in query_parts(query.text):
            if part.kind == "word":
                fields = [f"{name}{sub}^{BOOSTS[name]}" for name in TEXT_FIELDS for sub in ("", ".en")] + ["isbn^2"]
            elif part.kind == "cjk":
                fields = [f"{name}^{BOOSTS[name]}" for name in TEXT_FIELDS]
            else:
                fields = [f"{name}.uni^{BOOSTS[name]}" for name in TEXT_FIELDS]
            clauses.append(Q("multi_match", query=part.text, fields=fields, type="best_fields", operator="and"))
        should = []
        if clauses:
            should.append(Q("bool", must=clauses))
        identifiers = identifier_candidates(query.text)
        if identifiers:
            # The exact item first, whatever the text scores.
            should.append(Q("constant_score", filter=Q("terms", identifiers=identifiers), boost=1000))
        return Q("bool", should=should, minimum_should_match=1) if should else None

    def _facet_filter(self, name: str, value: Any) -> Any:
        if name in KEYWORD_FIELDS:
            values = [str(v) for v in value]
            return Q("terms", **{KEYWORD_FIELDS[name]: values})
        if name == "price":
            ranges = []
            for low, high in value:
                bounds = {}
                if low is not None:
                    bounds["gte"] = low
                if high is not None:
                    bounds["lt"] = high
                ranges.append(Q("range", price=bounds))
            return Q("bool", should=ranges, minimum_should_match=1)
        if name in ("erasure_verified", "certified"):
            return Q("term", **{name: True})
        raise ValueError(f"unknown facet {name}")

    def _sort(self, query: SearchQuery) -> list[Any]:
        sort = query.effective_sort
        tie = {"listing_id": {"order": "desc"}}
        if sort == Sort.NEWEST:
            return [{"published_at": {"order": "desc"}}, tie]
        if sort == Sort.PRICE_ASC:
            return [{"price": {"order": "asc"}}, tie]
        if sort == Sort.PRICE_DESC:
            return [{"price": {"order": "desc"}}, tie]
        if sort == Sort.DISTANCE and query.near is not None:
            point = {"lat": query.near.lat, "lon": query.near.lon}
            return [{"_geo_distance": {"location": point, "order": "asc", "unit": "km"}}, tie]
        return [{"_score": {"order": "desc"}}, {"published_at": {"order": "desc"}}, tie]

    def search(self, query: SearchQuery) -> SearchResult:
        base_filters = []
        if query.published_after is not None:
            base_filters.append(Q("range", published_at={"gte": query.published_after.isoformat()}))
        if query.registrable_standards is not None:
            base_filters.append(
                Q(
                    "bool",
                    should=[
                        Q("bool", must_not=[Q("term", category=VEHICLES)]),
                        Q("terms", emission_standard=list(query.registrable_standards)),
                    ],
                    minimum_should_match=1,
                )
            )
        if query.near is not None and query.within_km:
            point = {"lat": query.near.lat, "lon": query.near.lon}
            base_filters.append(Q("geo_distance", distance=f"{query.within_km}km", location=point))
        text = self._text_query(query) if query.has_text else None
        main = Q("bool", must=[text] if text is not None else [], filter=base_filters)
        filters = {name: self._facet_filter(name, value) for name, value in query.active_facet_filters().items()}

        search = Search(using=self.client, index=self.alias).query(main).extra(track_total_hits=True)
        if filters:
            search = search.post_filter("bool", filter=list(filters.values()))
        for name in FACETS:
            others = [q for other, q in filters.items() if other != name]
            bucket = search.aggs.bucket(name, "filter", filter=Q("bool", filter=others))
            if name in KEYWORD_FIELDS:
                bucket.bucket("values", "terms", field=KEYWORD_FIELDS[name], size=200)
            elif name == "price":
                ranges = [
                    {"key": b.key, "from": b.low, **({"to": b.high} if b.high is not None else {})}
                    for b in PRICE_BUCKETS
                ]
                bucket.bucket("values", "range", field="price", keyed=True, ranges=ranges)
            else:
                bucket.bucket("values", "filter", filter=Q("term", **{name: True}))
        start = min(query.offset, MAX_RESULT_WINDOW)
        size = max(0, min(query.per_page, MAX_RESULT_WINDOW - start))
        search = search.sort(*self._sort(query)).source(SOURCE_FIELDS)[start : start + size]
        with _unavailable_on_failure():
            response = search.execute()
        body = response.to_dict()
        hits = []
        for raw in body["hits"]["hits"]:
            source = raw.get("_source", {})
            location = source.get("location")
            hits.append(
                Hit(
                    listing_id=int(raw["_id"]),
                    score=raw.get("_score"),
                    distance_km=hit_distance(
                        query, Point(float(location["lat"]), float(location["lon"])) if location else None
                    ),
                    grade=source.get("grade", ""),
                    certified=bool(source.get("certified")),
                    erasure_verified=bool(source.get("erasure_verified")),
                    seller_tier=source.get("seller_tier", ""),
                )
            )
        return SearchResult(
            hits=hits,
            total=int(body["hits"]["total"]["value"]),
            facets=self._facets(body.get("aggregations", {})),
            backend=self.name,
            engine_ms=float(body.get("took", 0)),
        )

    def _facets(self, aggregations: dict[str, Any]) -> dict[str, list[FacetCount]]:
        facets: dict[str, list[FacetCount]] = {}
        for name in FACETS:
            values = aggregations.get(name, {}).get("values", {})
            if name in KEYWORD_FIELDS:
                facets[name] = facet_counts({str(b["key"]): int(b["doc_count"]) for b in values.get("buckets", [])})
            elif name == "price":
                buckets = values.get("buckets", {})
                facets[name] = facet_counts(
                    {key: int(b["doc_count"]) for key, b in buckets.items()}, order=tuple(b.key for b in PRICE_BUCKETS)
                )
            else:
                facets[name] = facet_counts({"true": int(values.get("doc_count", 0))})
        return facets

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        key = suggestion_key(prefix)
        if not key:
            return []
        search = (
            Search(using=self.client, index=self.alias)
            .suggest("completion", key, completion={"field": "suggest", "size": 50, "skip_duplicates": True})
            .source(False)
        )
        with _unavailable_on_failure():
            body = search.execute().to_dict()
        texts = {
            option["text"]
            for entry in body.get("suggest", {}).get("completion", [])
            for option in entry.get("options", [])
            if suggestion_key(option["text"]).startswith(key)
        }
        return sorted(texts, key=lambda text: (len(text), text))[:limit]
