"""Background work of the city app (run by Celery beat; see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def stats_rollup_task() -> dict[str, object]:
    """Recompute the daily trade figures of the recent past (idempotent)."""
    from marketplace.city.services import rollup_refresh_recent

    run = rollup_refresh_recent()
    return {"first_day": run.first_day.isoformat(), "last_day": run.last_day.isoformat(), "rows": run.rows}
