"""Offers (accept, counter, decline, 48-hour expiry, one open offer per buyer) and
buyer–seller messages with contact details masked until there is an order."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import ListingStatus, Notification, Offer, OfferStatus, OrderStatus
from marketplace.services.messages import conversation, message_send
from marketplace.services.offers import offer_accept, offer_counter, offer_decline, offer_make, offers_expire
from marketplace.services.orders import order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


@pytest.fixture
def seller():
    return UserFactory()


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller, price=5_000)


def make(buyer, listing, amount=4_000):
    return offer_make(
        buyer=buyer, listing_id=listing.pk, amount=amount, delivery_method="pickup", payment_method="cash"
    )


# --- Offers ------------------------------------------------------------------------------


def test_an_accepted_offer_becomes_the_order_price(buyer, seller, listing):
    offer = make(buyer, listing)
    assert Notification.objects.filter(user=seller, kind="offer_received").exists()
    with pytest.raises(PermissionDenied):
        offer_accept(actor=buyer, offer_id=offer.pk)  # one does not accept one's own offer

    offer = offer_accept(actor=seller, offer_id=offer.pk)

    listing.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    assert offer.order.amount == 4_000
    assert offer.order.buyer == buyer
    assert offer.order.status == OrderStatus.AWAITING_HANDOVER
    assert offer.order.snapshot["price"] == 5_000 and offer.order.snapshot["paid_price"] == 4_000
    assert listing.status == ListingStatus.RESERVED
    assert Notification.objects.filter(user=buyer, kind="offer_accepted").exists()


def test_one_open_offer_per_buyer_and_listing(buyer, listing):
    make(buyer, listing)
    with pytest.raises(Conflict) as error:
        make(buyer, listing, 4_200)
    assert error.value.code == "offer_already_open"
    make(UserFactory(), listing, 4_100)  # another buyer may
    assert Offer.objects.filter(status=OfferStatus.OPEN).count() == 2


def test_offers_are_below_the_asking_price_and_not_on_ones_own_listing(buyer, seller, listing):
    with pytest.raises(ValidationFailed):
        make(buyer, listing, 5_000)
    with pytest.raises(ValidationFailed):
        make(buyer, listing, 0)
    with pytest.raises(PermissionDenied):
        make(seller, listing)


def test_counter_offers_go_back_and_forth_and_the_last_one_is_accepted(buyer, seller, listing):
    offer = make(buyer, listing, 3_000)
    with pytest.raises(PermissionDenied):
        offer_counter(actor=buyer, offer_id=offer.pk, amount=3_500)
    counter = offer_counter(actor=seller, offer_id=offer.pk, amount=4_500, message="最低了")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.COUNTERED
    assert (counter.proposed_by, counter.parent_id, counter.status) == ("seller", offer.pk, OfferStatus.OPEN)
    with pytest.raises(Conflict):
        offer_accept(actor=seller, offer_id=offer.pk)  # the countered offer is closed

    again = offer_counter(actor=buyer, offer_id=counter.pk, amount=4_000)
    accepted = offer_accept(actor=seller, offer_id=again.pk)
    assert accepted.order.amount == 4_000


def test_declining_and_withdrawing(buyer, seller, listing):
    offer = make(buyer, listing)
    assert offer_decline(actor=seller, offer_id=offer.pk).status == OfferStatus.DECLINED
    second = make(buyer, listing, 4_100)
    assert offer_decline(actor=buyer, offer_id=second.pk).status == OfferStatus.WITHDRAWN
    with pytest.raises(NotFound):
        offer_decline(actor=UserFactory(), offer_id=second.pk)


def test_offers_expire_after_48_hours(buyer, seller, listing):
    offer = make(buyer, listing)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=47)):
        assert offers_expire() == []
    with time_machine.travel(timezone.now() + dt.timedelta(hours=48, minutes=1)):
        with pytest.raises(Conflict):
            offer_accept(actor=seller, offer_id=offer.pk)
        make(buyer, listing, 4_100)  # the expired one no longer blocks a new offer
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED


def test_the_timer_task_expires_offers_and_tells_both_sides(buyer, seller, listing):
    offer = make(buyer, listing)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=49)):
        assert offers_expire() == [offer.pk]
    assert Notification.objects.filter(kind="offer_expired", user__in=[buyer, seller]).count() == 2


def test_an_offer_on_an_item_someone_else_bought_cannot_be_accepted(buyer, seller, listing):
    offer = make(buyer, listing)
    order_place(buyer=UserFactory(), listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    with pytest.raises(Conflict) as error:
        offer_accept(actor=seller, offer_id=offer.pk)
    assert error.value.code == "listing_reserved"


# --- Messages ----------------------------------------------------------------------------


def test_contact_details_are_masked_until_there_is_an_order(buyer, seller, listing):
    message_send(sender=buyer, listing_id=listing.pk, body="便宜点？加我微信 wxid_buyer88 或打 13812345678")
    message_send(sender=seller, listing_id=listing.pk, body="直接转我支付宝 13900001111 就行", buyer_id=buyer.pk)

    _listing, _buyer, shown = conversation(user=buyer, listing_id=listing.pk)
    assert [m.masked for m in shown] == [True, True]
    assert "wxid_buyer88" not in shown[0].text and "13812345678" not in shown[0].text
    assert "13900001111" not in shown[1].text
    assert set(shown[0].flags) == {"phone", "wechat"}
    mail_text = Notification.objects.get(user=seller, kind="message").body
    assert "13812345678" not in mail_text

    order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    _listing, _buyer, shown = conversation(user=seller, listing_id=listing.pk, buyer_id=buyer.pk)
    assert "13812345678" in shown[0].text and not shown[0].masked


def test_only_the_two_parties_read_a_conversation(buyer, seller, listing):
    message_send(sender=buyer, listing_id=listing.pk, body="还在吗？")
    stranger = UserFactory()
    _listing, who, shown = conversation(user=stranger, listing_id=listing.pk)
    assert who == stranger and shown == []  # their own (empty) conversation, not the buyer's
    with pytest.raises(NotFound):
        conversation(user=stranger, listing_id=listing.pk, buyer_id=buyer.pk)
    with pytest.raises(NotFound):
        message_send(sender=seller, listing_id=listing.pk, body="hi", buyer_id=stranger.pk)  # nobody wrote yet
