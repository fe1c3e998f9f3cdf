"""Rule-set versions, self-assessment, the appraisal queue, signing and the grade gate."""

from __future__ import annotations

import copy
import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from grading.models import (
    Appraisal,
    AppraisalRequest,
    AppraiserCredential,
    ImmutableError,
    PriceFlag,
    RuleSetStatus,
    RuleSetVersion,
)
from grading.services import (
    appraisal_claim,
    appraisal_digest_valid,
    appraisal_queue,
    appraisal_submit,
    listing_valuation,
    price_check,
    ruleset_active,
    ruleset_draft_save,
    ruleset_publish,
    self_assessment_submit,
)
from marketplace.errors import Conflict, MFARequired, PermissionDenied, ValidationFailed
from marketplace.models import ListingStatus, Notification, OrganisationKind, Role
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish, listing_update
from tests.conftest import CORE_GATES
from tests.consignment import accepted_agreement
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.listings import ATTRIBUTES, COMMON, add_photos, make_listing
from tests.unit.test_grading_rules import BOOK, GOOD_PHONE

pytestmark = pytest.mark.django_db
GRADE_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]


@pytest.fixture(autouse=True)
def _grade_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES


def make_appraiser(*, categories=("electronics",), with_totp=True, verified=True, valid_to=None, institution=None):
    institution = institution or OrganisationFactory(kind=OrganisationKind.APPRAISAL_INSTITUTION)
    user = UserFactory(with_totp=with_totp)
    MembershipFactory(user=user, organisation=institution, role=Role.APPRAISER)
    today = timezone.localdate()
    AppraiserCredential.objects.create(
        user=user,
        issuer="中国旧货业协会",
        number=f"JD-{user.pk:05d}",
        categories=list(categories),
        valid_from=today - dt.timedelta(days=365),
        valid_to=valid_to or today + dt.timedelta(days=365),
        organisation=institution,
        verified_at=timezone.now() if verified else None,
    )
    return user


def phone_listing(seller=None):
    seller = seller or UserFactory()
    listing = make_listing(seller=seller, category="electronics")
    add_photos(listing)
    return listing


def queue_it(listing):
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    return {r.code for r in exc.value.reasons}


def test_the_shipped_rule_sets_are_published_by_the_migration():
    assert set(RuleSetVersion.objects.filter(status="published").values_list("key", flat=True)) == {
        "vehicles",
        "electronics-mobile",
        "electronics-general",
        "books",
        "furniture",
    }
    assert ruleset_active(category="electronics", device_type="phone").key == "electronics-mobile"
    assert ruleset_active(category="electronics", device_type="camera").key == "electronics-general"
    assert ruleset_active(category="vehicles").key == "vehicles"


def test_a_published_version_cannot_change_but_a_new_draft_can_be_published():
    staff = UserFactory(is_staff=True)
    books = RuleSetVersion.objects.get(key="books")
    books.document = {**books.document, "title": {"zh": "改", "en": "changed"}}
    with pytest.raises(ImmutableError):
        books.save()
    with pytest.raises(Conflict):
        ruleset_draft_save(staff=staff, document=books.document, version_id=books.pk)
    document = copy.deepcopy(RuleSetVersion.objects.get(key="books").document)
    document["version"] = "2027.1"
    draft = ruleset_draft_save(staff=staff, document=document)
    assert draft.status == RuleSetStatus.DRAFT
    assert ruleset_active(category="books").version == "2026.1"
    ruleset_publish(staff=staff, version_id=draft.pk)
    assert ruleset_active(category="books").version == "2027.1"


def test_an_invalid_draft_is_refused_with_its_problems():
    broken = copy.deepcopy(RuleSetVersion.objects.get(key="books").document)
    broken["version"] = "9"
    del broken["grades"]
    with pytest.raises(ValidationFailed) as exc:
        ruleset_draft_save(staff=UserFactory(is_staff=True), document=broken)
    assert any("grades" in problem for problem in exc.value.details["problems"])


def test_sellers_self_assess_books_and_then_can_publish():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    assert queue_it(listing) == {"grade_missing"}
    listing.refresh_from_db()
    # Only the seller's own self-assessment is missing: nobody else has to act, so the
    # book does not wait "for appraisal" (issue 17).
    assert listing.status == ListingStatus.DRAFT
    assert not listing.status_history.filter(to_status=ListingStatus.PENDING_APPRAISAL).exists()
    appraisal = self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    assert (appraisal.kind, appraisal.grade, appraisal.rule_set_hash) == (
        "self",
        "fine",
        RuleSetVersion.objects.get(key="books").content_hash,
    )
    assert appraisal_digest_valid(appraisal)
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED
    assert not AppraisalRequest.objects.exists()  # books do not go to the appraisers' queue


def test_bad_answers_are_refused_with_every_problem_and_nothing_saved():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    with pytest.raises(ValidationFailed) as exc:
        self_assessment_submit(actor=seller, listing_id=listing.pk, answers={**BOOK, "condition": "mint", "x": 1})
    assert set(exc.value.details["answers"]) == {"condition", "x"}
    assert not Appraisal.objects.exists()


def test_a_book_with_missing_pages_is_graded_not_sellable_and_cannot_publish():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers={**BOOK, "missing_pages": True})
    assert queue_it(listing) == {"not_sellable"}


def test_phones_cannot_be_self_assessed_and_go_to_the_queue():
    listing = phone_listing()
    with pytest.raises(PermissionDenied):
        self_assessment_submit(actor=listing.seller_user, listing_id=listing.pk, answers=GOOD_PHONE)
    assert queue_it(listing) == {"grade_missing"}
    assert AppraisalRequest.objects.filter(listing=listing, status="open").count() == 1
    queue_it(listing)  # asking again does not queue twice
    assert AppraisalRequest.objects.filter(listing=listing).count() == 1


def test_a_certified_appraiser_claims_grades_and_signs_and_the_seller_can_publish():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    assert [r.listing_id for r in appraisal_queue(appraiser=appraiser)] == [listing.pk]
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    assert appraisal_queue(appraiser=appraiser) == []
    with pytest.raises(Conflict):
        appraisal_claim(appraiser=make_appraiser(), listing_id=listing.pk)
    appraisal = appraisal_submit(
        appraiser=appraiser, listing_id=listing.pk, answers={**GOOD_PHONE, "battery_health": 84}
    )
    assert (appraisal.kind, appraisal.grade, appraisal.credential.user) == ("certified", "B", appraiser)
    assert appraisal.organisation == appraisal.credential.organisation
    assert appraisal_digest_valid(appraisal)
    assert AppraisalRequest.objects.get(listing=listing).status == "completed"
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_a_phone_with_frp_on_is_signed_not_sellable():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    appraisal = appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers={**GOOD_PHONE, "frp_on": True})
    assert (appraisal.sellable, appraisal.grade) == (False, "")
    assert queue_it(listing) == {"not_sellable"}


def test_appraisers_need_2fa_and_a_verified_unexpired_credential_for_the_category():
    listing = phone_listing()
    queue_it(listing)
    with pytest.raises(MFARequired):
        appraisal_claim(appraiser=make_appraiser(with_totp=False), listing_id=listing.pk)
    for appraiser in (
        make_appraiser(verified=False),
        make_appraiser(categories=("vehicles",)),
        make_appraiser(valid_to=timezone.localdate() - dt.timedelta(days=1)),
    ):
        with pytest.raises(PermissionDenied) as exc:
            appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
        assert exc.value.code == "credential_required"
    assert AppraisalRequest.objects.get(listing=listing).status == "open"


def test_an_appraiser_cannot_grade_what_they_or_their_organisation_sell():
    own = make_appraiser()
    listing = phone_listing(seller=own)
    queue_it(listing)
    with pytest.raises(PermissionDenied) as exc:
        appraisal_claim(appraiser=own, listing_id=listing.pk)
    assert exc.value.code == "conflict_of_interest"

    shop = OrganisationFactory(kind=OrganisationKind.CONSIGNMENT_SHOP, verified_at=timezone.now())
    shop_appraiser = make_appraiser(institution=shop)
    owner = MembershipFactory(organisation=shop, role=Role.OWNER).user
    consignor = UserFactory()
    accepted_agreement(shop=shop, staff=owner, consignor=consignor)
    consigned = listing_create(
        actor=owner,
        category="electronics",
        data={**COMMON, "title": "寄卖 iPhone", "price": 300000},
        attributes={**ATTRIBUTES["electronics"], "imei": "490154203237518", "serial_number": "SHOP1"},
        seller_organisation=shop,
        consignor=consignor,
    )
    add_photos(consigned)
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=owner, listing_id=consigned.pk)
    assert consigned.pk not in [r.listing_id for r in appraisal_queue(appraiser=shop_appraiser)]
    with pytest.raises(PermissionDenied):
        appraisal_claim(appraiser=shop_appraiser, listing_id=consigned.pk)


def test_grading_without_a_claim_is_refused():
    listing = phone_listing()
    queue_it(listing)
    with pytest.raises(PermissionDenied):
        appraisal_submit(appraiser=make_appraiser(), listing_id=listing.pk, answers=GOOD_PHONE)


def test_a_reappraisal_supersedes_and_the_old_record_never_changes():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    first = self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    second = self_assessment_submit(actor=seller, listing_id=listing.pk, answers={**BOOK, "condition": "good"})
    first.refresh_from_db()
    assert first.superseded_by == second and not first.is_current and second.is_current
    assert first.grade == "fine" and appraisal_digest_valid(first)
    first.grade = "as_new"
    with pytest.raises(ImmutableError):
        first.save()


def test_grades_under_an_older_version_stay_valid_only_while_marked_acceptable():
    staff, seller = UserFactory(is_staff=True), UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    document = copy.deepcopy(RuleSetVersion.objects.get(key="books").document)
    document["version"] = "2027.1"
    ruleset_publish(staff=staff, version_id=ruleset_draft_save(staff=staff, document=document).pk)
    RuleSetVersion.objects.filter(key="books", version="2026.1").update(acceptable=False)
    assert queue_it(listing) == {"grade_outdated"}
    RuleSetVersion.objects.filter(key="books", version="2026.1").update(acceptable=True)
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_valuation_band_from_reference_price_and_from_comparable_sales():
    seller = UserFactory()
    listing = make_listing(seller=seller, category="vehicles", price=9_500_000)
    listing_update(actor=seller, listing_id=listing.pk, data={"reference_new_price": 15_000_000})
    listing.refresh_from_db()
    band = listing_valuation(listing=listing)
    assert band is not None and band.method == "years_used"
    assert band.low < band.fair < band.high

    book = make_listing(seller=seller, price=5000)
    assert listing_valuation(listing=book) is None  # nothing to go on yet
    for price in (3000, 3500, 4000, 4200, 9000):
        sold = make_listing(seller=UserFactory(), price=price)
        for status in ("ready", "published", "reserved", "sold"):
            listing_transition(listing=sold, to_status=status, actor=None)
    band = listing_valuation(listing=book)
    assert (band.method, band.fair, band.comparables_used) == ("comparables", 4000, 5)
    assert band.position_of(book.price) == "above"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_appraisers_racing_for_one_item_exactly_one_wins():
    listing = phone_listing()
    queue_it(listing)
    appraisers = [make_appraiser() for _ in range(6)]
    barrier = threading.Barrier(len(appraisers))
    outcomes: list[str] = []

    def claim(appraiser):
        try:
            barrier.wait()
            appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(a,)) for a in appraisers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    request = AppraisalRequest.objects.get(listing=listing)
    assert request.status == "claimed" and request.claimed_by in appraisers


def test_an_asking_price_above_the_band_is_flagged_to_moderators_once(django_capture_on_commit_callbacks):
    moderator, seller = UserFactory(is_staff=True), UserFactory()
    for price in (3000, 3500, 4000, 4200, 4100):
        sold = make_listing(seller=UserFactory(), price=price)
        for status in ("ready", "published", "reserved", "sold"):
            listing_transition(listing=sold, to_status=status, actor=None)
    listing = make_listing(seller=seller, price=9900)
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    with django_capture_on_commit_callbacks(execute=True):
        listing_publish(actor=seller, listing_id=listing.pk)
    flag = PriceFlag.objects.get(listing=listing)
    assert (flag.position, flag.price, flag.band_low, flag.band_high) == ("above", 9900, 3400, 4600)
    assert Notification.objects.filter(user=moderator, kind="price_flag").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        price_check(listing_id=listing.pk)
    assert PriceFlag.objects.count() == 1
