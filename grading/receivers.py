"""Grading listens to the marketplace's domain events (the core never imports grading)."""

from __future__ import annotations

from typing import Any

from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import listing_changed


def on_listing_changed(sender: Any, listing_id: int, **kwargs: Any) -> None:
    from grading.tasks import price_check_task

    task_enqueue_on_commit(price_check_task, listing_id=listing_id)


def connect() -> None:
    listing_changed.connect(on_listing_changed, dispatch_uid="grading.price_check")
