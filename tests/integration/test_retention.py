"""Personal information is kept no longer than SECURITY.md ("Retention") says: what account
deletion does to messages, and the daily retention job, run against a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Dispute, DisputeKind, DisputeStatus, Message, Notification, Order, OrderStatus, User
from marketplace.services.listings import listing_create
from marketplace.services.messages import message_send
from marketplace.services.orders import order_place
from marketplace.services.privacy import account_delete
from marketplace.services.retention import personal_data_retention
from marketplace.tasks import personal_data_retention_task
from tests.cms import publish_listing
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.listings import ATTRIBUTES, COMMON
from tests.orders import published_listing

pytestmark = pytest.mark.django_db

REMOVED = "(message removed: the sender deleted their account)"
START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def person():
    return UserFactory(display_name="小王")


@pytest.fixture
def other():
    return UserFactory(display_name="老李")


def shop_listing(*, staff: User, title: str):
    membership = MembershipFactory(user=staff)
    listing = listing_create(
        actor=staff,
        category="books",
        data={**COMMON, "title": title, "price": 4500, "delivery_pickup": True},
        attributes=dict(ATTRIBUTES["books"]),
        seller_organisation=membership.organisation,
    )
    # Straight through the lifecycle table: the shop's gates have their own tests.
    return publish_listing(listing, staff)


def open_dispute(order: Order) -> Dispute:
    # A dispute only opens on a card order through Stripe (tests/integration/test_orders.py
    # covers that); here only its being open matters.
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.DISPUTED)
    return Dispute.objects.create(
        order=order, opened_by=order.buyer, kind=DisputeKind.NOT_AS_DESCRIBED, description="书页缺了"
    )


# --- Account deletion -----------------------------------------------------------------


def test_deletion_empties_the_messages_the_person_sent_before_and_after_an_order(client, person, other, english):
    wanted = published_listing(seller=other, title="想要的书")
    asked = message_send(sender=person, listing_id=wanted.pk, body="还在吗？我的微信 wxid_xiaowang88，电话 13812345678")
    reply = message_send(sender=other, listing_id=wanted.pk, body="在的，周六可以看书", buyer_id=person.pk)
    bought = published_listing(seller=other, title="买过的书")
    before_order = message_send(sender=person, listing_id=bought.pk, body="可以便宜点吗")
    order = order_place(buyer=person, listing_id=bought.pk, delivery_method="pickup", payment_method="cash")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    during_order = message_send(sender=person, listing_id=bought.pk, body="我周六下午来取")
    assert asked.flags  # contact details were found and masked

    client.force_login(person)
    response = client.post(reverse("privacy_delete"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302

    for message in (asked, before_order, during_order):
        message.refresh_from_db()
        assert (message.body, message.masked_body, message.flags) == ("", "", [])
    # The other person's messages are theirs, and stay.
    reply.refresh_from_db()
    assert reply.body == "在的，周六可以看书"

    client.force_login(other)
    page = client.get(reverse("listing_messages", args=[wanted.pk]) + f"?buyer={person.pk}").content.decode()
    assert REMOVED in page
    assert "还在吗" not in page
    assert "wxid_xiaowang88" not in page
    assert "在的，周六可以看书" in page
    api = client.get(f"/api/v1/listings/{bought.pk}/messages?buyer_id={person.pk}")
    assert api.status_code == 200
    assert [m["text"] for m in api.json()["messages"]] == [REMOVED, REMOVED]


def test_messages_in_a_disputed_conversation_are_kept_until_the_dispute_is_decided(person, other, english):
    # A shop's staff member wrote as the seller; the shop's order is in dispute, which does
    # not stop the staff member from leaving (the order is the shop's).
    disputed = shop_listing(staff=person, title="有争议的书")
    quiet = shop_listing(staff=person, title="没人买的书")
    message_send(sender=other, listing_id=disputed.pk, body="书页完整吗？")
    kept = message_send(sender=person, listing_id=disputed.pk, body="完整，没有缺页", buyer_id=other.pk)
    message_send(sender=other, listing_id=quiet.pk, body="能寄吗？")
    emptied = message_send(sender=person, listing_id=quiet.pk, body="可以寄", buyer_id=other.pk)
    order = order_place(buyer=other, listing_id=disputed.pk, delivery_method="pickup", payment_method="cash")
    dispute = open_dispute(order)

    account_delete(user=person, password=PASSWORD)

    kept.refresh_from_db()
    emptied.refresh_from_db()
    assert kept.body == "完整，没有缺页"
    assert emptied.body == ""

    # While the dispute is open the retention job keeps it too.
    assert personal_data_retention().messages_emptied == 0
    kept.refresh_from_db()
    assert kept.body == "完整，没有缺页"

    Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.REJECTED, resolved_at=timezone.now())
    assert personal_data_retention().messages_emptied == 1
    kept.refresh_from_db()
    assert (kept.body, kept.masked_body) == ("", "")
    # Idempotent: nothing left to do.
    assert personal_data_retention().messages_emptied == 0


def test_the_deletion_page_says_which_messages_are_kept_and_why(client, person, english):
    client.force_login(person)
    page = client.get(reverse("privacy_delete")).content.decode()
    assert "Messages you sent are replaced by" in page
    assert REMOVED in page
    assert "open dispute" in page
    assert "reads the conversation as evidence" in page


# --- The retention job ----------------------------------------------------------------


def test_conversations_without_an_order_go_a_year_after_their_last_message(person, other):
    with time_machine.travel(START, tick=False):
        stale_listing = published_listing(seller=other, title="没成交的书")
        ordered_listing = published_listing(seller=other, title="成交的书")
        stale = [message_send(sender=person, listing_id=stale_listing.pk, body="还在吗？")]
        ordered = [message_send(sender=person, listing_id=ordered_listing.pk, body="我要了")]
        order_place(buyer=person, listing_id=ordered_listing.pk, delivery_method="pickup", payment_method="cash")
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        stale.append(message_send(sender=other, listing_id=stale_listing.pk, body="在的", buyer_id=person.pk))
    with time_machine.travel(START + dt.timedelta(days=100), tick=False):
        younger_listing = published_listing(seller=other, title="后来问的书")
        younger = [message_send(sender=person, listing_id=younger_listing.pk, body="能便宜吗？")]

    # A year after the conversation's last message, less a minute: everything stays.
    last = START + dt.timedelta(days=1)
    with time_machine.travel(last + dt.timedelta(days=365) - dt.timedelta(minutes=1), tick=False):
        assert personal_data_retention().preorder_messages_deleted == 0
    assert Message.objects.count() == 4

    with time_machine.travel(last + dt.timedelta(days=365, minutes=1), tick=False):
        report = personal_data_retention()
    assert report.preorder_messages_deleted == 2
    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {m.pk for m in ordered + younger}
    assert not remaining & {m.pk for m in stale}


def test_notifications_go_a_year_after_they_were_sent(person, other):
    with time_machine.travel(START, tick=False):
        old = Notification.objects.create(user=person, kind="test", subject="旧", body="旧通知")
    with time_machine.travel(START + dt.timedelta(days=2), tick=False):
        newer = Notification.objects.create(user=other, kind="test", subject="新", body="新通知")

    with time_machine.travel(START + dt.timedelta(days=365) - dt.timedelta(minutes=1), tick=False):
        assert personal_data_retention().notifications_deleted == 0
    with time_machine.travel(START + dt.timedelta(days=365, minutes=1), tick=False):
        assert personal_data_retention().notifications_deleted == 1
    assert not Notification.objects.filter(pk=old.pk).exists()
    assert Notification.objects.filter(pk=newer.pk).exists()


def test_the_retention_job_runs_daily_from_beat(person, other):
    from config.celery import app

    entry = app.conf.beat_schedule["personal-data-retention"]
    assert entry["task"] == "marketplace.tasks.personal_data_retention_task"
    assert entry["task"] in app.tasks

    with time_machine.travel(START, tick=False):
        Notification.objects.create(user=person, kind="test", subject="旧", body="旧通知")
    with time_machine.travel(START + dt.timedelta(days=366), tick=False):
        result = personal_data_retention_task.apply().get()
    assert result == {"messages_emptied": 0, "preorder_messages_deleted": 0, "notifications_deleted": 1}
