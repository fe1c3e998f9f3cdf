"""Background work of the community pages. Tasks take ids, never model instances."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from marketplace.errors import DomainError
from marketplace.payments.stripe_gateway import PaymentProviderUnavailable

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, default_retry_delay=120)
def stall_fee_refund_task(self: Any, *, fee_payment_id: int) -> None:
    """Refund a stall fee paid by card; retried while Stripe cannot be reached."""
    from cms.services.flea import stall_fee_refund

    try:
        stall_fee_refund(fee_payment_id=fee_payment_id)
    except PaymentProviderUnavailable as exc:
        raise self.retry(exc=exc) from exc
    except DomainError as exc:
        logger.error("Stripe refused to refund stall fee payment %s: %s", fee_payment_id, exc)


@shared_task
def organisation_cms_access_task(*, organisation_id: int) -> None:
    """Refresh an organisation's Wagtail group (its organisers can open the admin screens)."""
    from cms.services.access import organisation_cms_access
    from marketplace.models import Organisation

    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        organisation_cms_access(organisation=organisation)
