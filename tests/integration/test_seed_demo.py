from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.management import call_command

from marketplace.credit.effects import requires_review
from marketplace.credit.models import CreditRole, CreditScore
from marketplace.demo import STOLEN_IMEI
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import (
    Category,
    ElectronicsAttributes,
    Listing,
    ListingPhoto,
    ListingReport,
    ListingStatus,
    ListingStatusChange,
    Membership,
    Organisation,
    ProhibitedTerm,
    StolenGoodsReport,
    User,
)

pytestmark = pytest.mark.django_db

DEMO_EMAILS = {
    "admin@example.com",
    "seller@example.com",
    "buyer@example.com",
    "appraiser@example.com",
    "tech@example.com",
    "shop@example.com",
    "school@example.com",
    "organizer@example.com",
}


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
        Authenticator.objects.count(),
    )


def test_seed_demo_is_idempotent_and_creates_the_demo_accounts(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert set(User.objects.values_list("email", flat=True)) == DEMO_EMAILS
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and DEMO_TOTP_SECRET in out
    for email in DEMO_EMAILS:
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.get(user=user).verified


def test_demo_2fa_accounts_accept_codes_from_the_documented_secret():
    call_command("seed_demo")
    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]
    code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter))
    for email in ("admin@example.com", "appraiser@example.com", "tech@example.com"):
        authenticator = Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP)
        assert TOTP(authenticator).validate_code(code)
    assert not Authenticator.objects.filter(user__email="seller@example.com").exists()


def test_demo_totp_command_prints_a_code_the_demo_accounts_accept(capsys):
    call_command("seed_demo")
    cache.clear()  # an earlier test may have used this period's code (replay protection)
    capsys.readouterr()
    call_command("demo_totp")
    code = capsys.readouterr().out.strip()
    authenticator = Authenticator.objects.get(user__email="appraiser@example.com", type=Authenticator.Type.TOTP)
    assert len(code) == 6
    assert TOTP(authenticator).validate_code(code)


def listing_counts() -> tuple[int, ...]:
    return (
        Listing.objects.count(),
        ListingPhoto.objects.count(),
        ListingStatusChange.objects.count(),
        ProhibitedTerm.objects.count(),
        StolenGoodsReport.objects.count(),
        ListingReport.objects.count(),
    )


def test_seed_demo_listings_are_stable_cover_every_category_and_several_states(
    core_gates, django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    first = listing_counts()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    assert listing_counts() == first
    assert "Marketplace demo: 18 listings" in capsys.readouterr().out

    listings = Listing.objects.all()
    assert listings.count() >= 10
    assert set(listings.values_list("category", flat=True)) == set(Category.values)
    statuses = list(listings.values_list("status", flat=True))
    assert {ListingStatus.PUBLISHED, ListingStatus.DRAFT, ListingStatus.WITHDRAWN} <= set(statuses)
    assert {ListingStatus.PENDING_APPRAISAL, ListingStatus.PENDING_ERASURE} & set(statuses)
    # Every state change was recorded by the lifecycle service.
    for listing in listings.exclude(status=ListingStatus.DRAFT):
        assert listing.status_history.order_by("-pk").first().to_status == listing.status

    # The marketplace demo's own shop listings (the consignment demo adds consigned items).
    shop_listings = listings.filter(seller_organisation__isnull=False, consignment_item__isnull=True)
    assert shop_listings.count() == 2
    assert {listing.consignor.email for listing in shop_listings} == {"buyer@example.com"}
    assert {listing.created_by.email for listing in shop_listings} == {"shop@example.com"}

    widths = {str(width) for width in settings.MARKETPLACE_PHOTO_RENDITION_WIDTHS}
    for listing in listings.filter(status=ListingStatus.PUBLISHED):
        photos = list(listing.photos.all())
        assert len(photos) >= (3 if listing.category == Category.VEHICLES else 1), listing.title
        for photo in photos:
            assert set(photo.renditions) == widths, listing.title
            assert all(default_storage.exists(name) for name in photo.renditions.values())

    assert set(ProhibitedTerm.objects.values_list("category", flat=True)) >= {
        "weapons",
        "drugs",
        "counterfeit",
        "recalled",
    }
    assert ProhibitedTerm.objects.get(term="仿真枪").category == "weapons"
    entry = StolenGoodsReport.objects.get()
    assert entry.identifier == STOLEN_IMEI and entry.source == "police" and entry.active
    assert not ElectronicsAttributes.objects.filter(imei=STOLEN_IMEI).exists()
    assert ListingReport.objects.filter(status="open", reporter__email="buyer@example.com").count() == 1


def test_seed_demo_has_orders_an_offer_and_a_question_and_the_ledger_reconciles(
    core_gates, django_capture_on_commit_callbacks, capsys
):
    from marketplace.models import Message, Offer, OfferStatus, Order, OrderStatus
    from marketplace.services.ledger import ledger_reconcile

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")

    buyer = User.objects.get(email="buyer@example.com")
    orders = {order.title: order for order in Order.objects.filter(buyer=buyer)}
    assert orders["三体 重庆出版社"].status == OrderStatus.COMPLETED
    assert orders["三体 重庆出版社"].listing.status == ListingStatus.SOLD
    assert orders["宜家 MALM 五斗柜 白色"].status == OrderStatus.AWAITING_HANDOVER
    assert orders["宜家 MALM 五斗柜 白色"].handshake_code
    assert Offer.objects.filter(buyer=buyer, status=OfferStatus.OPEN).count() == 1
    assert Message.objects.filter(sender=buyer).count() == 1
    checked, problems = ledger_reconcile()
    assert checked >= 2 and problems == []
    assert "Order demo: 2 orders (awaiting_handover, completed), 1 offers." in capsys.readouterr().out


def test_the_demo_appraiser_and_technician_are_trusted_enough_that_their_work_counts():
    """The demo appraiser had one grade overturned against a long record that stood: it
    costs them, but their grades still count without staff review (the browser journeys
    rely on it)."""
    call_command("seed_demo")
    appraiser = User.objects.get(email="appraiser@example.com")
    technician = User.objects.get(email="tech@example.com")
    score = CreditScore.objects.get(user=appraiser, role=CreditRole.APPRAISER)
    assert score.tier != "restricted"
    assert not requires_review(appraiser.pk, CreditRole.APPRAISER)
    assert not requires_review(technician.pk, CreditRole.TECHNICIAN)
