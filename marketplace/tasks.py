"""Background work of the marketplace core. Tasks take plain values, never model instances."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_task(*, subject: str, body: str, from_email: str, to: list[str], html: str | None = None) -> None:
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=from_email, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def listing_photo_renditions_task(photo_id: int) -> None:
    from marketplace.services.photos import listing_photo_make_renditions

    listing_photo_make_renditions(photo_id=photo_id)


# --- Orders and payments (run by Celery beat; see CELERY_BEAT_SCHEDULE) ---------------------


@shared_task
def orders_timers_task() -> dict[str, list[int]]:
    """Payment windows, ship and hand-over deadlines, auto-confirmation."""
    from marketplace.services.orders import orders_run_timers

    report = orders_run_timers()
    return {
        "expired_unpaid": report.expired_unpaid,
        "late_sellers": report.late_sellers,
        "auto_confirmed": report.auto_confirmed,
        "failed": report.failed,
    }


@shared_task
def offers_expire_task() -> list[int]:
    from marketplace.services.offers import offers_expire

    return offers_expire()


@shared_task
def payments_capture_expiring_task() -> list[int]:
    """Capture into escrow the card holds that would otherwise lapse."""
    from marketplace.services.payments import payments_capture_expiring

    return payments_capture_expiring()


@shared_task
def payments_reconcile_task() -> list[int]:
    """Ask Stripe about payments that look stuck and apply what it says."""
    from marketplace.services.payments import payments_reconcile

    return payments_reconcile()


@shared_task
def payment_void_task(*, order_id: int) -> None:
    """An order ended: release or refund its card payment. Failures are left to
    payments_reconcile_task, which retries every few minutes."""
    from marketplace.errors import DomainError
    from marketplace.services.payments import payment_void_for_ended_order

    try:
        payment_void_for_ended_order(order_id=order_id)
    except DomainError as exc:
        logger.warning("Could not release the payment of order %s yet: %s", order_id, exc)


@shared_task
def deferred_tasks_flush_task() -> int:
    """Hand the tasks kept while the broker was down to the broker again."""
    from marketplace.services.outbox import deferred_tasks_flush

    return deferred_tasks_flush()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def domain_signal_retry_task(*, signal: str, receiver: str, sender: str | None, arguments: dict[str, Any]) -> bool:
    """Run again the one receiver of a domain event that raised when the event was sent
    (see marketplace.signals.DomainSignal). False when it is no longer connected."""
    from django.apps import apps

    from marketplace.signals import DomainSignal

    event = DomainSignal.registry.get(signal)
    sender_class = apps.get_model(sender) if sender else None
    found = event.receiver_find(sender_class, receiver) if event is not None else None
    if event is None or found is None:
        logger.warning("No receiver %s of %s to retry any more", receiver, signal)
        return False
    found(signal=event, sender=sender_class, **arguments)
    return True


@shared_task
def personal_data_retention_task() -> dict[str, int]:
    """Apply the retention periods SECURITY.md states (see marketplace.services.retention)."""
    from marketplace.services.retention import personal_data_retention

    report = personal_data_retention()
    return {
        "messages_emptied": report.messages_emptied,
        "preorder_messages_deleted": report.preorder_messages_deleted,
        "notifications_deleted": report.notifications_deleted,
    }
