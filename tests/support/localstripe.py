"""Talking to the test session's localstripe the way a browser's Stripe.js does, and
signing webhook events the way Stripe does (tests must not import `stripe`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from typing import Any

PUBLISHABLE_KEY = "pk_test_xunhuan"
SECRET_KEY = "sk_test_xunhuan"
WEBHOOK_SECRET = "whsec_test_xunhuan"

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_ATTACH = "4000000000000002"
CARD_DECLINED_ON_CHARGE = "4000000000000341"


def _post(url: str, data: dict[str, str], *, secret: bool = False) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        url, data=urllib.parse.urlencode(data).encode(), method="POST"
    )
    if secret:
        request.add_header("Authorization", f"Bearer {SECRET_KEY}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _get(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {SECRET_KEY}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def card_token(base_url: str, number: str = CARD_OK) -> str:
    """What Stripe.js's createToken returns for a card typed into its card element."""
    data = {
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
        "key": PUBLISHABLE_KEY,
    }
    return str(_post(f"{base_url}/v1/tokens", data)["id"])


def payment_intent(base_url: str, intent_id: str) -> dict[str, Any]:
    return _get(f"{base_url}/v1/payment_intents/{intent_id}")


def events(base_url: str, event_type: str) -> list[dict[str, Any]]:
    return list(_get(f"{base_url}/v1/events?type={urllib.parse.quote(event_type)}&limit=100")["data"])


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def confirm_at_stripe(base_url: str, intent_id: str, number: str = CARD_OK) -> dict[str, Any]:
    """What the buyer's browser does with Stripe.js when it confirms the intent itself:
    the platform hears of it only through the webhook."""
    customer = _post(f"{base_url}/v1/customers", {"source": card_token(base_url, number)}, secret=True)
    _post(
        f"{base_url}/v1/payment_intents/{intent_id}",
        {"customer": customer["id"], "payment_method": customer["default_source"]},
        secret=True,
    )
    return _post(f"{base_url}/v1/payment_intents/{intent_id}/confirm", {}, secret=True)


def refund_at_stripe(base_url: str, intent_id: str, amount: int) -> dict[str, Any]:
    """A refund made in the Stripe dashboard, not by the platform."""
    return _post(f"{base_url}/v1/refunds", {"payment_intent": intent_id, "amount": str(amount)}, secret=True)


def charge(base_url: str, charge_id: str) -> dict[str, Any]:
    return _get(f"{base_url}/v1/charges/{charge_id}")


CARD_3D_SECURE = "4000002500003155"


def authenticate_3d_secure(
    base_url: str, intent_id: str, client_secret: str, *, success: bool = True
) -> dict[str, Any]:
    """What Stripe.js's confirmCardPayment does when the card holder passes 3-D Secure."""
    return _post(
        f"{base_url}/v1/payment_intents/{intent_id}/_authenticate?success={'true' if success else 'false'}",
        {"key": PUBLISHABLE_KEY, "client_secret": client_secret},
    )


def deliver_webhooks_to(base_url: str, url: str | None, secret: str = WEBHOOK_SECRET) -> None:
    """Make localstripe POST its events, signed, to `url`; with None, stop delivering
    (localstripe cannot forget an endpoint, so it is narrowed to an event that never happens)."""
    body = {"url": url or "http://127.0.0.1:9/", "secret": secret}
    if url is None:
        body["events"] = ["xunhuan.never"]  # type: ignore[assignment]
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        f"{base_url}/_config/webhooks/xunhuan",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
