"""Credit: events from the order flow, ratings (sealed, raised never lowered), rings,
adjustments and appeals, recomputation (incremental = nightly), policy effects."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from marketplace.credit import scoring
from marketplace.credit.models import (
    AppealStatus,
    AppendOnlyError,
    CreditEvent,
    CreditScore,
    CreditScoreHistory,
    Rating,
    RatingRing,
    TierEffect,
)
from marketplace.credit.selectors import (
    credit_breakdown,
    order_ratings,
    prior_tier,
    public_credit,
    seller_tiers_for_users,
)
from marketplace.credit.services import (
    credit_adjust,
    credit_appeal_decide,
    credit_appeal_submit,
    credit_event_record,
    credit_event_reverse,
    credit_recompute,
    credit_recompute_all,
    rating_submit,
    ratings_reveal_due,
)
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Notification, OrderStatus
from marketplace.services.orders import order_handover_confirm, order_place
from marketplace.signals import listings_changed
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


def complete(seller, buyer, *, price=4500, title="红楼梦 全四册"):
    listing = published_listing(seller=seller, price=price, title=title)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order = order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    assert order.status == OrderStatus.COMPLETED
    return order


def rate(user, order, stars=5, **subs):
    values = {"communication": stars, "speed": stars, **subs}
    if order.buyer_id == user.pk:
        values.setdefault("as_described", stars)
    return rating_submit(user=user, order_id=order.pk, stars=stars, **values)


@pytest.fixture
def seller():
    return UserFactory(display_name="卖家老李")


@pytest.fixture
def buyer():
    return UserFactory(display_name="买家小张")


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


# --- Events -------------------------------------------------------------------------------


def test_a_completed_order_records_an_event_for_each_party_and_scores_them(seller, buyer):
    order = complete(seller, buyer)
    events = CreditEvent.objects.filter(source_id=str(order.pk), kind="order_completed")
    assert {(e.subject_id, e.role) for e in events} == {(seller.pk, "seller"), (buyer.pk, "buyer")}
    assert all(e.value_minor == order.amount for e in events)
    newcomer = scoring.score([], now=timezone.now()).value
    assert CreditScore.objects.get(user=seller, role="seller").score > newcomer
    assert CreditScore.objects.get(user=buyer, role="buyer").score > newcomer
    assert CreditScoreHistory.objects.filter(user=seller, role="seller").exists()


def test_the_same_signal_twice_records_one_event(seller, buyer):
    from marketplace.credit.services import credit_order_completed

    order = complete(seller, buyer)
    credit_order_completed(order_id=order.pk)
    assert CreditEvent.objects.filter(source_id=str(order.pk), kind="order_completed").count() == 2


def test_credit_events_are_append_only(seller):
    event = credit_event_record(subject_id=seller.pk, role="seller", kind="stall_no_show", negative=1.0)
    event.reason = "edited"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_a_buyer_cancelling_a_cash_reservation_is_at_fault(seller, buyer):
    from marketplace.services.orders import order_cancel

    listing = published_listing(seller=seller)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_cancel(actor=buyer, order_id=order.pk, reason="changed my mind")
    order.refresh_from_db()
    if order.at_fault == "buyer":
        assert CreditEvent.objects.filter(subject=buyer, role="buyer", kind="cancellation_at_fault").exists()


def test_invalid_events_are_refused_with_a_clear_error(seller):
    with pytest.raises(ValidationFailed):
        credit_event_record(subject_id=seller.pk, role="wizard", kind="rating")
    with pytest.raises(ValidationFailed):
        credit_event_record(subject_id=seller.pk, role="seller", kind="rating", positive=2.0)
    assert not CreditEvent.objects.exists()


# --- Done when: one upheld dispute ranks a seller below an otherwise identical one ---------------


def test_fifty_small_orders_and_one_upheld_dispute_rank_below_fifty_clean_ones():
    now = timezone.now()
    clean, disputed = UserFactory(), UserFactory()
    for seller in (clean, disputed):
        for i in range(50):
            credit_event_record(
                subject_id=seller.pk,
                role="seller",
                kind="order_completed",
                positive=1.0,
                value_minor=3000,
                counterparty_id=None,
                occurred_at=now - dt.timedelta(days=i * 3),
                dedupe_key=f"t:{seller.pk}:{i}",
            )
    credit_event_record(
        subject_id=disputed.pk,
        role="seller",
        kind="dispute_upheld",
        negative=1.0,
        value_minor=3000,
        occurred_at=now - dt.timedelta(days=20),
    )
    a = CreditScore.objects.get(user=clean, role="seller").score
    b = CreditScore.objects.get(user=disputed, role="seller").score
    assert b < a
    top = credit_breakdown(user=disputed, role="seller").top[0]
    assert top.event.kind == "dispute_upheld" and top.impact < 0


# --- Ratings --------------------------------------------------------------------------------------


def test_a_rating_is_sealed_until_both_parties_rated(seller, buyer):
    order = complete(seller, buyer)
    rate(buyer, order, 5)
    seen_by_seller = order_ratings(order=order, party="seller")
    assert seen_by_seller.theirs is None and seen_by_seller.theirs_sealed
    assert not CreditEvent.objects.filter(kind="rating").exists()  # nothing counts while sealed
    assert Notification.objects.filter(user=seller, kind="rating_received").exists()

    rate(seller, order, 4)
    seen_by_seller = order_ratings(order=order, party="seller")
    assert seen_by_seller.theirs is not None and seen_by_seller.theirs.stars == 5
    assert order_ratings(order=order, party="buyer").theirs.stars == 4
    assert CreditEvent.objects.filter(kind="rating", subject=seller, role="seller", counterparty=buyer).count() == 1
    assert CreditEvent.objects.filter(kind="rating", subject=buyer, role="buyer", counterparty=seller).count() == 1


def test_a_rating_can_be_raised_but_never_lowered(seller, buyer):
    order = complete(seller, buyer)
    rate(buyer, order, 3)
    rate(seller, order, 5)
    before = CreditScore.objects.get(user=seller, role="seller").score
    with pytest.raises(ValidationFailed) as error:
        rate(buyer, order, 2)
    assert error.value.code == "rating_lowered"
    assert "never lowered" in error.value.message
    assert Rating.objects.get(order=order, rater_role="buyer").stars == 3

    rate(buyer, order, 5)
    assert Rating.objects.get(order=order, rater_role="buyer").stars == 5
    # The old rating event is reversed, not edited, and the new one counts.
    assert CreditEvent.objects.filter(kind="rating", subject=seller, reverses__isnull=False).count() == 1
    assert CreditScore.objects.get(user=seller, role="seller").score > before


def test_only_the_parties_rate_once_the_order_is_completed_and_within_14_days(seller, buyer):
    stranger = UserFactory()
    order = complete(seller, buyer)
    with pytest.raises(NotFound):
        rate(stranger, order)
    listing = published_listing(seller=seller, title="Another book")
    open_order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    with pytest.raises(Conflict):
        rate(buyer, open_order)
    with pytest.raises(ValidationFailed):
        rating_submit(user=buyer, order_id=order.pk, stars=6, as_described=5, communication=5, speed=5)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)), pytest.raises(Conflict) as error:
        rate(buyer, order)
    assert error.value.code == "rating_window_closed"
    assert not Rating.objects.exists()


def test_a_single_rating_becomes_visible_when_the_window_closes(seller, buyer):
    order = complete(seller, buyer)
    rate(buyer, order, 5)
    assert ratings_reveal_due() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=14, hours=1)):
        assert ratings_reveal_due() == 1
        assert order_ratings(order=order, party="seller").theirs.stars == 5
    assert CreditEvent.objects.filter(kind="rating", subject=seller).count() == 1


# --- Done when: a ring of five does not lift their tier ---------------------------------------------


def test_a_ring_of_five_rating_each_other_is_flagged_and_does_not_lift_their_tier(staff):
    members = [UserFactory() for _ in range(5)]
    newcomer_tier = prior_tier("seller").key  # the prior, below the tiers that need completed orders
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            for seller, buyer in ((a, b), (b, a)):
                order = complete(seller, buyer, price=20000, title=f"Ring {seller.pk}-{buyer.pk}")
                rate(buyer, order, 5)
                rate(seller, order, 5)
    ring = RatingRing.objects.get(key=",".join(str(m.pk) for m in sorted(members, key=lambda u: u.pk)))
    assert ring.status == "open"
    assert Notification.objects.filter(user=staff, kind="credit_ring").exists()
    tiers = seller_tiers_for_users([m.pk for m in members])
    assert set(tiers.values()) == {newcomer_tier}


# --- Recomputation ---------------------------------------------------------------------------------


def test_the_nightly_full_recompute_gives_the_incremental_scores(seller, buyer):
    frozen = timezone.now().replace(microsecond=0)
    with time_machine.travel(frozen, tick=False):
        order = complete(seller, buyer)
        rate(buyer, order, 4)
        rate(seller, order, 2)
        other = UserFactory()
        complete(seller, other, title="Second")
        credit_event_record(subject_id=seller.pk, role="seller", kind="late_shipment", negative=1.0)
        incremental = {(s.user_id, s.role): (s.score, s.tier) for s in CreditScore.objects.all()}
        CreditScore.objects.all().delete()
        report = credit_recompute_all(now=frozen)
    full = {(s.user_id, s.role): (s.score, s.tier) for s in CreditScore.objects.all()}
    assert full == incremental
    assert report.subjects == len(incremental)


def test_a_seller_tier_change_reindexes_their_listings_in_one_batch(seller):
    from search.query import SearchQuery
    from search.services import search_listings

    listings = [published_listing(seller=seller, title=f"旧书 第{i}册") for i in range(3)]
    batches = []

    def handler(sender, listing_ids, **kwargs):
        batches.append(sorted(listing_ids))

    listings_changed.connect(handler, weak=False, dispatch_uid="test-credit-tier")
    try:
        for i in range(3):
            credit_event_record(
                subject_id=seller.pk, role="seller", kind="moderator_sanction", negative=1.0, weight=5.0, reason=str(i)
            )
    finally:
        listings_changed.disconnect(dispatch_uid="test-credit-tier")
    assert seller_tiers_for_users([seller.pk])[seller.pk] == "restricted"
    assert sorted(listing.pk for listing in listings) in batches  # one signal for all of them
    # Search re-indexed them with the new tier.
    hits = search_listings(query=SearchQuery(seller_tiers=("restricted",))).result.hits
    assert {hit.listing_id for hit in hits} == {listing.pk for listing in listings}


# --- Moderators -------------------------------------------------------------------------------------


def test_an_adjustment_needs_a_reason_is_audited_and_reversible(seller, staff):
    with pytest.raises(ValidationFailed):
        credit_adjust(moderator=staff, user_id=seller.pk, role="seller", direction="down", size=3, reason=" ")
    with pytest.raises(PermissionDenied):
        credit_adjust(moderator=seller, user_id=seller.pk, role="seller", direction="up", size=3, reason="me")
    before = credit_recompute(user_id=seller.pk, role="seller").score
    event = credit_adjust(
        moderator=staff, user_id=seller.pk, role="seller", direction="down", size=3, reason="spam listings"
    )
    assert event.actor == staff and event.reason == "spam listings"
    lowered = CreditScore.objects.get(user=seller, role="seller").score
    assert lowered < before
    assert Notification.objects.filter(user=seller, kind="credit_adjusted").exists()
    assert any(e.reason == "spam listings" for e in credit_breakdown(user=seller, role="seller").moderator_events)

    credit_event_reverse(moderator=staff, event_id=event.pk, reason="mistake")
    assert CreditScore.objects.get(user=seller, role="seller").score == before
    assert CreditEvent.objects.filter(pk=event.pk).exists()  # still on record
    with pytest.raises(Conflict):
        credit_event_reverse(moderator=staff, event_id=event.pk, reason="again")


def test_an_upheld_appeal_reverses_the_event_and_tells_the_user(seller, staff):
    event = credit_event_record(subject_id=seller.pk, role="seller", kind="stall_no_show", negative=1.0)
    with pytest.raises(NotFound):
        credit_appeal_submit(user=UserFactory(), role="seller", text="not mine", event_id=event.pk)
    appeal = credit_appeal_submit(user=seller, role="seller", text="I was there, see photo", event_id=event.pk)
    assert Notification.objects.filter(user=staff, kind="credit_appeal").exists()
    with pytest.raises(Conflict):
        credit_appeal_submit(user=seller, role="seller", text="again", event_id=event.pk)
    with pytest.raises(PermissionDenied):
        credit_appeal_decide(moderator=seller, appeal_id=appeal.pk, uphold=True, note="me")
    credit_appeal_decide(moderator=staff, appeal_id=appeal.pk, uphold=True, note="organiser confirmed attendance")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD
    assert CreditEvent.objects.filter(reverses=event).exists()
    assert Notification.objects.filter(user=seller, kind="credit_appeal_decided").exists()


# --- Policy effects ----------------------------------------------------------------------------------


def sanction(user, role="seller", times=3):
    staff = UserFactory(is_staff=True)
    for _ in range(times):
        credit_adjust(
            moderator=staff, user_id=user.pk, role=role, direction="down", size=5, reason="fraud", sanction=True
        )


def test_a_low_tier_seller_needs_a_certified_appraisal_and_has_a_listing_cap(seller, settings, core_gates):
    from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish
    from tests.listings import ATTRIBUTES, COMMON, add_photos

    settings.MARKETPLACE_PUBLICATION_GATES = [
        *settings.MARKETPLACE_PUBLICATION_GATES,
        "marketplace.credit.gates.CreditTierGate",
    ]
    for i in range(3):
        published_listing(seller=seller, title=f"Book {i}")
    sanction(seller)
    assert seller_tiers_for_users([seller.pk])[seller.pk] == "restricted"
    listing = listing_create(
        actor=seller,
        category="books",
        data={**COMMON, "title": "Fourth", "price": 4500, "delivery_ship": True, "delivery_pickup": True},
        attributes=dict(ATTRIBUTES["books"]),
    )
    add_photos(listing, 1)
    with pytest.raises(PublicationBlocked) as blocked:
        listing_publish(actor=seller, listing_id=listing.pk)
    codes = {r.code for r in blocked.value.reasons}
    assert codes == {"credit_certified_required", "credit_listing_cap"}
    assert any("certified appraisal" in r.message for r in blocked.value.reasons)


def test_a_low_tier_buyer_cannot_reserve_for_cash_on_pickup(seller, buyer):
    sanction(buyer, role="buyer")
    listing = published_listing(seller=seller)
    with pytest.raises(PermissionDenied) as error:
        order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    assert error.value.code == "credit_no_cash"
    assert "cash" in error.value.message
    TierEffect.objects.filter(effect="no_cash_on_pickup").update(active=False)
    order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")


def test_the_public_profile_shows_tiers_counts_and_badges_only(seller, buyer):
    order = complete(seller, buyer)
    rate(buyer, order, 5)
    rate(seller, order, 5)
    credit = public_credit(user=seller)
    assert credit.completed_sales == 1 and credit.ratings_received == 1 and credit.positive_ratings == 1
    assert {r.role for r in credit.roles} >= {"seller", "buyer"}
    assert not hasattr(credit, "events")
