"""Taking a listing off sale because what vouched for it was revoked (an erasure
certificate, say): a published listing goes back to a preparing stage, an unshipped order
is held with its timers stopped until the buyer cancels (full refund, nobody at fault) or
a moderator decides (cancel, or resume once the listing is valid again), and a buyer who
already has the item is told. Card steps run against the session's real localstripe."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import cast

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from marketplace.credit.models import CreditEvent, CreditEventKind
from marketplace.errors import Conflict, PermissionDenied
from marketplace.models import ListingStatus, Notification, Order, OrderStatus, Payment, PaymentStatus, User
from marketplace.services.ledger import ledger_reconcile
from marketplace.services.listings import listing_publish
from marketplace.services.orders import (
    HoldDecision,
    listing_take_off_sale,
    order_cancel,
    order_hold_decide,
    order_place,
    order_return_receive,
    order_return_request,
    order_return_ship,
    order_ship,
    orders_run_timers,
)
from marketplace.services.payments import payment_authorise, payment_for_order, payments_capture_expiring
from marketplace.signals import order_cancelled
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import card_token, payment_intent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]

REASON = "The certificate was revoked on 1 May 2026 because: the erasure tool was faulty"
TITLE = "Lenovo 笔记本 T480"


def staff_user(**kwargs):
    """Staff with access to the Wagtail admin, not a superuser: what the screens allow
    follows is_staff."""
    user = cast(User, UserFactory(is_staff=True, preferred_language="en", **kwargs))
    user.user_permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    return user


@pytest.fixture
def seller():
    return UserFactory(display_name="卖家老李", preferred_language="en")


@pytest.fixture
def buyer():
    return UserFactory(display_name="买家小张", preferred_language="en")


@pytest.fixture
def moderator():
    return staff_user(with_totp=True)


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller, title=TITLE, price=12_900)


@pytest.fixture
def cancellations():
    received: list[dict] = []

    def handler(sender, **kwargs):
        kwargs.pop("signal", None)
        received.append(kwargs)

    order_cancelled.connect(handler, weak=False)
    yield received
    order_cancelled.disconnect(handler)


def card_order(buyer, listing, localstripe_url, delivery="ship"):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method=delivery, payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def card_payment(order: Order) -> Payment:
    payment = payment_for_order(order.pk)
    assert payment is not None
    return payment


def take_off_sale(listing) -> list[int]:
    return listing_take_off_sale(listing_id=listing.pk, to_status=ListingStatus.PENDING_ERASURE, reason=REASON)


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def no_cancellation_at_fault(*users) -> bool:
    return not CreditEvent.objects.filter(subject__in=users, kind=CreditEventKind.CANCELLATION_AT_FAULT).exists()


# --- Taking off sale -------------------------------------------------------------------------


def test_a_published_listing_goes_back_to_waiting_for_erasure_and_leaves_browse(listing):
    assert TITLE in text(client_for().get("/browse/"))

    assert take_off_sale(listing) == []

    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert listing.status_history.last().reason == REASON
    assert client_for().get(f"/listings/{listing.pk}/").status_code == 404
    assert TITLE not in text(client_for().get("/browse/"))


def test_a_listing_not_on_sale_is_left_as_it_is(seller):
    listing = published_listing(seller=seller)
    take_off_sale(listing)
    listing.refresh_from_db()
    changes = listing.status_history.count()

    assert take_off_sale(listing) == []

    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert listing.status_history.count() == changes


def test_a_paid_card_order_is_held_and_everyone_is_told(
    buyer, seller, moderator, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url)
    Notification.objects.all().delete()

    held = take_off_sale(listing)

    order.refresh_from_db()
    listing.refresh_from_db()
    assert held == [order.pk]
    assert order.status == OrderStatus.ON_HOLD
    assert order.status_before_hold == OrderStatus.PAID
    assert order.hold_reason == REASON and order.held_at is not None
    assert order.seller_due_at is None and order.timer_remaining > dt.timedelta(days=4, hours=23)
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert TITLE not in text(client_for().get("/browse/"))
    assert [c.to_status for c in order.status_history.all()][-1] == OrderStatus.ON_HOLD
    assert kinds(buyer) == kinds(seller) == kinds(moderator) == ["order_on_hold"]
    to_buyer = Notification.objects.get(user=buyer)
    assert REASON in to_buyer.body and "cancel the order at any time" in to_buyer.body
    assert to_buyer.link == f"/orders/{order.pk}/"
    assert "Do not ship" in Notification.objects.get(user=seller).body
    # The buyer may not put money on an order that is held.
    with pytest.raises(Conflict) as error:
        payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    assert error.value.code == "order_on_hold"


def test_timers_stand_still_while_held_but_the_card_hold_is_still_kept_from_lapsing(
    buyer, seller, listing, stripe_settings, localstripe_url, cancellations
):
    order = card_order(buyer, listing, localstripe_url)
    take_off_sale(listing)

    with time_machine.travel(timezone.now() + dt.timedelta(days=5, minutes=1)):
        report = orders_run_timers()
    assert report.late_sellers == report.expired_unpaid == report.auto_confirmed == []
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD

    with time_machine.travel(timezone.now() + dt.timedelta(days=6, minutes=1)):
        assert payments_capture_expiring() == [order.pk]
    payment = card_payment(order)
    assert payment.status == PaymentStatus.CAPTURED

    # The buyer cancels: what was taken into escrow goes back in full.
    order = order_cancel(actor=buyer, order_id=order.pk)

    payment.refresh_from_db()
    listing.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancelled_by == "buyer" and order.at_fault == ""
    assert payment.amount_refunded == 12_900
    assert payment_intent(localstripe_url, payment.intent_id)["latest_charge"]["amount_refunded"] == 12_900
    assert ledger_reconcile()[1] == []
    assert listing.status == ListingStatus.PENDING_ERASURE  # not back on sale
    assert cancellations == [{"order_id": order.pk, "at_fault_party": ""}]
    assert no_cancellation_at_fault(buyer, seller)


def test_the_buyer_cancels_a_held_card_order_and_the_authorisation_is_released(
    buyer, seller, listing, stripe_settings, localstripe_url, cancellations
):
    order = card_order(buyer, listing, localstripe_url)
    take_off_sale(listing)
    Notification.objects.all().delete()

    with pytest.raises(PermissionDenied):
        order_cancel(actor=seller, order_id=order.pk)
    order = order_cancel(actor=buyer, order_id=order.pk)

    payment = card_payment(order)
    listing.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.at_fault == ""
    assert payment.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert no_cancellation_at_fault(buyer, seller)
    assert "given back to your card in full" in Notification.objects.get(user=buyer).body
    assert "Nobody is held at fault" in Notification.objects.get(user=seller).body


def test_an_order_placed_while_the_listing_is_being_locked_is_held_too(buyer, listing, monkeypatch):
    """The open order is locked before the listing (the order every path uses); an order
    placed in between is seen under the listing's lock, and the lookup starts again."""
    from marketplace.services import holds

    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    real, calls = holds._open_order_id, []

    def not_placed_yet_on_first_look(listing_id):
        calls.append(listing_id)
        return None if len(calls) == 1 else real(listing_id)

    monkeypatch.setattr(holds, "_open_order_id", not_placed_yet_on_first_look)

    assert take_off_sale(listing) == [order.pk]
    assert len(calls) == 4  # looked twice, retried once
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD


def test_an_unpaid_card_order_is_held_and_its_payment_window_stands_still(buyer, listing, stripe_settings):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    take_off_sale(listing)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        assert orders_run_timers().expired_unpaid == []
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and order.status_before_hold == OrderStatus.PENDING_PAYMENT
    assert order.payment_due_at is None


def test_a_cash_order_is_held_through_its_hand_over_deadline_then_cancelled(buyer, seller, listing, cancellations):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")

    assert take_off_sale(listing) == [order.pk]
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        assert orders_run_timers().late_sellers == []
    order = order_cancel(actor=buyer, order_id=order.pk, reason="I bought another one")

    listing.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "I bought another one"
    assert not Payment.objects.filter(order=order).exists()
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert cancellations == [{"order_id": order.pk, "at_fault_party": ""}]
    assert "nothing to refund" in Notification.objects.get(user=buyer, kind="order_cancelled").body


def test_a_shipped_order_is_not_held_but_the_buyer_is_told_and_a_return_does_not_relist(
    buyer, seller, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    Notification.objects.all().delete()

    assert take_off_sale(listing) == []
    assert take_off_sale(listing) == []  # told once

    order.refresh_from_db()
    listing.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.confirm_due_at is not None
    assert listing.status == ListingStatus.RESERVED
    assert kinds(buyer) == ["order_vouching_revoked"] and kinds(seller) == []
    told = Notification.objects.get(user=buyer)
    assert REASON in told.body and "ask for a return or open a dispute" in told.body

    order_return_request(buyer=buyer, order_id=order.pk, reason="worried about the data")
    order_return_ship(buyer=buyer, order_id=order.pk, tracking_number="YT9")
    order_return_receive(seller=seller, order_id=order.pk)

    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE  # back to the seller, but not on sale


# --- Moderators -------------------------------------------------------------------------------


def test_a_held_order_resumes_only_once_the_listing_is_valid_again_with_its_timer_where_it_stopped(
    buyer, seller, moderator, listing, stripe_settings, localstripe_url, settings
):
    order = card_order(buyer, listing, localstripe_url)
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        take_off_sale(listing)
    order.refresh_from_db()
    left = order.timer_remaining
    assert dt.timedelta(days=2, hours=23) < left <= dt.timedelta(days=3)

    with pytest.raises(Conflict) as error:
        order_hold_decide(moderator=moderator, order_id=order.pk, decision=HoldDecision.RESUME)
    assert error.value.code == "hold_listing_not_valid"
    with pytest.raises(PermissionDenied):
        order_hold_decide(moderator=buyer, order_id=order.pk, decision=HoldDecision.RESUME)

    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later):
        settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
        assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED
        Notification.objects.all().delete()
        order = order_hold_decide(
            moderator=moderator, order_id=order.pk, decision=HoldDecision.RESUME, note="New certificate checked."
        )
        resumed_at = timezone.now()

    listing.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.held_at is None and order.timer_remaining is None
    assert listing.status == ListingStatus.RESERVED
    assert abs(order.seller_due_at - (resumed_at + left)) < dt.timedelta(minutes=1)
    assert kinds(buyer) == kinds(seller) == ["order_resumed"]
    assert "New certificate checked." in Notification.objects.get(user=buyer).body
    history = Client(HTTP_ACCEPT_LANGUAGE="en")
    history.force_login(seller)
    assert "A moderator resumed the held order" in history.get(f"/my/listings/{listing.pk}/").content.decode()
    with time_machine.travel(resumed_at + left - dt.timedelta(hours=1)):
        assert orders_run_timers().late_sellers == []
    with time_machine.travel(resumed_at + left + dt.timedelta(minutes=1)):
        assert orders_run_timers().late_sellers == [order.pk]


def test_a_moderator_cancels_a_held_order_with_a_full_refund(
    buyer, seller, moderator, listing, stripe_settings, localstripe_url, cancellations
):
    order = card_order(buyer, listing, localstripe_url)
    take_off_sale(listing)
    Notification.objects.all().delete()

    order = order_hold_decide(
        moderator=moderator, order_id=order.pk, decision=HoldDecision.CANCEL, note="No new certificate came."
    )

    payment = card_payment(order)
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_by == "moderator" and order.at_fault == ""
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
    assert kinds(buyer) == kinds(seller) == ["order_cancelled"]
    assert "No new certificate came." in Notification.objects.get(user=buyer).body
    assert cancellations == [{"order_id": order.pk, "at_fault_party": ""}]
    with pytest.raises(Conflict) as error:
        order_hold_decide(moderator=moderator, order_id=order.pk, decision=HoldDecision.RESUME)
    assert error.value.code == "order_not_on_hold"


@pytest.fixture
def held_cash_order(buyer, listing):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    take_off_sale(listing)
    order.refresh_from_db()
    return order


def test_moderators_decide_held_orders_in_the_admin(moderator, seller, listing, held_cash_order):
    admin = client_for(moderator)
    queue = text(admin.get("/cms-admin/held-orders/"))
    assert f"#{held_cash_order.pk} {TITLE}" in queue
    url = f"/cms-admin/held-orders/decide/{held_cash_order.pk}/"
    page = text(admin.get(url))
    assert REASON in page and "data-cannot-resume" in page

    refused = text(admin.post(url, {"decision": "resume", "note": ""}))
    assert "not valid again yet" in refused
    held_cash_order.refresh_from_db()
    assert held_cash_order.status == OrderStatus.ON_HOLD

    done = admin.post(url, {"decision": "cancel", "note": "Cancelled for you."})
    assert done.status_code == 302 and done["Location"] == "/cms-admin/held-orders/"
    held_cash_order.refresh_from_db()
    assert held_cash_order.status == OrderStatus.CANCELLED and held_cash_order.cancelled_by == "moderator"
    assert f"#{held_cash_order.pk} {TITLE}" not in text(admin.get("/cms-admin/held-orders/"))


def test_non_staff_and_staff_without_two_factor_cannot_reach_the_held_order_screens(buyer, seller, held_cash_order):
    url = f"/cms-admin/held-orders/decide/{held_cash_order.pk}/"
    for user in (buyer, seller, staff_user()):
        client = client_for(user)
        assert client.get("/cms-admin/held-orders/").status_code in (302, 403)
        assert client.get(url).status_code in (302, 403)
        assert client.post(url, {"decision": "cancel"}).status_code in (302, 403)
    held_cash_order.refresh_from_db()
    assert held_cash_order.status == OrderStatus.ON_HOLD


# --- API and pages ----------------------------------------------------------------------------


def test_the_api_shows_the_hold_and_lets_only_the_buyer_cancel(buyer, seller, held_cash_order):
    url = f"/api/v1/orders/{held_cash_order.pk}"
    as_buyer = client_for(buyer).get(url).json()
    assert as_buyer["status"] == "on_hold" and as_buyer["status_label"] == "On hold"
    assert as_buyer["hold"]["reason"] == REASON and as_buyer["hold"]["status_before"] == "awaiting_handover"
    assert as_buyer["actions"] == ["cancel"]
    assert client_for(seller).get(url).json()["actions"] == []

    def cancel(user):
        return client_for(user).post(f"{url}/cancel", data=json.dumps({}), content_type="application/json")

    refused = cancel(seller)
    assert refused.status_code == 403 and set(refused.json()) == {"code", "message", "details"}
    done = cancel(buyer)
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled" and done.json()["hold"] is None


def test_the_order_page_explains_the_hold_and_the_buyer_cancels_from_it(buyer, seller, held_cash_order):
    url = f"/orders/{held_cash_order.pk}/"
    for_buyer = text(client_for(buyer).get(url))
    assert "This order is on hold" in for_buyer and REASON in for_buyer
    assert "data-hold-cancel" in for_buyer and "Your hand-over code" not in for_buyer
    for_seller = text(client_for(seller).get(url))
    assert "This order is on hold" in for_seller and "Do not ship or hand over the item" in for_seller
    assert "data-hold-cancel" not in for_seller and "Cancel the order" not in for_seller

    response = client_for(buyer).post(f"/orders/{held_cash_order.pk}/cancel/")

    assert response.status_code == 302
    held_cash_order.refresh_from_db()
    assert held_cash_order.status == OrderStatus.CANCELLED and held_cash_order.at_fault == ""
    assert "This order is on hold" not in text(client_for(buyer).get(url))
