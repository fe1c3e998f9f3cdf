"""Each organisation edits only its own pages in the Wagtail admin: the group, collection
and page permissions `organisation_cms_access` sets up, and the page editor itself
(repeating dates, the deletion guard, the organisation field)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from wagtail.models import GroupPagePermission
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text

from cms.models import FleaMarketDate, FleaMarketPage, OrganisationCmsAccess, StallApplication
from cms.services.access import organisation_cms_access
from cms.services.flea import stall_apply
from marketplace.models import Membership, Role
from tests.cms import make_book_swap, make_market, organiser_org, school_org
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Error messages are checked in English (the site's default language is zh-hans)."""
    with translation.override("en"):
        yield


def edit_url(page: Any) -> str:
    return f"/cms-admin/pages/{page.pk}/edit/"


def test_each_organisation_gets_a_group_with_its_members_and_its_own_pages():
    org, organiser = organiser_org(name="Riverside Volunteers")
    outsider = UserFactory()
    Membership.objects.create(user=outsider, organisation=org, role=Role.STAFF)
    market = make_market(org)

    access = OrganisationCmsAccess.objects.get(organisation=org)

    assert set(access.group.user_set.all()) == {organiser, outsider}
    assert access.group.permissions.filter(codename="access_admin").exists()
    granted = set(GroupPagePermission.objects.filter(group=access.group).values_list("page_id", "permission__codename"))
    assert granted == {
        (market.pk, "change_page"),
        (market.pk, "publish_page"),
        (market.pk, "lock_page"),
        (market.pk, "unlock_page"),
    }
    assert access.collection.name == "Riverside Volunteers"
    # Idempotent: a second run changes nothing.
    organisation_cms_access(organisation=org)
    assert Group.objects.filter(cms_organisation__organisation=org).count() == 1
    assert GroupPagePermission.objects.filter(group=access.group).count() == 4


def test_an_organiser_cannot_edit_a_schools_page_and_a_coordinator_cannot_edit_a_flea_market(client):
    org, organiser = organiser_org()
    school, coordinator = school_org()
    market = make_market(org)
    swap = make_book_swap(school)

    assert market.permissions_for_user(organiser).can_edit()
    assert not swap.permissions_for_user(organiser).can_edit()
    assert swap.permissions_for_user(coordinator).can_edit()
    assert not market.permissions_for_user(coordinator).can_edit()

    client.force_login(organiser)
    assert client.get(edit_url(market)).status_code == 200
    denied = client.get(edit_url(swap))
    assert denied.status_code == 302 and "/cms-admin/" in denied["Location"]

    client.force_login(coordinator)
    assert client.get(edit_url(swap)).status_code == 200
    assert client.get(edit_url(market)).status_code == 302


def test_a_member_without_a_managing_role_gets_no_access():
    school, _ = school_org()
    parent = UserFactory()
    Membership.objects.create(user=parent, organisation=school, role=Role.STAFF)  # staff do not run school pages
    swap = make_book_swap(school)
    assert not swap.permissions_for_user(parent).can_edit()


def market_form(page: FleaMarketPage, **overrides: Any) -> dict[str, Any]:
    """The page editor's POST for `page` as it is, with `overrides` (e.g. new dates)."""
    dates = overrides.pop(
        "dates",
        [
            {
                "id": d.pk,
                "date": f"{d.date:%Y-%m-%d}",
                "starts_at": "",
                "ends_at": "",
                "cancelled": d.cancelled,
                "note": d.note,
            }
            for d in page.dates.all()
        ],
    )
    data = {
        "title": page.title,
        "slug": page.slug,
        "intro": page.intro,
        "description": rich_text(page.description or "<p></p>"),
        "rules": rich_text(page.rules or "<p></p>"),
        "photos": inline_formset([]),
        "venue": page.venue,
        "address": page.address,
        "latitude": str(page.latitude),
        "longitude": str(page.longitude),
        "venue_plan": "",
        "setup_from": "08:00",
        "opens_at": "09:00",
        "closes_at": "15:00",
        "recurrence": page.recurrence,
        "recurrence_weekday": page.recurrence_weekday,
        "recurrence_week_of_month": page.recurrence_week_of_month,
        "recurrence_starts": f"{page.recurrence_starts:%Y-%m-%d}" if page.recurrence_starts else "",
        "recurrence_ends": "",
        "dates": inline_formset(dates, initial=page.dates.count()),
        "applications_open": "on",
        "application_deadline_days": page.application_deadline_days,
        "stall_types": inline_formset(
            [
                {
                    "id": s.pk,
                    "name": s.name,
                    "size": s.size,
                    "price": s.price,
                    "capacity": s.capacity,
                    "description": "",
                }
                for s in page.stall_types.all()
            ],
            initial=page.stall_types.count(),
        ),
        "add_ons": inline_formset(
            [{"id": a.pk, "name": a.name, "price": a.price} for a in page.add_ons.all()], initial=page.add_ons.count()
        ),
        "seo_title": "",
        "search_description": "",
        "action-publish": "action-publish",
    }
    data.update(overrides)
    return nested_form_data(data)


def test_organiser_adds_a_date_and_a_repeat_rule_in_the_page_editor(client):
    org, organiser = organiser_org()
    market = make_market(org, dates=[timezone.localdate() + dt.timedelta(days=10)])
    client.force_login(organiser)
    existing = market.dates.get()
    new_day = timezone.localdate() + dt.timedelta(days=40)
    form = market_form(
        market,
        recurrence="monthly",
        recurrence_weekday=5,
        recurrence_week_of_month=2,
        recurrence_starts=f"{timezone.localdate():%Y-%m-%d}",
        dates=[
            {"id": existing.pk, "date": f"{existing.date:%Y-%m-%d}", "starts_at": "", "ends_at": "", "note": ""},
            {"date": f"{new_day:%Y-%m-%d}", "starts_at": "10:00", "ends_at": "14:00", "note": "Indoors"},
        ],
    )
    # The organiser's form has no organisation field; posting one changes nothing.
    form["organisation"] = str(school_org()[0].pk)

    response = client.post(edit_url(market), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    market.refresh_from_db()
    assert market.organisation == org
    days = list(market.dates.values_list("date", "generated"))
    assert (new_day, False) in days
    generated = [day for day, was_generated in days if was_generated]
    assert generated and all(day.weekday() == 5 and 8 <= day.day <= 14 for day in generated)  # second Saturdays
    assert market.dates.get(date=new_day).note == "Indoors"


def test_a_date_with_applications_cannot_be_deleted_only_cancelled(client):
    org, organiser = organiser_org()
    market = make_market(org)
    market_date = market.dates.get()
    applicant = UserFactory(preferred_language="en")  # notifications come in the reader's language
    stall_apply(user=applicant, market_date_id=market_date.pk, stall_type_id=market.stall_types.first().pk)
    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    row = {"id": market_date.pk, "date": f"{market_date.date:%Y-%m-%d}", "starts_at": "", "ends_at": "", "note": ""}

    refused = client.post(edit_url(market), market_form(market, dates=[{**row, "DELETE": "on"}]))

    assert refused.status_code == 200
    assert "cannot be deleted" in refused.content.decode()
    assert FleaMarketDate.objects.filter(pk=market_date.pk).exists()

    cancelled = client.post(edit_url(market), market_form(market, dates=[{**row, "cancelled": "on"}]))

    assert cancelled.status_code == 302
    market_date.refresh_from_db()
    assert market_date.cancelled
    # Publishing the cancellation closed the open application and told the applicant.
    application = StallApplication.objects.get()
    assert application.status == "cancelled"
    assert application.applicant.notifications.filter(subject__contains="cancelled").exists()


def test_staff_assign_the_organisation_in_the_editor(client):
    org, _ = organiser_org()
    market = make_market(org)
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    html = client.get(edit_url(market)).content.decode()
    assert 'name="organisation"' in html


def test_the_organiser_does_not_see_the_organisation_field(client):
    org, organiser = organiser_org()
    market = make_market(org)
    client.force_login(organiser)
    html = client.get(edit_url(market)).content.decode()
    assert 'name="organisation"' not in html
    assert 'name="dates-TOTAL_FORMS"' in html


def test_when_staff_hand_a_page_to_another_organisation_the_old_one_loses_it(client):
    first, first_organiser = organiser_org()
    second, second_organiser = organiser_org()
    market = make_market(first)
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))

    response = client.post(edit_url(market), {**market_form(market), "organisation": str(second.pk)})

    assert response.status_code == 302
    market.refresh_from_db()
    assert market.organisation == second
    assert market.permissions_for_user(second_organiser).can_edit()
    assert not market.permissions_for_user(first_organiser).can_edit()
