"""When Elasticsearch is unreachable (here: a closed port on 127.0.0.1), listings are
still created, published and found — through the database backend, with the page and
the API saying results may be incomplete and /api/v1/health reporting "degraded"."""

from __future__ import annotations

import pytest

from marketplace.models import ListingStatus
from search.query import SearchQuery
from search.services import search_listings
from search.tasks import search_drift_repair_task
from tests.conftest import CORE_GATES
from tests.search_support import closed_port, draft, elasticsearch_settings, osmem, publish  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_down(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    settings.SEARCH_BACKEND = {
        "BACKEND": "",
        "URL": f"http://127.0.0.1:{closed_port()}",
        "OPTIONS": {"PLAIN_JSON": True, "TIMEOUT": 1},
    }


def test_publishing_works_and_search_falls_back_while_elasticsearch_is_down(
    engine_down, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        listing = publish(draft(title="ThinkPad X1 笔记本电脑", device_type="laptop", imei=""))
    assert listing.status == ListingStatus.PUBLISHED

    outcome = search_listings(query=SearchQuery(text="thinkpad"))
    assert (outcome.backend, outcome.degraded) == ("database", True)
    assert [hit.listing_id for hit in outcome.result.hits] == [listing.pk]

    page = client.get("/search/?q=thinkpad", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "These results come from a simpler backup search and may be incomplete." in page.content.decode()
    assert "ThinkPad X1 笔记本电脑" in page.content.decode()

    body = client.get("/api/v1/search", {"q": "thinkpad"}).json()
    assert (body["backend"], body["degraded"], body["total"]) == ("database", True, 1)
    assert client.get("/api/v1/search/suggest", {"q": "think"}).json() == {"suggestions": ["ThinkPad X1 笔记本电脑"]}

    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert (health.json()["status"], health.json()["search"]) == ("degraded", "elasticsearch")
    assert health.json()["search_problem"] == "unreachable"


@pytest.mark.usefixtures("elasticsearch_settings")
def test_when_elasticsearch_is_back_drift_repair_fills_it_and_searches_use_it_again(
    settings, client, django_capture_on_commit_callbacks
):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    reachable = settings.SEARCH_BACKEND
    settings.SEARCH_BACKEND = {**reachable, "URL": f"http://127.0.0.1:{closed_port()}"}
    with django_capture_on_commit_callbacks(execute=True):
        listing = publish(draft(title="实木书桌 一张", category="furniture"))
    settings.SEARCH_BACKEND = reachable  # the cluster is back, without an index yet
    outcome = search_listings(query=SearchQuery(text="书桌"))  # never an empty answer from an empty engine
    assert (outcome.backend, outcome.degraded) == ("database", True)
    assert [hit.listing_id for hit in outcome.result.hits] == [listing.pk]
    assert search_drift_repair_task() == 1  # into Elasticsearch; the database index had it
    outcome = search_listings(query=SearchQuery(text="书桌"))
    assert (outcome.backend, outcome.degraded) == ("elasticsearch", False)
    assert [hit.listing_id for hit in outcome.result.hits] == [listing.pk]
    health = client.get("/api/v1/health").json()
    assert (health["status"], health["search"]) == ("ok", "elasticsearch")
