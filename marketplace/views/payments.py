"""The Stripe webhook (signature verified, each event applied once), and the CSP
relaxation of the pages with a card form."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.payments.stripe_gateway import WebhookSignatureInvalid, webhook_event
from marketplace.services.payments import stripe_event_process

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the request instead; see webhook_event.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """400 for a missing or wrong signature (nothing is read or changed); 200 for an
    event applied now or earlier (a replay is acknowledged and ignored)."""
    try:
        event = webhook_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except WebhookSignatureInvalid as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    processed = stripe_event_process(event=event)
    return JsonResponse({"received": True, "duplicate": not processed})
