"""Trust in the people behind certificates and grades, and in shops: technicians,
erasure providers and appraisers earn credit from work that stood; their tiers have
effects (staff review, a top-tier badge) staff edit in the policy table; a shop's
listings carry the shop's own credit everywhere."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from grading.models import AppraisalRequest, AppraisalReview
from grading.services import appraisal_claim, appraisal_review, appraisal_submit, current_appraisals
from marketplace.credit.badges import seller_tier_badges
from marketplace.credit.effects import badge_for, requires_review
from marketplace.credit.models import CreditEvent, CreditScore, TierEffect
from marketplace.credit.policy import policy_parameters
from marketplace.credit.services import credit_adjust, credit_event_record, prior_score
from marketplace.credit.settlement import credit_work_settle
from marketplace.errors import ValidationFailed
from marketplace.models import ListingStatus, Notification, OrganisationKind, Role
from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish
from marketplace.services.orders import (
    DisputeOutcome,
    dispute_open,
    dispute_resolve,
    order_handover_confirm,
    order_place,
)
from marketplace.services.payments import payment_authorise
from marketplace.signals import erasure_certificate_revoked, listings_changed
from search.documents import build_documents
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration.test_erasure import fresh_log, make_technician
from tests.integration.test_grading import make_appraiser, queue_it
from tests.listings import ATTRIBUTES, COMMON, add_photos, make_listing
from tests.search_support import unique_imei
from tests.support.localstripe import card_token
from tests.unit.test_grading_rules import GOOD_PHONE
from wipe_cert.models import CertificateStatus, ErasureCertificate
from wipe_cert.services import certificate_import, certificate_review, certificate_sign, provider_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]

GRADE_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]
SETTLE_DAYS = 30


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, with_totp=True)


@pytest.fixture
def provider():
    organisation = OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER, verified_at=timezone.now())
    organisation.owner = MembershipFactory(organisation=organisation, role=Role.OWNER).user
    return organisation


def score_of(user, role) -> CreditScore:
    return CreditScore.objects.get(user=user, role=role)


def events(user, role=None, kind=None):
    found = CreditEvent.objects.filter(subject=user)
    if role:
        found = found.filter(role=role)
    if kind:
        found = found.filter(kind=kind)
    return found


def accepted_certificate(technician, provider, *, days_ago: float, revoked: bool = False) -> ErasureCertificate:
    """A certificate as wipe_cert leaves it once accepted (and possibly revoked)."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    return ErasureCertificate.objects.create(
        provider=provider,
        technician=technician,
        status=CertificateStatus.REVOKED if revoked else CertificateStatus.ACCEPTED,
        payload={},
        provider_signature="provider-signature",
        signed_at=at,
        countersignature="platform-countersignature",
        accepted_at=at,
        revoked_at=timezone.now() if revoked else None,
    )


def revoke(certificate: ErasureCertificate) -> None:
    """What wipe_cert announces after a certificate is revoked for a fault."""
    erasure_certificate_revoked.send(
        sender=ErasureCertificate,
        certificate_id=str(certificate.pk),
        provider_id=certificate.provider_id,
        technician_id=certificate.technician_id,
    )


def restrict(user, role, kind):
    credit_event_record(subject_id=user.pk, role=role, kind=kind, negative=1.0, dedupe_key=f"test:{user.pk}:{role}")
    assert score_of(user, role).tier == "restricted"


def raise_to_excellent(user, role):
    # Sellers and shops reach the top tier only with enough completed orders (policy table).
    needed = TierEffect.objects.filter(role=role, tier="excellent", effect="min_completed_orders", active=True)
    for n in range(needed.values_list("limit", flat=True).first() or 0):
        credit_event_record(subject_id=user.pk, role=role, kind="order_completed", positive=1.0, reason=f"order {n}")
    credit_adjust(
        moderator=UserFactory(is_staff=True), user_id=user.pk, role=role, direction="up", size=20, reason="test"
    )
    assert score_of(user, role).tier == "excellent"


# --- Work that stood ------------------------------------------------------------------------


def test_certificates_that_stood_credit_the_technician_and_the_provider_once(provider):
    technician = UserFactory()
    stood = [accepted_certificate(technician, provider, days_ago=40 + i) for i in range(3)]
    recent = accepted_certificate(technician, provider, days_ago=10)
    accepted_certificate(technician, provider, days_ago=50, revoked=True)

    report = credit_work_settle()

    assert report.certificates == 3
    mine = events(technician, "technician", "certificate_stood")
    assert sorted(e.occurred_at for e in mine) == sorted(c.accepted_at + dt.timedelta(days=SETTLE_DAYS) for c in stood)
    assert events(provider.owner, "erasure_provider", "certificate_stood").count() == 3
    assert score_of(technician, "technician").score > prior_score()
    assert score_of(provider.owner, "erasure_provider").score > prior_score()

    again = credit_work_settle()  # idempotent: a repeated run records nothing
    assert (again.events, mine.count()) == (0, 3)

    later = credit_work_settle(now=timezone.now() + dt.timedelta(days=21))
    assert later.certificates == 1
    assert events(technician, "technician", "certificate_stood").filter(source_id=str(recent.pk)).exists()


def test_forty_clean_certificates_absorb_one_revocation_one_certificate_does_not(provider):
    veteran, novice = UserFactory(), UserFactory()
    veteran_work = [accepted_certificate(veteran, provider, days_ago=40 + 8 * i) for i in range(40)]
    novice_work = [accepted_certificate(novice, provider, days_ago=40)]
    credit_work_settle()
    before = {user: score_of(user, "technician").score for user in (veteran, novice)}

    for certificate in (veteran_work[0], novice_work[0]):
        ErasureCertificate.objects.filter(pk=certificate.pk).update(
            status=CertificateStatus.REVOKED, revoked_at=timezone.now()
        )
        revoke(certificate)

    after = {user: score_of(user, "technician") for user in (veteran, novice)}
    assert after[veteran].tier not in ("restricted", "watch")
    assert after[novice].tier == "restricted"
    assert before[veteran] - after[veteran].score < (before[novice] - after[novice].score) / 2
    # The revocation counts against the technician and the provider, never in role "erasure_provider"
    # of the technician as before.
    assert set(events(veteran).values_list("role", flat=True)) == {"technician"}
    assert events(provider.owner, "erasure_provider", "certificate_revoked").count() == 2


def test_a_revoked_certificate_withdraws_the_credit_it_had_earned(provider):
    technician = UserFactory()
    certificate = accepted_certificate(technician, provider, days_ago=45)
    credit_work_settle()
    credited = score_of(technician, "technician").score
    assert credited > prior_score()

    ErasureCertificate.objects.filter(pk=certificate.pk).update(
        status=CertificateStatus.REVOKED, revoked_at=timezone.now()
    )
    revoke(certificate)
    revoke(certificate)  # a signal delivered twice changes nothing more

    stood = events(technician, "technician", "certificate_stood").get(reverses__isnull=True)
    assert CreditEvent.objects.filter(reverses=stood).count() == 1
    # The record is as if the certificate had never counted: the same as a technician's
    # whose only record is a revocation.
    other = UserFactory()
    credit_event_record(subject_id=other.pk, role="technician", kind="certificate_revoked", negative=1.0)
    assert score_of(technician, "technician").score == score_of(other, "technician").score < credited
    assert credit_work_settle().events == 0


def phone(seller=None):
    listing = make_listing(
        seller=seller or UserFactory(),
        category="electronics",
        imei=unique_imei(),
        serial_number=f"SN{uuid.uuid4().hex[:10].upper()}",
    )
    add_photos(listing)
    return listing


def certified_sale(seller, appraiser, localstripe_url):
    """A phone graded by `appraiser`, sold by card and handed over."""
    listing = phone(seller)
    queue_it(listing)
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    appraisal = appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers=GOOD_PHONE)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    return appraisal, buyer, order


def open_not_as_graded(buyer, order):
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(photo, format="JPEG")
    return dispute_open(
        buyer=buyer,
        order_id=order.pk,
        kind="not_as_graded",
        description="电池健康只有 70%，不是 A 级。",
        files=[(io.BytesIO(photo.getvalue()), len(photo.getvalue()), "battery.jpg")],
    )


def test_appraisals_that_stood_credit_the_appraiser_an_overturned_one_does_not(
    settings, stripe_settings, localstripe_url
):
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES
    appraiser = make_appraiser()
    kept, _buyer, _order = certified_sale(UserFactory(), appraiser, localstripe_url)
    disputed, buyer, order = certified_sale(UserFactory(), appraiser, localstripe_url)
    dispute = open_not_as_graded(buyer, order)
    due = timezone.now() + dt.timedelta(days=SETTLE_DAYS + 1)

    credit_work_settle(now=due)  # the open dispute holds the credit back
    assert list(events(appraiser, "appraiser", "appraisal_stood").values_list("source_id", flat=True)) == [str(kept.pk)]

    dispute_resolve(
        moderator=UserFactory(is_staff=True), dispute_id=dispute.pk, outcome=DisputeOutcome.REFUND_FULL, note="70 %"
    )
    assert credit_work_settle(now=due).events == 0
    assert events(appraiser, "appraiser", "appraisal_overturned").count() == 1
    assert not events(appraiser, "appraiser", "appraisal_stood").filter(source_id=str(disputed.pk)).exists()


def test_an_appraisal_overturned_after_it_stood_loses_its_credit(settings, stripe_settings, localstripe_url):
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES
    appraiser = make_appraiser()
    appraisal, buyer, order = certified_sale(UserFactory(), appraiser, localstripe_url)
    credit_work_settle(now=timezone.now() + dt.timedelta(days=SETTLE_DAYS + 1))
    stood = events(appraiser, "appraiser", "appraisal_stood").get()
    assert stood.source_id == str(appraisal.pk)

    dispute = open_not_as_graded(buyer, order)
    dispute_resolve(
        moderator=UserFactory(is_staff=True), dispute_id=dispute.pk, outcome=DisputeOutcome.REFUND_FULL, note="70 %"
    )

    assert CreditEvent.objects.filter(reverses=stood).exists()


# --- Staff review for restricted technicians and appraisers ------------------------------------


def test_a_restricted_technicians_certificate_waits_for_staff_review(provider, staff):
    provider_key_create(actor=provider.owner, provider_id=provider.pk)
    technician = make_technician(provider)
    assert not requires_review(technician.pk, "technician")
    restrict(technician, "technician", "certificate_revoked")
    assert requires_review(technician.pk, "technician")

    certificate = sign_laptop_certificate(provider, technician, serial="PF2REVIEW1")

    assert certificate.status == CertificateStatus.PENDING_REVIEW
    assert certificate.acceptance["outcome"] == "review"
    assert "technician_credit_review" in {r["code"] for r in certificate.acceptance["reasons"]}
    assert Notification.objects.filter(user=staff, kind="certificate_review").exists()
    certificate = certificate_review(staff=staff, certificate_id=certificate.pk, approve=True, note="checked the log")
    assert certificate.status == CertificateStatus.ACCEPTED

    # Staff edit the policy table: without the row, the same technician's work counts at once.
    TierEffect.objects.filter(role="technician", effect="staff_review").update(active=False)
    assert not requires_review(technician.pk, "technician")
    assert sign_laptop_certificate(provider, technician, serial="PF2REVIEW2").status == CertificateStatus.ACCEPTED


def sign_laptop_certificate(provider, technician, *, serial):
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": serial},
    )
    return certificate_sign(technician=technician, certificate_id=certificate.pk)


def held_grade(settings):
    """A phone queued for appraisal, graded by a restricted appraiser."""
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES
    listing = phone()
    assert "grade_missing" in queue_it(listing)
    appraiser = make_appraiser()
    restrict(appraiser, "appraiser", "appraisal_overturned")
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    appraisal = appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers=GOOD_PHONE)
    return listing, appraiser, appraisal


def active_requests(listing):
    return AppraisalRequest.objects.filter(listing=listing, status__in=["open", "claimed"]).count()


def test_a_restricted_appraisers_grade_counts_only_once_staff_approve_it(settings, staff):
    listing, _appraiser, appraisal = held_grade(settings)

    assert appraisal.review_status == AppraisalReview.PENDING
    assert current_appraisals([listing.pk]) == {}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_APPRAISAL
    assert Notification.objects.filter(user=staff, kind="appraisal_review").exists()
    assert Notification.objects.filter(user=listing.seller_user, kind="appraisal_review").exists()
    # Publishing waits for the staff decision instead of queueing the item again.
    assert queue_it(listing) == {"grade_in_review"}
    assert active_requests(listing) == 0
    manage = Client()
    manage.force_login(listing.seller_user)
    assert "data-grade-in-review" in manage.get(f"/my/listings/{listing.pk}/").content.decode()
    # The grade does not count yet, so it earns nothing however long it waits.
    assert credit_work_settle(now=timezone.now() + dt.timedelta(days=SETTLE_DAYS + 1)).appraisals == 0

    with pytest.raises(ValidationFailed):
        appraisal_review(staff=staff, appraisal_id=appraisal.pk, approve=True, note=" ")
    appraisal_review(staff=staff, appraisal_id=appraisal.pk, approve=True, note="Photos match the answers.")

    assert current_appraisals([listing.pk])[listing.pk].pk == appraisal.pk
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert credit_work_settle(now=timezone.now() + dt.timedelta(days=SETTLE_DAYS + 1)).appraisals == 1


def test_a_rejected_grade_never_counts_and_the_item_goes_back_to_the_queue(settings, staff):
    listing, appraiser, appraisal = held_grade(settings)

    appraisal_review(staff=staff, appraisal_id=appraisal.pk, approve=False, note="Battery photo is missing.")

    appraisal.refresh_from_db()
    assert appraisal.review_status == AppraisalReview.REJECTED
    assert current_appraisals([listing.pk]) == {}
    assert active_requests(listing) == 1
    assert "Battery photo is missing." in Notification.objects.get(user=appraiser, kind="appraisal_rejected").body
    assert credit_work_settle(now=timezone.now() + dt.timedelta(days=SETTLE_DAYS + 1)).appraisals == 0


def test_staff_decide_held_appraisals_in_the_admin(settings, staff):
    listing, _appraiser, appraisal = held_grade(settings)
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(staff)

    index = admin.get("/cms-admin/appraisal-reviews/")
    assert index.status_code == 200
    assert listing.title in index.content.decode()
    assert admin.get(f"/cms-admin/appraisal-reviews/inspect/{appraisal.pk}/").status_code == 200
    response = admin.post(f"/cms-admin/appraisal-reviews/approve/{appraisal.pk}/", {"note": "Looks right."})
    assert response.status_code == 302
    appraisal.refresh_from_db()
    assert (appraisal.review_status, appraisal.reviewed_by, appraisal.review_note) == (
        AppraisalReview.APPROVED,
        staff,
        "Looks right.",
    )

    stranger = Client()
    stranger.force_login(UserFactory(with_totp=True))
    assert stranger.get("/cms-admin/appraisal-reviews/").status_code != 200
    assert stranger.post(f"/cms-admin/appraisal-reviews/reject/{appraisal.pk}/", {"note": "no"}).status_code != 200
    appraisal.refresh_from_db()
    assert appraisal.review_status == AppraisalReview.APPROVED


# --- Top-tier badges ------------------------------------------------------------------------


def test_a_top_tier_technician_has_a_badge_for_the_verify_page():
    technician, newcomer = UserFactory(), UserFactory()
    raise_to_excellent(technician, "technician")

    fragment = render_to_string("wipe_cert/_technician_badge.html", {"technician_id": technician.pk})
    assert 'data-technician-badge="excellent"' in fragment
    assert "Top-rated technician" in fragment
    assert reverse("credit_profile", args=(technician.pk,)) in fragment
    assert "badge" not in render_to_string("wipe_cert/_technician_badge.html", {"technician_id": newcomer.pk})

    TierEffect.objects.filter(role="technician", effect="badge").update(active=False)
    assert badge_for(technician.pk, "technician") is None


def test_the_grade_panel_shows_a_top_tier_appraisers_badge(settings, client):
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES
    pages = {}
    for excellent in (True, False):
        appraiser = make_appraiser()
        if excellent:
            raise_to_excellent(appraiser, "appraiser")
        listing = phone()
        queue_it(listing)
        appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
        appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers=GOOD_PHONE)
        pages[excellent] = client.get(f"/listings/{listing.pk}/").content.decode()

    assert 'data-appraiser-badge="excellent"' in pages[True]
    assert "Top-rated appraiser" in pages[True]
    assert "data-appraiser-badge" not in pages[False]


def test_the_public_profile_shows_the_badges_of_every_role(client):
    technician = UserFactory()
    raise_to_excellent(technician, "technician")
    page = client.get(reverse("credit_profile", args=(technician.pk,))).content.decode()
    assert 'data-badge="top_technician"' in page
    assert 'data-badge="top_seller"' not in page


def test_the_policy_table_gives_these_roles_effects():
    tiers = {tier["key"]: tier for tier in policy_parameters()["tiers"]}
    restricted = {(e["role"], e["effect"]) for e in tiers["restricted"]["effects"]}
    excellent = {e["role"] for e in tiers["excellent"]["effects"]}
    review = "Certificates and grades go to staff review before they count"
    assert {("Erasure technician", review), ("Appraiser", review)} <= restricted
    assert {"Erasure technician", "Appraiser", "Shop", "Seller"} <= excellent
    assert policy_parameters()["work_settle_days"] == SETTLE_DAYS


# --- Shops carry their own credit -----------------------------------------------------------------


@pytest.fixture
def shop(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "marketplace.credit.gates.CreditTierGate"]
    membership = MembershipFactory(role=Role.OWNER, organisation__verified_at=timezone.now())
    return membership.organisation, membership.user


def shop_listing(organisation, owner, title="论语 线装本"):
    listing = listing_create(
        actor=owner,
        category="books",
        data={**COMMON, "title": title, "price": 3000},
        attributes=dict(ATTRIBUTES["books"]),
        seller_organisation=organisation,
    )
    add_photos(listing)
    return listing


def test_a_shops_listing_carries_the_shops_credit_not_its_owners(shop, client, settings):
    settings.SEARCH_SHOP_TIERS = "marketplace.credit.selectors.shop_tiers_for_organisations"
    organisation, owner = shop
    raise_to_excellent(owner, "shop")
    listing = listing_publish(actor=owner, listing_id=shop_listing(organisation, owner).pk)
    own = make_listing(seller=owner, title="私人藏书")
    add_photos(own)
    own = listing_publish(actor=owner, listing_id=own.pk)

    page = client.get(f"/listings/{listing.pk}/").content.decode()
    assert 'data-credit-tier="excellent"' in page
    assert "shop credit: <strong>Excellent</strong>" in page
    assert reverse("organisation_detail", args=(organisation.pk,)) in page
    assert "seller credit" not in page
    badges = seller_tier_badges([listing, own])
    assert [b.label for b in badges[listing.pk]] == ["Top-rated shop"]
    assert own.pk not in badges  # the owner as a private seller is a newcomer, only "fair"
    documents = build_documents([listing.pk, own.pk])
    assert (documents[listing.pk].seller_tier, documents[own.pk].seller_tier) == ("excellent", "fair")


def test_a_shops_sale_counts_for_the_shop_and_its_tier_change_reindexes_its_listings(shop):
    organisation, owner = shop
    listing = listing_publish(actor=owner, listing_id=shop_listing(organisation, owner).pk)
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=owner, order_id=order.pk, code=order.handshake_code)
    assert list(events(owner, kind="order_completed").values_list("role", flat=True)) == ["shop"]

    other = listing_publish(actor=owner, listing_id=shop_listing(organisation, owner, title="孟子").pk)
    announced = []

    def receiver(sender, listing_ids, **kwargs):
        announced.extend(listing_ids)

    listings_changed.connect(receiver, weak=False, dispatch_uid="test-shop-tier")
    try:
        raise_to_excellent(owner, "shop")
    finally:
        listings_changed.disconnect(dispatch_uid="test-shop-tier")
    assert other.pk in announced


def test_a_restricted_shop_needs_certified_appraisals(shop):
    organisation, owner = shop
    listing = shop_listing(organisation, owner)
    credit_adjust(
        moderator=UserFactory(is_staff=True),
        user_id=owner.pk,
        role="shop",
        direction="down",
        size=20,
        reason="fake reviews",
        sanction=True,
    )
    assert score_of(owner, "shop").tier == "restricted"

    with pytest.raises(PublicationBlocked) as blocked:
        listing_publish(actor=owner, listing_id=listing.pk)
    assert {r.code for r in blocked.value.reasons} == {"credit_certified_required"}
    assert "shop's credit tier" in blocked.value.reasons[0].message
    # The owner's own record as a private seller is untouched by the shop's.
    own = make_listing(seller=owner, title="私人藏书")
    add_photos(own)
    assert listing_publish(actor=owner, listing_id=own.pk).status == ListingStatus.PUBLISHED


def test_the_settlement_runs_from_beat():
    from config.celery import app

    entry = app.conf.beat_schedule["credit-work-settle"]
    assert entry["task"] == "marketplace.credit.tasks.credit_work_settle_task"
    assert entry["task"] in app.tasks


def test_the_settlement_task_reports_what_it_credited(provider):
    from marketplace.credit.tasks import credit_work_settle_task

    accepted_certificate(UserFactory(), provider, days_ago=31)
    assert credit_work_settle_task.apply().get() == {"certificates": 1, "appraisals": 0, "events": 2}
    assert credit_work_settle_task.apply().get() == {"certificates": 0, "appraisals": 0, "events": 0}


def test_the_flea_market_organiser_sees_an_applicants_seller_tier():
    """cms reads it through a dotted path; a missing function used to show "—" for all."""
    from cms.services.flea import applicant_credit_tier
    from marketplace.credit.selectors import prior_tier, tier_label

    with translation.override("en"):
        assert applicant_credit_tier(UserFactory()) == tier_label(prior_tier().key) != "—"
