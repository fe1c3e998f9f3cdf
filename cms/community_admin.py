"""Organisers' screens in the Wagtail admin: stall applications per market date (approve,
waitlist, reject, record an offline fee, no-show, cancel), the printable vendor list, and
consignment-event registrations with item check-in, sale, pickup and donation.

Thin: look the object up, check that the user runs its organisation, call a service of
cms.services, report the outcome as a message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from cms.models import (
    ConsignmentEventItem,
    ConsignmentEventPage,
    EventItemStatus,
    FleaMarketDate,
    StallApplication,
    StallApplicationStatus,
)
from cms.pdf import vendor_list_pdf
from cms.selectors import (
    consignment_events_run_by,
    date_applications,
    event_registrations,
    market_upcoming_dates,
    markets_run_by,
    vendor_list,
)
from cms.services.access import organisations_run_by, user_runs_organisation
from cms.services.consignment import consignment_item_mark
from cms.services.flea import (
    applicant_credit_tier,
    stall_application_approve,
    stall_application_cancel,
    stall_application_reject,
    stall_application_waitlist,
    stall_fee_record_offline,
    stall_no_show_record,
)
from marketplace.errors import DomainError
from marketplace.models import User

S = StallApplicationStatus


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def runs_any_community_page(user: User) -> bool:
    if user.is_superuser:
        return True
    ids = organisations_run_by(user=user)
    return bool(ids) and (
        markets_run_by(organisation_ids=ids).exists() or consignment_events_run_by(organisation_ids=ids).exists()
    )


class CommunityAdminView(WagtailAdminTemplateMixin, TemplateView):
    header_icon = "group"

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("cms_community_markets"), "label": gettext("Community events")},
            {"url": "", "label": self.get_page_title()},
        ]


# --- Flea markets ----------------------------------------------------------------------------


class MarketsView(CommunityAdminView):
    template_name = "cms/admin/markets.html"
    page_title = _("Community events")

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = _user(self.request)
        ids = organisations_run_by(user=user)
        context["markets"] = list(markets_run_by(organisation_ids=ids, superuser=user.is_superuser))
        context["consignment_events"] = list(
            consignment_events_run_by(organisation_ids=ids, superuser=user.is_superuser)
        )
        return context


class MarketDateMixin:
    request: HttpRequest
    kwargs: dict[str, Any]

    @cached_property
    def market_date(self) -> FleaMarketDate:
        market_date = get_object_or_404(FleaMarketDate.objects.select_related("market"), pk=self.kwargs["date_id"])
        if not user_runs_organisation(user=_user(self.request), organisation_id=market_date.market.organisation_id):
            raise Http404
        return market_date


class MarketDateView(MarketDateMixin, CommunityAdminView):
    template_name = "cms/admin/market_date.html"

    def get_page_title(self) -> str:
        return f"{self.market_date.market.title} · {self.market_date.date:%Y-%m-%d}"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        market_date = self.market_date
        applications = list(date_applications(market_date_id=market_date.pk))
        overview = next(
            (
                row
                for row in market_upcoming_dates(market=market_date.market, today=market_date.date)
                if row.market_date.pk == market_date.pk
            ),
            None,
        )
        context.update(
            market_date=market_date,
            stalls=overview.stalls if overview else [],
            rows=[
                {
                    "application": application,
                    "tier": applicant_credit_tier(application.applicant),
                    "actions": stall_actions_for(application, today=timezone.localdate()),
                }
                for application in applications
            ],
            statuses=S,
            vendors_url=reverse("cms_market_date_vendors", args=(market_date.pk,)),
            vendors_pdf_url=reverse("cms_market_date_vendors_pdf", args=(market_date.pk,)),
            edit_url=reverse("wagtailadmin_pages:edit", args=(market_date.market_id,)),
        )
        return context


def stall_actions_for(application: StallApplication, *, today: dt.date) -> dict[str, str]:
    """The actions that make sense for the application now, with their URLs."""
    names: list[str] = []
    if application.status in {S.PENDING, S.WAITLISTED}:
        names += ["approve", "reject"]
    if application.status == S.PENDING:
        names.append("waitlist")
    if application.status == S.APPROVED and not application.is_paid:
        names.append("paid")
    if application.status == S.APPROVED and application.market_date.date <= today:
        names.append("no_show")
    if application.status in {S.PENDING, S.WAITLISTED, S.APPROVED}:
        names.append("cancel")
    return {name: reverse("cms_stall_application_action", args=(application.pk, name)) for name in names}


STALL_ACTIONS = {
    "approve": lambda user, pk, data: stall_application_approve(organiser=user, application_id=pk),
    "waitlist": lambda user, pk, data: stall_application_waitlist(organiser=user, application_id=pk),
    "reject": lambda user, pk, data: stall_application_reject(
        organiser=user, application_id=pk, reason=data.get("reason", "")
    ),
    "cancel": lambda user, pk, data: stall_application_cancel(
        actor=user, application_id=pk, reason=data.get("reason", "")
    ),
    "paid": lambda user, pk, data: stall_fee_record_offline(
        organiser=user, application_id=pk, reference=data.get("reference", "")
    ),
    "no_show": lambda user, pk, data: stall_no_show_record(organiser=user, application_id=pk),
}
STALL_ACTION_MESSAGES = {
    "approve": _("%(vendor)s is approved (stall %(number)s)."),
    "waitlist": _("%(vendor)s is on the waiting list."),
    "reject": _("%(vendor)s's application was rejected."),
    "cancel": _("%(vendor)s's stall was cancelled."),
    "paid": _("The stall fee of %(vendor)s is recorded as paid."),
    "no_show": _("%(vendor)s is recorded as a no-show."),
}


class StallApplicationActionView(View):
    http_method_names = ["post"]  # noqa: RUF012 - Django's convention

    def post(self, request: HttpRequest, application_id: int, action: str) -> HttpResponse:
        application = get_object_or_404(
            StallApplication.objects.select_related("market_date__market"), pk=application_id
        )
        if action not in STALL_ACTIONS:
            raise Http404
        if not user_runs_organisation(
            user=_user(request), organisation_id=application.market_date.market.organisation_id
        ):
            raise Http404
        try:
            result = STALL_ACTIONS[action](_user(request), application.pk, request.POST)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                str(STALL_ACTION_MESSAGES[action])
                % {"vendor": result.vendor_name, "number": result.stall_number or "—"},
            )
        return HttpResponseRedirect(reverse("cms_market_date", args=(application.market_date_id,)))


class VendorListView(MarketDateMixin, CommunityAdminView):
    template_name = "cms/admin/vendor_list.html"

    def get_page_title(self) -> str:
        return gettext("Vendor list")

    def get_page_subtitle(self) -> str:
        return f"{self.market_date.market.title} · {self.market_date.date:%Y-%m-%d}"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            market_date=self.market_date,
            vendors=vendor_list(market_date_id=self.market_date.pk),
            pdf_url=reverse("cms_market_date_vendors_pdf", args=(self.market_date.pk,)),
            back_url=reverse("cms_market_date", args=(self.market_date.pk,)),
        )
        return context


class VendorListPdfView(MarketDateMixin, View):
    def get(self, request: HttpRequest, date_id: int) -> HttpResponse:
        market_date = self.market_date
        pdf = vendor_list_pdf(market_date=market_date, vendors=vendor_list(market_date_id=market_date.pk))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="vendors-{market_date.date:%Y-%m-%d}.pdf"'
        return response


# --- Consignment events ----------------------------------------------------------------------


class ConsignmentEventView(CommunityAdminView):
    template_name = "cms/admin/consignment_event.html"

    @cached_property
    def event(self) -> ConsignmentEventPage:
        event = get_object_or_404(ConsignmentEventPage, pk=self.kwargs["page_id"])
        if not user_runs_organisation(user=_user(self.request), organisation_id=event.organisation_id):
            raise Http404
        return event

    def get_page_title(self) -> str:
        return self.event.title

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        registrations = list(event_registrations(event_id=self.event.pk))
        transitions = {
            EventItemStatus.ENTERED: [EventItemStatus.RECEIVED],
            EventItemStatus.RECEIVED: [EventItemStatus.SOLD, EventItemStatus.PICKED_UP, EventItemStatus.DONATED],
        }
        context.update(
            event=self.event,
            registrations=[
                {
                    "registration": registration,
                    "items": [
                        {
                            "item": item,
                            "actions": [
                                (status.label, reverse("cms_consignment_item_action", args=(item.pk, status.value)))
                                for status in transitions.get(EventItemStatus(item.status), [])
                            ],
                        }
                        for item in registration.items.all()
                    ],
                }
                for registration in registrations
            ],
        )
        return context


class ConsignmentItemActionView(View):
    http_method_names = ["post"]  # noqa: RUF012 - Django's convention

    def post(self, request: HttpRequest, item_id: int, status: str) -> HttpResponse:
        item = get_object_or_404(ConsignmentEventItem.objects.select_related("registration"), pk=item_id)
        try:
            item = consignment_item_mark(organiser=_user(request), item_id=item.pk, status=status)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                gettext("Item %(code)s: %(status)s.") % {"code": item.code, "status": item.get_status_display()},
            )
        return HttpResponseRedirect(reverse("cms_consignment_event", args=(item.registration.event_id,)))
