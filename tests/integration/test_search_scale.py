"""Search that scales: the database backend's work per search does not grow with the
number of matches. Ten times the listings cost the same number of queries on the search
page and the API; the total stops counting at a limit and says so ("10 000+"); relevance
ranks a bounded window of the newest matches; and on PostgreSQL the browse orders read
their own indexes (the plan shapes the benchmark relies on)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import search.backends.database as database_backend
from search.backends.database import DatabaseBackend
from search.models import SearchEntry
from search.query import IndexDocument, SearchQuery, Sort
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.search_support import draft, publish

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
REQUESTS = [
    ("/api/v1/search", {"q": "手机"}),
    ("/api/v1/search", {}),
    ("/api/v1/search", {"q": "手机", "city": "上海市", "price": "500-2000", "sort": "price_asc"}),
    ("/search/", {"q": "手机"}),
    ("/search/", {"category": "electronics", "sort": "newest"}),
    ("/search/", {"q": "手机", "lat": "31.2", "lon": "121.44", "within": "10", "sort": "distance"}),
]


def publish_phones(count: int, start: int = 0) -> None:
    seller = UserFactory()
    for n in range(start, start + count):
        publish(draft(seller=seller, title=f"二手手机 {n}号", price=100_000 + n, lat=31.2 + n / 1000, lon=121.44))


def query_counts(client) -> list[int]:
    counts = []
    for path, params in REQUESTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, params, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        counts.append(len(captured))
    return counts


def test_ten_times_the_listings_cost_the_same_queries(client, settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    with django_capture_on_commit_callbacks(execute=True):
        publish_phones(5)
    client.force_login(UserFactory())
    query_counts(client)  # once-per-process lookups (e.g. whether pg_trgm is installed) are not per search
    few = query_counts(client)
    assert client.get("/api/v1/search", {"q": "手机"}).json()["total"] == 5

    with django_capture_on_commit_callbacks(execute=True):
        publish_phones(45, start=5)
    body = client.get("/api/v1/search", {"q": "手机"}).json()
    assert (body["total"], len(body["results"])) == (50, 20)  # full pages of cards now
    assert query_counts(client) == few


def test_the_total_stops_counting_at_the_limit_and_says_so(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    with django_capture_on_commit_callbacks(execute=True):
        publish_phones(5)
    body = client.get("/api/v1/search", {"q": "手机"}).json()
    assert (body["total"], body["total_is_lower_bound"], body["facets_are_partial"]) == (5, False, False)

    monkeypatch.setattr(database_backend, "TOTAL_COUNT_LIMIT", 3)
    monkeypatch.setattr(database_backend, "FACET_SAMPLE", 3)
    body = client.get("/api/v1/search", {"q": "手机", "per_page": 2}).json()
    assert (body["total"], body["total_is_lower_bound"], body["facets_are_partial"]) == (3, True, True)
    assert body["pages"] == 2
    assert len(body["results"]) == 2
    # Facets count the sample they looked at.
    assert {f["value"]: f["count"] for f in body["facets"]["category"]} == {"electronics": 4}
    html = client.get("/search/", {"q": "手机"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'class="muted result-count"[^>]*>3\+ listings found<', html)

    # Under the limit the count stays exact, with a filter too.
    body = client.get("/api/v1/search", {"q": "手机", "price": "500-2000", "district": "浦东新区"}).json()
    assert (body["total"], body["total_is_lower_bound"]) == (0, False)


def entry(listing_id: int, title: str, description: str = "") -> IndexDocument:
    return IndexDocument(
        listing_id=listing_id,
        title=title,
        description=description,
        category="electronics",
        price=10_000 * listing_id,
        published_at=T0 + dt.timedelta(hours=listing_id),
        city="上海市",
    )


def test_relevance_ranks_the_newest_matches_and_older_ones_follow_newest_first(monkeypatch):
    backend = DatabaseBackend()
    backend.rebuild(
        [
            entry(1, "手机 手机壳", "手机"),  # the best match, but the oldest
            entry(2, "旧货", "送一个手机支架"),
            entry(3, "二手手机"),
            entry(4, "耳机", "适合手机"),
            entry(5, "沙发"),  # no match
        ]
    )
    everything = [hit.listing_id for hit in backend.search(SearchQuery(text="手机", per_page=10)).hits]
    assert everything[0] in {1, 3} and set(everything) == {1, 2, 3, 4}  # titles first

    monkeypatch.setattr(database_backend, "RANK_WINDOW", 2)
    pages = [backend.search(SearchQuery(text="手机", page=page, per_page=2)) for page in (1, 2, 3)]
    # Page 1 ranks the two newest matches (the title match first); the rest follow newest first.
    assert [[hit.listing_id for hit in result.hits] for result in pages] == [[3, 4], [2, 1], []]
    assert {result.total for result in pages} == {4}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plan shapes are PostgreSQL's")
@pytest.mark.parametrize(
    ("sort", "index"),
    [
        (Sort.NEWEST, "search_entry_(newest_idx|browse_covering)"),
        (Sort.PRICE_ASC, "search_entry_price_asc_idx"),
        (Sort.PRICE_DESC, "search_entry_price_idx"),
    ],
)
def test_browse_orders_read_their_index_in_order(sort, index):
    DatabaseBackend().rebuild([entry(n, f"Item {n}") for n in range(1, 30)])
    queryset = DatabaseBackend()._ordered(SearchEntry.objects.all(), SearchQuery(sort=sort), None, None)
    with connection.cursor() as cursor:
        # A 29-row table is read faster whole: forbid that so the plan shows what a big one gets.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = queryset.values("listing_id")[:20].explain()
    assert re.search(rf"Index (Only )?Scan (Backward )?using {index}\b", plan), plan
    assert "Sort" not in plan.replace("Incremental Sort", "?"), plan


def explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        # A small, freshly written table (no visibility map inside the test's transaction)
        # is read whole or through bitmaps: forbid both so the plan shows the index path.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plan shapes are PostgreSQL's")
def test_facet_counts_without_words_read_the_covering_index_only():
    backend = DatabaseBackend()
    backend.rebuild([entry(n, f"Item {n}") for n in range(1, 30)])
    query = SearchQuery(categories=("electronics",), certified=True)
    base, _exact, _rank = backend._base(query)
    filters = {name: backend._facet_filter(name, value) for name, value in query.active_facet_filters().items()}
    sql, params = backend._facet_statement(base, base.filter(*filters.values()), filters)
    plan = explain(sql, params)
    # The facet candidates come from the narrow index alone, never the wide rows.
    first_scan = next(line for line in plan.splitlines() if "Scan" in line and "CTE Scan" not in line)
    assert "Index Only Scan using search_entry_browse_covering" in first_scan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plan shapes are PostgreSQL's")
def test_a_price_sort_of_few_matches_sorts_them_instead_of_walking_the_price_index():
    backend = DatabaseBackend()
    backend.rebuild([entry(n, "沙发" if n % 3 == 0 else f"Item {n}") for n in range(1, 30)])
    query = SearchQuery(text="沙发", sort=Sort.PRICE_DESC)
    base, exact, rank = backend._base(query)
    for sort_found, walks in ((False, True), (True, False)):
        queryset = backend._ordered(base, query, exact, rank, sort_found=sort_found)
        with connection.cursor() as cursor:
            # Leave the planner no cheap way around the question: can the order come from the index?
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            plan = queryset.values("listing_id")[:20].explain()
        assert ("search_entry_price_idx" in plan) is walks, plan
    found = [hit.listing_id for hit in backend.search(query).hits]
    assert found == [27, 24, 21, 18, 15, 12, 9, 6, 3]  # dearest first
