"""Synthetic data shared by the benchmarks: N listings (Chinese and English titles, all
four categories, places around four cities, 80 % with coordinates), deterministic for a
seed, bulk-inserted without photos, gates or events, with their search-index documents
generated alongside (so grade, certification and erasure facets have values without
100 000 appraisals). Used by bench/search.py, bench/pages.py and bench/load.py."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from stdnum import ean

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


def summary(values: list[float]) -> dict[str, float]:
    """n, p50, p95 and max of `values` (milliseconds)."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": percentile(values, 95),
        "max": max(values),
    }
