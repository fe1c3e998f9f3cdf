"""The Stripe webhook at /payments/stripe/webhook/: signatures verified (a bad or missing
one is a 400 and changes nothing), each event applied once (a replay changes nothing),
and the payment events move orders on. Intents live in the session's localstripe."""

from __future__ import annotations

import json
import time

import pytest

from marketplace.models import (
    LedgerTransaction,
    ListingStatus,
    Notification,
    OrderStatus,
    PaymentStatus,
    Refund,
    StripeEvent,
)
from marketplace.services.ledger import ledger_reconcile, order_balances
from marketplace.services.orders import order_place
from marketplace.services.payments import payment_authorise, payment_capture, payment_for_order, payment_start
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import (
    card_token,
    charge,
    confirm_at_stripe,
    events,
    payment_intent,
    refund_at_stripe,
    sign,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit", "stripe_settings")]

URL = "/payments/stripe/webhook/"


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def order(buyer):
    listing = published_listing(seller=UserFactory(), price=8_800)
    return order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")


def event(event_type: str, obj: dict, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{event_type.replace('.', '_')}_{obj.get('id')}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


def post(client, payload: bytes, signature: str | None = "sign"):
    headers = {}
    if signature == "sign":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(payload)
    elif signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post(URL, data=payload, content_type="application/json", **headers)


def authorised_at_stripe(buyer, order, localstripe_url) -> dict:
    _payment, intent = payment_start(buyer=buyer, order_id=order.pk)
    return confirm_at_stripe(localstripe_url, intent.id)


def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(client, buyer, order, localstripe_url):
    intent = authorised_at_stripe(buyer, order, localstripe_url)
    payload = event("payment_intent.amount_capturable_updated", intent)

    assert post(client, payload, signature=None).status_code == 400
    assert post(client, payload, signature=sign(payload, secret="whsec_someone_else")).status_code == 400
    assert post(client, payload, signature=sign(payload, timestamp=int(time.time()) - 3600)).status_code == 400
    assert post(client, payload + b" ", signature=sign(payload)).status_code == 400  # body changed after signing

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert payment_for_order(order.pk).status == PaymentStatus.PENDING
    assert not StripeEvent.objects.exists()


def test_amount_capturable_updated_marks_the_order_paid_once(client, buyer, order, localstripe_url):
    intent = authorised_at_stripe(buyer, order, localstripe_url)
    assert intent["status"] == "requires_capture"
    payload = event("payment_intent.amount_capturable_updated", intent)

    first = post(client, payload)
    notifications = Notification.objects.count()
    replay = post(client, payload)

    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.status_history.filter(to_status=OrderStatus.PAID).count() == 1
    assert Notification.objects.count() == notifications  # the replay told nobody anything
    assert StripeEvent.objects.count() == 1


def test_a_late_stale_event_does_not_move_a_payment_backwards(client, buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    stale = payment_intent(localstripe_url, payment.intent_id)  # requires_capture
    payment_capture(order_id=order.pk)

    assert post(client, event("payment_intent.amount_capturable_updated", stale)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED


def test_the_real_succeeded_event_from_localstripe_is_applied_once(client, buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    payment_capture(order_id=order.pk)
    real = next(
        e for e in events(localstripe_url, "payment_intent.succeeded") if e["data"]["object"]["id"] == payment.intent_id
    )
    payload = json.dumps(real).encode()

    assert post(client, payload).json()["duplicate"] is False
    assert post(client, payload).json()["duplicate"] is True
    assert LedgerTransaction.objects.filter(order=order, kind="buyer_payment").count() == 1
    assert order_balances(order.pk)["psp_clearing"] == 8_800


def test_payment_failed_tells_the_buyer_and_keeps_the_order_open(client, buyer, order, localstripe_url):
    buyer.preferred_language = "en"
    buyer.save()
    payment, intent = payment_start(buyer=buyer, order_id=order.pk)
    failed = {
        **payment_intent(localstripe_url, intent.id),
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    assert post(client, event("payment_intent.payment_failed", failed)).status_code == 200

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.last_error_code == "card_declined"
    assert order.status == OrderStatus.PENDING_PAYMENT
    notice = Notification.objects.get(user=buyer, kind="payment_failed")
    assert "Your card was declined" in notice.body


def test_a_cancelled_authorisation_cancels_a_paid_order_and_frees_the_listing(client, buyer, order, localstripe_url):
    _payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    cancelled = {**payment_intent(localstripe_url, intent.id), "status": "canceled"}

    assert post(client, event("payment_intent.canceled", cancelled)).status_code == 200

    order.refresh_from_db()
    order.listing.refresh_from_db()
    assert payment_for_order(order.pk).status == PaymentStatus.CANCELLED
    assert order.status == OrderStatus.CANCELLED
    assert order.listing.status == ListingStatus.PUBLISHED


def test_a_refund_made_in_the_stripe_dashboard_reaches_the_ledger_once(client, buyer, order, localstripe_url):
    payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    payment_capture(order_id=order.pk)
    refund = refund_at_stripe(localstripe_url, intent.id, 800)
    charge_object = charge(localstripe_url, payment_intent(localstripe_url, intent.id)["latest_charge"]["id"])
    payload = event("charge.refunded", charge_object, event_id="evt_refund_1")

    assert post(client, payload).json()["duplicate"] is False
    assert post(client, payload).json()["duplicate"] is True

    payment.refresh_from_db()
    assert payment.amount_refunded == 800
    assert Refund.objects.get(payment=payment).stripe_refund_id == refund["id"]
    assert order_balances(order.pk) == {"psp_clearing": 8_000, "buyer_funds_held": -8_000}
    assert ledger_reconcile()[1] == []


def test_events_for_intents_that_are_not_ours_are_acknowledged(client):
    payload = event("payment_intent.succeeded", {"id": "pi_unknown", "status": "succeeded", "amount": 1})
    assert post(client, payload).status_code == 200
    assert StripeEvent.objects.count() == 1


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405
