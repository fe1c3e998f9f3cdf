"""Listing services: validation, publication gates, stolen register, take-downs."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.gates import evaluate_gates
from marketplace.models import (
    Listing,
    ListingStatus,
    ListingStatusChange,
    Notification,
    OrganisationKind,
    ProhibitedTerm,
    Role,
    StolenMatchAlert,
)
from marketplace.services.listings import (
    PublicationBlocked,
    listing_create,
    listing_delete,
    listing_publish,
    listing_update,
    listing_withdraw,
)
from marketplace.services.moderation import listing_report_create, listing_take_down, stolen_report_add
from tests.consignment import accepted_agreement
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.listings import ATTRIBUTES, COMMON, add_photos, make_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_gates")]


def codes(exc: PublicationBlocked) -> set[str]:
    return {reason.code for reason in exc.reasons}


@pytest.mark.parametrize("category", ["books", "electronics", "furniture", "vehicles"])
def test_each_category_is_created_as_a_draft_with_its_attributes(category):
    listing = make_listing(seller=UserFactory(), category=category)
    assert listing.status == ListingStatus.DRAFT
    assert listing.attributes is not None
    assert Listing.objects.get(pk=listing.pk).attributes is not None


def test_isbn10_is_stored_as_isbn13_and_coordinates_are_rounded():
    listing = listing_create(
        actor=UserFactory(),
        category="books",
        data={**COMMON, "title": "Book", "price": 100, "latitude": 31.230416, "longitude": 121.473701},
        attributes={**ATTRIBUTES["books"], "isbn": "7-02-000220-X"},
    )
    listing.refresh_from_db()
    assert listing.book.isbn == "9787020002207"
    assert (listing.latitude, listing.longitude) == (31.23, 121.474)


@pytest.mark.parametrize(
    ("category", "attributes", "field"),
    [
        ("books", {"isbn": "9787020002208"}, "attributes.isbn"),
        ("electronics", {"imei": "352099001761482"}, "attributes.imei"),
        ("electronics", {"imei": "", "meid": ""}, "attributes.imei"),  # a phone needs one
        ("electronics", {"device_type": "laptop", "imei": "", "serial_number": ""}, "attributes.serial_number"),
        ("electronics", {"device_type": "camera"}, "attributes.imei"),  # cameras have no IMEI
        ("vehicles", {"vin": "LSVAU2180N2183294"}, "attributes.vin"),
        ("vehicles", {"mileage_km": 9_000_000}, "attributes.mileage_km"),
        ("vehicles", {"first_registration": "1890-01-01"}, "attributes.first_registration"),
        ("furniture", {"height_cm": 0}, "attributes.height_cm"),
    ],
)
def test_bad_attributes_give_field_errors_and_save_nothing(category, attributes, field):
    with pytest.raises(ValidationFailed) as exc:
        make_listing(seller=UserFactory(), category=category, **attributes)
    assert field in exc.value.details["fields"]
    assert not Listing.objects.exists()


@pytest.mark.parametrize(("price", "category"), [(0, "books"), (-5, "books"), (5_000_001, "books")])
def test_implausible_prices_are_refused(price, category):
    with pytest.raises(ValidationFailed) as exc:
        make_listing(seller=UserFactory(), category=category, price=price)
    assert "price" in exc.value.details["fields"]


def test_publication_reports_every_blocking_reason_at_once():
    seller = UserFactory(verified=False)
    ProhibitedTerm.objects.create(term="高仿", category="counterfeit")
    listing = make_listing(seller=seller, title="高仿 名牌包 书")
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=seller, listing_id=listing.pk)
    assert codes(exc.value) == {"photos_missing", "email_unverified", "prohibited_counterfeit"}
    assert exc.value.details["blocking"][0].keys() == {"gate", "code", "message"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_vehicles_need_three_photos():
    seller = UserFactory()
    listing = make_listing(seller=seller, category="vehicles")
    add_photos(listing, 2)
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=seller, listing_id=listing.pk)
    assert codes(exc.value) == {"photos_missing"}
    add_photos(listing, 1)
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_publishing_records_the_path_through_ready():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    listing_publish(actor=seller, listing_id=listing.pk)
    moves = list(ListingStatusChange.objects.filter(listing=listing).values_list("from_status", "to_status", "actor"))
    assert moves == [("draft", "ready", seller.pk), ("ready", "published", seller.pk)]
    listing.refresh_from_db()
    assert listing.published_at is not None


def test_verifying_the_email_unblocks_publication():
    seller = UserFactory(verified=False)
    listing = make_listing(seller=seller)
    add_photos(listing)
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=seller, listing_id=listing.pk)
    EmailAddress.objects.filter(user=seller).update(verified=True)
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_a_gate_with_a_stage_moves_the_listing_to_wait_there_even_though_publication_fails(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = [
        *settings.MARKETPLACE_PUBLICATION_GATES,
        "tests.support.gates.AwaitingAppraisalGate",
    ]
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=seller, listing_id=listing.pk)
    assert codes(exc.value) == {"not_graded"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_APPRAISAL


def test_a_stolen_imei_blocks_and_alerts_moderators_once(django_capture_on_commit_callbacks):
    moderator = UserFactory(is_staff=True)
    seller = UserFactory()
    stolen_report_add(
        staff=moderator, kind="imei", identifier="35-209900-176148-1", source="police", reference="沪公(2026)123"
    )
    listing = make_listing(seller=seller, category="electronics")
    add_photos(listing)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with pytest.raises(PublicationBlocked) as exc:
                listing_publish(actor=seller, listing_id=listing.pk)
    assert codes(exc.value) == {"reported_stolen"}
    assert StolenMatchAlert.objects.filter(listing=listing).count() == 1
    assert Notification.objects.filter(user=moderator, kind="stolen_match").count() == 1
    assert [m.to for m in mail.outbox] == [[moderator.email]]


def test_registering_a_stolen_vin_takes_a_published_car_down_and_tells_the_seller():
    moderator = UserFactory(is_staff=True)
    seller = UserFactory()
    listing = make_listing(seller=seller, category="vehicles")
    add_photos(listing, 3)
    listing_publish(actor=seller, listing_id=listing.pk)
    stolen_report_add(staff=moderator, kind="vin", identifier=ATTRIBUTES["vehicles"]["vin"].lower(), source="owner")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.REJECTED
    assert Notification.objects.filter(user=seller, kind="listing_blocked_stolen").exists()
    assert StolenMatchAlert.objects.filter(listing=listing).exists()


def test_a_bad_identifier_in_the_register_is_refused():
    with pytest.raises(ValidationFailed):
        stolen_report_add(staff=UserFactory(is_staff=True), kind="vin", identifier="NOTAVIN", source="owner")


def test_only_staff_may_use_the_register():
    with pytest.raises(PermissionDenied):
        stolen_report_add(staff=UserFactory(), kind="serial", identifier="ABC", source="owner")


def test_other_users_can_neither_see_nor_change_a_draft():
    listing = make_listing(seller=UserFactory())
    stranger = UserFactory()
    with pytest.raises(NotFound):
        listing_publish(actor=stranger, listing_id=listing.pk)
    with pytest.raises(NotFound):
        listing_update(actor=stranger, listing_id=listing.pk, data={"title": "mine"})


def test_other_users_cannot_change_a_public_listing():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    listing_publish(actor=seller, listing_id=listing.pk)
    with pytest.raises(PermissionDenied):
        listing_withdraw(actor=UserFactory(), listing_id=listing.pk)


def test_partial_update_keeps_other_fields_and_a_published_listing_must_be_withdrawn_first():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    listing_update(actor=seller, listing_id=listing.pk, data={"price": 3900}, attributes={"edition": "第3版"})
    listing.refresh_from_db()
    assert (listing.price, listing.title, listing.book.edition, listing.book.isbn) == (
        3900,
        "红楼梦 全四册",
        "第3版",
        "9787020002207",
    )
    add_photos(listing)
    listing_publish(actor=seller, listing_id=listing.pk)
    with pytest.raises(Conflict):
        listing_update(actor=seller, listing_id=listing.pk, data={"price": 100})


def test_only_never_published_drafts_can_be_deleted():
    seller = UserFactory()
    draft = make_listing(seller=seller)
    listing_delete(actor=seller, listing_id=draft.pk)
    assert not Listing.objects.filter(pk=draft.pk).exists()
    listing = make_listing(seller=seller)
    add_photos(listing)
    listing_publish(actor=seller, listing_id=listing.pk)
    listing_withdraw(actor=seller, listing_id=listing.pk)
    with pytest.raises(Conflict):
        listing_delete(actor=seller, listing_id=listing.pk)


def test_shop_staff_list_for_the_shop_with_a_consignor_and_outsiders_cannot():
    shop = OrganisationFactory(kind=OrganisationKind.CONSIGNMENT_SHOP, verified_at="2026-01-01T00:00Z")
    staff = MembershipFactory(organisation=shop, role=Role.STAFF).user
    consignor = UserFactory()
    accepted_agreement(shop=shop, staff=staff, consignor=consignor)
    listing = listing_create(
        actor=staff,
        category="books",
        data={**COMMON, "title": "寄卖 书", "price": 1000},
        attributes=ATTRIBUTES["books"],
        seller_organisation=shop,
        consignor=consignor,
    )
    assert (listing.seller_organisation, listing.consignor, listing.seller_user) == (shop, consignor, None)
    add_photos(listing)
    assert listing_publish(actor=staff, listing_id=listing.pk).status == ListingStatus.PUBLISHED
    with pytest.raises(PermissionDenied):
        listing_create(
            actor=UserFactory(),
            category="books",
            data={**COMMON, "title": "x", "price": 1000},
            attributes=ATTRIBUTES["books"],
            seller_organisation=shop,
        )


def test_an_unverified_shop_cannot_publish():
    shop = OrganisationFactory(kind=OrganisationKind.CONSIGNMENT_SHOP)
    staff = MembershipFactory(organisation=shop, role=Role.OWNER).user
    listing = listing_create(
        actor=staff,
        category="books",
        data={**COMMON, "title": "x", "price": 1000},
        attributes=ATTRIBUTES["books"],
        seller_organisation=shop,
    )
    add_photos(listing)
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=staff, listing_id=listing.pk)
    assert codes(exc.value) == {"organisation_unverified"}


def test_gates_run_a_fixed_number_of_queries_for_any_number_of_listings(django_assert_num_queries):
    seller = UserFactory()
    ProhibitedTerm.objects.create(term="仿真枪", category="weapons")
    few = [make_listing(seller=seller, category="electronics")]
    many = few + [make_listing(seller=UserFactory(), category=c) for c in ("books", "vehicles", "furniture") * 3]
    loaded_few = list(
        Listing.objects.filter(pk__in=[x.pk for x in few]).select_related(
            "seller_user", "seller_organisation", "electronics", "book", "vehicle", "furniture"
        )
    )
    loaded_many = list(
        Listing.objects.filter(pk__in=[x.pk for x in many]).select_related(
            "seller_user", "seller_organisation", "electronics", "book", "vehicle", "furniture"
        )
    )
    with django_assert_num_queries(4) as few_ctx:
        evaluate_gates(loaded_few)
    with django_assert_num_queries(len(few_ctx.captured_queries)):
        result = evaluate_gates(loaded_many)
    assert set(result) == {x.pk for x in many}


def test_a_moderator_takes_a_reported_listing_down_and_both_sides_hear_of_it(django_capture_on_commit_callbacks):
    moderator, seller, reporter = UserFactory(is_staff=True), UserFactory(), UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    listing_publish(actor=seller, listing_id=listing.pk)
    report = listing_report_create(reporter=reporter, listing_id=listing.pk, reason="counterfeit", details="盗版")
    with pytest.raises(Conflict):
        listing_report_create(reporter=reporter, listing_id=listing.pk, reason="fraud")
    with pytest.raises(ValidationFailed):
        listing_take_down(moderator=moderator, listing_id=listing.pk, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        listing_take_down(moderator=moderator, listing_id=listing.pk, reason="Pirated edition")
    listing.refresh_from_db()
    report.refresh_from_db()
    assert listing.status == ListingStatus.REJECTED
    assert report.status == "upheld"
    assert ListingStatusChange.objects.filter(listing=listing, to_status="rejected", reason="Pirated edition").exists()
    recipients = {tuple(m.to) for m in mail.outbox}
    assert (seller.email,) in recipients and (reporter.email,) in recipients
    assert Notification.objects.filter(user=seller, kind="listing_taken_down").exists()
    with pytest.raises(PermissionDenied):
        listing_take_down(moderator=seller, listing_id=listing.pk, reason="x")
