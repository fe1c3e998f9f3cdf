"""The orders JSON API: paths, order JSON and errors are a public contract. A buyer sees
only their orders and a seller only theirs."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from marketplace.models import Order
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import CARD_DECLINED_ON_ATTACH, card_token, payment_intent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post(client: Client, path: str, data: Any = None, **extra: Any):
    return client.post(path, data=json.dumps(data or {}), content_type="application/json", **extra)


@pytest.fixture
def seller():
    return UserFactory()


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller, price=4_500)


def place(client: Client, listing, **data: Any):
    payload = {"delivery_method": "pickup", "payment_method": "cash", **data}
    return post(client, f"/api/v1/listings/{listing.pk}/orders", payload)


def test_buying_returns_the_order_and_a_second_buyer_gets_409(buyer, listing):
    response = place(client_for(buyer), listing)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "awaiting_handover"
    assert body["role"] == "buyer"
    assert body["amount"] == 4_500 and body["snapshot"]["price"] == 4_500
    assert len(body["handshake_code"]) == 6
    assert body["actions"] == ["cancel"]

    second = place(client_for(UserFactory()), listing)
    assert second.status_code == 409
    assert second.json()["code"] == "listing_reserved"
    assert set(second.json()) == {"code", "message", "details"}


def test_an_idempotency_key_makes_a_retry_return_the_first_order(buyer, listing):
    client = client_for(buyer)
    first = place(client, listing, idempotency_key="retry-1")
    again = post(
        client,
        f"/api/v1/listings/{listing.pk}/orders",
        {"delivery_method": "pickup", "payment_method": "cash"},
        HTTP_IDEMPOTENCY_KEY="retry-1",
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1


def test_bad_choices_are_422_on_their_field(buyer, listing):
    response = place(client_for(buyer), listing, delivery_method="ship", payment_method="cash")
    assert response.status_code == 422
    assert "payment_method" in response.json()["details"]["fields"]
    assert post(client_for(buyer), f"/api/v1/listings/{listing.pk}/orders", {"delivery_method": 1}).status_code == 422


def test_anonymous_callers_are_401(listing):
    response = post(Client(), f"/api/v1/listings/{listing.pk}/orders", {"delivery_method": "pickup"})
    assert response.status_code == 401


def test_a_buyer_sees_only_their_orders_and_a_seller_only_theirs(buyer, seller, listing):
    order_id = place(client_for(buyer), listing).json()["id"]
    stranger = client_for(UserFactory())
    other_seller = client_for(published_listing(seller=UserFactory(), title="三国演义").seller_user)

    assert client_for(buyer).get(f"/api/v1/orders/{order_id}").json()["role"] == "buyer"
    assert client_for(seller).get(f"/api/v1/orders/{order_id}").json()["role"] == "seller"
    assert client_for(seller).get(f"/api/v1/orders/{order_id}").json()["handshake_code"] is None
    for client in (stranger, other_seller):
        response = client.get(f"/api/v1/orders/{order_id}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert post(client, f"/api/v1/orders/{order_id}/cancel").status_code == 404
        assert client.get("/api/v1/orders").json()["count"] == 0
        assert client.get("/api/v1/orders?role=seller").json()["count"] == 0
    assert client_for(buyer).get("/api/v1/orders").json()["count"] == 1
    assert client_for(buyer).get("/api/v1/orders?role=seller").json()["count"] == 0
    assert [o["id"] for o in client_for(seller).get("/api/v1/orders?role=seller").json()["items"]] == [order_id]


def test_each_party_may_only_take_their_own_steps(buyer, seller, listing):
    order = place(client_for(buyer), listing).json()
    code = order["handshake_code"]
    wrong_side = post(client_for(buyer), f"/api/v1/orders/{order['id']}/handover", {"code": code})
    assert wrong_side.status_code == 403 and wrong_side.json()["code"] == "permission_denied"
    assert post(client_for(seller), f"/api/v1/orders/{order['id']}/confirm-receipt").status_code == 403
    wrong_code = post(client_for(seller), f"/api/v1/orders/{order['id']}/handover", {"code": "12"})
    assert wrong_code.status_code == 422 and wrong_code.json()["code"] == "handshake_wrong"

    done = post(client_for(seller), f"/api/v1/orders/{order['id']}/handover", {"code": code})

    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["payment"]["provider"] == "cash"


def test_the_card_journey_through_the_api(buyer, seller, stripe_settings, localstripe_url):
    listing = published_listing(seller=seller, price=9_900)
    order = place(client_for(buyer), listing, delivery_method="ship", payment_method="card").json()
    assert order["status"] == "pending_payment" and order["actions"] == ["pay", "cancel"]

    started = post(client_for(buyer), f"/api/v1/orders/{order['id']}/pay")
    assert started.status_code == 200
    assert started.json()["client_secret"].startswith(started.json()["intent_id"])
    assert started.json()["publishable_key"] == "pk_test_xunhuan"
    assert post(client_for(seller), f"/api/v1/orders/{order['id']}/pay").status_code == 403

    declined = post(
        client_for(buyer),
        f"/api/v1/orders/{order['id']}/pay",
        {"token": card_token(localstripe_url, CARD_DECLINED_ON_ATTACH)},
    )
    assert declined.status_code == 402
    assert declined.json()["code"] == "card_declined"
    assert declined.json()["message"].startswith("Your card was declined. Nothing was charged")

    paid = post(client_for(buyer), f"/api/v1/orders/{order['id']}/pay", {"token": card_token(localstripe_url)})
    assert paid.json()["intent_status"] == "requires_capture"
    assert paid.json()["order"]["status"] == "paid"
    assert (
        post(
            client_for(buyer), f"/api/v1/orders/{order['id']}/ship", {"carrier": "SF", "tracking_number": "1"}
        ).status_code
        == 403
    )

    shipped = post(
        client_for(seller), f"/api/v1/orders/{order['id']}/ship", {"carrier": "顺丰", "tracking_number": "SF42"}
    ).json()
    assert shipped["status"] == "shipped" and shipped["tracking"] == {"carrier": "顺丰", "number": "SF42"}
    assert set(client_for(buyer).get(f"/api/v1/orders/{order['id']}").json()["actions"]) == {
        "confirm_receipt",
        "return",
        "dispute",
    }

    done = post(client_for(buyer), f"/api/v1/orders/{order['id']}/confirm-receipt").json()
    assert done["status"] == "completed"
    assert done["payment"]["status"] == "captured" and done["payment"]["amount_captured"] == 9_900
    assert payment_intent(localstripe_url, paid.json()["intent_id"])["status"] == "succeeded"


def test_returns_and_disputes_through_the_api(buyer, seller, stripe_settings, localstripe_url):
    listing = published_listing(seller=seller, price=9_900)
    order = place(client_for(buyer), listing, delivery_method="ship", payment_method="card").json()
    post(client_for(buyer), f"/api/v1/orders/{order['id']}/pay", {"token": card_token(localstripe_url)})
    post(client_for(seller), f"/api/v1/orders/{order['id']}/ship", {"carrier": "SF", "tracking_number": "SF1"})

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, format="JPEG")
    photo = SimpleUploadedFile("scratch.jpg", out.getvalue(), content_type="image/jpeg")
    forbidden = client_for(seller).post(
        f"/api/v1/orders/{order['id']}/dispute", {"kind": "not_as_graded", "description": "Not what was graded."}
    )
    assert forbidden.status_code == 403
    disputed = client_for(buyer).post(
        f"/api/v1/orders/{order['id']}/dispute",
        {"kind": "not_as_graded", "description": "Deep scratch not in the grade.", "file": [photo]},
    )
    assert disputed.status_code == 201
    body = disputed.json()
    assert body["status"] == "disputed"
    assert body["deadlines"]["confirms_automatically_at"] is None
    evidence_url = body["disputes"][0]["evidence"][0]
    assert client_for(buyer).get(evidence_url).status_code == 200
    assert client_for(UserFactory()).get(evidence_url).status_code == 404

    other = published_listing(seller=seller, title="水浒传", price=3_000)
    second = place(client_for(buyer), other, delivery_method="ship", payment_method="card").json()
    post(client_for(buyer), f"/api/v1/orders/{second['id']}/pay", {"token": card_token(localstripe_url)})
    post(client_for(seller), f"/api/v1/orders/{second['id']}/ship", {"carrier": "SF", "tracking_number": "SF2"})
    assert post(client_for(buyer), f"/api/v1/orders/{second['id']}/return", {"reason": "太旧"}).json()["status"] == (
        "return_requested"
    )
    post(client_for(buyer), f"/api/v1/orders/{second['id']}/return/ship", {"tracking_number": "YT1"})
    assert post(client_for(buyer), f"/api/v1/orders/{second['id']}/return/receive").status_code == 403
    refunded = post(client_for(seller), f"/api/v1/orders/{second['id']}/return/receive").json()
    assert refunded["status"] == "refunded"


def test_offers_through_the_api(buyer, seller, listing):
    made = post(
        client_for(buyer),
        f"/api/v1/listings/{listing.pk}/offers",
        {"amount": 4_000, "delivery_method": "pickup", "payment_method": "cash"},
    )
    assert made.status_code == 201
    offer = made.json()
    assert post(client_for(UserFactory()), f"/api/v1/offers/{offer['id']}/accept").status_code == 404
    assert post(client_for(buyer), f"/api/v1/offers/{offer['id']}/accept").status_code == 403

    counter = post(client_for(seller), f"/api/v1/offers/{offer['id']}/counter", {"amount": 4_300})
    assert counter.status_code == 201 and counter.json()["proposed_by"] == "seller"
    accepted = post(client_for(buyer), f"/api/v1/offers/{counter.json()['id']}/accept").json()
    assert accepted["status"] == "accepted"
    order = client_for(buyer).get(f"/api/v1/orders/{accepted['order_id']}").json()
    assert order["amount"] == 4_300
    assert {o["id"] for o in client_for(seller).get("/api/v1/offers").json()} == {offer["id"], counter.json()["id"]}


def test_messages_through_the_api(buyer, seller, listing):
    sent = post(
        client_for(buyer), f"/api/v1/listings/{listing.pk}/messages", {"body": "加微信 wxid_zhang01 私下转账吧"}
    )
    assert sent.status_code == 201
    body = sent.json()
    assert body["warning"].startswith("Contact and payment details stay hidden")
    assert "wxid_zhang01" not in body["messages"][0]["text"]
    seller_view = client_for(seller).get(f"/api/v1/listings/{listing.pk}/messages?buyer_id={buyer.pk}").json()
    assert seller_view["messages"][0]["masked"] is True
    reply = post(
        client_for(seller), f"/api/v1/listings/{listing.pk}/messages", {"body": "请在平台下单", "buyer_id": buyer.pk}
    )
    assert reply.status_code == 201 and len(reply.json()["messages"]) == 2
    assert (
        client_for(UserFactory()).get(f"/api/v1/listings/{listing.pk}/messages?buyer_id={buyer.pk}").status_code == 404
    )


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/listings/{listing_id}/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/pay",
        "/api/v1/orders/{order_id}/ship",
        "/api/v1/orders/{order_id}/confirm-receipt",
        "/api/v1/orders/{order_id}/cancel",
        "/api/v1/orders/{order_id}/return",
        "/api/v1/orders/{order_id}/dispute",
        "/api/v1/listings/{listing_id}/offers",
        "/api/v1/offers/{offer_id}/accept",
        "/api/v1/offers/{offer_id}/counter",
        "/api/v1/offers/{offer_id}/decline",
        "/api/v1/listings/{listing_id}/messages",
    ):
        assert path in paths
