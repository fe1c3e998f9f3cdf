"""Buying pages: the buy panel on a listing, the order page for each party, the card form
(Stripe.js allowed by the CSP on that page only), my orders, offers and messages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from marketplace.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import CARD_DECLINED_ON_ATTACH, card_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def seller():
    return UserFactory()


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller, price=4_500)


def test_the_listing_page_offers_buy_offer_and_message(buyer, seller, listing):
    page = text(client_for(buyer).get(f"/listings/{listing.pk}/"))
    assert "Buy for ¥45.00" in page
    assert f'action="/listings/{listing.pk}/buy/"' in page
    assert "Make an offer" in page and "Message the seller" in page
    assert "Cash at hand-over" in page  # pickup is offered
    assert "Log in to buy" in text(client_for().get(f"/listings/{listing.pk}/"))
    assert "Buy for" not in text(client_for(seller).get(f"/listings/{listing.pk}/"))


def test_buying_from_the_page_reserves_and_shows_the_code_to_the_buyer_only(buyer, seller, listing):
    response = client_for(buyer).post(
        f"/listings/{listing.pk}/buy/", {"delivery_method": "pickup", "payment_method": "cash", "idempotency_key": "p1"}
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"

    buyer_page = text(client_for(buyer).get(f"/orders/{order.pk}/"))
    seller_page = text(client_for(seller).get(f"/orders/{order.pk}/"))
    assert order.handshake_code in buyer_page and "Your hand-over code" in buyer_page
    assert order.handshake_code not in seller_page
    assert "The buyer&#x27;s hand-over code" in seller_page or "The buyer's hand-over code" in seller_page
    assert client_for(UserFactory()).get(f"/orders/{order.pk}/").status_code == 404
    reserved = text(client_for(UserFactory()).get(f"/listings/{listing.pk}/"))
    assert "Someone is buying this item right now" in reserved

    done = client_for(seller).post(
        f"/orders/{order.pk}/handover/", {"handover-code": order.handshake_code}, follow=True
    )
    assert "Hand-over confirmed." in text(done)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_the_card_form_loads_stripe_js_allowed_by_the_csp_of_that_page_only(
    buyer, listing, stripe_settings, localstripe_url
):
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"delivery_method": "ship", "payment_method": "card"})
    order = Order.objects.get()
    response = client_for(buyer).get(f"/orders/{order.pk}/")
    page = text(response)
    assert f'<script src="{localstripe_url}/js.stripe.com/v3/"></script>' in page
    assert "data-stripe-form" in page and 'data-publishable-key="pk_test_xunhuan"' in page
    policy = response["Content-Security-Policy"]
    assert re.search(rf"script-src [^;]*{re.escape(localstripe_url)}", policy)
    assert re.search(rf"connect-src [^;]*{re.escape(localstripe_url)}", policy)
    assert f"frame-src {localstripe_url}" in policy
    assert "'unsafe-inline'" not in policy
    assert localstripe_url not in client_for(buyer).get(f"/listings/{listing.pk}/")["Content-Security-Policy"]


def test_without_stripe_the_page_offers_cash_only(buyer, listing, settings):
    settings.STRIPE_SECRET_KEY = ""
    page = text(client_for(buyer).get(f"/listings/{listing.pk}/"))
    assert "Card (held" not in page and "Cash at hand-over" in page


def test_paying_on_the_page_with_a_declined_card_says_so(buyer, listing, stripe_settings, localstripe_url):
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"delivery_method": "ship", "payment_method": "card"})
    order = Order.objects.get()
    declined = client_for(buyer).post(
        f"/orders/{order.pk}/pay/", {"stripe_token": card_token(localstripe_url, CARD_DECLINED_ON_ATTACH)}, follow=True
    )
    assert text(declined).count("Your card was declined. Nothing was charged") == 1  # on the form, not twice
    paid = client_for(buyer).post(
        f"/orders/{order.pk}/pay/", {"stripe_token": card_token(localstripe_url)}, follow=True
    )
    assert "Payment authorised" in text(paid)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_my_orders_lists_what_i_bought_and_what_i_sold(buyer, seller, listing):
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"delivery_method": "pickup", "payment_method": "cash"})
    assert listing.title in text(client_for(buyer).get("/my/orders/"))
    assert listing.title not in text(client_for(buyer).get("/my/orders/?as=seller"))
    assert listing.title in text(client_for(seller).get("/my/orders/?as=seller"))
    assert "You have not bought anything yet." in text(client_for(seller).get("/my/orders/"))


def test_the_seller_answers_an_offer_from_the_manage_page(buyer, seller, listing):
    client_for(buyer).post(
        f"/listings/{listing.pk}/offers/",
        {"amount_yuan": "40", "delivery_method": "pickup", "payment_method": "cash"},
    )
    manage = text(client_for(seller).get(f"/my/listings/{listing.pk}/"))
    assert "¥40.00 from" in manage
    offer_id = re.search(r"/offers/(\d+)/accept/", manage).group(1)
    client_for(seller).post(f"/offers/{offer_id}/accept/", {"next": f"/my/listings/{listing.pk}/"})
    order = Order.objects.get()
    assert order.amount == 4_000 and order.buyer == buyer


def test_messages_page_masks_contact_details_and_warns(buyer, seller, listing):
    client_for(buyer).post(f"/listings/{listing.pk}/messages/", {"body": "打我电话 13812345678 微信转账"})
    page = text(client_for(seller).get(f"/listings/{listing.pk}/messages/?buyer={buyer.pk}"))
    assert "13812345678" not in page
    assert "Never pay outside the platform" in page
    assert client_for(UserFactory()).get(f"/listings/{listing.pk}/messages/?buyer={buyer.pk}").status_code == 404


def test_a_3d_secure_card_hands_the_client_secret_to_stripe_js(buyer, listing, stripe_settings, localstripe_url):
    from tests.support.localstripe import CARD_3D_SECURE

    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"delivery_method": "ship", "payment_method": "card"})
    order = Order.objects.get()
    asked = client_for(buyer).post(
        f"/orders/{order.pk}/pay/", {"stripe_token": card_token(localstripe_url, CARD_3D_SECURE)}, follow=True
    )
    page = text(asked)
    assert "Your bank asks you to confirm the payment." in page
    assert re.search(r'data-client-secret="pi_\w+_secret_\w+"', page)
    assert f'<script src="{localstripe_url}/js.stripe.com/v3/"></script>' in page
    assert "data-stripe-form" not in page  # no second card entry while the bank waits

    # The card holder passes 3-D Secure in Stripe.js, then the page asks us for the outcome.
    from tests.support.localstripe import authenticate_3d_secure

    payment = order.payments.get()
    secret = re.search(r'data-client-secret="(pi_\w+_secret_\w+)"', page).group(1)
    authenticate_3d_secure(localstripe_url, payment.intent_id, secret)
    done = text(client_for(buyer).post(f"/orders/{order.pk}/pay/refresh/", follow=True))
    assert "Payment authorised. The money is held and reaches the seller only after you confirm receipt." in done
