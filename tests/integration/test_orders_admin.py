"""Moderators resolve disputes in the Wagtail admin: full refund, partial refund, reject."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from marketplace.models import DisputeStatus, OrderStatus
from marketplace.services.orders import dispute_open, order_place, order_ship
from marketplace.services.payments import payment_authorise, payment_for_order
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import card_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit", "stripe_settings")]


@pytest.fixture
def admin():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    return client


@pytest.fixture
def dispute(localstripe_url):
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, price=20_000)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    out = io.BytesIO()
    Image.new("RGB", (50, 40), "gray").save(out, format="JPEG")
    return dispute_open(
        buyer=buyer,
        order_id=order.pk,
        kind="not_as_described",
        description="The spine is broken.",
        files=[(io.BytesIO(out.getvalue()), len(out.getvalue()), "spine.jpg")],
    )


def test_the_dispute_queue_and_the_resolve_page_show_the_evidence(admin, dispute):
    index = admin.get("/cms-admin/disputes/")
    assert index.status_code == 200
    assert f"#{dispute.order_id}" in index.content.decode()
    assert dispute.order.title in admin.get("/cms-admin/orders/").content.decode()
    page = admin.get(f"/cms-admin/disputes/resolve/{dispute.pk}/")
    assert "The spine is broken." in page.content.decode()
    evidence = dispute.evidence.get()
    photo = admin.get(f"/cms-admin/disputes/evidence/{evidence.pk}/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"


def test_non_staff_cannot_reach_the_dispute_screens(dispute):
    client = Client()
    client.force_login(dispute.order.buyer)
    assert client.get("/cms-admin/disputes/").status_code in (302, 403)
    assert client.post(
        f"/cms-admin/disputes/resolve/{dispute.pk}/", {"outcome": "reject", "note": "x"}
    ).status_code in (
        302,
        403,
    )
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN


def test_a_partial_refund_from_the_admin(admin, dispute):
    missing = admin.post(f"/cms-admin/disputes/resolve/{dispute.pk}/", {"outcome": "refund_partial", "note": "Part."})
    assert missing.status_code == 200 and "Enter the amount to refund." in missing.content.decode()

    done = admin.post(
        f"/cms-admin/disputes/resolve/{dispute.pk}/",
        {"outcome": "refund_partial", "refund_yuan": "50.00", "note": "Worn more than described."},
    )

    assert done.status_code == 302
    dispute.refresh_from_db()
    payment = payment_for_order(dispute.order_id)
    assert dispute.status == DisputeStatus.REFUNDED_PARTIAL and dispute.refund_amount == 5_000
    assert dispute.order.status == OrderStatus.COMPLETED
    assert payment.amount_refunded == 5_000


def test_a_full_refund_and_a_rejection_from_the_admin(admin, dispute):
    admin.post(f"/cms-admin/disputes/resolve/{dispute.pk}/", {"outcome": "refund_full", "note": "Upheld."})
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.REFUNDED_FULL
    assert dispute.order.status == OrderStatus.REFUNDED
    again = admin.post(f"/cms-admin/disputes/resolve/{dispute.pk}/", {"outcome": "reject", "note": "Too late."})
    assert "already resolved" in again.content.decode()


# --- Payouts ------------------------------------------------------------------------------------


@pytest.fixture
def completed(localstripe_url):
    from marketplace.services.orders import order_confirm_receipt

    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, price=20_000)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    return order_confirm_receipt(buyer=buyer, order_id=order.pk)


def test_staff_record_a_payout_and_the_ledger_shows_what_is_still_owed(admin, completed):
    from marketplace.models import Notification
    from marketplace.services.ledger import ledger_reconcile
    from marketplace.services.payouts import seller_owed

    owed = seller_owed(completed.pk)
    assert owed == 19_000  # 5 % platform fee
    url = f"/cms-admin/orders/payout/{completed.pk}/"
    assert url in admin.get("/cms-admin/orders/").content.decode()
    page = admin.get(url)
    assert "¥190.00" in page.content.decode()

    too_much = admin.post(url, {"amount": "190.01", "reference": "BANK-1"})
    assert too_much.status_code == 200 and "At most ¥190.00." in too_much.content.decode()
    no_reference = admin.post(url, {"amount": "100.00", "reference": "  "})
    assert no_reference.status_code == 200
    assert seller_owed(completed.pk) == owed  # nothing recorded

    assert admin.post(url, {"amount": "100.00", "reference": "BANK-1"}).status_code == 302
    assert seller_owed(completed.pk) == 9_000
    again = admin.post(url, {"amount": "90.00", "reference": "BANK-1"})
    assert "already recorded" in again.content.decode()
    assert admin.post(url, {"amount": "90.00", "reference": "BANK-2"}).status_code == 302
    assert seller_owed(completed.pk) == 0
    assert "Nothing is owed to the seller" in admin.get(url).content.decode()
    assert Notification.objects.filter(user=completed.seller_user, kind="order_payout").count() == 2
    _checked, problems = ledger_reconcile([completed.pk])
    assert problems == []


def test_payouts_are_staff_only_and_only_for_completed_orders(admin, completed, dispute):
    from marketplace.errors import Conflict, PermissionDenied
    from marketplace.services.payouts import seller_owed, seller_payout_record

    seller = Client()
    seller.force_login(completed.seller_user)
    assert seller.post(
        f"/cms-admin/orders/payout/{completed.pk}/", {"amount": "1.00", "reference": "X"}
    ).status_code in (302, 403)
    with pytest.raises(PermissionDenied):
        seller_payout_record(staff=completed.seller_user, order_id=completed.pk, amount=100, reference="X")
    assert seller_owed(completed.pk) == 19_000
    staff = UserFactory(is_staff=True)
    with pytest.raises(Conflict):
        seller_payout_record(staff=staff, order_id=dispute.order_id, amount=100, reference="X")
