"""The Stripe webhook (signature verified, each event applied once), and the CSP
relaxation of the pages with a card form."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.payments.stripe_gateway import WebhookSignatureInvalid, webhook_event
from marketplace.services.payments import stripe_event_process

logger = logging.getLogger(__name__)


def stripe_js_origin() -> str:
    parts = urlparse(settings.STRIPE_JS_URL)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def allow_stripe_js(response: HttpResponse) -> HttpResponse:
    """Only payment pages may load Stripe.js and talk to its origin (the order page, the
    stall-fee page); every other page keeps the strict policy."""
    origin = stripe_js_origin()
    if origin:
        response._csp_update = {"script-src": [origin], "connect-src": [origin]}  # type: ignore[attr-defined]
        response._csp_replace = {"frame-src": [origin]}  # type: ignore[attr-defined]
    return response


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
