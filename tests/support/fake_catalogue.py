"""A stand-in for Open Library's Books API on 127.0.0.1, so the online ISBN lookup is
tested against a real HTTP server without leaving the machine.

`catalogue.books` maps an ISBN-13 to the entry the API would return; `catalogue.mode`
makes it misbehave: "slow" (answers after the client gave up), "garbage" (not JSON),
"list" (JSON of the wrong shape), "error" (HTTP 500), "huge" (a body too large)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

RED_CHAMBER = {
    "title": "红楼梦",
    "authors": [{"name": "曹雪芹", "url": "https://openlibrary.org/authors/OL1A"}, {"name": "高鹗"}],
    "publishers": [{"name": "人民文学出版社"}],
    "publish_date": "1982",
}


@dataclass
class FakeCatalogue:
    url: str = ""
    books: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(catalogue: FakeCatalogue) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            catalogue.requests.append(self.path)
            query = parse_qs(url.query)
            if url.path != "/api/books" or query.get("format") != ["json"] or query.get("jscmd") != ["data"]:
                self._send(404, b"{}")
                return
            if catalogue.mode == "slow":
                catalogue.release.wait(10)  # longer than any client timeout the tests set
                self._send(200, b"{}")
                return
            if catalogue.mode == "garbage":
                self._send(200, b"<html>Service temporarily unavailable</html>", "text/html")
                return
            if catalogue.mode == "list":
                self._send(200, b"[1, 2, 3]")
                return
            if catalogue.mode == "error":
                self._send(500, b'{"error": "internal"}')
                return
            if catalogue.mode == "huge":
                self._send(200, b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}')
                return
            answer = {}
            for key in query.get("bibkeys", [""])[0].split(","):
                isbn = key.removeprefix("ISBN:")
                if isbn in catalogue.books:
                    answer[key] = catalogue.books[isbn]
            self._send(200, json.dumps(answer).encode())

    return Handler


@pytest.fixture
def fake_catalogue() -> Iterator[FakeCatalogue]:
    catalogue = FakeCatalogue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(catalogue))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    catalogue.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield catalogue
    finally:
        catalogue.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
