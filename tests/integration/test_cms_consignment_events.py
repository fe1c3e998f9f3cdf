"""Consignment events: drop-off slots with capacity, consignor registration, items with
"donate if unsold", the discount day, and the organiser handing items back or donating."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cms.models import ConsignmentEventItem, ConsignorRegistration
from cms.services.consignment import consignment_item_add, consignment_item_mark, consignor_register
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from tests.cms import make_consignment_event, organiser_org
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Error messages are checked in English (the site's default language is zh-hans)."""
    with translation.override("en"):
        yield


@pytest.fixture
def event_setup():
    org, organiser = organiser_org()
    event = make_consignment_event(org, capacity=1)
    return event, organiser, event.drop_off_slots.order_by("starts_at").first()


def test_a_consignor_registers_for_a_slot_and_enters_items_on_the_page(client, event_setup):
    event, _, slot = event_setup
    consignor = UserFactory()
    client.force_login(consignor)
    client.cookies["django_language"] = "en"

    client.post(event.url + "register/", {"reg-slot": slot.pk})
    client.post(
        event.url + "items/",
        {"item-title": "Lego box", "item-category": "toys", "item-price": "80.50", "item-donate_if_unsold": "on"},
    )

    registration = ConsignorRegistration.objects.get(consignor=consignor)
    item = registration.items.get()
    assert (item.title, item.asking_price, item.donate_if_unsold, item.code) == ("Lego box", 8050, True, "001-01")
    html = client.get(event.url).content.decode()
    assert "You are consignor 001" in html
    assert "¥56.35 on the discount day" in html  # 30% off, rounded down to the fen


def test_slot_capacity_is_enforced(event_setup):
    event, _, slot = event_setup
    consignor_register(user=UserFactory(), event_id=event.pk, slot_id=slot.pk)
    with pytest.raises(Conflict, match="full"):
        consignor_register(user=UserFactory(), event_id=event.pk, slot_id=slot.pk)


def test_registration_closes(event_setup):
    event, _, slot = event_setup
    late = event.registration_closes + dt.timedelta(minutes=1)
    with pytest.raises(ValidationFailed, match="closed"):
        consignor_register(user=UserFactory(), event_id=event.pk, slot_id=slot.pk, now=late)


def test_items_need_a_registration_and_respect_the_limit(event_setup):
    event, _, slot = event_setup
    consignor = UserFactory()
    with pytest.raises(PermissionDenied):
        consignment_item_add(
            user=consignor,
            event_id=event.pk,
            title="Vase",
            category="household",
            asking_price=100,
            donate_if_unsold=False,
        )
    consignor_register(user=consignor, event_id=event.pk, slot_id=slot.pk)
    event.max_items_per_consignor = 1
    event.save()
    consignment_item_add(
        user=consignor, event_id=event.pk, title="Vase", category="household", asking_price=100, donate_if_unsold=False
    )
    with pytest.raises(Conflict, match="at most 1"):
        consignment_item_add(
            user=consignor,
            event_id=event.pk,
            title="Cup",
            category="household",
            asking_price=100,
            donate_if_unsold=False,
        )


def test_the_organiser_checks_items_in_and_hands_unsold_ones_back_or_donates_them(client, event_setup):
    event, organiser, slot = event_setup
    consignor = UserFactory()
    consignor_register(user=consignor, event_id=event.pk, slot_id=slot.pk)
    keep = consignment_item_add(
        user=consignor, event_id=event.pk, title="Bike", category="sports", asking_price=12000, donate_if_unsold=False
    )
    give = consignment_item_add(
        user=consignor, event_id=event.pk, title="Toys", category="toys", asking_price=500, donate_if_unsold=True
    )
    with pytest.raises(Conflict):
        consignment_item_mark(organiser=organiser, item_id=keep.pk, status="picked_up")  # not dropped off yet
    with pytest.raises(PermissionDenied):
        consignment_item_mark(organiser=consignor, item_id=keep.pk, status="received")

    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    screen = client.get(f"/cms-admin/community/consignment-events/{event.pk}/").content.decode()
    assert "Bike" in screen and "Dropped off" in screen
    for item in (keep, give):
        client.post(f"/cms-admin/community/consignment-items/{item.pk}/received/")
    client.post(f"/cms-admin/community/consignment-items/{keep.pk}/picked_up/")
    client.post(f"/cms-admin/community/consignment-items/{give.pk}/donated/")

    statuses = dict(ConsignmentEventItem.objects.values_list("title", "status"))
    assert statuses == {"Bike": "picked_up", "Toys": "donated"}
    assert timezone.now() - ConsignmentEventItem.objects.get(title="Toys").status_changed_at < dt.timedelta(minutes=1)
