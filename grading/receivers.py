"""Grading listens to the marketplace's domain events (the core never imports grading)."""

from __future__ import annotations

from typing import Any

from marketplace import page_cache
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import listing_changed


def on_listing_changed(sender: Any, listing_id: int, **kwargs: Any) -> None:
    from grading.tasks import price_check_task

    task_enqueue_on_commit(price_check_task, listing_id=listing_id)


def on_rules_saved(sender: Any, **kwargs: Any) -> None:
    """Rule sets and valuation parameters show on the grading standards page and in grade
    panels: cached pages must not outlive them (marketplace.page_cache)."""
    page_cache.bump_on_commit(page_cache.SITE)


def connect() -> None:
    from grading.models import RuleSetVersion, ValuationParameters

    listing_changed.connect(on_listing_changed, dispatch_uid="grading.price_check")
    page_cache.connect_model_receivers([RuleSetVersion, ValuationParameters], "grading.page_cache", on_rules_saved)
