"""Consignment pages: the shop's agreements, intake form, tags PDF and payouts, the
consignor's portal; who may see what; fixed query counts."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from marketplace.consignment.models import ConsignmentAgreement, ConsignmentItem, ConsignorPayout
from marketplace.consignment.services import intake_batch_create
from marketplace.models import Listing
from tests.factories import UserFactory
from tests.integration.test_cms_calendar import pdf_text
from tests.integration.test_consignment_services import book_line, make_agreement, make_shop, sell_in_cash

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def taken_in(count: int = 3):
    shop, staff = make_shop(name="循环寄卖店")
    agreement = make_agreement(shop, staff)
    batch = intake_batch_create(
        actor=staff,
        agreement_id=agreement.pk,
        lines=[book_line(title=f"书 {n}", price=10_000 * (n + 1)) for n in range(count)],
    )
    return shop, staff, agreement, batch


# --- Agreement form ------------------------------------------------------------------------------


AGREEMENT_FORM = {
    "share_percent": "60",
    "tier_up_to_yuan": "500",
    "share_above_percent": "70",
    "discount_bearer": "shared",
    "markdown_1_days": "30",
    "markdown_1_percent": "10",
    "markdown_2_days": "60",
    "markdown_2_percent": "20",
    "floor_percent": "50",
    "expiry_days": "90",
    "expiry_action": "return",
    "payout_threshold_yuan": "50",
}


def test_shop_staff_invite_a_consignor_from_the_form_and_the_consignor_accepts(en_client):
    shop, staff = make_shop()
    consignor = UserFactory(email="lin@example.org")
    en_client.force_login(staff)

    bad = {**AGREEMENT_FORM, "consignor_email": consignor.email, "markdown_2_percent": "5", "floor_price_yuan": "10"}
    response = en_client.post(f"/consignment/shop/{shop.pk}/agreements/new/", bad)
    page = text(response)
    assert "Each later markdown must be larger than the one before." in page
    assert "Give the floor either as a price or as a percentage, not both." in page
    assert not ConsignmentAgreement.objects.exists()

    response = en_client.post(
        f"/consignment/shop/{shop.pk}/agreements/new/", {**AGREEMENT_FORM, "consignor_email": consignor.email}
    )
    agreement = ConsignmentAgreement.objects.get()
    assert response["Location"] == f"/consignment/agreements/{agreement.pk}/"
    assert (agreement.status, agreement.consignor, agreement.invited_email) == ("invited", None, consignor.email)
    assert [(t.up_to, t.consignor_share_bp) for t in agreement.tiers.all()] == [(50_000, 6000), (None, 7000)]
    assert [(s.after_days, s.discount_bp) for s in agreement.markdown_steps.all()] == [(30, 1000), (60, 2000)]
    assert agreement.floor_percent_bp == 5000 and agreement.payout_threshold == 5_000
    page = text(en_client.get(response["Location"]))
    assert "Invitation to lin@example.org" in page
    assert "60% up to ¥500.00; 70% above" in page
    assert "−10% after 30 days, −20% after 60 days" in page
    # No intake before the consignor accepts.
    assert en_client.get(f"/consignment/agreements/{agreement.pk}/intake/").status_code == 302

    en_client.force_login(consignor)
    portal = text(en_client.get("/consignment/mine/"))
    assert f"{shop.name} invites you to consign items" in portal
    assert "60% up to ¥500.00; 70% above" in portal
    response = en_client.post(f"/consignment/mine/invitations/{agreement.pk}/accept/")
    assert response["Location"] == "/consignment/mine/"
    agreement.refresh_from_db()
    assert (agreement.status, agreement.consignor) == ("accepted", consignor)


def test_intake_form_takes_several_items_and_reports_a_bad_row_without_saving(en_client):
    shop, staff = make_shop()
    agreement = make_agreement(shop, staff)
    en_client.force_login(staff)
    url = f"/consignment/agreements/{agreement.pk}/intake/"
    assert en_client.get(url).status_code == 200
    form = {
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-title": "三体",
        "items-0-category": "books",
        "items-0-price_yuan": "45",
        "items-0-isbn": "9787536692930",
        "items-1-title": "书桌",
        "items-1-category": "furniture",
        "items-1-price_yuan": "300",
        "items-1-furniture_type": "desk",
        "items-1-material": "松木",
        "items-1-width_cm": "120",
        "items-1-depth_cm": "60",
    }
    response = en_client.post(url, form)
    assert response.status_code == 200
    assert "Nothing was saved" in text(response)
    assert not Listing.objects.exists()

    response = en_client.post(url, {**form, "items-1-height_cm": "75"})
    batch_url = response["Location"]
    assert ConsignmentItem.objects.count() == 2
    page = text(en_client.get(batch_url))
    assert "三体" in page and "书桌" in page and "Print tags (PDF)" in page


def test_tags_pdf_has_codes_prices_and_a_qr_code(en_client):
    _shop, staff, _agreement, batch = taken_in(2)
    en_client.force_login(staff)
    response = en_client.get(f"/consignment/batches/{batch.pk}/tags.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"/Subtype /Image" in response.content  # the QR codes
    drawn = pdf_text(response.content)
    for item in batch.items.all():
        assert item.item_code in drawn
    assert "¥100.00" in drawn and "¥200.00" in drawn and "循环寄卖店" in drawn


def test_recording_a_payout_shows_in_the_portal_balance(en_client, settings):
    _shop, staff, agreement, batch = taken_in(1)
    sell_in_cash(batch.items.get(), staff, settings=settings)  # ¥100, 60 %: ¥60 owed
    en_client.force_login(staff)
    url = f"/consignment/agreements/{agreement.pk}/payouts/"
    response = en_client.post(url, {"amount_yuan": "70", "method": "cash"}, follow=True)
    assert "That is more than the ¥60.00 owed to the consignor." in text(response)
    response = en_client.post(url, {"amount_yuan": "5", "method": "cash"}, follow=True)
    assert "Payouts start at ¥10.00 under this agreement." in text(response)
    response = en_client.post(url, {"amount_yuan": "40", "method": "bank_transfer", "reference": "ICBC-7"}, follow=True)
    assert "Payout of ¥40.00 recorded." in text(response)
    assert ConsignorPayout.objects.get().reference == "ICBC-7"

    en_client.force_login(agreement.consignor)
    page = text(en_client.get("/consignment/mine/"))
    assert "循环寄卖店 owes you ¥20.00" in page
    assert "ICBC-7" in page and "¥40.00" in page
    assert "¥60.00" in page  # the share of the sale


# --- Permissions ------------------------------------------------------------------------------------


def test_only_the_shops_staff_reach_its_consignment_pages(en_client):
    shop, _staff, agreement, batch = taken_in(1)
    _other_shop, other_staff = make_shop()
    urls = [
        f"/consignment/shop/{shop.pk}/",
        f"/consignment/shop/{shop.pk}/agreements/new/",
        f"/consignment/agreements/{agreement.pk}/",
        f"/consignment/agreements/{agreement.pk}/intake/",
        f"/consignment/batches/{batch.pk}/",
        f"/consignment/batches/{batch.pk}/tags.pdf",
    ]
    for user in (other_staff, agreement.consignor, UserFactory()):
        en_client.force_login(user)
        for url in urls:
            assert en_client.get(url).status_code == 404, (user, url)
        response = en_client.post(f"/consignment/agreements/{agreement.pk}/payouts/", {"amount_yuan": "1"})
        assert response.status_code == 404
        response = en_client.post(f"/consignment/agreements/{agreement.pk}/end/")
        assert response.status_code == 404
    assert ConsignmentAgreement.objects.get().is_active
    en_client.logout()
    assert en_client.get("/consignment/mine/").status_code == 302


def test_a_consignor_sees_only_their_own_items(en_client):
    _shop, _staff, agreement, batch = taken_in(2)
    _shop2, _staff2, _other_agreement, other_batch = taken_in(1)
    en_client.force_login(agreement.consignor)
    page = en_client.get("/consignment/mine/").content.decode()
    for item in batch.items.all():
        assert item.item_code in page
    assert other_batch.items.get().item_code not in page


# --- Query counts --------------------------------------------------------------------------------------


def _count(en_client, url, django_assert_num_queries, n):
    with django_assert_num_queries(n):
        assert en_client.get(url).status_code == 200


@pytest.mark.parametrize("page", ["portal", "agreement", "batch", "shop"])
def test_pages_run_a_fixed_number_of_queries(en_client, settings, django_assert_num_queries, page):
    shop, staff, agreement, batch = taken_in(1)
    sell_in_cash(batch.items.get(), staff, settings=settings)
    urls = {
        "portal": "/consignment/mine/",
        "agreement": f"/consignment/agreements/{agreement.pk}/",
        "batch": f"/consignment/batches/{batch.pk}/",
        "shop": f"/consignment/shop/{shop.pk}/",
    }
    viewer = agreement.consignor if page == "portal" else staff
    en_client.force_login(viewer)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        en_client.get(urls[page])
    # More of everything: items, batches, sales, payouts, agreements.
    more = intake_batch_create(
        actor=staff, agreement_id=agreement.pk, lines=[book_line(title=f"新书 {n}") for n in range(4)]
    )
    for item in list(more.items.all())[:2]:
        sell_in_cash(item, staff, settings=settings)
    from marketplace.consignment.services import consignor_payout_record

    consignor_payout_record(actor=staff, agreement_id=agreement.pk, amount=2_000, method="cash")
    consignor_payout_record(actor=staff, agreement_id=agreement.pk, amount=2_000, method="cash")
    make_agreement(shop, staff)
    batch_url = f"/consignment/batches/{more.pk}/" if page == "batch" else urls[page]
    _count(en_client, batch_url, django_assert_num_queries, len(few.captured_queries))
    assert timezone.now()


def test_shop_staff_find_the_desk_in_the_navigation_and_consignors_find_the_portal_on_their_account(en_client):
    _shop, staff, agreement, _batch = taken_in(1)
    en_client.force_login(staff)
    assert 'href="/consignment/shop/"' in en_client.get("/").content.decode()
    en_client.force_login(agreement.consignor)
    assert 'href="/consignment/shop/"' not in en_client.get("/").content.decode()
    assert 'href="/consignment/mine/"' in en_client.get("/accounts/profile/").content.decode()
