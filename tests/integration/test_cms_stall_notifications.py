"""A flea market's organisers hear of every stall application, with a link to the screen
where they decide it; the link opens for them and for nobody else; and the site's
navigation leads organisers to their markets' applications."""

from __future__ import annotations

import pytest

from cms.services.flea import ORGANISER_NOTIFICATION_KIND, stall_apply
from marketplace.models import Notification, Role
from tests.cms import make_market, organiser_org
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


@pytest.fixture
def market_setup():
    org, organiser = organiser_org()
    market = make_market(org, capacity=2)
    return market, organiser, market.dates.get(), market.stall_types.get(name="Standard stall")


def test_the_organisers_are_told_of_an_application_with_a_link_to_decide_it(client, market_setup, mailoutbox):
    market, organiser, market_date, stall_type = market_setup
    co_organiser = UserFactory()
    MembershipFactory(user=co_organiser, organisation=market.organisation, role=Role.OWNER)
    applicant = UserFactory(display_name="Zhou the vendor")

    application = stall_apply(user=applicant, market_date_id=market_date.pk, stall_type_id=stall_type.pk)

    notes = Notification.objects.filter(kind=ORGANISER_NOTIFICATION_KIND)
    assert {n.user_id for n in notes} == {organiser.pk, co_organiser.pk}
    note = notes.get(user=organiser)
    assert "Zhou the vendor" in note.body and market.title in note.subject
    assert note.link == f"/cms-admin/community/markets/dates/{market_date.pk}/#application-{application.pk}"
    assert not Notification.objects.filter(user=applicant, kind=ORGANISER_NOTIFICATION_KIND).exists()
    assert any(note.link in mail.body for mail in mailoutbox)

    # The link opens the decision screen at the application, with its approve button.
    client.force_login(organiser)
    page = client.get(note.link.split("#")[0])
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="application-{application.pk}"' in html
    assert f"/cms-admin/community/markets/applications/{application.pk}/approve/" in html

    # An organiser who joined after the page was published is given admin access after
    # commit, so the link works for them too.
    assert client_for(co_organiser).get(note.link.split("#")[0]).status_code == 200


def client_for(user):
    from django.test import Client

    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_nobody_else_can_open_the_decision_screen(market_setup):
    _market, _organiser, market_date, stall_type = market_setup
    application = stall_apply(user=UserFactory(), market_date_id=market_date.pk, stall_type_id=stall_type.pk)
    url = f"/cms-admin/community/markets/dates/{market_date.pk}/"
    other_org, other_organiser = organiser_org()
    make_market(other_org, slug="other-market")

    response = client_for(other_organiser).get(url)  # runs another market: admin access, not this one
    assert response.status_code == 404
    response = client_for(application.applicant).get(url)  # no admin access at all
    assert response.status_code in (302, 403)
    assert f"application-{application.pk}" not in response.content.decode()
    approve = f"/cms-admin/community/markets/applications/{application.pk}/approve/"
    assert client_for(other_organiser).post(approve).status_code == 404
    application.refresh_from_db()
    assert application.status == "pending"


def test_organisers_find_their_stall_applications_in_the_navigation(market_setup):
    _market, organiser, _date, _type = market_setup
    link = 'href="/cms-admin/community/">Stall applications</a>'
    assert link in client_for(organiser).get("/my/orders/").content.decode()
    assert link not in client_for(UserFactory()).get("/my/orders/").content.decode()
