"""Search benchmark: our search API against the engines' own time, per backend.

Loads N synthetic listings (default 100 000; Chinese and English titles, all four
categories, places around several cities) into a throwaway database and a throwaway
Elasticsearch-compatible index, runs a fixed query mix through GET /api/v1/search, and
prints p50/p95 of the API next to the engine's own time for the same requests, measured
in the same run: Elasticsearch's `took` for the Elasticsearch backend, the time spent in
SQL for the database backend. The ratio says how much our layer (parsing, facets,
hydrating the listings, badges, JSON) adds on top of the engine.

    .venv/bin/python bench/search.py                       # SQLite in memory + osmem-server
    .venv/bin/python bench/search.py --database-url postgres://postgres@127.0.0.1:5432/xunhuan
    .venv/bin/python bench/search.py --listings 20000 --rounds 3 --es-url http://127.0.0.1:9200

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

QUERY_MIX: list[dict[str, str]] = [
    {"q": "手机"},
    {"q": "thinkpad"},
    {"q": "红楼梦"},
    {"q": "iphone 13"},
    {"q": "苹果 笔记本电脑"},
    {"q": "书"},
    {"q": "sofa", "page": "3"},
    {"q": "ISBN"},  # replaced by a real ISBN from the data
    {"q": "VIN"},  # replaced by a real VIN from the data
    {},
    {"category": "books", "sort": "price_asc"},
    {"grade": "A", "erasure_verified": "1"},
    {"q": "手机", "lat": "31.230", "lon": "121.470", "within": "10", "sort": "distance"},
    {"price": "500-2000", "city": "上海市", "delivery": "ship"},
    {"category": "vehicles", "certified": "1", "sort": "price_desc"},
]


def run_mix(client: Any, mix: list[dict[str, str]], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """query label → [(API ms, engine ms)] over `rounds` (after one warm-up round)."""
    import search.api

    engine_times: list[float] = []
    original = search.api.search_listings

    def recording(*, query: Any) -> Any:
        outcome = original(query=query)
        engine_times.append(outcome.result.engine_ms or 0.0)
        return outcome

    search.api.search_listings = recording
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        for round_number in range(rounds + 1):
            for params in mix:
                label = "&".join(f"{k}={v}" for k, v in params.items()) or "(everything)"
                started = time.perf_counter()
                response = client.get("/api/v1/search", params)
                api_ms = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.content[:300]
                if round_number:  # round 0 warms caches and connections
                    samples.setdefault(label, []).append((api_ms, engine_times[-1]))
    finally:
        search.api.search_listings = original
    return samples


def report(name: str, samples: dict[str, list[tuple[float, float]]]) -> None:
    print(f"\n{name}: per query (median of rounds)")
    print(f"  {'query':<58} {'API ms':>9} {'engine ms':>10} {'API/engine':>11}")
    for label, values in samples.items():
        api = statistics.median(v[0] for v in values)
        engine = statistics.median(v[1] for v in values)
        ratio = f"{api / engine:.1f}x" if engine > 0 else "n/a"
        print(f"  {label[:58]:<58} {api:>9.1f} {engine:>10.1f} {ratio:>11}")
    api_all = [v[0] for values in samples.values() for v in values]
    engine_all = [v[1] for values in samples.values() for v in values]
    print(f"  {'all ' + str(len(api_all)) + ' requests':<58} {'API':>9} {'engine':>10} {'API/engine':>11}")
    for p in (50, 95):
        api, engine = percentile(api_all, p), percentile(engine_all, p)
        ratio = f"{api / engine:.1f}x" if engine > 0 else "n/a"
        print(f"  {'p' + str(p):<58} {api:>9.1f} {engine:>10.1f} {ratio:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="PostgreSQL server to create the throwaway database on")
    parser.add_argument("--es-url", help="an Elasticsearch/OpenSearch cluster (default: a private osmem-server)")
    parser.add_argument("--plain-json", action="store_true", help="--es-url is OpenSearch-compatible")
    parser.add_argument("--skip-elasticsearch", action="store_true")
    args = parser.parse_args()

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
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        client = Client()
        database_config = {"BACKEND": "search.backends.database.DatabaseBackend", "URL": "", "OPTIONS": {}}
        with override_settings(SEARCH_BACKEND=database_config, ELASTICSEARCH_URL=""):
            mix = [dict(params) for params in QUERY_MIX]
            book = next(d for d in documents if d.isbn)
            car = next(d for d in documents if d.category == "vehicles")
            mix[7] = {"q": book.isbn}
            mix[8] = {"q": car.identifiers[0].lower()}
            report(f"database backend ({connection.vendor})", run_mix(client, mix, args.rounds))

        if not args.skip_elasticsearch:
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
                report(f"elasticsearch backend ({where})", run_mix(client, mix, args.rounds))
            engine.clear()
    finally:
        if server is not None:
            server.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
