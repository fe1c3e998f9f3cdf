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
