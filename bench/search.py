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
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stdnum import ean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CITIES = {
    "上海市": ((31.23, 121.47), ["徐汇区", "浦东新区", "静安区", "黄浦区", "闵行区", "杨浦区"]),
    "北京市": ((39.91, 116.40), ["朝阳区", "海淀区", "东城区", "西城区"]),
    "杭州市": ((30.27, 120.15), ["西湖区", "拱墅区", "滨江区"]),
    "广州市": ((23.13, 113.26), ["天河区", "越秀区", "海珠区"]),
}
ELECTRONICS = [
    ("phone", "苹果", "Apple", ["iPhone 12", "iPhone 13", "iPhone 14 Pro"], "手机"),
    ("phone", "华为", "Huawei", ["Mate 40", "P50", "nova 9"], "手机"),
    ("phone", "小米", "Xiaomi", ["Mi 11", "Redmi Note 12", "13 Ultra"], "手机"),
    ("laptop", "联想", "Lenovo", ["ThinkPad X1 Carbon", "ThinkPad T14", "小新 Pro 14"], "笔记本电脑"),
    ("laptop", "苹果", "Apple", ["MacBook Air M1", "MacBook Pro 14"], "笔记本电脑"),
    ("tablet", "苹果", "Apple", ["iPad Air", "iPad mini 6"], "平板电脑"),
    ("camera", "佳能", "Canon", ["EOS R6", "EOS 80D"], "相机"),
    ("console", "索尼", "Sony", ["PlayStation 5", "PS4 Pro"], "游戏机"),
]
FURNITURE = [
    "实木书桌",
    "布艺沙发 三人座",
    "儿童床",
    "衣柜 两门",
    "IKEA sofa",
    "oak dining table",
    "书架 五层",
    "办公椅",
]
BOOKS = [
    ("红楼梦", "曹雪芹"),
    ("三体", "刘慈欣"),
    ("活着", "余华"),
    ("Harry Potter and the Philosopher's Stone", "J. K. Rowling"),
    ("高等数学 第七版", "同济大学数学系"),
    ("The Pragmatic Programmer", "David Thomas"),
    ("手机摄影入门", "叶明"),
]
VEHICLES = [("大众", "朗逸"), ("丰田", "卡罗拉"), ("本田", "思域"), ("比亚迪", "秦 PLUS"), ("特斯拉", "Model 3")]
CONDITION = ["九成新", "八成新", "几乎全新", "like new", "used", "good condition", "自提优先", ""]
GRADES = {
    "electronics": ["S", "A", "B", "C", "D", ""],
    "furniture": ["as_new", "very_good", "well_used", ""],
    "books": ["as_new", "fine", "very_good", "good", "fair", ""],
    "vehicles": ["一级", "二级", "三级", ""],
}
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def synthetic(count: int, seed: int = 2026) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(listing fields, document extras) for `count` listings, deterministic."""
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for n in range(count):
        category = rng.choices(["electronics", "furniture", "books", "vehicles"], weights=[5, 2, 3, 1])[0]
        city = rng.choices(list(CITIES), weights=[6, 2, 1, 1])[0]
        (lat0, lon0), districts = CITIES[city]
        located = rng.random() < 0.8
        extra: dict[str, Any] = {"grade": rng.choice(GRADES[category]), "device_type": "", "brand": "", "model": ""}
        extra.update(book_title="", authors=(), isbn="", identifiers=())
        if category == "electronics":
            device, brand_cn, brand_en, models, noun = rng.choice(ELECTRONICS)
            model = rng.choice(models)
            brand = rng.choice([brand_cn, brand_en])
            title = f"{brand} {model} {noun} {rng.choice(CONDITION)}".strip()
            price = rng.randint(200, 12_000) * 100
            extra.update(device_type=device, brand=brand, model=model, erasure_verified=rng.random() < 0.5)
        elif category == "furniture":
            title = f"{rng.choice(FURNITURE)} {rng.choice(CONDITION)}".strip()
            price = rng.randint(50, 5_000) * 100
        elif category == "books":
            book, author = rng.choice(BOOKS)
            isbn = f"978{n:09d}"
            isbn += ean.calc_check_digit(isbn)
            title = f"{book} {rng.choice(CONDITION)}".strip()
            price = rng.randint(3, 200) * 100
            extra.update(book_title=book, authors=(author,), isbn=isbn, identifiers=(isbn,))
        else:
            make, model = rng.choice(VEHICLES)
            vin = f"LBENCH{n:011d}"
            title = f"{make}{model} {rng.randint(2012, 2024)}款 {rng.choice(['自动挡', '手动挡', 'automatic'])}"
            price = rng.randint(20_000, 300_000) * 100
            extra.update(brand=make, model=model, identifiers=(vin,))
        extra["certified"] = bool(extra["grade"]) and (category in ("electronics", "vehicles") or rng.random() < 0.2)
        listing = {
            "category": category,
            "title": title[:120],
            "description": rng.choice(
                ["", "成色很好，价格可议。", "Works perfectly, original box included.", "搬家急出"]
            ),
            "price": price,
            "city": city,
            "district": rng.choice(districts),
            "latitude": round(lat0 + rng.uniform(-0.15, 0.15), 3) if located else None,
            "longitude": round(lon0 + rng.uniform(-0.15, 0.15), 3) if located else None,
            "delivery_ship": rng.random() < 0.5,
            "delivery_pickup": True,
            "delivery_event": rng.random() < 0.1,
            "published_at": now - dt.timedelta(minutes=n),
        }
        yield listing, extra


def load(count: int, batch: int = 2000) -> list[Any]:
    """Insert the listings (bulk, bypassing the services: no photos, gates or events) and
    return their index documents."""
    from django.utils import timezone

    from marketplace.models import Listing, ListingStatus, Organisation, User
    from search.query import GeoPoint, IndexDocument

    seller = User.objects.create_user(email="bench-seller@example.org", password=None, display_name="Bench")
    shop = Organisation.objects.create(name="Bench shop", kind="consignment_shop", uscc="91310000MA1K00003F")
    documents: list[IndexDocument] = []
    rows = list(synthetic(count))
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        listings = []
        for i, (fields, _extra) in enumerate(chunk):
            by_shop = (start + i) % 7 == 0
            listings.append(
                Listing(
                    **fields,
                    status=ListingStatus.PUBLISHED,
                    status_changed_at=fields["published_at"],
                    intake_at=timezone.now(),
                    seller_user=None if by_shop else seller,
                    seller_organisation=shop if by_shop else None,
                    created_by=seller,
                )
            )
        created = Listing.objects.bulk_create(listings)
        for listing, (fields, extra) in zip(created, chunk, strict=True):
            delivery = tuple(
                option
                for option, on in (
                    ("ship", fields["delivery_ship"]),
                    ("pickup", True),
                    ("event", fields["delivery_event"]),
                )
                if on
            )
            location = GeoPoint(fields["latitude"], fields["longitude"]) if fields["latitude"] is not None else None
            suggestions = [fields["title"], f"{extra['brand']} {extra['model']}".strip(), extra["book_title"]]
            documents.append(
                IndexDocument(
                    listing_id=listing.pk,
                    title=fields["title"],
                    description=fields["description"],
                    category=fields["category"],
                    price=fields["price"],
                    published_at=fields["published_at"],
                    city=fields["city"],
                    district=fields["district"],
                    location=location,
                    delivery=delivery,
                    seller_type="shop" if listing.seller_organisation_id else "user",
                    suggestions=tuple(dict.fromkeys(s for s in suggestions if s)),
                    **extra,
                )
            )
    return documents


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = action()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return value


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
