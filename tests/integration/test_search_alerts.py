"""Saved searches: a logged-in buyer saves the search in the URL; the batched alert task
tells them (in-app and by e-mail) about new listings that match, once per listing, and
the e-mail's unsubscribe link works without logging in."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from marketplace.models import Notification
from search.models import SavedSearch, SentAlert
from search.tasks import saved_search_alerts_task
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.search_support import draft, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)


@pytest.fixture
def buyer():
    return UserFactory(email="buyer@example.org")


def save(client, buyer, querystring: str) -> SavedSearch:
    client.force_login(buyer)
    response = client.post("/search/saved/new/", {"querystring": querystring}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    return SavedSearch.objects.get(user=buyer)


def published(title: str, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return publish(draft(title=title, **kwargs))


def alerts_for(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind="saved_search_alert").order_by("pk"))


def test_a_new_matching_listing_is_alerted_once_in_app_and_by_email(client, buyer, django_capture_on_commit_callbacks):
    older = published("苹果手机 iPhone 12", django_capture_on_commit_callbacks)
    saved = save(client, buyer, "q=手机&device_type=phone")
    assert saved.querystring == "q=%E6%89%8B%E6%9C%BA&device_type=phone"
    assert saved.name == "“手机” · Device type: Phone"

    other = published("实木书桌", django_capture_on_commit_callbacks, category="furniture")
    new = published("华为手机 Mate 40", django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert saved_search_alerts_task() == 1

    [alert] = alerts_for(buyer)
    assert "华为手机 Mate 40" in alert.body
    assert older.title not in alert.body and other.title not in alert.body
    assert alert.link == saved.url
    [email] = mail.outbox
    assert email.to == ["buyer@example.org"]
    assert "华为手机 Mate 40" in email.body and f"/listings/{new.pk}/" in email.body
    assert "/search/saved/unsubscribe/" in email.body

    # Running again: nothing new, nothing sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert saved_search_alerts_task() == 0
    assert len(alerts_for(buyer)) == 1 and len(mail.outbox) == 1


def test_several_new_listings_come_in_one_message_and_own_listings_are_left_out(
    client, buyer, django_capture_on_commit_callbacks
):
    save(client, buyer, "q=thinkpad")
    for model in ("T14", "X1 Carbon"):
        published(f"ThinkPad {model}", django_capture_on_commit_callbacks, device_type="laptop", imei="")
    published("ThinkPad E14 (mine)", django_capture_on_commit_callbacks, seller=buyer, device_type="laptop", imei="")
    with django_capture_on_commit_callbacks(execute=True):
        assert saved_search_alerts_task() == 2
    [alert] = alerts_for(buyer)
    assert "ThinkPad T14" in alert.body and "ThinkPad X1 Carbon" in alert.body
    assert "mine" not in alert.body


def test_the_unsubscribe_link_stops_alerts_without_logging_in(client, buyer, django_capture_on_commit_callbacks):
    saved = save(client, buyer, "q=手机")
    published("二手手机 小米", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        saved_search_alerts_task()
    link = re.search(r"https?://\S+(/search/saved/unsubscribe/\S+/)", mail.outbox[-1].body).group(1)

    client.logout()
    page = client.get(link, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Stop alerts for the saved search" in page.content.decode()
    assert SavedSearch.objects.get(pk=saved.pk).alerts_enabled is True  # asking changes nothing
    done = client.post(link, HTTP_ACCEPT_LANGUAGE="en")
    assert "You will no longer get alerts" in done.content.decode()
    assert SavedSearch.objects.get(pk=saved.pk).alerts_enabled is False

    published("二手手机 OPPO", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert saved_search_alerts_task() == 0
    assert len(alerts_for(buyer)) == 1

    assert client.get("/search/saved/unsubscribe/forged-token/").status_code == 404


def test_the_database_refuses_a_second_alert_for_the_same_listing(client, buyer, django_capture_on_commit_callbacks):
    saved = save(client, buyer, "q=手机")
    listing = published("手机 一部", django_capture_on_commit_callbacks)
    SentAlert.objects.create(saved_search=saved, listing=listing)
    with pytest.raises(IntegrityError), transaction.atomic():
        SentAlert.objects.create(saved_search=saved, listing=listing)


def test_saving_needs_a_login_and_the_list_shows_and_deletes(client, buyer):
    response = client.post("/search/saved/new/", {"querystring": "q=手机"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SavedSearch.objects.exists()

    saved = save(client, buyer, "q=手机&grade=A&erasure_verified=1&lat=31.2&lon=121.44&within=10&page=3")
    # Saved canonically: valid parameters in a fixed order, no page number.
    assert saved.querystring == "q=%E6%89%8B%E6%9C%BA&grade=A&erasure_verified=1&lat=31.200&lon=121.440&within=10"
    save(client, buyer, "q=手机&grade=A&erasure_verified=1&lat=31.2&lon=121.44&within=10")  # same: not saved twice
    assert SavedSearch.objects.filter(user=buyer).count() == 1

    page = client.get("/search/saved/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Within 10 km of the chosen point" in page.content.decode()
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.post(f"/search/saved/{saved.pk}/delete/").status_code == 404
    client.force_login(buyer)
    client.post(f"/search/saved/{saved.pk}/delete/")
    assert not SavedSearch.objects.exists()
