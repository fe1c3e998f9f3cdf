"""Background work of the marketplace core. Tasks take plain values, never model instances."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


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
