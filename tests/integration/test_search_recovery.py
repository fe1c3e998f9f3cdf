"""Search recovers by itself: whatever goes wrong with the engine (its index deleted
under the running site, error statuses, timeouts, answers that are not JSON, a refused
content type), searches are answered from the database with the "may be incomplete"
note and /api/v1/health names the cause; drift repair rebuilds and fills a missing
index. The engine is a real osmem-server, or a small HTTP server misbehaving on purpose."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from search.backends.base import SearchIndexMissing, get_backend
from search.query import SearchQuery
from search.services import search_listings
from search.tasks import search_drift_repair_task
from tests.conftest import CORE_GATES
from tests.search_support import draft, elasticsearch_settings, osmem, publish  # noqa: F401

pytestmark = pytest.mark.django_db
NOTE = "These results come from a simpler backup search and may be incomplete."


@pytest.fixture
def chairs(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    with django_capture_on_commit_callbacks(execute=True):
        return [publish(draft(title=title, category="furniture")) for title in ("人体工学办公椅", "儿童木椅")]


def api_search(client, text: str) -> dict:
    response = client.get("/api/v1/search", {"q": text})
    assert response.status_code == 200, response.content
    return response.json()


def health(client) -> tuple[str, str]:
    body = client.get("/api/v1/health").json()
    return body["status"], body["search_problem"]


def delete_indices(url: str) -> None:
    """What an operator (or a cleanup script) does to the engine behind the site's back."""
    request = urllib.request.Request(f"{url}/_alias/test-listings")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        names = list(json.loads(response.read()))
    assert names
    for name in names:
        urllib.request.urlopen(urllib.request.Request(f"{url}/{name}", method="DELETE"), timeout=5).close()  # noqa: S310


@pytest.mark.usefixtures("elasticsearch_settings")
def test_an_engine_without_index_is_not_taken_for_an_empty_one(chairs, client):
    body = api_search(client, "椅")
    assert (body["backend"], body["degraded"], body["total"]) == ("database", True, 2)
    assert health(client) == ("degraded", "index missing")
    assert not get_backend().client.indices.exists_alias(name="test-listings")  # writes never start one


@pytest.mark.usefixtures("elasticsearch_settings")
def test_an_index_deleted_under_the_running_site_is_rebuilt_by_drift_repair(
    settings, chairs, client, django_capture_on_commit_callbacks
):
    assert search_drift_repair_task() == 2  # the missing index is built and filled
    body = api_search(client, "椅")
    assert (body["backend"], body["degraded"], body["total"]) == ("elasticsearch", False, 2)
    assert health(client) == ("ok", "")

    delete_indices(settings.SEARCH_BACKEND["URL"])

    body = api_search(client, "椅")
    assert (body["backend"], body["degraded"], body["total"]) == ("database", True, 2)
    page = client.get("/search/", {"q": "椅"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert NOTE in page.content.decode() and "儿童木椅" in page.content.decode()
    assert client.get("/api/v1/search/suggest", {"q": "儿童"}).json() == {"suggestions": ["儿童木椅"]}
    assert health(client) == ("degraded", "index missing")

    # Selling goes on; the new listing is not written into a half-empty index of its own.
    with django_capture_on_commit_callbacks(execute=True):
        stool = publish(draft(title="吧台高脚椅", category="furniture"))
    assert not get_backend().client.indices.exists_alias(name="test-listings")
    with pytest.raises(SearchIndexMissing):
        get_backend().fingerprints()
    assert api_search(client, "椅")["total"] == 3  # from the database

    assert search_drift_repair_task() == 3
    body = api_search(client, "椅")
    assert (body["backend"], body["degraded"], body["total"]) == ("elasticsearch", False, 3)
    assert stool.pk in [result["id"] for result in body["results"]]
    assert health(client) == ("ok", "")
    assert search_drift_repair_task() == 0


class Misbehaving(http.server.BaseHTTPRequestHandler):
    """Answers every request the way `server.mode` says."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "timeout":
            time.sleep(1.5)
        status, content_type, body = {
            "400": (400, "application/json", b'{"error":{"type":"parsing_exception","reason":"no"},"status":400}'),
            "500": (500, "application/json", b'{"error":{"type":"exception","reason":"boom"},"status":500}'),
            "503": (503, "text/html", b"<html><body>Service Unavailable</body></html>"),
            "html": (200, "text/html", b"<html><body>Welcome to nginx!</body></html>"),
            "timeout": (200, "application/json", b"{}"),
        }[mode]
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting

    do_GET = do_POST = do_HEAD = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving_engine() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("400", "HTTP 400"),
        ("500", "HTTP 500"),
        ("503", "HTTP 503"),
        ("html", "not Elasticsearch"),
        ("timeout", "timeout"),
    ],
)
def test_every_engine_error_falls_back_to_the_database(settings, chairs, client, misbehaving_engine, mode, cause):
    misbehaving_engine.mode = mode  # type: ignore[attr-defined]
    settings.SEARCH_BACKEND = {
        "BACKEND": "",
        "URL": f"http://127.0.0.1:{misbehaving_engine.server_address[1]}",
        "OPTIONS": {"PLAIN_JSON": mode != "html", "INDEX_PREFIX": "test-", "TIMEOUT": 0.5},
    }
    outcome = search_listings(query=SearchQuery(text="椅"))
    assert (outcome.backend, outcome.degraded, outcome.result.total) == ("database", True, 2)
    page = client.get("/search/", {"q": "椅"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and NOTE in page.content.decode()
    body = api_search(client, "椅")
    assert (body["backend"], body["degraded"], body["total"]) == ("database", True, 2)
    assert client.get("/api/v1/search/suggest", {"q": "儿童"}).json() == {"suggestions": ["儿童木椅"]}
    assert health(client) == ("degraded", cause)


def test_an_engine_refusing_the_elasticsearch_content_type_is_explained(request, settings, chairs, client):
    clone = request.getfixturevalue("osmem").clone()
    try:
        settings.SEARCH_BACKEND = {"BACKEND": "", "URL": clone.url, "OPTIONS": {"INDEX_PREFIX": "test-"}}
        body = api_search(client, "椅")
        assert (body["backend"], body["degraded"], body["total"]) == ("database", True, 2)
        assert health(client) == ("degraded", "content type refused")

        with pytest.raises(CommandError) as error:
            call_command("search_reindex", "--backend", "engine", stdout=io.StringIO())
        assert "content type refused" in str(error.value)
        assert "Set SEARCH_PLAIN_JSON=1." in str(error.value)
        assert "Traceback" not in str(error.value)

        settings.SEARCH_BACKEND = {**settings.SEARCH_BACKEND, "OPTIONS": {"INDEX_PREFIX": "test-", "PLAIN_JSON": True}}
        out = io.StringIO()
        call_command("search_reindex", "--backend", "engine", stdout=out)
        assert "elasticsearch: 2 listings indexed" in out.getvalue()
        body = api_search(client, "椅")
        assert (body["backend"], body["degraded"], body["total"]) == ("elasticsearch", False, 2)
    finally:
        clone.close()
