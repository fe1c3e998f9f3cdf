"""Consignment events: consignors register for a drop-off slot (capacity enforced under
a lock on the slot row) and enter their items before registration closes; organisers
check items in, mark them sold, and hand unsold ones back or donate them."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import (
    EVENT_ITEM_TRANSITIONS,
    ConsignmentEventItem,
    ConsignmentEventPage,
    ConsignorRegistration,
    DropOffSlot,
    EventItemCategory,
    EventItemStatus,
    RegistrationStatus,
)
from cms.services.access import user_runs_organisation
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import User

MAX_ITEM_PRICE = 10_000_000  # ¥100,000 in fen


def _event(event_id: int) -> ConsignmentEventPage:
    event = ConsignmentEventPage.objects.live().filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("This consignment event does not exist."))
    return event


def _registration_open(event: ConsignmentEventPage, now: dt.datetime) -> None:
    if now >= event.registration_closes:
        raise ValidationFailed(_("Registration for this event has closed."), code="registration_closed")


def active_registration(*, user: User, event_id: int) -> ConsignorRegistration | None:
    if not user.is_authenticated:
        return None
    return (
        ConsignorRegistration.objects.select_related("slot")
        .filter(event_id=event_id, consignor=user, status=RegistrationStatus.REGISTERED)
        .first()
    )


@transaction.atomic
def consignor_register(
    *, user: User, event_id: int, slot_id: int, now: dt.datetime | None = None
) -> ConsignorRegistration:
    now = now or timezone.now()
    event = _event(event_id)
    _registration_open(event, now)
    slot = DropOffSlot.objects.select_for_update().filter(pk=slot_id, event=event).first()
    if slot is None:
        raise ValidationFailed(
            _("Choose one of this event's drop-off slots."), details={"fields": {"slot": [_("Not offered.")]}}
        )
    if active_registration(user=user, event_id=event.pk) is not None:
        raise Conflict(_("You are already registered for this event."), code="already_registered")
    taken = ConsignorRegistration.objects.filter(slot=slot, status=RegistrationStatus.REGISTERED).count()
    if taken >= slot.capacity:
        raise Conflict(_("This drop-off slot is full; choose another one."), code="slot_full")
    last = ConsignorRegistration.objects.filter(event=event).aggregate(last=Max("number"))["last"] or 0
    return ConsignorRegistration.objects.create(event=event, slot=slot, consignor=user, number=last + 1)


@transaction.atomic
def consignor_registration_cancel(*, user: User, event_id: int, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    event = _event(event_id)
    _registration_open(event, now)
    registration = active_registration(user=user, event_id=event.pk)
    if registration is None:
        raise NotFound(_("You are not registered for this event."))
    registration.status = RegistrationStatus.CANCELLED
    registration.save(update_fields=["status"])


@transaction.atomic
def consignment_item_add(
    *,
    user: User,
    event_id: int,
    title: str,
    category: str,
    asking_price: int,
    donate_if_unsold: bool,
    now: dt.datetime | None = None,
) -> ConsignmentEventItem:
    now = now or timezone.now()
    event = _event(event_id)
    _registration_open(event, now)
    registration = (
        ConsignorRegistration.objects.select_for_update()
        .filter(event=event, consignor=user, status=RegistrationStatus.REGISTERED)
        .first()
    )
    if registration is None:
        raise PermissionDenied(_("Register for a drop-off slot before entering items."))
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Say what the item is.")]
    if category not in EventItemCategory.values:
        errors["category"] = [_("Choose a category.")]
    if not 0 < asking_price <= MAX_ITEM_PRICE:
        errors["price"] = [_("Give a price above zero.")]
    if errors:
        raise ValidationFailed(_("Please correct the item."), details={"fields": errors})
    count = registration.items.count()
    if count >= event.max_items_per_consignor:
        raise Conflict(
            _("You can enter at most %(count)d items for this event.") % {"count": event.max_items_per_consignor},
            code="too_many_items",
        )
    last = registration.items.aggregate(last=Max("number"))["last"] or 0
    return ConsignmentEventItem.objects.create(
        registration=registration,
        number=last + 1,
        title=title.strip()[:120],
        category=category,
        asking_price=asking_price,
        donate_if_unsold=donate_if_unsold,
    )


@transaction.atomic
def consignment_item_remove(*, user: User, event_id: int, item_id: int, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    event = _event(event_id)
    _registration_open(event, now)
    item = ConsignmentEventItem.objects.filter(
        pk=item_id, registration__event=event, registration__consignor=user, status=EventItemStatus.ENTERED
    ).first()
    if item is None:
        raise NotFound(_("This item does not exist."))
    item.delete()


@transaction.atomic
def consignment_item_mark(*, organiser: User, item_id: int, status: str) -> ConsignmentEventItem:
    """Check an item in at drop-off, mark it sold, picked up by its consignor, or donated."""
    item = (
        ConsignmentEventItem.objects.select_for_update(of=("self",))
        .select_related("registration__event")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("This item does not exist."))
    if not user_runs_organisation(user=organiser, organisation_id=item.registration.event.organisation_id):
        raise PermissionDenied(_("Only the event's organisers can do this."))
    if status not in EVENT_ITEM_TRANSITIONS.get(item.status, frozenset()):
        raise Conflict(
            _("Item %(code)s is “%(status)s” and cannot become “%(target)s”.")
            % {"code": item.code, "status": item.get_status_display(), "target": EventItemStatus(status).label}
            if status in EventItemStatus.values
            else _("Unknown item status.")
        )
    item.status = status
    item.status_changed_at = timezone.now()
    item.status_changed_by = organiser
    item.save(update_fields=["status", "status_changed_at", "status_changed_by"])
    return item
