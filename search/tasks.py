"""Celery tasks of search. They take ids, call `search.indexing` / `search.services`,
and own their retry policy: an unreachable engine is retried with back-off, and in
eager mode (no broker) left to the drift task, so that a write never fails because
search is down."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from search.backends.base import SearchIndexMissing, SearchUnavailable

logger = logging.getLogger(__name__)
MAX_RETRIES = 10


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def listing_reindex_task(self: Any, listing_id: int) -> None:
    from search.indexing import listing_reindex

    try:
        listing_reindex(listing_id=listing_id)
    except SearchIndexMissing:
        # Retrying cannot help: drift repair rebuilds the whole index, this listing included.
        logger.warning("Search index missing; listing %s will be indexed when drift repair rebuilds it", listing_id)
    except SearchUnavailable as exc:
        if self.request.is_eager:
            logger.warning("Search unreachable; listing %s will be re-indexed by drift repair", listing_id)
            return
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def listings_reindex_task(self: Any, listing_ids: list[int]) -> None:
    from search.indexing import listings_reindex

    try:
        listings_reindex(listing_ids=listing_ids)
    except SearchIndexMissing:
        logger.warning(
            "Search index missing; %d listings will be indexed when drift repair rebuilds it", len(listing_ids)
        )
    except SearchUnavailable as exc:
        if self.request.is_eager:
            logger.warning("Search unreachable; %d listings will be re-indexed by drift repair", len(listing_ids))
            return
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc


@shared_task
def search_drift_repair_task() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): returns how many index entries it fixed. A
    missing index is rebuilt and filled (searches use the database until then)."""
    from search.indexing import drift_repair_all

    fixed = sum(report.fixed for report in drift_repair_all())
    logger.info("Search drift repair fixed %d entries", fixed)
    return fixed


@shared_task
def saved_search_alerts_task() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): one batched alert per saved search with new
    matches; returns how many listings were alerted about."""
    from search.services import saved_search_alerts_send

    return saved_search_alerts_send()
