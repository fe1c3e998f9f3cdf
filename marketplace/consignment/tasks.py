"""Consignment's periodic work (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def consignment_markdowns_task() -> dict[str, list[int]]:
    """Scheduled markdowns and expiry actions; idempotent, so a missed or repeated run is harmless."""
    from marketplace.consignment.services import consignment_markdowns_run

    report = consignment_markdowns_run()
    return {"repriced": report.repriced, "expired": report.expired, "sold": report.sold, "failed": report.failed}
