"""Search benchmark: our search API against the engines' own time, per backend.

Loads N synthetic listings (default 100 000; Chinese and English titles, all four
categories, places around several cities) into a throwaway database and a throwaway
Elasticsearch-compatible index, runs a deterministic mix of 60-odd queries (Chinese,
English, single characters, ISBNs and VINs, filters, distance, sorts, deep pages) through
GET /api/v1/search and the search page, once cold (the first time each query is asked,
Django's cache cleared) and --rounds times warm, and prints p50/p95 of the whole request
next to the engine's own time for the same requests, measured in the same run:
Elasticsearch's `took` for the Elasticsearch backend, the time spent in SQL for the
database backend. The ratio says how much our layer (parsing, facets, hydrating the
listings, badges, JSON or HTML) adds on top of the engine. The machine's load average
is printed before and after.

    .venv/bin/python bench/search.py                       # SQLite in memory + osmem-server
    .venv/bin/python bench/search.py --database-url postgres://postgres@127.0.0.1:5432/xunhuan
    .venv/bin/python bench/search.py --listings 20000 --rounds 3 --es-url http://127.0.0.1:9200
    .venv/bin/python bench/search.py --database-url postgres://postgres@127.0.0.1:5432/postgres \
        --listings 1000000 --backends database --targets api

Nothing of the real database or index is touched: Django creates (and drops) its own
test database, and the index lives in a private osmem-server process unless --es-url
is given (then under the prefix "bench-", removed at the end). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import load, percentile, timed  # noqa: E402

# The query mix: words people type (Chinese, English, single characters), exact
# identifiers (filled in from the data), filters without words, words with filters,
# distance from a point, sorts and deep pages. Built deterministically, no randomness.
ZH_WORDS = ["手机", "红楼梦", "笔记本电脑", "沙发", "三体", "相机", "游戏机", "书桌", "华为 手机", "苹果 笔记本电脑",
            "九成新", "自动挡", "卡罗拉", "平板电脑", "活着", "办公椅"]  # fmt: skip
EN_WORDS = ["thinkpad", "iphone 13", "sofa", "macbook", "playstation", "harry potter", "canon", "redmi note",
            "model 3", "like new", "ipad", "oak dining table"]  # fmt: skip
ONE_CHARACTER = ["书", "机", "车", "桌", "床"]
FILTERS = [
    {},
    {"category": "books", "sort": "price_asc"},
    {"category": "electronics", "sort": "price_desc"},
    {"category": "furniture"},
    {"grade": "A", "erasure_verified": "1"},
    {"price": "500-2000", "city": "上海市", "delivery": "ship"},
    {"category": "vehicles", "certified": "1", "sort": "price_desc"},
    {"city": "北京市", "district": "朝阳区"},
    {"seller_type": "shop", "sort": "newest"},
]
WORDS_WITH_FILTERS = [
    {"q": "手机", "grade": "S"},
    {"q": "iphone", "price": "2000-10000"},
    {"q": "书", "category": "books", "sort": "price_asc"},
    {"q": "红楼梦", "city": "杭州市"},
    {"q": "手机", "erasure_verified": "1", "delivery": "ship"},
]
POINTS = {"上海市": ("31.230", "121.470"), "北京市": ("39.910", "116.400"), "杭州市": ("30.270", "120.150")}
DISTANCE = [
    {"q": "手机", "city": "上海市", "within": "10", "sort": "distance"},
    {"q": "sofa", "city": "北京市", "within": "25", "sort": "distance"},
    {"city": "杭州市", "within": "3", "sort": "distance"},
    {"q": "书", "city": "上海市", "within": "5"},
    {"category": "electronics", "city": "上海市", "within": "1", "sort": "distance"},
]
DEEP_PAGES = [
    {"page": "499"},
    {"q": "手机", "page": "60"},
    {"q": "sofa", "page": "3"},
    {"category": "books", "sort": "price_asc", "page": "300"},
    {"q": "手机", "sort": "newest", "page": "100"},
]
SORTS = [
    {"q": "手机", "sort": "newest"},
    {"q": "thinkpad", "sort": "price_asc"},
    {"q": "沙发", "sort": "price_desc"},
    {"q": "iphone 13", "sort": "newest"},
]


def query_mix(documents: list[Any]) -> list[tuple[str, dict[str, str]]]:
    """(group, parameters) for every request of the mix: 60-odd distinct queries."""
    mix: list[tuple[str, dict[str, str]]] = []
    mix += [("chinese", {"q": word}) for word in ZH_WORDS]
    mix += [("english", {"q": word}) for word in EN_WORDS]
    mix += [("one character", {"q": char}) for char in ONE_CHARACTER]
    books = [d for d in documents if d.isbn]
    cars = [d for d in documents if d.category == "vehicles" and d.identifiers]
    for found in (books, cars):
        for position in (0, len(found) // 2, len(found) - 1):
            if found:
                mix.append(("isbn / vin", {"q": found[position].identifiers[0].lower()}))
    mix += [("filters", dict(params)) for params in FILTERS]
    mix += [("words + filters", dict(params)) for params in WORDS_WITH_FILTERS]
    for params in DISTANCE:
        lat, lon = POINTS[params["city"]]
        mix.append(("distance", {**{k: v for k, v in params.items() if k != "city"}, "lat": lat, "lon": lon}))
    mix += [("deep pages", dict(params)) for params in DEEP_PAGES]
    mix += [("sorts", dict(params)) for params in SORTS]
    return mix


def label_of(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items()) or "(everything)"


Sample = tuple[float, float]  # (wall ms, engine ms)


def run_mix(
    client: Any, url: str, mix: list[tuple[str, dict[str, str]]], rounds: int
) -> tuple[dict[str, Sample], dict[str, list[Sample]]]:
    """Every query of the mix once cold (the first time it is asked: no cached result,
    Django's cache cleared) and then `rounds` times warm: label → cold sample, label →
    warm samples. Wall time of the request through the whole Django stack, and the
    engine's own time (SQL or Elasticsearch) in the same request."""
    from django.core.cache import cache

    import search.api
    import search.views

    engine_times: list[float] = []
    original = search.api.search_listings

    def recording(*, query: Any) -> Any:
        outcome = original(query=query)
        engine_times.append(outcome.result.engine_ms or 0.0)
        return outcome

    search.api.search_listings = recording
    search.views.search_listings = recording
    cold: dict[str, Sample] = {}
    warm: dict[str, list[Sample]] = {}
    try:
        cache.clear()
        client.get(url, {"q": "warm-up connection"})  # opens the connection, loads templates
        for round_number in range(rounds + 1):
            for _group, params in mix:
                started = time.perf_counter()
                response = client.get(url, params)
                wall_ms = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.content[:300]
                sample = (wall_ms, engine_times[-1])
                if round_number == 0:
                    cold[label_of(params)] = sample
                else:
                    warm.setdefault(label_of(params), []).append(sample)
    finally:
        search.api.search_listings = original
        search.views.search_listings = original
    return cold, warm


def _row(label: str, walls: list[float], engines: list[float]) -> str:
    cells = []
    for p in (50, 95):
        wall, engine = percentile(walls, p), percentile(engines, p)
        ratio = f"{wall / engine:.1f}x" if engine > 0 else "n/a"
        cells.append(f"{wall:>8.1f} {engine:>8.1f} {ratio:>6}")
    return f"  {label:<24} {len(walls):>5}  " + "   ".join(cells)


def report(
    name: str, mix: list[tuple[str, dict[str, str]]], cold: dict[str, Sample], warm: dict[str, list[Sample]]
) -> dict[str, float]:
    print(f"\n{name}: {len(mix)} distinct queries, wall ms (whole request) vs engine ms (same request)")
    print(
        f"  {'':<24} {'n':>5}  {'p50 wall':>8} {'engine':>8} {'ratio':>6}   {'p95 wall':>8} {'engine':>8} {'ratio':>6}"
    )
    groups: dict[str, list[str]] = {}
    for group, params in mix:
        groups.setdefault(group, []).append(label_of(params))
    for group, labels in groups.items():
        samples = [s for label in labels for s in warm[label]]
        print(_row(f"warm: {group}", [s[0] for s in samples], [s[1] for s in samples]))
    all_warm = [s for values in warm.values() for s in values]
    all_cold = list(cold.values())
    print(_row("COLD (first run)", [s[0] for s in all_cold], [s[1] for s in all_cold]))
    print(_row("WARM (later rounds)", [s[0] for s in all_warm], [s[1] for s in all_warm]))
    slowest = sorted(warm, key=lambda label: -statistics.median(s[0] for s in warm[label]))[:8]
    print("  slowest (warm median wall ms / cold wall ms):")
    for label in slowest:
        print(f"    {statistics.median(s[0] for s in warm[label]):>8.1f} {cold[label][0]:>8.1f}  {label[:70]}")
    return {
        "cold_p95": percentile([s[0] for s in all_cold], 95),
        "warm_p95": percentile([s[0] for s in all_warm], 95),
    }


def load_line(moment: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"machine load {moment}: {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def _vacuum_analyze(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="PostgreSQL server to create the throwaway database on")
    parser.add_argument("--es-url", help="an Elasticsearch/OpenSearch cluster (default: a private osmem-server)")
    parser.add_argument("--plain-json", action="store_true", help="--es-url is OpenSearch-compatible")
    parser.add_argument("--backends", default="database,elasticsearch", help="comma-separated: database, elasticsearch")
    parser.add_argument("--skip-elasticsearch", action="store_true", help="the same as --backends database")
    parser.add_argument("--targets", default="api,page", help="comma-separated: api (/api/v1/search), page (/search/)")
    args = parser.parse_args()
    backends = {name.strip() for name in args.backends.split(",")}
    if args.skip_elasticsearch:
        backends.discard("elasticsearch")

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import logging

    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from search.backends.database import DatabaseBackend

    setup_test_environment()
    if connection.vendor == "postgresql":
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"xunhuan_bench_{os.getpid()}"
    print(f"Throwaway {connection.vendor} database, {args.listings} listings", flush=True)
    old_name = timed("migrate", lambda: connection.creation.create_test_db(verbosity=0, autoclobber=True))
    server = None
    try:
        documents = timed("insert listings", lambda: load(args.listings))
        timed("database index", lambda: DatabaseBackend().rebuild(documents))
        if connection.vendor == "postgresql":
            # A database that has been running a while has its visibility map set by
            # autovacuum; a freshly loaded one has not, which would distort index-only
            # and bitmap scans.
            timed("vacuum analyze", lambda: _vacuum_analyze(connection))
        client = Client()
        mix = query_mix(documents)
        targets = [("API", "/api/v1/search"), ("search page", "/search/")]
        if "page" not in args.targets:
            targets = targets[:1]
        if "api" not in args.targets:
            targets = targets[1:]
        print(load_line("before the queries"), flush=True)
        database_config = {"BACKEND": "search.backends.database.DatabaseBackend", "URL": "", "OPTIONS": {}}
        summaries: list[tuple[str, dict[str, float]]] = []
        if "database" in backends:
            with override_settings(SEARCH_BACKEND=database_config, ELASTICSEARCH_URL=""):
                for target, url in targets:
                    name = f"database backend ({connection.vendor}), {target} {url}"
                    summaries.append((name, report(name, mix, *run_mix(client, url, mix, args.rounds))))

        if "elasticsearch" in backends:
            from search.backends.elasticsearch import ElasticsearchBackend

            url = args.es_url
            if not url:
                from osmem_server import OsmemServer

                server = OsmemServer.start(addr="127.0.0.1:0", japanese=False)
                url = server.url
            config = {
                "BACKEND": "search.backends.elasticsearch.ElasticsearchBackend",
                "URL": url,
                "OPTIONS": {"PLAIN_JSON": args.plain_json or not args.es_url, "INDEX_PREFIX": "bench-", "TIMEOUT": 60},
            }
            engine = ElasticsearchBackend(url=url, options=config["OPTIONS"])
            timed("elasticsearch index", lambda: engine.rebuild(documents))
            engine.refresh()
            with override_settings(SEARCH_BACKEND=config):
                where = args.es_url or f"osmem-server {server.version if server else ''}"
                for target, path in targets:
                    name = f"elasticsearch backend ({where}), {target} {path}"
                    summaries.append((name, report(name, mix, *run_mix(client, path, mix, args.rounds))))
            engine.clear()
        print(f"\n{load_line('after the queries')}")
        print(f"\nSummary, {args.listings} listings, {len(mix)} queries (p95 wall ms):")
        for name, figures in summaries:
            print(f"  {name:<70} cold {figures['cold_p95']:>8.1f}   warm {figures['warm_p95']:>8.1f}")
    finally:
        if server is not None:
            server.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
