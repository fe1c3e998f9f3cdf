"""One contract for every search backend: the database backend (PostgreSQL full text in
CI, SQLite locally) and Elasticsearch, run against a real osmem-server process (an
in-memory OpenSearch-compatible engine) in plain-JSON mode. Both get the same synthetic
documents and must give the same answers."""

from __future__ import annotations

import datetime as dt

import pytest

from search.backends.base import SearchBackend
from search.backends.database import DatabaseBackend
from search.backends.elasticsearch import ElasticsearchBackend
from search.query import GeoPoint, IndexDocument, SearchQuery, Sort
from tests.search_support import osmem  # noqa: F401 (the session's osmem-server)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
XUHUI = GeoPoint(31.200, 121.440)  # the buyer's point in the distance tests


def doc(listing_id: int, title: str, **fields) -> IndexDocument:
    fields.setdefault("category", "electronics")
    fields.setdefault("price", 10_000)
    fields.setdefault("city", "上海市")
    fields.setdefault("published_at", T0 + dt.timedelta(hours=listing_id))
    suggestions = [title, f"{fields.get('brand', '')} {fields.get('model', '')}".strip(), fields.get("model", "")]
    suggestions += [fields.get("book_title", ""), *fields.get("authors", ())]
    fields.setdefault("suggestions", tuple(dict.fromkeys(s for s in suggestions if s)))
    return IndexDocument(listing_id=listing_id, title=title, **fields)


DOCUMENTS = [
    doc(1, "苹果手机 iPhone 13 128G", brand="Apple", model="iPhone 13", device_type="phone", grade="A",
        certified=True, erasure_verified=True, price=320_000, district="徐汇区", location=GeoPoint(31.188, 121.437),
        delivery=("ship", "pickup"), description="电池健康 88%，无划痕"),
    doc(2, "华为手机 Mate 40", brand="Huawei", model="Mate 40", device_type="phone", grade="B", certified=True,
        price=150_000, district="浦东新区", location=GeoPoint(31.235, 121.560), delivery=("pickup",),
        seller_type="shop", seller_tier="gold"),
    doc(3, "ThinkPad X1 Carbon 笔记本电脑", brand="Lenovo", model="ThinkPad X1 Carbon Gen 9", device_type="laptop",
        grade="A", certified=True, erasure_verified=True, price=450_000, district="静安区",
        location=GeoPoint(31.229, 121.448), delivery=("pickup",), description="Lenovo laptop, 16 GB memory"),
    doc(4, "旧手机壳 三个", device_type="other", price=1_500, city="北京市", district="朝阳区",
        location=GeoPoint(39.920, 116.440), delivery=("ship",)),
    doc(5, "红楼梦 全四册", category="books", book_title="红楼梦", authors=("曹雪芹",), isbn="9787020002207",
        identifiers=("9787020002207",), grade="fine", price=4_500, district="徐汇区",
        location=GeoPoint(31.190, 121.430), delivery=("pickup", "event"), event_ids=(7,)),
    doc(6, "Two used laptops for parts", brand="Dell", model="Latitude 5490", device_type="laptop", grade="D",
        certified=True, price=60_000, city="杭州市", district="西湖区", delivery=("ship",),
        description="Batteries included, screens cracked"),
    doc(7, "实木书桌", category="furniture", grade="very_good", price=80_000, district="徐汇区",
        location=GeoPoint(31.205, 121.445), delivery=("pickup", "event"), event_ids=(7, 9), seller_type="shop",
        seller_tier="gold"),
    doc(8, "大众朗逸 2019款 自动挡", category="vehicles", brand="大众", model="朗逸",
        identifiers=("LSVAU2180N2183294",), grade="二级", certified=True, price=6_800_000, district="嘉定区",
        emission_standard="cn6b",
        location=GeoPoint(31.380, 121.250), delivery=("pickup",)),
    doc(9, "手机摄影入门", category="books", book_title="手机摄影入门", authors=("叶明",), isbn="9787115428028",
        identifiers=("9787115428028",), grade="good", price=2_500, city="杭州市", district="西湖区",
        delivery=("ship",)),
    doc(10, "二手 iPad 平板", brand="Apple", model="iPad Air", device_type="tablet", price=200_000,
        district="徐汇区", delivery=("pickup",)),
    doc(11, "红楼梦 读书笔记", category="books", book_title="红楼梦读书笔记", description="配合 9787020002207 阅读",
        price=1_200, district="徐汇区", delivery=("ship",)),
]  # fmt: skip
BY_ID = {d.listing_id: d for d in DOCUMENTS}


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request) -> SearchBackend:
    engine: SearchBackend
    if request.param == "database":
        engine = DatabaseBackend()
    else:
        clone = request.getfixturevalue("osmem").clone()  # an empty cluster of its own
        request.addfinalizer(clone.close)
        engine = ElasticsearchBackend(url=clone.url, options={"PLAIN_JSON": True, "INDEX_PREFIX": "contract-"})
    # Elasticsearch: only a rebuild creates the index (writes never start a missing one).
    assert engine.rebuild(DOCUMENTS) == len(DOCUMENTS)
    engine.refresh()
    return engine


def ids(engine: SearchBackend, **query) -> list[int]:
    return [hit.listing_id for hit in engine.search(SearchQuery(per_page=50, **query)).hits]


def facets(engine: SearchBackend, **query) -> dict[str, dict[str, int]]:
    result = engine.search(SearchQuery(**query))
    return {name: {f.value: f.count for f in counts} for name, counts in result.facets.items()}


class TestSearchBackendContract:
    def test_chinese_words_match_inside_longer_titles(self, backend):
        assert set(ids(backend, text="手机")) == {1, 2, 4, 9}
        assert set(ids(backend, text="红楼梦")) == {5, 11}
        # Every part of the query must match: 苹果 and 手机 are both in 1 only.
        assert ids(backend, text="苹果手机") == [1]

    def test_a_single_chinese_character_matches(self, backend):
        assert set(ids(backend, text="书")) == {7, 11}

    def test_english_is_case_insensitive_and_plurals_fold(self, backend):
        assert ids(backend, text="thinkpad") == [3]
        assert ids(backend, text="THINKPAD x1") == [3]
        assert set(ids(backend, text="laptop")) == {3, 6}
        assert set(ids(backend, text="laptops")) == {3, 6}
        assert ids(backend, text="battery") == [6]

    def test_brand_model_author_and_description_are_searched(self, backend):
        assert set(ids(backend, text="apple")) == {1, 10}
        assert ids(backend, text="Mate 40") == [2]
        assert ids(backend, text="曹雪芹") == [5]
        assert ids(backend, text="划痕") == [1]
        assert ids(backend, text="朗逸 自动挡") == [8]

    def test_nothing_matches_a_word_that_is_nowhere(self, backend):
        result = backend.search(SearchQuery(text="zzqxv"))
        assert (result.total, result.hits) == (0, [])

    def test_an_isbn_or_vin_typed_as_the_query_finds_the_exact_item_first(self, backend):
        # 11 mentions the ISBN in its description; the book itself comes first.
        assert ids(backend, text="9787020002207") == [5, 11]
        assert ids(backend, text="978-7-02-000220-7") == [5]
        assert ids(backend, text="lsvau2180n2183294") == [8]

    def test_filters_narrow_and_several_values_of_one_facet_widen(self, backend):
        assert set(ids(backend, categories=("books",))) == {5, 9, 11}
        assert set(ids(backend, categories=("books", "furniture"))) == {5, 7, 9, 11}
        assert set(ids(backend, grades=("A",))) == {1, 3}
        assert set(ids(backend, erasure_verified=True)) == {1, 3}
        assert set(ids(backend, certified=True)) == {1, 2, 3, 6, 8}
        assert set(ids(backend, device_types=("laptop", "tablet"))) == {3, 6, 10}
        assert set(ids(backend, cities=("杭州市",))) == {6, 9}
        assert set(ids(backend, districts=("徐汇区",))) == {1, 5, 7, 10, 11}
        assert set(ids(backend, delivery=("event",))) == {5, 7}
        assert set(ids(backend, seller_types=("shop",))) == {2, 7}
        assert set(ids(backend, seller_tiers=("gold",))) == {2, 7}
        assert set(ids(backend, event_ids=(9,))) == {7}
        assert set(ids(backend, price_buckets=("0-100",))) == {4, 5, 9, 11}
        assert set(ids(backend, price_min=150_000, price_max=320_000)) == {1, 2, 10}
        assert set(ids(backend, published_after=T0 + dt.timedelta(hours=9))) == {9, 10, 11}
        assert ids(backend, text="手机", grades=("A",), erasure_verified=True) == [1]

    def test_facet_counts_apply_every_filter_but_their_own(self, backend):
        counts = facets(backend, grades=("A",), cities=("上海市",))
        assert counts["grade"] == {"A": 2, "B": 1, "fine": 1, "very_good": 1, "二级": 1}
        assert counts["category"] == {"electronics": 2}
        assert counts["city"] == {"上海市": 2}
        assert counts["erasure_verified"] == {"true": 2}
        assert counts["delivery"] == {"pickup": 2, "ship": 1}
        assert counts["price"] == {"2000-10000": 2}

        everything = facets(backend)
        assert everything["category"] == {"electronics": 6, "books": 3, "furniture": 1, "vehicles": 1}
        assert everything["city"] == {"上海市": 8, "杭州市": 2, "北京市": 1}
        assert everything["certified"] == {"true": 5}
        assert everything["seller_type"] == {"user": 9, "shop": 2}
        assert everything["seller_tier"] == {"gold": 2}
        assert everything["event"] == {"7": 2, "9": 1}
        assert everything["price"] == {"0-100": 4, "500-2000": 3, "2000-10000": 3, "50000-": 1}
        assert list(everything["category"]) == ["electronics", "books", "furniture", "vehicles"]  # most first

        with_text = facets(backend, text="手机", categories=("books",))
        assert with_text["category"] == {"electronics": 3, "books": 1}
        assert with_text["device_type"] == {}  # the only book has none

    def test_a_registration_city_keeps_only_the_cars_it_accepts_and_every_other_item(self, backend):
        everything = set(BY_ID)
        assert set(ids(backend, registrable_standards=("cn6a", "cn6b"))) == everything
        assert set(ids(backend, registrable_standards=("ev",))) == everything - {8}
        assert ids(backend, categories=("vehicles",), registrable_standards=("cn5",)) == []
        assert ids(backend, categories=("vehicles",), registrable_standards=("cn5", "cn6a", "cn6b")) == [8]
        counts = facets(backend, registrable_standards=("ev",))["category"]
        assert "vehicles" not in counts and counts["books"] == 3

    def test_distance_filter_and_sort_from_a_point(self, backend):
        near = {d.listing_id: XUHUI.distance_km(d.location) for d in DOCUMENTS if d.location}
        within_10 = sorted((i for i, km in near.items() if km <= 10), key=near.get)
        assert within_10 == [7, 1, 5, 3]
        result = backend.search(SearchQuery(near=XUHUI, within_km=10, sort=Sort.DISTANCE))
        assert [h.listing_id for h in result.hits] == within_10
        for hit in result.hits:
            assert hit.distance_km == pytest.approx(near[hit.listing_id], abs=0.05)
        # Sorted by distance without a limit, listings without a location come last.
        everything = ids(backend, near=XUHUI, sort=Sort.DISTANCE)
        assert everything[:7] == sorted(near, key=near.get)
        assert set(everything[7:]) == {6, 9, 10, 11}
        assert set(ids(backend, text="手机", near=XUHUI, within_km=3)) == {1}

    def test_sorts(self, backend):
        newest = sorted(BY_ID, key=lambda i: BY_ID[i].published_at, reverse=True)
        assert ids(backend) == newest  # no words: newest first
        assert ids(backend, sort=Sort.PRICE_ASC) == sorted(BY_ID, key=lambda i: BY_ID[i].price)
        assert ids(backend, sort=Sort.PRICE_DESC) == sorted(BY_ID, key=lambda i: -BY_ID[i].price)
        # Titles matching every word outrank descriptions that mention it.
        assert ids(backend, text="laptop", sort=Sort.RELEVANCE)[0] in {3, 6}
        assert ids(backend, text="手机", sort=Sort.NEWEST) == [9, 4, 2, 1]

    def test_pagination_is_stable_and_complete(self, backend):
        # Three listings with the same price and time: ties are broken the same way on
        # every page, so paging never repeats or skips one.
        twins = [doc(i, f"Twin {i}", price=10_000, published_at=T0) for i in (21, 22, 23)]
        backend.bulk_index(twins)
        backend.refresh()
        full = ids(backend, sort=Sort.PRICE_ASC)
        assert full[4:7] == [23, 22, 21]
        pages = []
        for page in range(1, 6):
            result = backend.search(SearchQuery(sort=Sort.PRICE_ASC, page=page, per_page=3))
            assert result.total == len(DOCUMENTS) + 3
            pages += [hit.listing_id for hit in result.hits]
        assert pages == full
        assert backend.search(SearchQuery(page=9, per_page=3)).hits == []

    def test_hits_carry_what_cards_show(self, backend):
        hit = backend.search(SearchQuery(text="thinkpad", near=XUHUI)).hits[0]
        assert (hit.grade, hit.certified, hit.erasure_verified, hit.seller_tier) == ("A", True, True, "")
        assert hit.distance_km == pytest.approx(XUHUI.distance_km(BY_ID[3].location), abs=0.05)
        assert backend.search(SearchQuery(text="华为")).hits[0].seller_tier == "gold"

    def test_suggestions_complete_what_was_typed(self, backend):
        assert backend.suggest("thi") == ["ThinkPad X1 Carbon Gen 9", "ThinkPad X1 Carbon 笔记本电脑"]
        assert backend.suggest("红楼") == ["红楼梦", "红楼梦 全四册", "红楼梦读书笔记", "红楼梦 读书笔记"]
        assert backend.suggest("苹果") == ["苹果手机 iPhone 13 128G"]
        assert backend.suggest("APPLE I") == ["Apple iPad Air", "Apple iPhone 13"]
        assert backend.suggest("zzz") == []
        assert len(backend.suggest("红", limit=2)) == 2

    def test_updates_replace_and_deletes_remove(self, backend):
        backend.index(doc(2, "荣耀手机 X50", brand="Honor", device_type="phone", price=150_000))
        backend.delete(1)
        backend.delete_many([999])  # unknown ids are ignored
        backend.refresh()
        assert set(ids(backend, text="手机")) == {2, 4, 9}
        assert ids(backend, text="Mate") == []
        assert "苹果手机 iPhone 13 128G" not in backend.suggest("苹果")
        assert backend.suggest("荣耀") == ["荣耀手机 X50"]

    def test_fingerprints_report_what_is_indexed(self, backend):
        assert backend.fingerprints() == {d.listing_id: d.fingerprint() for d in DOCUMENTS}

    def test_rebuild_replaces_the_whole_index(self, backend):
        kept = [d for d in DOCUMENTS if d.category == "books"]
        assert backend.rebuild(kept) == 3
        backend.refresh()
        assert set(ids(backend)) == {5, 9, 11}
        assert ids(backend, text="thinkpad") == []
        assert set(backend.fingerprints()) == {5, 9, 11}

    def test_health(self, backend):
        assert backend.health().ok
