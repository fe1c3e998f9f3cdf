"""The buy form cannot start wrong: for every delivery/payment combination a listing can
offer, it offers only valid pairs, preselects one, and submitting the defaults places the
order. The order page says what happens to the money, for cash and card alike."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.models import Notification, Order, OrderStatus
from marketplace.services.orders import check_delivery_and_payment, order_arrangements
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]

DELIVERY_SETS = [
    dict(zip(("ship", "pickup", "event"), flags, strict=True))
    for flags in itertools.product((True, False), repeat=3)
    if any(flags)
]


class BuyFormParser(HTMLParser):
    """The radio choices of the buy form and the hidden fields it submits."""

    def __init__(self) -> None:
        super().__init__()
        self.in_form = False
        self.choices: list[tuple[str, bool]] = []
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and "buy-form" in (attributes.get("class") or ""):
            self.in_form = True
        elif tag == "input" and self.in_form:
            if attributes.get("type") == "radio":
                self.choices.append((attributes.get("value") or "", "checked" in attributes))
            elif attributes.get("type") == "hidden":
                self.hidden[attributes.get("name") or ""] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize("card", [True, False], ids=["card-on", "card-off"])
@pytest.mark.parametrize("deliveries", DELIVERY_SETS, ids=lambda d: "+".join(k for k, v in d.items() if v))
def test_the_buy_form_default_is_always_valid_and_places_the_order(settings, deliveries, card):
    settings.STRIPE_SECRET_KEY = "sk_test_buy_form" if card else ""
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, **deliveries)
    client = client_for(buyer)
    page = client.get(f"/listings/{listing.pk}/")
    form = BuyFormParser()
    form.feed(page.content.decode())
    valid = {f"{d}:{p}" for d, p in order_arrangements(listing)}

    if not valid:  # shipping only and no card payment on this site: nothing can be bought
        assert form.choices == []
        assert "card payment is not available on this site" in text(page)
        return

    offered = [value for value, _checked in form.choices]
    assert offered and set(offered) == valid, "the form offers exactly the valid pairs"
    for value in offered:
        delivery, payment = value.split(":")
        check_delivery_and_payment(listing, delivery, payment)  # raises on an invalid pair
    defaults = [value for value, checked in form.choices if checked]
    assert len(defaults) == 1 and defaults[0] in valid

    response = client.post(f"/listings/{listing.pk}/buy/", {**form.hidden, "arrangement": defaults[0]})
    order = Order.objects.get(listing=listing)
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert f"{order.delivery_method}:{order.payment_method}" == defaults[0]


def test_each_choice_says_in_one_line_what_happens_to_the_money(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_buy_form"
    listing = published_listing(seller=UserFactory(), ship=True, pickup=True)
    page = text(client_for(UserFactory()).get(f"/listings/{listing.pk}/"))
    assert "Shipping · Card (held until you confirm receipt)" in page
    assert "Local pickup · Cash at hand-over" in page
    assert "The platform holds your card payment and pays the seller only after you confirm receipt." in page
    assert "pay them in cash there; the platform never holds this money." in page


def test_without_card_payment_the_form_does_not_promise_a_card_hold(settings):
    settings.STRIPE_SECRET_KEY = ""
    listing = published_listing(seller=UserFactory(), ship=True, pickup=True)
    page = text(client_for(UserFactory()).get(f"/listings/{listing.pk}/"))
    assert "Local pickup · Cash at hand-over" in page
    assert "Shipping ·" not in page
    assert "posting needs card payment" in page
    assert "card payment is only held" not in page.lower()


def test_a_completed_cash_order_says_cash_and_never_held(settings):
    settings.STRIPE_SECRET_KEY = ""
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, ship=False, pickup=True)
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"arrangement": "pickup:cash"})
    order = Order.objects.get()
    client_for(seller).post(f"/orders/{order.pk}/handover/", {"handover-code": order.handshake_code})
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    seller_page = text(client_for(seller).get(f"/orders/{order.pk}/"))
    buyer_page = text(client_for(buyer).get(f"/orders/{order.pk}/"))
    for page in (seller_page, buyer_page):
        assert "Card payment" not in page
        assert "Cash payment" in page and "Paid to the seller at hand-over" in page
    assert "The buyer pays you in cash at hand-over; the platform never holds this money." in seller_page
    assert "You pay the seller in cash at hand-over; the platform never holds this money." in buyer_page

    completed = Notification.objects.get(user=seller, kind="order_completed")  # in the seller's language
    assert "放款" not in completed.body
    assert "买家已在交接时向您支付现金；这笔钱未经过平台。" in completed.body


def test_a_card_order_says_the_money_is_held_and_asks_before_claiming_an_authorisation(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_buy_form"
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, ship=True, pickup=False)
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"arrangement": "ship:card"})
    order = Order.objects.get()
    buyer_page = text(client_for(buyer).get(f"/orders/{order.pk}/"))
    assert "The platform holds your card payment and pays the seller only after you confirm receipt" in buyer_page
    assert "Your card is authorised now" not in buyer_page
    assert "Enter your card to authorise the payment." in buyer_page
    seller_page = text(client_for(seller).get(f"/orders/{order.pk}/"))
    assert "pays it to you after the buyer confirms receipt" in seller_page


def test_a_seller_awaiting_a_return_sees_the_return_deadline_not_ships_by(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_buy_form"
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, ship=True, pickup=False)
    client_for(buyer).post(f"/listings/{listing.pk}/buy/", {"arrangement": "ship:card"})
    order = Order.objects.get()
    # Only how the page reads is under test here; the return flow has its own tests.
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.RETURN_REQUESTED,
        return_tracking="SF1234567890",
        seller_due_at=timezone.now() + dt.timedelta(days=10),
    )
    seller_page = text(client_for(seller).get(f"/orders/{order.pk}/"))
    assert "Ships by" not in seller_page
    assert "Return to be received by" in seller_page
