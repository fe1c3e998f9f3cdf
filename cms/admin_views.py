"""Moderation screens of the Wagtail admin. Thin: parse the form, call a service of
`marketplace.services.moderation`, show its DomainError as a form error or message."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.utils import quote
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.views.generic import CreateView, IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import ListingButton

from marketplace.errors import DomainError
from marketplace.models import (
    Listing,
    ListingReport,
    ReportStatus,
    StolenGoodsReport,
    StolenMatchAlert,
)
from marketplace.services.moderation import (
    listing_report_dismiss,
    listing_take_down,
    stolen_report_add,
    stolen_report_resolve,
)


def show_domain_error(request: HttpRequest, form: forms.BaseForm, exc: DomainError) -> None:
    """Put the service's field errors on the form's fields; anything else becomes a message."""
    fields = exc.details.get("fields") or {}
    placed = False
    for name, field_messages in fields.items():
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if placed:
        messages.validation_error(request, exc.message, form)
    else:
        messages.error(request, exc.message)


def public_listing_link(listing: Listing) -> str:
    return reverse("listing_detail", args=(listing.pk,))


# --- Listing reports ------------------------------------------------------------------


class ListingReportIndexView(IndexView):
    """The report queue: open reports first, newest first within each group."""

    take_down_url_name: str | None = None
    dismiss_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[ListingReport]:
        return (
            super()
            .get_base_queryset()
            .select_related("listing", "reporter")
            .annotate(
                open_first=Case(
                    When(status=ReportStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
                )
            )
        )

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "listing",
                label=_("Listing"),
                accessor="listing.title",
                get_url=lambda report: public_listing_link(report.listing),
                sort_key="listing__title",
            ),
            Column("reason", label=_("Reason"), accessor="get_reason_display", sort_key="reason"),
            Column("reporter", label=_("Reporter"), accessor="reporter"),
            StatusTagColumn(
                "status",
                label=_("Status"),
                accessor="get_status_display",
                sort_key="status",
                primary=lambda report: report.status == ReportStatus.OPEN,
            ),
            DateColumn("created_at", label=_("Reported at"), sort_key="created_at"),
        ]

    def get_list_more_buttons(self, instance: ListingReport) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.status == ReportStatus.OPEN and self.user_has_permission("moderate"):
            if self.take_down_url_name:
                buttons.append(
                    ListingButton(
                        gettext("Take down listing"),
                        url=reverse(self.take_down_url_name, args=(quote(instance.pk),)),
                        icon_name="cross",
                        priority=10,
                    )
                )
            if self.dismiss_url_name:
                buttons.append(
                    ListingButton(
                        gettext("Dismiss"),
                        url=reverse(self.dismiss_url_name, args=(quote(instance.pk),)),
                        icon_name="check",
                        priority=20,
                    )
                )
        return buttons


class TakeDownForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The seller reads this. Everyone who reported the listing is told it was taken down."),
    )


class DismissForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the reporter"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. The reporter is told the listing stays up, with this note."),
    )


class ReportActionView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Base of the two ways to handle an open report."""

    model = ListingReport
    permission_required = "moderate"
    template_name = "cms/admin/report_action.html"
    header_icon = "warning"
    index_url_name: str | None = None
    url_name: str | None = None
    submit_button_label: Any = ""
    submit_button_classname = "button"

    @cached_property
    def report(self) -> ListingReport:
        # Looked up lazily, so PermissionCheckedMixin.dispatch runs first.
        return get_object_or_404(
            ListingReport.objects.select_related("listing", "reporter", "handled_by"), pk=self.kwargs["pk"]
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.report.status != ReportStatus.OPEN:
            messages.warning(request, gettext("This report was already handled."))
            return HttpResponseRedirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_page_subtitle(self) -> str:
        return self.report.listing.title

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": self.get_success_url(), "label": capfirst(ListingReport._meta.verbose_name_plural)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        report = self.report
        context.update(
            report=report,
            listing=report.listing,
            listing_url=public_listing_link(report.listing),
            open_reports=report.listing.reports.filter(status=ReportStatus.OPEN).count(),
            action_url=reverse(self.url_name, args=(quote(report.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
            submit_button_label=self.submit_button_label,
            submit_button_classname=self.submit_button_classname,
        )
        return context

    def perform(self, cleaned_data: dict[str, Any]) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def form_valid(self, form: forms.Form) -> HttpResponse:
        try:
            success = self.perform(form.cleaned_data)
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            return self.form_invalid(form)
        messages.success(self.request, success)
        return HttpResponseRedirect(self.get_success_url())


class ReportTakeDownView(ReportActionView):
    form_class = TakeDownForm
    page_title = _("Take down listing")
    submit_button_label = _("Take down listing")
    submit_button_classname = "button serious"

    def perform(self, cleaned_data: dict[str, Any]) -> str:
        listing = listing_take_down(
            moderator=self.request.user,  # type: ignore[arg-type]
            listing_id=self.report.listing_id,
            reason=cleaned_data["reason"],
        )
        return gettext("“%(title)s” was taken down; the seller and the reporters were told.") % {"title": listing.title}


class ReportDismissView(ReportActionView):
    form_class = DismissForm
    page_title = _("Dismiss report")
    submit_button_label = _("Dismiss report")

    def perform(self, cleaned_data: dict[str, Any]) -> str:
        report = listing_report_dismiss(
            moderator=self.request.user,  # type: ignore[arg-type]
            report_id=self.report.pk,
            note=cleaned_data.get("note", ""),
        )
        return gettext("The report on “%(title)s” was dismissed; the listing stays up.") % {
            "title": report.listing.title
        }


# --- Stolen-goods register ------------------------------------------------------------


class StolenReportForm(forms.ModelForm):
    class Meta:
        model = StolenGoodsReport
        fields = ("identifier_kind", "identifier", "source", "reference", "description")
        help_texts = {  # noqa: RUF012 - Django's Meta convention
            "identifier": _("IMEI or MEID, VIN or serial number, as written in the report."),
            "reference": _("E.g. the police case number."),
        }


class StolenReportIndexView(IndexView):
    resolve_url_name: str | None = None

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "identifier",
                label=_("Identifier"),
                get_url=lambda report: self.get_inspect_url(report),
                sort_key="identifier",
            ),
            Column("identifier_kind", label=_("Kind"), accessor="get_identifier_kind_display"),
            Column("source", label=_("Source"), accessor="get_source_display", sort_key="source"),
            Column("reference", label=_("Report reference")),
            StatusTagColumn(
                "active",
                label=_("Status"),
                accessor=lambda report: gettext("Active") if report.active else gettext("Resolved"),
                sort_key="active",
                primary=lambda report: report.active,
            ),
            DateColumn("created_at", label=_("Created at"), sort_key="created_at"),
        ]

    def get_list_more_buttons(self, instance: StolenGoodsReport) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.active and self.resolve_url_name and self.user_has_permission("resolve"):
            buttons.append(
                ListingButton(
                    gettext("Resolve"),
                    url=reverse(self.resolve_url_name, args=(quote(instance.pk),)),
                    icon_name="check",
                    priority=10,
                )
            )
        return buttons


class StolenReportCreateView(CreateView):
    """Enter a report into the register through `stolen_report_add`, which normalises the
    identifier and takes matching live listings down."""

    inspect_url_name: str | None = None

    def form_valid(self, form: forms.BaseForm) -> HttpResponse:
        self.form = form
        data = form.cleaned_data
        try:
            self.object = stolen_report_add(
                staff=self.request.user,
                kind=data["identifier_kind"],
                identifier=data["identifier"],
                source=data["source"],
                reference=data.get("reference", ""),
                description=data.get("description", ""),
            )
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            self.produced_error_message = None  # already shown
            return self.form_invalid(form)
        return self.save_action()

    def get_success_message(self, instance: StolenGoodsReport) -> str:
        matches = instance.alerts.count()
        if matches:
            return ngettext(
                "Stolen-goods report %(report)s added; %(count)d listing matches it: live listings were taken "
                "down and moderators alerted.",
                "Stolen-goods report %(report)s added; %(count)d listings match it: live listings were taken "
                "down and moderators alerted.",
                matches,
            ) % {"report": instance, "count": matches}
        return gettext("Stolen-goods report %(report)s added; no listing matches it now.") % {"report": instance}

    def get_success_buttons(self) -> list[Any]:
        if self.inspect_url_name:
            return [messages.button(reverse(self.inspect_url_name, args=(quote(self.object.pk),)), gettext("View"))]
        return []


class StolenReportResolveView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    model = StolenGoodsReport
    permission_required = "resolve"
    template_name = "cms/admin/stolen_report_resolve.html"
    header_icon = "check"
    page_title = _("Resolve stolen-goods report")
    index_url_name: str | None = None
    url_name: str | None = None

    @cached_property
    def report(self) -> StolenGoodsReport:
        return get_object_or_404(StolenGoodsReport, pk=self.kwargs["pk"])

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_page_subtitle(self) -> str:
        return str(self.report)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": self.get_success_url(), "label": capfirst(StolenGoodsReport._meta.verbose_name_plural)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            report=self.report,
            action_url=reverse(self.url_name, args=(quote(self.report.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            report = stolen_report_resolve(staff=request.user, report_id=self.report.pk)  # type: ignore[arg-type]
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("Stolen-goods report %(report)s resolved.") % {"report": report})
        return HttpResponseRedirect(self.get_success_url())


# --- Stolen-match alerts ----------------------------------------------------------------


class StolenMatchAlertIndexView(IndexView):
    report_inspect_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[StolenMatchAlert]:
        return super().get_base_queryset().select_related("listing", "report")

    def report_url(self, alert: StolenMatchAlert) -> str | None:
        if self.report_inspect_url_name:
            return reverse(self.report_inspect_url_name, args=(quote(alert.report_id),))
        return None

    @cached_property
    def columns(self) -> list[Column]:
        return [
            TitleColumn(
                "listing",
                label=_("Listing"),
                accessor="listing.title",
                get_url=lambda alert: public_listing_link(alert.listing),
                sort_key="listing__title",
            ),
            Column("listing_status", label=_("Listing status"), accessor="listing.get_status_display"),
            TitleColumn("report", label=_("Stolen-goods report"), accessor="report", get_url=self.report_url),
            DateColumn("created_at", label=_("Alerted at"), sort_key="created_at"),
        ]
