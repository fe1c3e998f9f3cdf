from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def checkpoint_publish_task() -> int | None:
    """Sign the log's current tree head when it grew (run by Celery beat)."""
    from wipe_cert.services import checkpoint_publish

    checkpoint = checkpoint_publish()
    return checkpoint.tree_size if checkpoint else None
