"""Orders: placing (reservation, snapshots, idempotency), cancelling, cash hand-over with a
code, shipping, timers with a frozen clock, returns and disputes, signals and
notifications. Card steps run against the session's real localstripe."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from PIL import Image

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Dispute,
    DisputeStatus,
    ListingStatus,
    Notification,
    Order,
    OrderStatus,
    PaymentStatus,
)
from marketplace.services.ledger import ledger_reconcile, order_balances
from marketplace.services.orders import (
    DisputeOutcome,
    dispute_open,
    dispute_resolve,
    order_cancel,
    order_confirm_receipt,
    order_get_for_party,
    order_handover_confirm,
    order_place,
    order_return_receive,
    order_return_request,
    order_return_ship,
    order_ship,
    orders_run_timers,
)
from marketplace.services.payments import payment_authorise, payment_for_order
from marketplace.signals import dispute_resolved, order_cancelled, order_completed, shipment_late
from tests.factories import MembershipFactory, UserFactory
from tests.orders import published_listing
from tests.support.localstripe import card_token, payment_intent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


@pytest.fixture
def seller():
    return UserFactory(display_name="卖家老李")


@pytest.fixture
def buyer():
    return UserFactory(display_name="买家小张")


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller)


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def signals():
    """Every order signal sent, as (name, kwargs without sender/signal)."""
    received: list[tuple[str, dict]] = []
    pairs = {
        "order_completed": order_completed,
        "order_cancelled": order_cancelled,
        "shipment_late": shipment_late,
        "dispute_resolved": dispute_resolved,
    }
    handlers = {}
    for name, signal in pairs.items():

        def handler(sender, name=name, **kwargs):
            kwargs.pop("signal", None)
            received.append((name, kwargs))

        handlers[name] = handler
        signal.connect(handler, weak=False)
    yield received
    for name, signal in pairs.items():
        signal.disconnect(handlers[name])


def card_order(buyer, listing, localstripe_url, delivery="ship"):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method=delivery, payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    return order


def reconciles() -> bool:
    _checked, problems = ledger_reconcile()
    assert problems == []
    return True


# --- Placing --------------------------------------------------------------------------------


def test_buying_reserves_the_listing_and_records_what_was_bought(buyer, seller, listing):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")

    listing.refresh_from_db()
    assert listing.status == ListingStatus.RESERVED
    assert listing.status_history.last().reason == "order placed"
    assert order.status == OrderStatus.AWAITING_HANDOVER
    assert order.amount == 4500
    assert order.seller_user == seller
    assert order.snapshot["price"] == 4500
    assert order.snapshot["title"] == listing.title
    assert len(order.handshake_code) == 6 and order.handshake_code.isdigit()
    assert order.seller_due_at is not None
    assert [change.to_status for change in order.status_history.all()] == [OrderStatus.AWAITING_HANDOVER]


def test_the_snapshot_keeps_price_grade_and_certificate_even_when_the_listing_changes(buyer, seller, listing, settings):
    settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS = ["tests.support.snapshots.fake_grade_and_certificate"]
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    listing.price = 9900
    listing.save()

    order.refresh_from_db()
    assert order.amount == 4500
    assert order.snapshot["grade"] == {"grade": "very_good", "label": "Very Good"}
    assert order.snapshot["certificate"] == {"id": "cert-1", "status": "valid"}


def test_the_real_snapshot_providers_record_the_current_grade(buyer, seller, settings):
    from grading.services import self_assessment_submit
    from marketplace.services.listings import listing_create, listing_publish
    from tests.conftest import CORE_GATES
    from tests.listings import ATTRIBUTES, COMMON, add_photos
    from tests.unit.test_grading_rules import BOOK

    listing = listing_create(
        actor=seller,
        category="books",
        data={**COMMON, "title": "红楼梦", "price": 4500},
        attributes=ATTRIBUTES["books"],
    )
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]
    listing_publish(actor=seller, listing_id=listing.pk)

    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")

    assert order.snapshot["grade"]["kind"] == "self"
    assert order.snapshot["grade"]["grade"] == "fine"
    assert order.snapshot["grade"]["rule_set_key"] == "books"
    assert order.snapshot["certificate"] is None


def test_a_second_buyer_gets_a_clean_already_reserved_error(buyer, listing):
    order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    with pytest.raises(Conflict) as error:
        order_place(buyer=UserFactory(), listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    assert error.value.code == "listing_reserved"
    assert Order.objects.count() == 1


def test_the_same_idempotency_key_returns_the_first_order(buyer, seller, listing):
    first = order_place(
        buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash", idempotency_key="k-1"
    )
    again = order_place(
        buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash", idempotency_key="k-1"
    )
    assert again.pk == first.pk
    other = published_listing(seller=seller, title="三国演义")
    with pytest.raises(Conflict) as error:
        order_place(
            buyer=buyer, listing_id=other.pk, delivery_method="pickup", payment_method="cash", idempotency_key="k-1"
        )
    assert error.value.code == "idempotency_key_reused"


def test_nobody_buys_their_own_listing_or_a_shop_they_staff(seller, listing):
    with pytest.raises(PermissionDenied):
        order_place(buyer=seller, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    staff_member = MembershipFactory().user
    shop_listing = published_listing(seller=UserFactory())
    assert not Order.objects.exists()
    with pytest.raises(NotFound):
        order_place(buyer=staff_member, listing_id=999_999, delivery_method="pickup", payment_method="cash")
    assert shop_listing.status == ListingStatus.PUBLISHED


def test_cash_only_in_person_and_card_only_when_stripe_is_configured(buyer, listing, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(ValidationFailed) as error:
        order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="cash")
    assert "payment_method" in error.value.details["fields"]
    with pytest.raises(ValidationFailed) as error:
        order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    assert "Card payment is not available" in error.value.details["fields"]["payment_method"][0]
    # Cash at a pickup still works without Stripe.
    assert order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash").pk


def test_a_delivery_the_seller_does_not_offer_is_refused(buyer, seller):
    listing = published_listing(seller=seller, ship=False, pickup=True)
    with pytest.raises(ValidationFailed) as error:
        order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    assert "delivery_method" in error.value.details["fields"]


def test_only_the_parties_and_moderators_see_an_order(buyer, seller, listing, staff):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    assert order_get_for_party(user=buyer, order_id=order.pk) == order
    assert order_get_for_party(user=seller, order_id=order.pk) == order
    assert order_get_for_party(user=staff, order_id=order.pk) == order
    with pytest.raises(NotFound):
        order_get_for_party(user=UserFactory(), order_id=order.pk)


# --- Cancelling -------------------------------------------------------------------------------


def test_cancelling_releases_the_listing_and_tells_both_parties(buyer, seller, listing, signals):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    mail.outbox.clear()
    with pytest.raises(NotFound):
        order_cancel(actor=UserFactory(), order_id=order.pk)

    order = order_cancel(actor=seller, order_id=order.pk, reason="sold it at the market")

    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert [h.to_status for h in listing.status_history.all()][-2:] == [ListingStatus.RESERVED, ListingStatus.PUBLISHED]
    assert order.status == OrderStatus.CANCELLED
    assert order.at_fault == "seller"
    assert ("order_cancelled", {"order_id": order.pk, "at_fault_party": "seller"}) in signals
    assert {m.to[0] for m in mail.outbox} == {buyer.email, seller.email}
    assert Notification.objects.filter(user=buyer, kind="order_cancelled").exists()
    # Another buyer can now buy it.
    assert order_place(buyer=UserFactory(), listing_id=listing.pk, delivery_method="pickup", payment_method="cash")


def test_a_shipped_order_cannot_be_cancelled(buyer, seller, listing, stripe_settings, localstripe_url):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="顺丰", tracking_number="SF100")
    with pytest.raises(Conflict) as error:
        order_cancel(actor=buyer, order_id=order.pk)
    assert error.value.code == "order_not_cancellable"


def test_cancelling_a_paid_card_order_releases_the_hold_at_stripe(
    buyer, seller, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url)
    payment = payment_for_order(order.pk)
    assert payment.status == PaymentStatus.AUTHORISED

    order_cancel(actor=buyer, order_id=order.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
    assert reconciles()


# --- Cash hand-over ---------------------------------------------------------------------------


def test_cash_hand_over_completes_with_the_buyers_code(buyer, seller, listing, signals):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    with pytest.raises(PermissionDenied):
        order_handover_confirm(seller=buyer, order_id=order.pk, code=order.handshake_code)
    with pytest.raises(ValidationFailed) as error:
        order_handover_confirm(
            seller=seller, order_id=order.pk, code="000000" if order.handshake_code != "000000" else "1"
        )
    assert "4 tries left" in error.value.message

    order = order_handover_confirm(seller=seller, order_id=order.pk, code=f" {order.handshake_code} ")

    listing.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert listing.status == ListingStatus.SOLD
    assert ("order_completed", {"order_id": order.pk}) in signals
    # The seller holds the cash: nothing is owed to anybody, nothing held.
    assert order_balances(order.pk) == {"offline_cash": 0, "buyer_funds_held": 0, "seller_payable": 0}
    assert reconciles()


def test_completion_notices_are_written_wholly_in_each_readers_language(listing, seller):
    reader = UserFactory(preferred_language="zh-hans")
    order = order_place(buyer=reader, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)

    notice = Notification.objects.get(user=reader, kind="order_completed")
    assert "已在交接时现金支付" in notice.body
    assert "hand-over" not in notice.body
    assert order.status_history.last().reason == "paid in cash at hand-over"


def test_too_many_wrong_codes_lock_the_hand_over(buyer, seller, listing):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    wrong = "1" if order.handshake_code != "1" else "2"
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            order_handover_confirm(seller=seller, order_id=order.pk, code=wrong)
    with pytest.raises(Conflict) as error:
        order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    assert error.value.code == "handshake_locked"


def test_a_consignment_sale_in_cash_leaves_the_consignors_share_owed(buyer, settings):
    from marketplace.services.listings import listing_create, listing_publish
    from tests.conftest import CORE_GATES
    from tests.consignment import accepted_agreement
    from tests.listings import ATTRIBUTES, COMMON, add_photos

    owner = MembershipFactory(organisation__verified_at=timezone.now())
    consignor = UserFactory()
    accepted_agreement(shop=owner.organisation, staff=owner.user, consignor=consignor)
    listing = listing_create(
        actor=owner.user,
        category="books",
        data={**COMMON, "title": "寄卖 红楼梦", "price": 10_000},
        attributes=dict(ATTRIBUTES["books"]),
        seller_organisation=owner.organisation,
        consignor=consignor,
    )
    add_photos(listing)
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES
    listing_publish(actor=owner.user, listing_id=listing.pk)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=owner.user, order_id=order.pk, code=order.handshake_code)

    balances = order_balances(order.pk)
    assert balances["consignor_payable"] == -6000  # 60 % of ¥100, owed to the consignor
    assert balances["offline_cash"] == 6000  # held by the shop for the consignor
    assert reconciles()


# --- Card: ship, confirm, timers --------------------------------------------------------------


def test_ship_confirm_captures_and_completes(buyer, seller, listing, stripe_settings, localstripe_url, signals):
    order = card_order(buyer, listing, localstripe_url)
    assert order.status == OrderStatus.PAID
    assert order.seller_due_at is not None
    with pytest.raises(PermissionDenied):
        order_ship(seller=buyer, order_id=order.pk, carrier="SF", tracking_number="1")
    with pytest.raises(ValidationFailed):
        order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="")

    order = order_ship(seller=seller, order_id=order.pk, carrier="顺丰", tracking_number="SF1234567890")
    assert order.status == OrderStatus.SHIPPED
    assert order.confirm_due_at - order.shipped_at == dt.timedelta(days=7)
    with pytest.raises(PermissionDenied):
        order_confirm_receipt(buyer=seller, order_id=order.pk)

    order = order_confirm_receipt(buyer=buyer, order_id=order.pk)

    payment = payment_for_order(order.pk)
    listing.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert listing.status == ListingStatus.SOLD
    assert payment.status == PaymentStatus.CAPTURED and payment.amount_captured == 4500
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "succeeded"
    assert order_balances(order.pk) == {
        "psp_clearing": 4500,
        "buyer_funds_held": 0,
        "platform_fees": -225,
        "seller_payable": -4275,
    }
    assert ("order_completed", {"order_id": order.pk}) in signals
    kinds = set(Notification.objects.filter(user=seller).values_list("kind", flat=True))
    assert {"order_placed", "order_paid", "order_shipped", "order_completed"} <= kinds
    assert reconciles()


def test_an_unshipped_order_is_cancelled_after_five_days_and_the_seller_is_late(
    buyer, seller, listing, stripe_settings, localstripe_url, signals
):
    order = card_order(buyer, listing, localstripe_url)
    with time_machine.travel(timezone.now() + dt.timedelta(days=4, hours=23)):
        assert orders_run_timers().late_sellers == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=5, minutes=1)):
        report = orders_run_timers()

    order.refresh_from_db()
    listing.refresh_from_db()
    payment = payment_for_order(order.pk)
    assert report.late_sellers == [order.pk]
    assert order.status == OrderStatus.CANCELLED and order.at_fault == "seller"
    assert listing.status == ListingStatus.PUBLISHED
    assert payment.status == PaymentStatus.CANCELLED
    assert ("shipment_late", {"order_id": order.pk}) in signals
    assert ("order_cancelled", {"order_id": order.pk, "at_fault_party": "seller"}) in signals


def test_an_unpaid_card_order_is_cancelled_after_the_payment_window(buyer, listing, stripe_settings):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        report = orders_run_timers()
    order.refresh_from_db()
    listing.refresh_from_db()
    assert report.expired_unpaid == [order.pk]
    assert order.status == OrderStatus.CANCELLED
    assert listing.status == ListingStatus.PUBLISHED


def test_a_shipped_order_confirms_itself_after_seven_days(buyer, seller, listing, stripe_settings, localstripe_url):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23)):
        assert orders_run_timers().auto_confirmed == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        assert orders_run_timers().auto_confirmed == [order.pk]
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert payment_for_order(order.pk).status == PaymentStatus.CAPTURED
    assert reconciles()


def test_a_card_pickup_confirms_itself_72_hours_after_the_hand_over(
    buyer, seller, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url, delivery="pickup")
    order = order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    assert order.status == OrderStatus.HANDED_OVER
    with time_machine.travel(timezone.now() + dt.timedelta(hours=71)):
        assert orders_run_timers().auto_confirmed == []
    with time_machine.travel(timezone.now() + dt.timedelta(hours=72, minutes=1)):
        assert orders_run_timers().auto_confirmed == [order.pk]


# --- Returns ----------------------------------------------------------------------------------


def test_a_no_reason_return_refunds_the_buyer_and_puts_the_item_back_on_sale(
    buyer, seller, listing, stripe_settings, localstripe_url, staff
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    order = order_return_request(buyer=buyer, order_id=order.pk, reason="changed my mind")
    assert order.status == OrderStatus.RETURN_REQUESTED
    assert order.confirm_due_at is None  # the timer stops
    with pytest.raises(Conflict):
        order_return_receive(seller=seller, order_id=order.pk)  # nothing sent back yet
    order_return_ship(buyer=buyer, order_id=order.pk, tracking_number="YT9")

    order = order_return_receive(seller=seller, order_id=order.pk)

    payment = payment_for_order(order.pk)
    listing.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == PaymentStatus.CANCELLED  # still only authorised: the hold is released
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
    assert listing.status == ListingStatus.PUBLISHED
    assert not Notification.objects.filter(kind="payment_attention").exists()  # our own release is no alarm
    assert reconciles()


def test_a_return_after_completion_is_refunded_through_stripe(buyer, seller, listing, stripe_settings, localstripe_url):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    order_confirm_receipt(buyer=buyer, order_id=order.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=6)):
        order_return_request(buyer=buyer, order_id=order.pk)
        order_return_ship(buyer=buyer, order_id=order.pk, tracking_number="YT9")
        order = order_return_receive(seller=seller, order_id=order.pk)

    payment = payment_for_order(order.pk)
    assert order.status == OrderStatus.REFUNDED
    assert payment.amount_refunded == 4500
    assert payment_intent(localstripe_url, payment.intent_id)["latest_charge"]["amount_refunded"] == 4500
    # The released shares were taken back.
    assert order_balances(order.pk) == {
        "psp_clearing": 0,
        "buyer_funds_held": 0,
        "platform_fees": 0,
        "seller_payable": 0,
    }
    assert reconciles()


def test_returns_close_after_seven_days_and_never_apply_to_vehicles(buyer, seller, stripe_settings, localstripe_url):
    book = published_listing(seller=seller)
    order = card_order(buyer, book, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    order_confirm_receipt(buyer=buyer, order_id=order.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, hours=1)), pytest.raises(Conflict) as error:
        order_return_request(buyer=buyer, order_id=order.pk)
    assert error.value.code == "return_not_allowed"

    car = published_listing(seller=seller, category="vehicles", title="朗逸 2019", price=6_800_000)
    order = card_order(buyer, car, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="物流", tracking_number="CAR1")
    with pytest.raises(Conflict) as error:
        order_return_request(buyer=buyer, order_id=order.pk)
    assert error.value.code == "return_not_allowed"


def test_a_return_the_seller_never_confirms_is_refunded_automatically(
    buyer, seller, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    order_return_request(buyer=buyer, order_id=order.pk)
    order = order_return_ship(buyer=buyer, order_id=order.pk, tracking_number="YT9")
    assert order.seller_due_at is not None

    with time_machine.travel(timezone.now() + dt.timedelta(days=9)):
        assert orders_run_timers().returns_refunded == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=10, minutes=1)):
        report = orders_run_timers()

    order.refresh_from_db()
    listing.refresh_from_db()
    payment = payment_for_order(order.pk)
    assert report.returns_refunded == [order.pk]
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == PaymentStatus.CANCELLED
    assert payment_intent(localstripe_url, payment.intent_id)["status"] == "canceled"
    # Nobody saw the item come back: the seller republishes it once they have it.
    assert listing.status == ListingStatus.WITHDRAWN
    assert Notification.objects.filter(user=seller, kind="order_refunded").exists()
    assert Notification.objects.filter(user=buyer, kind="order_refunded").exists()
    assert reconciles()


def test_a_return_never_sent_lapses_and_the_confirmation_timer_resumes(
    buyer, seller, listing, stripe_settings, localstripe_url
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        order_return_request(buyer=buyer, order_id=order.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=9, minutes=1)):
        report = orders_run_timers()
        order.refresh_from_db()
        assert report.returns_lapsed == [order.pk]
        assert order.status == OrderStatus.SHIPPED
        # Five of the seven days were left when the buyer asked for the return.
        remaining = order.confirm_due_at - timezone.now()
        assert dt.timedelta(days=4, hours=23) < remaining <= dt.timedelta(days=5)
    assert Notification.objects.filter(user=buyer, kind="order_return_lapsed").exists()
    assert Notification.objects.filter(user=seller, kind="order_return_lapsed").exists()


# --- Disputes ---------------------------------------------------------------------------------


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "tomato")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (31.0, 12.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_dispute_pauses_the_timer_and_strips_photo_metadata(
    buyer, seller, listing, stripe_settings, localstripe_url, staff
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif()
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        dispute = dispute_open(
            buyer=buyer,
            order_id=order.pk,
            kind="not_as_described",
            description="The cover is torn and pages are missing.",
            files=[(io.BytesIO(data), len(data), "torn.jpg")],
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED
    assert order.confirm_due_at is None
    assert dt.timedelta(days=4, hours=23) < order.timer_remaining <= dt.timedelta(days=5)
    evidence = dispute.evidence.get()
    with evidence.image.open("rb") as stored:
        assert not Image.open(stored).getexif()
    # Long after the original deadline nothing confirms itself.
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        assert orders_run_timers().auto_confirmed == []
    assert Notification.objects.filter(user=staff, kind="dispute_opened").exists()


def test_a_rejected_dispute_resumes_the_timer_where_it_stopped(
    buyer, seller, listing, stripe_settings, localstripe_url, staff, signals
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(days=5)):
        dispute = dispute_open(buyer=buyer, order_id=order.pk, kind="not_as_graded", description="Grade was wrong.")
    with time_machine.travel(start + dt.timedelta(days=20)):
        with pytest.raises(PermissionDenied):
            dispute_resolve(moderator=seller, dispute_id=dispute.pk, outcome="reject")
        dispute_resolve(moderator=staff, dispute_id=dispute.pk, outcome="reject", note="Photos match the grade.")
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED
        assert order.confirm_due_at - timezone.now() == pytest.approx(dt.timedelta(days=2), abs=dt.timedelta(minutes=1))
    assert ("dispute_resolved", {"order_id": order.pk, "upheld": False, "against": "buyer"}) in signals
    with time_machine.travel(start + dt.timedelta(days=22, minutes=5)):
        assert orders_run_timers().auto_confirmed == [order.pk]


def test_a_full_refund_refunds_the_card_and_takes_the_listing_down(
    buyer, seller, listing, stripe_settings, localstripe_url, staff, signals
):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    dispute = dispute_open(buyer=buyer, order_id=order.pk, kind="not_as_described", description="Wrong edition sent.")

    dispute_resolve(moderator=staff, dispute_id=dispute.pk, outcome=DisputeOutcome.REFUND_FULL, note="Upheld.")

    order.refresh_from_db()
    listing.refresh_from_db()
    dispute.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert dispute.status == DisputeStatus.REFUNDED_FULL
    assert listing.status == ListingStatus.REJECTED
    assert payment_for_order(order.pk).status == PaymentStatus.CANCELLED
    assert ("dispute_resolved", {"order_id": order.pk, "upheld": True, "against": "seller"}) in signals
    assert reconciles()


def test_a_partial_refund_pays_the_rest_to_the_seller(buyer, seller, listing, stripe_settings, localstripe_url, staff):
    order = card_order(buyer, listing, localstripe_url)
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    dispute = dispute_open(buyer=buyer, order_id=order.pk, kind="not_as_graded", description="Worse than graded.")
    with pytest.raises(ValidationFailed):
        dispute_resolve(moderator=staff, dispute_id=dispute.pk, outcome="refund_partial", refund_amount=4500)

    dispute_resolve(moderator=staff, dispute_id=dispute.pk, outcome="refund_partial", refund_amount=1500)
    with pytest.raises(Conflict):
        dispute_resolve(moderator=staff, dispute_id=dispute.pk, outcome="refund_partial", refund_amount=1500)

    order.refresh_from_db()
    payment = payment_for_order(order.pk)
    assert order.status == OrderStatus.COMPLETED
    assert payment.amount_captured == 4500 and payment.amount_refunded == 1500
    assert payment_intent(localstripe_url, payment.intent_id)["latest_charge"]["amount_refunded"] == 1500
    balances = order_balances(order.pk)
    assert balances["platform_fees"] == -150  # 5 % of the ¥30.00 the seller kept
    assert balances["seller_payable"] == -2850
    assert Dispute.objects.get().refund_amount == 1500
    assert reconciles()


def test_cash_orders_cannot_be_disputed(buyer, seller, listing):
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    with pytest.raises(Conflict) as error:
        dispute_open(buyer=buyer, order_id=order.pk, kind="not_as_described", description="It is broken inside.")
    assert error.value.code == "dispute_not_allowed"


def test_the_timers_run_from_celery_beat(buyer, listing, settings, stripe_settings):
    from config.celery import app
    from marketplace.tasks import offers_expire_task, orders_timers_task

    schedule = settings.CELERY_BEAT_SCHEDULE
    for entry in ("order-timers", "offer-expiry", "card-holds-escrow", "payments-reconcile"):
        assert schedule[entry]["task"] in app.tasks
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert orders_timers_task.delay().get()["expired_unpaid"] == [order.pk]
        assert offers_expire_task.delay().get() == []
