"""GET /api/v1/search takes the search page's parameters and returns results, facets
and the backend that answered; GET /api/v1/search/suggest completes the query box."""

from __future__ import annotations

import pytest

from tests.conftest import CORE_GATES
from tests.search_support import draft, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def listings(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    with django_capture_on_commit_callbacks(execute=True):
        return [
            publish(draft(title=f"二手手机 {n}号", price=price, lat=31.2 + n / 100, lon=121.44))
            for n, price in enumerate([30_000, 10_000, 20_000, 10_000, 50_000])
        ] + [publish(draft(category="books", title="红楼梦 全四册", price=4_500))]


def test_results_facets_and_backend(client, listings):
    params = {"q": "手机", "lat": "31.2", "lon": "121.44", "within": "3"}
    body = client.get("/api/v1/search", params, HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["backend"], body["degraded"], body["total"], body["sort"]) == ("database", False, 3, "relevance")
    first = body["results"][0]
    assert set(first) >= {"id", "title", "url", "price", "price_display", "grade", "erasure_verified", "distance_km"}
    assert {r["id"] for r in body["results"]} == {listings[0].pk, listings[1].pk, listings[2].pk}
    assert max(r["distance_km"] for r in body["results"]) < 3
    assert {f["value"]: f["count"] for f in body["facets"]["category"]} == {"electronics": 3}
    assert [(f["label"], f["count"]) for f in body["facets"]["price"]] == [("¥100 to ¥500", 3)]


def test_sort_and_stable_pages(client, listings):
    pages = []
    for page in (1, 2, 3):
        body = client.get("/api/v1/search", {"sort": "price_asc", "per_page": 2, "page": page}).json()
        assert (body["pages"], body["per_page"]) == (3, 2)
        pages += [r["id"] for r in body["results"]]
    # Equal prices (the two ¥100 phones) come in the same order on every request.
    assert pages == [listings[5].pk, listings[3].pk, listings[1].pk, listings[2].pk, listings[0].pk, listings[4].pk]


def test_filters_are_repeatable_parameters(client, listings):
    body = client.get("/api/v1/search?category=books&category=furniture").json()
    assert [r["title"] for r in body["results"]] == ["红楼梦 全四册"]
    selected = [f for f in body["facets"]["category"] if f["selected"]]
    assert [f["value"] for f in selected] == ["books", "furniture"]


def test_invalid_parameters_get_the_error_shape(client, listings):
    response = client.get("/api/v1/search", {"price_min": "cheap"})
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "details"}
    response = client.get("/api/v1/search", {"category": "spaceships"})
    assert response.status_code == 422
    assert "category" in response.json()["details"]["fields"]


def test_suggest_and_openapi(client, listings):
    assert client.get("/api/v1/search/suggest", {"q": "红楼"}).json() == {"suggestions": ["红楼梦", "红楼梦 全四册"]}
    assert client.get("/api/v1/search/suggest").json() == {"suggestions": []}
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/search" in paths and "/api/v1/search/suggest" in paths
