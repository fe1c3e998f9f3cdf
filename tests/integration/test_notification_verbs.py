"""Each notification's link says what it leads to: "Take action" (处理) where the reader
has something to do, "Reply" (回复) on a message, "View" (查看) otherwise — never the
ambiguous "Open"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from marketplace.models import Notification
from marketplace.services.notifications import notification_link_label, notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KINDS = {
    "offer_received": ("Take action", "处理"),
    "stall_application_received": ("Take action", "处理"),
    "dispute_opened": ("Take action", "处理"),
    "message": ("Reply", "回复"),
    "listing_taken_down": ("View", "查看"),
    "order_completed": ("View", "查看"),
    "saved_search_alert": ("View", "查看"),
}


def page_links(user, language: str) -> dict[str, str]:
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)
    html = client.get("/notifications/").content.decode()
    return dict(re.findall(r'data-notification-link="([a-z_]+)">([^<]+)</a>', html))


def test_each_kind_links_with_its_verb_in_both_languages():
    user = UserFactory()
    for kind in KINDS:
        notify(users=[user], kind=kind, subject=f"About {kind}", body="Details.", link=f"/somewhere/{kind}/")
    notify(users=[user], kind="order_shipped", subject="No link", body="Nothing to open.")

    assert page_links(user, "en") == {kind: english for kind, (english, _zh) in KINDS.items()}
    assert page_links(user, "zh-hans") == {kind: chinese for kind, (_en, chinese) in KINDS.items()}
    assert Notification.objects.filter(user=user).count() == len(KINDS) + 1


def test_an_unknown_kind_only_informs():
    with translation.override("en"):
        assert notification_link_label("something_new") == "View"
        assert notification_link_label("order_placed") == "Take action"
