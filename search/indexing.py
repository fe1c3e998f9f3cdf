"""Keeping the indices in step with the marketplace: one listing after a change, all
of them for a rebuild, and drift repair for whatever slipped through (an engine that
was down, a change that sent no event).

Only `search` writes to the indices, always from documents built by
`search.documents`; callers elsewhere send `marketplace.signals.listing_changed`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from search.backends.base import SearchBackend, SearchIndexMissing, SearchUnavailable, backends_to_write
from search.documents import build_documents, indexable_listing_ids
from search.query import IndexDocument

logger = logging.getLogger(__name__)
BATCH = 500


def listing_reindex(*, listing_id: int) -> None:
    """Index the listing as it is now, or remove it if it is no longer on sale, in every
    index. Raises SearchUnavailable (after writing the others) if an engine is down."""
    document = build_documents([listing_id])[listing_id]
    failure: SearchUnavailable | None = None
    for backend in backends_to_write():
        try:
            if document is None:
                backend.delete(listing_id)
            else:
                backend.index(document)
        except SearchUnavailable as exc:
            failure = exc
    if failure is not None:
        raise failure


def listings_reindex(*, listing_ids: Sequence[int]) -> None:
    """`listing_reindex` for a batch: one read of the documents, one bulk write per index."""
    documents = build_documents(list(listing_ids))
    present = [document for document in documents.values() if document is not None]
    gone = [listing_id for listing_id, document in documents.items() if document is None]
    failure: SearchUnavailable | None = None
    for backend in backends_to_write():
        try:
            if present:
                backend.bulk_index(present)
            if gone:
                backend.delete_many(gone)
        except SearchUnavailable as exc:
            failure = exc
    if failure is not None:
        raise failure


def all_documents(listing_ids: Sequence[int] | None = None, *, batch_size: int = BATCH) -> Iterator[IndexDocument]:
    ids = indexable_listing_ids() if listing_ids is None else list(listing_ids)
    for start in range(0, len(ids), batch_size):
        for document in build_documents(ids[start : start + batch_size]).values():
            if document is not None:
                yield document


def rebuild(backend: SearchBackend, *, batch_size: int = BATCH) -> int:
    """Build a complete new index and switch searches to it; then index what changed
    while it was being built."""
    written = backend.rebuild(all_documents(batch_size=batch_size))
    drift_repair(backend, batch_size=batch_size)
    return written


@dataclass(frozen=True)
class DriftReport:
    backend: str
    reindexed: int  # missing or out of date
    removed: int  # in the index but no longer on sale

    @property
    def fixed(self) -> int:
        return self.reindexed + self.removed


def drift_repair(backend: SearchBackend, *, batch_size: int = BATCH) -> DriftReport:
    """Fix what the index has wrong. An index that is missing (deleted under the running
    site, or never built) is built whole and filled first; searches keep using the
    database until it is."""
    rebuilt = 0
    try:
        indexed = backend.fingerprints()
    except SearchIndexMissing:
        logger.warning("Search index of %s is missing; rebuilding it", backend.name)
        rebuilt = backend.rebuild(all_documents(batch_size=batch_size))
        indexed = backend.fingerprints()
    stale: list[IndexDocument] = []
    expected: set[int] = set()
    for document in all_documents(batch_size=batch_size):
        expected.add(document.listing_id)
        if indexed.get(document.listing_id) != document.fingerprint():
            stale.append(document)
    extra = sorted(set(indexed) - expected)
    if stale:
        backend.bulk_index(stale)
    if extra:
        backend.delete_many(extra)
    report = DriftReport(backend=backend.name, reindexed=rebuilt + len(stale), removed=len(extra))
    if report.fixed:
        logger.warning(
            "Search drift repaired in %s: %d re-indexed, %d removed", backend.name, report.reindexed, report.removed
        )
    return report


def drift_repair_all() -> list[DriftReport]:
    reports = []
    for backend in backends_to_write():
        try:
            reports.append(drift_repair(backend))
        except SearchUnavailable:
            logger.warning("Search drift repair skipped: %s is unreachable", backend.name)
    return reports
