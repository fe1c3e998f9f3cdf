"""A buyer whose card fails can pay with another one, against a real localstripe: a
failed 3-D Secure takes the payment back to "waiting for the card" as Stripe takes the
intent back to requires_payment_method; a card declined when charged is followed by a
good card (a new intent where Stripe will not confirm the old one again). The order
page shows only the current attempt, with our own message in the reader's language."""

from __future__ import annotations

import pytest

from marketplace.models import OrderStatus, Payment, PaymentStatus
from marketplace.payments.stripe_gateway import CardDeclined
from marketplace.services.orders import order_place
from marketplace.services.payments import payment_authorise, payment_for_order, payment_refresh
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import (
    CARD_DECLINED_ON_CHARGE,
    authenticate_3d_secure,
    card_token,
    payment_intent,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit", "stripe_settings")]

CARD_3D_SECURE_2 = "4000002760003184"  # asks for 3-D Secure (localstripe: requires_action)
STRIPE_3DS_TEXT = "The provided PaymentMethod has failed authentication."


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def order(buyer):
    listing = published_listing(seller=UserFactory(), price=12_900)
    return order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")


def order_page(client, order, language: str = "en") -> str:
    client.cookies["django_language"] = language
    response = client.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.usefixtures("english")
def test_a_failed_3d_secure_then_a_good_card_completes_the_payment(client, buyer, order, localstripe_url):
    client.force_login(buyer)
    payment, intent = payment_authorise(
        buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_3D_SECURE_2)
    )
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    assert "data-stripe-action" in order_page(client, order)

    authenticate_3d_secure(localstripe_url, intent.id, intent.client_secret, success=False)
    assert payment_intent(localstripe_url, intent.id)["status"] == "requires_payment_method"
    payment = payment_refresh(order_id=order.pk)  # what the page's "I have confirmed" button does
    assert payment.status == PaymentStatus.PENDING
    assert (payment.last_error_code, payment.card_last4) == ("payment_intent_authentication_failure", "")

    page = order_page(client, order)
    assert "data-stripe-form" in page and "data-stripe-action" not in page  # the card form again
    assert "Your bank could not confirm the payment (3-D Secure)." in page
    assert STRIPE_3DS_TEXT not in page and "3184" not in page
    assert STRIPE_3DS_TEXT not in order_page(client, order, "zh-hans")
    client.cookies["django_language"] = "en"
    api = client.get(f"/api/v1/orders/{order.pk}").json()["payment"]
    assert (api["status"], api["card_last4"]) == ("pending", "")
    assert api["error"].startswith("Your bank could not confirm the payment")

    payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    assert intent.status == "requires_capture"
    assert (payment.status, payment.card_last4, payment.last_error_code) == (PaymentStatus.AUTHORISED, "4242", "")
    assert order.status == OrderStatus.PAID
    page = order_page(client, order)
    assert "•••• 4242" in page and "3-D Secure" not in page


@pytest.mark.usefixtures("english")
def test_the_order_page_itself_notices_a_failed_3d_secure(client, buyer, order, localstripe_url):
    client.force_login(buyer)
    _payment, intent = payment_authorise(
        buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_3D_SECURE_2)
    )
    authenticate_3d_secure(localstripe_url, intent.id, intent.client_secret, success=False)
    page = order_page(client, order)  # no refresh step: the page asks Stripe
    assert "data-stripe-form" in page and "data-stripe-action" not in page
    assert payment_for_order(order.pk).status == PaymentStatus.PENDING


def test_a_late_webhook_never_takes_a_payment_back(buyer, order, localstripe_url):
    from marketplace.payments.stripe_gateway import intent_state
    from marketplace.services.payments import payment_apply_intent

    payment, intent = payment_authorise(
        buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_3D_SECURE_2)
    )
    stale = intent_state({**payment_intent(localstripe_url, intent.id), "status": "requires_payment_method"})
    payment_apply_intent(intent=stale, source="webhook:payment_intent.payment_failed")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ACTION_REQUIRED  # Stripe's current state decides


@pytest.mark.usefixtures("english")
def test_a_card_declined_when_charged_then_a_good_card_completes_the_payment(client, buyer, order, localstripe_url):
    client.force_login(buyer)
    with pytest.raises(CardDeclined) as declined:
        payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url, CARD_DECLINED_ON_CHARGE))
    assert declined.value.message == "Your card was declined. Nothing was charged; try another card or ask your bank."
    first = payment_for_order(order.pk)
    assert (first.status, first.card_last4, first.last_error_code) == (PaymentStatus.PENDING, "", "card_declined")
    page = order_page(client, order)
    assert "0341" not in page and "Your card was declined." in page and "data-stripe-form" in page
    assert "您的银行卡被拒绝" in order_page(client, order, "zh-hans")

    payment, intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))

    order.refresh_from_db()
    first.refresh_from_db()
    assert intent.status == "requires_capture"
    assert (payment.status, payment.card_last4, payment.last_error_code) == (PaymentStatus.AUTHORISED, "4242", "")
    assert order.status == OrderStatus.PAID
    # localstripe (unlike Stripe) will not confirm the declined intent again: a new one took its place.
    assert payment.pk != first.pk and first.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, first.intent_id)["status"] == "canceled"
    assert Payment.objects.filter(order=order).exclude(status=PaymentStatus.CANCELLED).count() == 1
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "requires_capture"
    page = order_page(client, order)
    assert "•••• 4242" in page and "declined" not in page and "0341" not in page
