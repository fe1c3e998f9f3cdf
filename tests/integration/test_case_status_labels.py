"""Statuses are shown by their labels in the reader's language: an open dispute, report or
credit appeal reads 待处理 ("waiting to be handled", not 开放中 "open for business"), and
the erasure certificate the order recorded shows its status label, not its key."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from marketplace.credit.services import credit_appeal_submit
from marketplace.models import Dispute, ListingReport, OrderStatus
from marketplace.services.orders import order_handover_confirm, order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def client_for(user, language="zh-hans"):
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


@pytest.fixture
def order():
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, price=4500, title="红楼梦 全四册")
    placed = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    completed = order_handover_confirm(seller=seller, order_id=placed.pk, code=placed.handshake_code)
    assert completed.status == OrderStatus.COMPLETED
    return completed


def test_the_open_case_statuses_have_their_own_word():
    with translation.override("zh-hans"):
        for model in (Dispute, ListingReport):
            assert dict(model._meta.get_field("status").flatchoices)["open"] == "待处理"
        from marketplace.credit.models import CreditAppeal

        assert dict(CreditAppeal._meta.get_field("status").flatchoices)["open"] == "待处理"
    with translation.override("en"):
        assert dict(Dispute._meta.get_field("status").flatchoices)["open"] == "Open"


def test_an_open_dispute_reads_as_waiting_on_the_order_page(order):
    Dispute.objects.create(
        order=order, opened_by=order.buyer, kind="not_as_described", description="The cover is torn."
    )
    html = client_for(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert '<span class="badge">待处理</span>' in html
    assert "开放中" not in html


def test_an_open_appeal_reads_as_waiting_on_my_credit(order):
    credit_appeal_submit(user=order.seller_user, role="seller", text="The late shipment was the courier's fault.")
    html = client_for(order.seller_user).get("/my/credit/?role=seller").content.decode()
    assert "· 待处理" in html
    assert "开放中" not in html


def test_an_open_report_reads_as_waiting_in_the_report_queue(order):
    ListingReport.objects.create(listing=order.listing, reporter=order.buyer, reason="fraud", details="Fake.")
    staff = client_for(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    html = staff.get("/cms-admin/listing-reports/").content.decode()
    assert "待处理" in html
    assert "开放中" not in html


def test_the_orders_erasure_certificate_shows_its_status_label(order):
    order.snapshot = {
        **order.snapshot,
        "certificate": {"id": "c-1", "status": "valid", "provider": "净数科技", "verify_url": "/verify/c-1/"},
    }
    order.save(update_fields=["snapshot"])
    for language, label in (("zh-hans", "有效"), ("en", "Valid")):
        html = client_for(order.buyer, language).get(f"/orders/{order.pk}/").content.decode()
        assert f'<a href="/verify/c-1/" data-certificate-status="valid">{label}</a> · 净数科技' in html
