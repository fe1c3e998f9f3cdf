"""The CSP relaxation of the pages with a card form: only they may load Stripe.js and
talk to its origin (the order page, the stall-fee page)."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpResponse


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
