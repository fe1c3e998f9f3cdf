"""A consignment event's public page: drop-off slots, registering for one, and the items
a consignor enters before the event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.models import ConsignmentEventPage, EventItemCategory, RegistrationStatus
from cms.services.consignment import (
    active_registration,
    consignment_item_add,
    consignment_item_remove,
    consignor_register,
    consignor_registration_cancel,
)
from cms.views import show_error
from marketplace.errors import DomainError
from marketplace.models import User


class RegisterForm(forms.Form):
    slot = forms.TypedChoiceField(label=gettext_lazy("Drop-off slot"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args: Any, slots: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["slot"]
        field.choices = slots


class ItemForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Item"), max_length=120)
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=EventItemCategory.choices)
    price = forms.DecimalField(
        label=gettext_lazy("Price (¥)"), min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )
    donate_if_unsold = forms.BooleanField(label=gettext_lazy("Donate if unsold"), required=False)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _slots(event: ConsignmentEventPage) -> list[dict[str, Any]]:
    slots = event.drop_off_slots.annotate(
        taken=Count("registrations", filter=Q(registrations__status=RegistrationStatus.REGISTERED))
    ).order_by("starts_at")
    return [{"slot": slot, "remaining": max(slot.capacity - slot.taken, 0)} for slot in slots]


def _slot_choices(slots: list[dict[str, Any]]) -> list[tuple[int, str]]:
    choices = []
    for row in slots:
        slot = row["slot"]
        start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        label = _("%(start)s–%(end)s (%(remaining)d places left)") % {
            "start": f"{start:%Y-%m-%d %H:%M}",
            "end": f"{end:%H:%M}",
            "remaining": row["remaining"],
        }
        choices.append((slot.pk, label))
    return choices


def event_page_context(request: HttpRequest, event: ConsignmentEventPage) -> dict[str, Any]:
    user = _user(request)
    slots = _slots(event)
    registration = active_registration(user=user, event_id=event.pk) if user.is_authenticated else None
    open_ = timezone.now() < event.registration_closes
    context: dict[str, Any] = {
        "slots": slots,
        "registration": registration,
        "registration_open": open_,
        "base_url": event.url,
    }
    if registration is not None:
        items = list(registration.items.all())
        context["items"] = [
            {"item": item, "discounted": event.discounted(item.asking_price) if event.discount_percent else None}
            for item in items
        ]
        if open_:
            context.setdefault("item_form", ItemForm(prefix="item"))
    elif user.is_authenticated and open_:
        context.setdefault("register_form", RegisterForm(slots=_slot_choices(slots), prefix="reg"))
    return context


def _back(event: ConsignmentEventPage, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{event.url}{anchor}")


def register_view(request: HttpRequest, event: ConsignmentEventPage) -> HttpResponse:
    if request.method != "POST":
        return _back(event)
    if not request.user.is_authenticated:
        return redirect_to_login(event.url)
    form = RegisterForm(request.POST, slots=_slot_choices(_slots(event)), prefix="reg")
    if form.is_valid():
        try:
            registration = consignor_register(user=_user(request), event_id=event.pk, slot_id=form.cleaned_data["slot"])
        except DomainError as exc:
            show_error(request, exc, form)
        else:
            messages.success(
                request,
                _("You are registered as consignor %(number)03d. Now enter your items.")
                % {"number": registration.number},
            )
            return _back(event, "#my-items")
    response: HttpResponse = event.render(request, context_overrides={"register_form": form})
    response.status_code = 422
    return response


def items_view(request: HttpRequest, event: ConsignmentEventPage) -> HttpResponse:
    if request.method != "POST":
        return _back(event)
    if not request.user.is_authenticated:
        return redirect_to_login(event.url)
    form = ItemForm(request.POST, prefix="item")
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = consignment_item_add(
                user=_user(request),
                event_id=event.pk,
                title=data["title"],
                category=data["category"],
                asking_price=int(data["price"] * 100),
                donate_if_unsold=data["donate_if_unsold"],
            )
        except DomainError as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, _("Item %(code)s added.") % {"code": item.code})
            return _back(event, "#my-items")
    response: HttpResponse = event.render(request, context_overrides={"item_form": form})
    response.status_code = 422
    return response


def item_remove_view(request: HttpRequest, event: ConsignmentEventPage, item_id: int) -> HttpResponse:
    if request.method == "POST" and request.user.is_authenticated:
        try:
            consignment_item_remove(user=_user(request), event_id=event.pk, item_id=item_id)
        except DomainError as exc:
            show_error(request, exc)
        else:
            messages.success(request, _("Item removed."))
    return _back(event, "#my-items")


def registration_cancel_view(request: HttpRequest, event: ConsignmentEventPage) -> HttpResponse:
    if request.method == "POST" and request.user.is_authenticated:
        try:
            consignor_registration_cancel(user=_user(request), event_id=event.pk)
        except DomainError as exc:
            show_error(request, exc)
        else:
            messages.success(request, _("Your registration is cancelled."))
    return _back(event)
