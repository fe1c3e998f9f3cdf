"""The search backend interface and how the configured backend is found.

`settings.SEARCH_BACKEND` names the class by dotted path, the way Django's CACHES
does: {"BACKEND": "search.backends.elasticsearch.ElasticsearchBackend", "URL": …,
"OPTIONS": {…}}. The database backend always exists as well: it is the embedded
default, and the fallback while Elasticsearch is unreachable."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from search.query import IndexDocument, SearchQuery, SearchResult

DATABASE_BACKEND = "search.backends.database.DatabaseBackend"
ELASTICSEARCH_BACKEND = "search.backends.elasticsearch.ElasticsearchBackend"


class SearchUnavailable(Exception):
    """The search engine cannot answer: unreachable, too slow, an error status, a
    response that is not what a search engine sends, or a request it refuses. Searches
    then go to the database backend.

    `cause` names the problem in a few words for /api/v1/health and the logs; `rest` is
    true when the engine is down or overloaded (leave it alone for a while) and false
    when it answered quickly with a refusal (ask again on the next search)."""

    def __init__(self, message: str = "", *, cause: str = "unreachable", rest: bool = True, hint: str = "") -> None:
        super().__init__(message or cause)
        self.cause = cause
        self.rest = rest
        self.hint = hint  # what an operator can do about it, when we know


class SearchIndexMissing(SearchUnavailable):
    """The engine answers but the index is not there (deleted, or never built). Drift
    repair builds and fills it; until then searches use the database."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message, cause="index missing", rest=False)


@dataclass(frozen=True)
class BackendHealth:
    backend: str
    ok: bool
    detail: str = ""


class SearchBackend(ABC):
    name: ClassVar[str]

    def __init__(self, *, url: str = "", options: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.options = dict(options or {})

    @abstractmethod
    def bulk_index(self, documents: Iterable[IndexDocument]) -> int:
        """Add or replace documents; returns how many were written."""

    def index(self, document: IndexDocument) -> None:
        self.bulk_index([document])

    @abstractmethod
    def delete_many(self, listing_ids: Iterable[int]) -> None:
        """Remove listings from the index; unknown ids are ignored."""

    def delete(self, listing_id: int) -> None:
        self.delete_many([listing_id])

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        """Completions of what the buyer has typed so far, shortest first."""

    @abstractmethod
    def health(self) -> BackendHealth: ...

    @abstractmethod
    def fingerprints(self) -> dict[int, str]:
        """listing id → fingerprint of the indexed document, for drift repair."""

    @abstractmethod
    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Replace the whole index with `documents` without a moment where searches see
        an empty or half-built index; returns how many were indexed."""

    def refresh(self) -> None:  # noqa: B027 (optional: only engines with a refresh interval need it)
        """Make recent writes visible to searches (engines with a refresh interval)."""

    @abstractmethod
    def clear(self) -> None:
        """Drop everything (tests, benchmarks)."""


def _build(path: str, url: str, options: Mapping[str, Any]) -> SearchBackend:
    backend_class = import_string(path)
    backend: SearchBackend = backend_class(url=url, options=options)
    return backend


def configured() -> tuple[str, str]:
    """(dotted path, URL) of the configured backend. An empty BACKEND means
    Elasticsearch when a URL is set (SEARCH_BACKEND["URL"] or ELASTICSEARCH_URL), the
    database otherwise."""
    config = getattr(settings, "SEARCH_BACKEND", {})
    url = config.get("URL") or getattr(settings, "ELASTICSEARCH_URL", "") or ""
    path = config.get("BACKEND") or (ELASTICSEARCH_BACKEND if url else DATABASE_BACKEND)
    return path, url


@functools.cache
def get_backend() -> SearchBackend:
    """The configured backend (one instance per process)."""
    path, url = configured()
    return _build(path, url, getattr(settings, "SEARCH_BACKEND", {}).get("OPTIONS", {}))


@functools.cache
def database_backend() -> SearchBackend:
    if configured()[0] == DATABASE_BACKEND:
        return get_backend()
    return _build(DATABASE_BACKEND, "", {})


def backends_to_write() -> list[SearchBackend]:
    """Every index a change goes to: the database index always (it is the fallback),
    and the configured engine when that is another one."""
    primary, fallback = get_backend(), database_backend()
    return [fallback] if primary is fallback else [fallback, primary]


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SEARCH_BACKEND", "ELASTICSEARCH_URL"):
        get_backend.cache_clear()
        database_backend.cache_clear()


setting_changed.connect(_reset)
