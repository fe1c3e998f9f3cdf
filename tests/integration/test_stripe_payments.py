"""Card payments against a real localstripe: authorise (money held), capture, cancel,
refund, declined cards with a clear message, escrow before an authorisation lapses, and
the reconciliation of payments that look stuck."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from marketplace.models import Order, OrderStatus, Payment, PaymentStatus, Refund
from marketplace.payments.stripe_gateway import CardDeclined, PaymentsDisabled
from marketplace.services.ledger import ledger_reconcile, order_balances
from marketplace.services.orders import order_cancel, order_place, order_ship
from marketplace.services.payments import (
    payment_authorise,
    payment_capture,
    payment_for_order,
    payment_refresh,
    payment_refund,
    payment_start,
    payments_capture_expiring,
    payments_reconcile,
)
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import (
    CARD_3D_SECURE,
    CARD_DECLINED_ON_ATTACH,
    CARD_DECLINED_ON_CHARGE,
    authenticate_3d_secure,
    card_token,
    payment_intent,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit", "stripe_settings")]


@pytest.fixture
def seller():
    return UserFactory()


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def order(buyer, seller):
    listing = published_listing(seller=seller, price=12_900)
    return order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")


def test_pay_returns_a_manual_capture_intent_with_its_client_secret(buyer, order, localstripe_url):
    payment, intent = payment_start(buyer=buyer, order_id=order.pk)
    again, same = payment_start(buyer=buyer, order_id=order.pk)

    remote = payment_intent(localstripe_url, intent.id)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert remote["capture_method"] == "manual"
    assert remote["amount"] == 12_900 and remote["currency"] == "cny"
    assert remote["metadata"] == {"order_id": str(order.pk), "payment_id": str(payment.pk)}
    assert (again.pk, same.id) == (payment.pk, intent.id)  # one intent per order
    assert payment.status == PaymentStatus.PENDING


def test_authorising_holds_the_money_without_taking_it(buyer, order, localstripe_url):
    payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))

    order.refresh_from_db()
    assert intent.status == "requires_capture"
    assert payment.status == PaymentStatus.AUTHORISED
    assert (payment.card_last4, payment.amount_captured) == ("4242", 0)
    assert order.status == OrderStatus.PAID
    assert payment_intent(localstripe_url, intent.id)["status"] == "requires_capture"
    assert order_balances(order.pk) == {}  # an authorisation moves no money


def test_capture_takes_the_held_money_once(buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    payment_capture(order_id=order.pk)
    payment_capture(order_id=order.pk)  # harmless twice

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED and payment.amount_captured == 12_900
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "succeeded"
    assert order_balances(order.pk) == {"psp_clearing": 12_900, "buyer_funds_held": -12_900}


def test_cancelling_the_order_cancels_the_intent(buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_cancel(actor=buyer, order_id=order.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"


def test_refunds_go_back_to_the_card_and_into_the_ledger(buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    payment_capture(order_id=order.pk)

    first = payment_refund(order_id=order.pk, amount=2_900, reason="scratch")
    with pytest.raises(Exception, match="at most"):
        payment_refund(order_id=order.pk, amount=10_001, reason="too much")
    second = payment_refund(order_id=order.pk, amount=10_000, reason="rest")

    payment.refresh_from_db()
    assert first.stripe_refund_id.startswith("re_") and second.stripe_refund_id.startswith("re_")
    assert payment.amount_refunded == 12_900
    assert payment_intent(localstripe_url, payment.intent_id)["latest_charge"]["amount_refunded"] == 12_900
    assert order_balances(order.pk) == {"psp_clearing": 0, "buyer_funds_held": 0}


def test_a_card_declined_when_saved_gives_a_clear_message_and_the_buyer_can_retry(buyer, order, localstripe_url):
    with pytest.raises(CardDeclined) as error:
        payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_DECLINED_ON_ATTACH))

    assert error.value.code == "card_declined"
    assert error.value.http_status == 402
    assert error.value.message == "Your card was declined. Nothing was charged; try another card or ask your bank."
    payment = payment_for_order(order.pk)
    order.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.last_error_code == "card_declined"
    assert order.status == OrderStatus.PENDING_PAYMENT

    payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    assert intent.status == "requires_capture"
    assert Payment.objects.filter(order=order).count() == 1


def test_a_card_declined_when_charged_is_refused_too(buyer, order, localstripe_url):
    with pytest.raises(CardDeclined):
        payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_DECLINED_ON_CHARGE))
    payment = payment_for_order(order.pk)
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "requires_payment_method"
    assert payment.last_error_code == "card_declined"


def test_without_a_secret_key_card_payment_is_off(buyer, order, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(PaymentsDisabled):
        payment_start(buyer=buyer, order_id=order.pk)


def test_holds_about_to_lapse_are_captured_into_escrow(buyer, seller, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    with time_machine.travel(timezone.now() + dt.timedelta(days=5)):
        assert payments_capture_expiring() == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, minutes=1)):
        assert payments_capture_expiring() == [order.pk]

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert order.status == OrderStatus.SHIPPED  # still waiting for the buyer
    # The money is held by the platform for the buyer, not yet the seller's.
    assert order_balances(order.pk) == {"psp_clearing": 12_900, "buyer_funds_held": -12_900}
    assert ledger_reconcile()[1] == []


def test_an_escrowed_payment_is_refunded_when_the_order_is_cancelled(buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    payment_capture(order_id=order.pk)  # as the escrow task would
    order_cancel(actor=buyer, order_id=order.pk)

    payment.refresh_from_db()
    assert payment.amount_refunded == 12_900
    assert Refund.objects.filter(payment=payment).count() == 1
    assert ledger_reconcile()[1] == []


def test_reconciliation_applies_an_authorisation_we_never_heard_about(buyer, order, localstripe_url):
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    # As if the response and the webhook had both been lost.
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PENDING, authorised_at=None)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PENDING_PAYMENT)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        assert payments_reconcile() == []  # not stuck for long enough yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert payments_reconcile() == [payment.pk]

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.AUTHORISED
    assert order.status == OrderStatus.PAID


def test_a_3d_secure_card_is_confirmed_in_the_browser_then_applied(buyer, order, localstripe_url):
    payment, intent = payment_authorise(
        buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_3D_SECURE)
    )
    assert intent.status == "requires_action"
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT

    authenticate_3d_secure(localstripe_url, intent.id, intent.client_secret)
    payment_refresh(order_id=order.pk)

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.AUTHORISED
    assert order.status == OrderStatus.PAID
