"""Stall applications at a flea market: applying on the public page, the organiser's
decisions with capacity, the waiting list, offline fees, no-shows for the credit system,
and listings marked "available at this event"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cms.models import ListingAtEvent, StallApplication, StallCapacity
from cms.services import flea
from cms.services.flea import (
    listing_event_mark,
    stall_application_approve,
    stall_application_cancel,
    stall_application_reject,
    stall_application_waitlist,
    stall_apply,
    stall_fee_record_offline,
    stall_no_show_record,
)
from marketplace.credit.selectors import prior_tier, tier_label
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.models import Notification
from marketplace.signals import stall_no_show
from tests.cms import make_market, organiser_org, publish_listing, school_org
from tests.factories import UserFactory
from tests.listings import make_listing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Error messages are checked in English (the site's default language is zh-hans)."""
    with translation.override("en"):
        yield


@pytest.fixture
def market_setup():
    org, organiser = organiser_org()
    market = make_market(org, capacity=2)
    return market, organiser, market.dates.get(), market.stall_types.get(name="Standard stall")


def apply(market_date, stall_type, user=None, **kwargs):
    # English readers: each notification is written in its reader's language.
    user = user or UserFactory(preferred_language="en")
    return stall_apply(user=user, market_date_id=market_date.pk, stall_type_id=stall_type.pk, **kwargs)


def test_a_citizen_applies_on_the_public_page_with_add_ons(client, market_setup):
    market, _, market_date, stall_type = market_setup
    seller = UserFactory()
    client.force_login(seller)
    client.cookies["django_language"] = "en"
    power = market.add_ons.get(name="Power socket")

    response = client.post(
        market.url + "apply/",
        {
            "stall-market_date": market_date.pk,
            "stall-stall_type": stall_type.pk,
            "stall-add_ons": [power.pk],
            "stall-goods": "Children's books",
        },
    )

    assert response.status_code == 302
    application = StallApplication.objects.get(applicant=seller)
    assert (application.status, application.fee, application.goods) == ("pending", 4000, "Children's books")
    page = client.get(market.url).content.decode()
    assert "Your applications" in page and "Waiting for the organiser" in page
    # A second application for the same date is refused.
    again = client.post(market.url + "apply/", {"stall-market_date": market_date.pk, "stall-stall_type": stall_type.pk})
    assert again.status_code == 422
    assert "already applied" in again.content.decode()


def test_applications_close_before_the_market_day(market_setup):
    _market, _, market_date, stall_type = market_setup
    with pytest.raises(ValidationFailed, match="closed"):
        apply(market_date, stall_type, today=market_date.date)


def test_approval_respects_capacity_and_the_rest_wait(market_setup):
    _market, organiser, market_date, stall_type = market_setup
    first, second, third = (apply(market_date, stall_type) for _ in range(3))

    stall_application_approve(organiser=organiser, application_id=first.pk)
    stall_application_approve(organiser=organiser, application_id=second.pk)
    with pytest.raises(Conflict, match="taken") as full:
        stall_application_approve(organiser=organiser, application_id=third.pk)

    assert full.value.code == "stalls_full"
    assert StallApplication.objects.filter(status="approved").count() == 2
    assert StallCapacity.objects.filter(market_date=market_date, stall_type=stall_type).count() == 1
    assert sorted(StallApplication.objects.filter(status="approved").values_list("stall_number", flat=True)) == [1, 2]
    assert Notification.objects.filter(user=first.applicant, subject__contains="approved").exists()


def test_only_the_markets_organisers_decide(market_setup):
    _, _, market_date, stall_type = market_setup
    application = apply(market_date, stall_type)
    _, other_organiser = organiser_org()
    _, coordinator = school_org()
    for user in (other_organiser, coordinator, application.applicant):
        with pytest.raises(PermissionDenied):
            stall_application_approve(organiser=user, application_id=application.pk)


def test_a_cancellation_promotes_the_longest_waiting_applicant(market_setup):
    market, organiser, market_date, stall_type = market_setup
    approved = [apply(market_date, stall_type) for _ in range(2)]
    for application in approved:
        stall_application_approve(organiser=organiser, application_id=application.pk)
    early, late = apply(market_date, stall_type), apply(market_date, stall_type)
    stall_application_waitlist(organiser=organiser, application_id=early.pk)
    stall_application_waitlist(organiser=organiser, application_id=late.pk)

    stall_application_cancel(actor=approved[0].applicant, application_id=approved[0].pk)

    early.refresh_from_db()
    late.refresh_from_db()
    assert early.status == "approved" and early.stall_number == 3
    assert late.status == "waitlisted"
    notice = Notification.objects.get(user=early.applicant, subject__contains="came free")
    assert market.title in notice.subject
    # Cancelling a pending application frees nothing.
    pending = apply(market_date, stall_type)
    stall_application_cancel(actor=pending.applicant, application_id=pending.pk)
    late.refresh_from_db()
    assert late.status == "waitlisted"


def test_someone_else_cannot_cancel_an_application(market_setup):
    _, _, market_date, stall_type = market_setup
    application = apply(market_date, stall_type)
    with pytest.raises(PermissionDenied):
        stall_application_cancel(actor=UserFactory(), application_id=application.pk)


def test_the_organiser_records_the_fee_paid_offline_with_a_reference(market_setup):
    _, organiser, market_date, stall_type = market_setup
    application = apply(market_date, stall_type)
    with pytest.raises(Conflict, match="approved"):
        stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference="R-1")
    stall_application_approve(organiser=organiser, application_id=application.pk)
    with pytest.raises(ValidationFailed):
        stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference="  ")

    paid = stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference="Receipt 0042")

    assert (paid.payment_method, paid.payment_reference, paid.payment_recorded_by) == (
        "offline",
        "Receipt 0042",
        organiser,
    )
    assert paid.is_paid
    with pytest.raises(Conflict, match="already"):
        stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference="again")


def test_a_no_show_is_sent_to_the_credit_system_after_commit(market_setup, django_capture_on_commit_callbacks):
    market, organiser, market_date, stall_type = market_setup
    application = apply(market_date, stall_type)
    stall_application_approve(organiser=organiser, application_id=application.pk)
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    stall_no_show.connect(receiver)
    try:
        with pytest.raises(Conflict, match="on or after"):
            stall_no_show_record(organiser=organiser, application_id=application.pk)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            stall_no_show_record(organiser=organiser, application_id=application.pk, today=market_date.date)
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        stall_no_show.disconnect(receiver)

    assert received == [
        {
            "signal": stall_no_show,
            "user_id": application.applicant_id,
            "event_page_id": market.pk,
            "application_id": application.pk,
        }
    ]
    application.refresh_from_db()
    assert application.status == "no_show"


def test_a_rejected_application_cannot_be_approved_later(market_setup):
    _, organiser, market_date, stall_type = market_setup
    application = apply(market_date, stall_type)
    stall_application_reject(organiser=organiser, application_id=application.pk, reason="Food is not allowed")
    with pytest.raises(Conflict):
        stall_application_approve(organiser=organiser, application_id=application.pk)
    assert Notification.objects.filter(user=application.applicant, body__contains="Food is not allowed").exists()


def test_organiser_screen_shows_applicants_with_credit_tier_and_acts(client, market_setup, monkeypatch):
    _market, organiser, market_date, stall_type = market_setup
    seller = UserFactory(display_name="Wang the seller")
    application = apply(market_date, stall_type, user=seller)
    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    url = f"/cms-admin/community/markets/dates/{market_date.pk}/"

    html = client.get(url).content.decode()
    assert "Wang the seller" in html
    with translation.override("en"):  # a newcomer shows the prior's tier, by name
        assert tier_label(prior_tier().key) in html

    monkeypatch.setattr(flea, "CREDIT_TIER_FUNCTION", "tests.integration.test_cms_stalls.tier_for_tests")
    assert "Tier B (trusted)" in client.get(url).content.decode()

    response = client.post(f"/cms-admin/community/markets/applications/{application.pk}/approve/")
    assert response.status_code == 302
    client.post(f"/cms-admin/community/markets/applications/{application.pk}/paid/", {"reference": "Cash 7"})
    application.refresh_from_db()
    assert (application.status, application.payment_reference) == ("approved", "Cash 7")
    vendors = client.get(f"/cms-admin/community/markets/dates/{market_date.pk}/vendors/").content.decode()
    assert "Wang the seller" in vendors and "Cash 7" in vendors


def tier_for_tests(user):
    return "Tier B (trusted)"


def test_another_organisation_cannot_open_the_screen(client, market_setup):
    _, _, market_date, _ = market_setup
    _, other = organiser_org()
    from cms.services.access import organisation_cms_access

    organisation_cms_access(organisation=other.memberships.get().organisation)
    client.force_login(other)
    assert client.get(f"/cms-admin/community/markets/dates/{market_date.pk}/").status_code == 404


def test_a_seller_with_a_stall_marks_a_listing_available_at_the_event(client, market_setup):
    market, organiser, market_date, stall_type = market_setup
    seller = UserFactory()
    listing = publish_listing(make_listing(seller=seller, title="Bike for a child"))
    with pytest.raises(PermissionDenied, match="approved stall"):
        listing_event_mark(user=seller, listing_id=listing.pk, market_date_id=market_date.pk)
    application = apply(market_date, stall_type, user=seller)
    stall_application_approve(organiser=organiser, application_id=application.pk)
    client.force_login(seller)
    client.cookies["django_language"] = "en"

    manage = client.get(f"/my/listings/{listing.pk}/").content.decode()
    assert "Show at this event" in manage
    client.post(f"/my/listings/{listing.pk}/events/", {"market_date": market_date.pk})

    assert ListingAtEvent.objects.filter(listing=listing, market_date=market_date).exists()
    assert "Bike for a child" in client.get(market.url).content.decode()
    detail = client.get(f"/listings/{listing.pk}/").content.decode()
    assert "At flea markets" in detail and market.title in detail
    # Only the seller manages it.
    client.force_login(UserFactory())
    client.post(f"/my/listings/{listing.pk}/events/{market_date.pk}/remove/")
    assert ListingAtEvent.objects.filter(listing=listing).exists()


def test_free_stalls_on_the_public_page_follow_approvals(client, market_setup):
    market, organiser, market_date, stall_type = market_setup
    client.cookies["django_language"] = "en"
    for _ in range(2):
        stall_application_approve(organiser=organiser, application_id=apply(market_date, stall_type).pk)
    html = client.get(market.url).content.decode()
    assert "full – waiting list" in html


def test_past_dates_are_not_offered(client, market_setup):
    market, _, market_date, _ = market_setup
    past = market.dates.create(date=timezone.localdate() - dt.timedelta(days=3))
    seller = UserFactory()
    client.force_login(seller)
    html = client.get(market.url).content.decode()
    assert f'value="{market_date.pk}"' in html
    assert f'value="{past.pk}"' not in html


def test_marking_a_listing_at_an_event_reaches_search_with_the_market_as_facet_label(
    client, market_setup, django_capture_on_commit_callbacks
):
    from cms.services.flea import listing_event_unmark
    from search.query import SearchQuery
    from search.services import search_listings

    market, organiser, market_date, stall_type = market_setup
    seller = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        listing = publish_listing(make_listing(seller=seller, title="Wooden train set"))
        stall_application_approve(organiser=organiser, application_id=apply(market_date, stall_type, user=seller).pk)

    def at_event() -> list[int]:
        query = SearchQuery(event_ids=(market_date.pk,))
        return [hit.listing_id for hit in search_listings(query=query).result.hits]

    assert at_event() == []
    with django_capture_on_commit_callbacks(execute=True):
        listing_event_mark(user=seller, listing_id=listing.pk, market_date_id=market_date.pk)
    assert at_event() == [listing.pk]

    client.cookies["django_language"] = "en"
    page = client.get("/search/", {"event": market_date.pk}).content.decode()
    assert f"{market.title} · {market_date.date.isoformat()}" in page
    assert "Wooden train set" in page

    with django_capture_on_commit_callbacks(execute=True):
        listing_event_unmark(user=seller, listing_id=listing.pk, market_date_id=market_date.pk)
    assert at_event() == []


def test_the_market_page_shows_the_co2_avoided_by_sales_handed_over_there(client, market_setup):
    from marketplace.city.models import GreenFactor
    from marketplace.services.orders import order_handover_confirm, order_place
    from tests.orders import published_listing

    market, organiser, market_date, stall_type = market_setup
    GreenFactor.objects.create(
        category="books", item_type="", kg_co2e="1.0", uncertainty_percent=50, source="Example study"
    )
    seller = UserFactory()
    stall_application_approve(organiser=organiser, application_id=apply(market_date, stall_type, user=seller).pk)
    listing = published_listing(seller=seller, title="Picture books, set of 12", event=True)
    listing_event_mark(user=seller, listing_id=listing.pk, market_date_id=market_date.pk)
    client.cookies["django_language"] = "en"
    assert "found a new owner here" not in client.get(market.url).content.decode()

    order = order_place(buyer=UserFactory(), listing_id=listing.pk, delivery_method="event", payment_method="cash")
    order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)

    html = client.get(market.url).content.decode()
    assert "1 item found a new owner here." in html
    assert "About 1 kg CO2e avoided" in html
