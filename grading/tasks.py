from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def price_check_task(listing_id: int) -> None:
    from grading.services import price_check

    price_check(listing_id=listing_id)
