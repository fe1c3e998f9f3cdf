"""Moderation in the Wagtail admin: the report queue, take-downs, the stolen-goods
register, stolen-match alerts and prohibited terms."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core import mail

from marketplace.models import (
    Listing,
    ListingReport,
    ListingStatus,
    Notification,
    ProhibitedTerm,
    ReportStatus,
    StolenGoodsReport,
    StolenMatchAlert,
    User,
)
from marketplace.services.listings import PublicationBlocked, listing_publish
from marketplace.services.moderation import listing_report_create, listing_report_dismiss
from tests.factories import UserFactory
from tests.listings import add_photos, make_listing

# Listings here must publish on the core gates alone (no grades or erasure certificates).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_gates")]

REPORTS = "/cms-admin/listing-reports/"
TERMS = "/cms-admin/prohibited-terms/"
STOLEN = "/cms-admin/stolen-goods/"
ALERTS = "/cms-admin/stolen-match-alerts/"


@pytest.fixture
def staff(client) -> User:
    user = UserFactory(is_staff=True, is_superuser=True, with_totp=True)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return user


@pytest.fixture
def seller() -> User:
    return UserFactory()


def published(seller: User, **kwargs) -> Listing:
    listing = make_listing(seller=seller, **kwargs)
    add_photos(listing)
    return listing_publish(actor=seller, listing_id=listing.pk)


@pytest.fixture
def report(staff, seller) -> ListingReport:
    listing = published(seller, title="红楼梦 人民文学出版社 1982")
    return listing_report_create(
        reporter=UserFactory(), listing_id=listing.pk, reason="counterfeit", details="Pages look photocopied."
    )


def test_report_queue_lists_open_reports_first_with_a_link_to_the_listing(client, staff, seller):
    older_open = listing_report_create(
        reporter=UserFactory(), listing_id=published(seller, title="Open report listing").pk, reason="fraud"
    )
    newer_handled = listing_report_create(
        reporter=UserFactory(), listing_id=published(seller, title="Handled report listing").pk, reason="other"
    )
    listing_report_dismiss(moderator=staff, report_id=newer_handled.pk)

    page = client.get(REPORTS).content.decode()
    assert page.index("Open report listing") < page.index("Handled report listing")
    assert f'href="/listings/{older_open.listing_id}/"' in page
    assert f"{REPORTS}take-down/{older_open.pk}/" in page
    assert f"{REPORTS}dismiss/{older_open.pk}/" in page
    # Handled reports offer no actions any more.
    assert f"{REPORTS}take-down/{newer_handled.pk}/" not in page

    filtered = client.get(REPORTS, {"status": "dismissed"}).content.decode()
    assert "Handled report listing" in filtered
    assert "Open report listing" not in filtered
    assert "Fraud" in client.get(REPORTS, {"reason": "fraud"}).content.decode()
    assert "Open report listing" not in client.get(REPORTS, {"reason": "counterfeit"}).content.decode()


def test_take_down_needs_a_reason_then_rejects_the_listing_and_tells_seller_and_reporter(
    client, staff, seller, report, django_capture_on_commit_callbacks
):
    url = f"{REPORTS}take-down/{report.pk}/"
    form_page = client.get(url)
    assert form_page.status_code == 200
    assert "Pages look photocopied." in form_page.content.decode()

    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.OPEN
    assert Listing.objects.get(pk=report.listing_id).status == ListingStatus.PUBLISHED

    mail.outbox.clear()
    reason = "Counterfeit edition, confirmed by the publisher."
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": reason})
    assert response.status_code == 302
    assert response["Location"] == REPORTS
    report.refresh_from_db()
    assert report.status == ReportStatus.UPHELD
    assert report.handled_by == staff
    assert Listing.objects.get(pk=report.listing_id).status == ListingStatus.REJECTED
    assert Notification.objects.filter(user=seller, kind="listing_taken_down", body__contains=reason).exists()
    assert Notification.objects.filter(user=report.reporter, kind="report_upheld").exists()
    recipients = {address for message in mail.outbox for address in message.to}
    assert {seller.email, report.reporter.email} <= recipients
    assert any(reason in message.body for message in mail.outbox if seller.email in message.to)
    assert "was taken down" in client.get(REPORTS).content.decode()


def test_dismiss_leaves_the_listing_up_and_tells_the_reporter(
    client, staff, report, django_capture_on_commit_callbacks
):
    url = f"{REPORTS}dismiss/{report.pk}/"
    assert client.get(url).status_code == 200
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"note": "The edition is genuine."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.DISMISSED
    assert report.resolution_note == "The edition is genuine."
    assert Listing.objects.get(pk=report.listing_id).status == ListingStatus.PUBLISHED
    assert Notification.objects.filter(user=report.reporter, kind="report_dismissed").exists()
    assert [message.to for message in mail.outbox] == [[report.reporter.email]]
    # A handled report cannot be handled again from the admin.
    again = client.get(f"{REPORTS}take-down/{report.pk}/")
    assert again.status_code == 302
    assert client.post(url, {"note": ""}).status_code == 200
    report.refresh_from_db()
    assert report.status == ReportStatus.DISMISSED


def test_take_down_shows_a_service_conflict_as_a_message(client, staff, report):
    url = f"{REPORTS}take-down/{report.pk}/"
    client.post(url, {"reason": "Fake."})
    # A second open report on the already rejected listing cannot take it down again.
    other = ListingReport.objects.create(listing_id=report.listing_id, reporter=UserFactory(), reason="other")
    response = client.post(f"{REPORTS}take-down/{other.pk}/", {"reason": "Again."})
    assert response.status_code == 200
    assert "cannot be taken down in its current state" in response.content.decode()
    other.refresh_from_db()
    assert other.status == ReportStatus.OPEN


@pytest.mark.parametrize("admin_access", [False, True])
def test_non_staff_cannot_reach_or_use_the_moderation_views(client, report, admin_access):
    user = UserFactory()
    if admin_access:  # e.g. an organiser who edits CMS pages
        user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    urls = [
        REPORTS,
        f"{REPORTS}inspect/{report.pk}/",
        f"{REPORTS}take-down/{report.pk}/",
        f"{REPORTS}dismiss/{report.pk}/",
        TERMS,
        f"{TERMS}new/",
        STOLEN,
        f"{STOLEN}new/",
        ALERTS,
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert not response["Location"].startswith(url)
    client.post(f"{REPORTS}take-down/{report.pk}/", {"reason": "no"})
    client.post(f"{STOLEN}new/", {"identifier_kind": "imei", "identifier": "352099001761481", "source": "owner"})
    client.post(f"{TERMS}new/", {"term": "枪支", "category": "weapons", "active": "on"})
    report.refresh_from_db()
    assert report.status == ReportStatus.OPEN
    assert not StolenGoodsReport.objects.exists()
    assert not ProhibitedTerm.objects.exists()


def test_stolen_report_with_an_invalid_imei_shows_a_field_error_and_creates_nothing(client, staff):
    response = client.post(
        f"{STOLEN}new/",
        {"identifier_kind": "imei", "identifier": "352099001761482", "source": "police", "reference": "A-1"},
    )
    assert response.status_code == 200
    assert "is not a valid IMEI" in response.content.decode()
    assert "is not a valid IMEI" in response.context["form"].errors["identifier"][0]
    assert not StolenGoodsReport.objects.exists()


def test_stolen_report_takes_a_matching_listing_down_and_alerts_moderators(
    client, staff, seller, django_capture_on_commit_callbacks
):
    listing = published(seller, category="electronics", title="iPhone 13 128GB 蓝色")
    untouched = published(seller, title="三体 全集")
    assert client.get(f"{STOLEN}new/").status_code == 200
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{STOLEN}new/",
            {
                "identifier_kind": "imei",
                "identifier": "35-209900-176148-1",
                "source": "police",
                "reference": "沪公(徐)2026-0042",
                "description": "Stolen on line 1.",
            },
        )
    assert response.status_code == 302
    entry = StolenGoodsReport.objects.get()
    assert entry.identifier == "352099001761481"
    assert entry.entered_by == staff
    listing.refresh_from_db()
    untouched.refresh_from_db()
    assert listing.status == ListingStatus.REJECTED
    assert untouched.status == ListingStatus.PUBLISHED
    assert StolenMatchAlert.objects.filter(listing=listing, report=entry).count() == 1
    assert StolenMatchAlert.objects.count() == 1
    assert Notification.objects.filter(user=staff, kind="stolen_match").exists()
    assert Notification.objects.filter(user=seller, kind="listing_blocked_stolen").exists()
    assert staff.email in {address for message in mail.outbox for address in message.to}

    assert "1 listing matches it: live listings were taken down" in client.get(STOLEN).content.decode()
    alerts = client.get(ALERTS).content.decode()
    assert "iPhone 13 128GB 蓝色" in alerts
    assert f'href="/listings/{listing.pk}/"' in alerts
    assert client.get(f"{STOLEN}inspect/{entry.pk}/").status_code == 200

    # Entries are never edited or deleted, only resolved.
    assert client.get(f"{STOLEN}edit/{entry.pk}/").status_code == 404
    assert client.post(f"{STOLEN}delete/{entry.pk}/").status_code == 404
    register = client.get(STOLEN).content.decode()
    assert f"{STOLEN}resolve/{entry.pk}/" in register
    assert client.get(f"{STOLEN}resolve/{entry.pk}/").status_code == 200
    assert client.post(f"{STOLEN}resolve/{entry.pk}/").status_code == 302
    entry.refresh_from_db()
    assert not entry.active
    assert entry.resolved_at is not None
    assert StolenGoodsReport.objects.count() == 1
    assert f"{STOLEN}resolve/{entry.pk}/" not in client.get(STOLEN).content.decode()


def test_prohibited_term_added_in_the_admin_blocks_publication(client, staff, seller):
    response = client.post(f"{TERMS}new/", {"term": "仿真枪", "category": "weapons", "note": "", "active": "on"})
    assert response.status_code == 302
    term = ProhibitedTerm.objects.get(term="仿真枪")
    assert "仿真枪" in client.get(TERMS).content.decode()

    listing = make_listing(seller=seller, title="仿真枪 M4 模型 全新")
    add_photos(listing)
    with pytest.raises(PublicationBlocked) as blocked:
        listing_publish(actor=seller, listing_id=listing.pk)
    assert "prohibited_weapons" in {reason.code for reason in blocked.value.reasons}

    # Editing the category changes the reason; deleting the term lets the listing through.
    edit = client.post(f"{TERMS}edit/{term.pk}/", {"term": "仿真枪", "category": "counterfeit", "active": "on"})
    assert edit.status_code == 302
    with pytest.raises(PublicationBlocked) as blocked:
        listing_publish(actor=seller, listing_id=listing.pk)
    assert "prohibited_counterfeit" in {reason.code for reason in blocked.value.reasons}
    assert client.post(f"{TERMS}delete/{term.pk}/").status_code == 302
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_moderation_menu_is_in_the_admin_for_staff(client, staff, report):
    home = client.get("/cms-admin/")
    assert home.status_code == 200
    assert "Moderation" in home.content.decode()
    for url in (REPORTS, f"{REPORTS}inspect/{report.pk}/", TERMS, f"{TERMS}new/", STOLEN, ALERTS):
        assert client.get(url).status_code == 200, url


def test_django_admin_shows_listings_and_moderation_records_read_only(client, staff, report):
    listing_page = client.get(f"/django-admin/marketplace/listing/{report.listing_id}/change/")
    assert listing_page.status_code == 200
    assert "红楼梦 人民文学出版社 1982" in listing_page.content.decode()
    assert 'name="_save"' not in listing_page.content.decode()
    for model in ("listing", "listingreport", "stolengoodsreport", "stolenmatchalert", "notification"):
        assert client.get(f"/django-admin/marketplace/{model}/").status_code == 200, model
        assert client.get(f"/django-admin/marketplace/{model}/add/").status_code == 403, model
    assert client.get("/django-admin/marketplace/prohibitedterm/add/").status_code == 200
    client.post(f"/django-admin/marketplace/listingreport/{report.pk}/delete/", {"post": "yes"})
    assert ListingReport.objects.filter(pk=report.pk).exists()


def test_taking_down_a_reserved_listing_cancels_its_unshipped_order_and_tells_the_buyer(
    staff, seller, django_capture_on_commit_callbacks
):
    from marketplace.models import Order, OrderStatus
    from marketplace.services.moderation import listing_take_down
    from marketplace.services.orders import order_place

    buyer = UserFactory()
    listing = published(seller, title="iPhone 手机壳 全新")
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.RESERVED

    with django_capture_on_commit_callbacks(execute=True):
        listing_take_down(moderator=staff, listing_id=listing.pk, reason="Counterfeit brand")

    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_by == "moderator"
    assert order.at_fault == "seller"
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.REJECTED
    assert Notification.objects.filter(user=buyer, kind="order_cancelled").exists()


def test_a_listing_whose_order_is_with_the_buyer_cannot_be_taken_down_until_it_is_resolved(
    staff, seller, stripe_settings, localstripe_url
):
    from marketplace.errors import Conflict
    from marketplace.models import Order, OrderStatus
    from marketplace.services.moderation import listing_take_down
    from marketplace.services.orders import order_place, order_ship
    from marketplace.services.payments import payment_authorise
    from tests.orders import published_listing
    from tests.support.localstripe import card_token

    buyer = UserFactory()
    listing = published_listing(seller=seller, title="自行车 二手")
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")

    with pytest.raises(Conflict) as error:
        listing_take_down(moderator=staff, listing_id=listing.pk, reason="Stolen")

    assert error.value.code == "listing_order_in_progress"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.RESERVED
