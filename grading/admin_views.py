"""Grading screens of the Wagtail admin: rule-set versions, appraiser credentials, price
flags and valuation parameters. Staff only. Thin: parse the form, call a service of
`grading.services`, show its DomainError as a form error or a message."""

from __future__ import annotations

import json
import posixpath
from decimal import Decimal
from typing import Any, ClassVar

import django_filters
from django import forms
from django.contrib.admin.utils import quote
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.views.generic import CreateView, EditView, IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import Button, ListingButton

from grading.forms import AppraisalReviewNoteForm, RuleSetAcceptableForm
from grading.models import Appraisal, AppraisalReview, AppraiserCredential, PriceFlag, RuleSetStatus, RuleSetVersion
from grading.services import (
    appraisal_review,
    credential_revoke,
    credential_verify,
    price_flag_review,
    ruleset_draft_save,
    ruleset_publish,
    ruleset_set_acceptable,
)
from marketplace.errors import DomainError, ValidationFailed


def yuan(amount: int) -> str:
    return f"¥{Decimal(amount) / 100:,.2f}"


class DashForEmptyMixin:
    """Inspect views show “—” rather than “None” for empty fields."""

    def get_field_display_value(self, field_name: str, field: Any) -> Any:
        value = super().get_field_display_value(field_name, field)  # type: ignore[misc]
        return "—" if value is None or value == "" else value


# --- A confirmation page for one action on one object ------------------------------------


class ObjectActionView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET asks for confirmation; POST calls the service and goes back with a message."""

    model: Any = None
    permission_required: str | None = "change"
    template_name = "grading/admin/confirm_action.html"
    index_url_name: str | None = None
    inspect_url_name: str | None = None
    url_name: str | None = None
    form_class: type[forms.Form] | None = None
    submit_button_label: Any = _("Confirm")
    submit_button_classname = "button"

    @cached_property
    def object(self) -> Any:
        # Looked up lazily, so PermissionCheckedMixin.dispatch runs first.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[Any]:
        return self.model._default_manager.all()

    def unavailable(self) -> str | None:
        """Why the action makes no sense for this object now, or None."""
        return None

    def description(self) -> str:
        return ""

    def perform(self, data: dict[str, Any]) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def get_initial(self) -> dict[str, Any]:
        return {}

    def get_submit_button_label(self) -> str:
        return str(self.submit_button_label)

    def get_page_subtitle(self) -> str:
        return str(self.object)

    def get_success_url(self) -> str:
        if self.inspect_url_name:
            return reverse(self.inspect_url_name, args=(quote(self.object.pk),))
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items = [*self.breadcrumbs_items]
        if self.index_url_name:
            items.append({"url": reverse(self.index_url_name), "label": capfirst(self.model._meta.verbose_name_plural)})
        if self.inspect_url_name:
            items.append(
                {"url": reverse(self.inspect_url_name, args=(quote(self.object.pk),)), "label": str(self.object)}
            )
        items.append({"url": "", "label": self.get_page_title()})
        return items

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reason = self.unavailable()
        if reason:
            messages.warning(request, reason)
            return HttpResponseRedirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def summary(self) -> list[tuple[Any, Any]]:
        return []

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            description=self.description(),
            summary=self.summary(),
            form=self.form_class(initial=self.get_initial()) if self.form_class else None,
            action_url=reverse(self.url_name, args=(quote(self.object.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
            submit_button_label=self.get_submit_button_label(),
            submit_button_classname=self.submit_button_classname,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data: dict[str, Any] = {}
        if self.form_class is not None:
            form = self.form_class(request.POST)
            if not form.is_valid():
                messages.error(request, gettext("The request was not understood; please try again."))
                return HttpResponseRedirect(self.get_success_url())
            data = form.cleaned_data
        try:
            message = self.perform(data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return HttpResponseRedirect(self.get_success_url())


def action_button(
    label: str, url_name: str | None, pk: Any, icon: str, priority: int, *, prominent: bool = False
) -> list[Any]:
    """A row action: prominent ones sit next to the title, the rest in its "…" menu."""
    if not url_name:
        return []
    button_class = ListingButton if prominent else Button
    return [button_class(label, url=reverse(url_name, args=(quote(pk),)), icon_name=icon, priority=priority)]


# --- Rule-set versions ---------------------------------------------------------------------


def show_ruleset_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Every schema problem becomes an error on the document field."""
    problems = exc.details.get("problems") if isinstance(exc, ValidationFailed) else None
    for problem in problems or [exc.message]:
        form.add_error("source", str(problem))


class RuleSetIndexView(IndexView):
    publish_url_name: str | None = None
    acceptable_url_name: str | None = None

    def get_edit_url(self, instance: RuleSetVersion) -> str | None:
        # Published versions never change: their title links to the read-only view.
        if instance.status != RuleSetStatus.DRAFT:
            return None
        return super().get_edit_url(instance)

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "key",
                label=_("Rule set"),
                get_url=lambda version: self.get_edit_url(version) or self.get_inspect_url(version),
                sort_key="key",
            ),
            Column("version", label=_("Version"), sort_key="version"),
            Column("category", label=_("Category"), sort_key="category"),
            StatusTagColumn(
                "status",
                label=_("Status"),
                accessor="get_status_display",
                sort_key="status",
                primary=lambda version: version.status == RuleSetStatus.PUBLISHED,
            ),
            BooleanColumn("acceptable", label=_("Older grades acceptable"), sort_key="acceptable"),
            DateColumn("published_at", label=_("Published at"), sort_key="published_at"),
            Column("hash_prefix", label=_("Hash"), accessor=lambda version: version.content_hash[:12]),
        ]

    def get_list_more_buttons(self, instance: RuleSetVersion) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.status == RuleSetStatus.DRAFT and self.user_has_permission("publish"):
            buttons += action_button(
                gettext("Publish"), self.publish_url_name, instance.pk, "upload", 30, prominent=True
            )
        elif instance.status == RuleSetStatus.PUBLISHED and self.user_has_permission("change"):
            label = (
                gettext("Mark older grades not acceptable")
                if instance.acceptable
                else gettext("Mark older grades acceptable")
            )
            buttons += action_button(label, self.acceptable_url_name, instance.pk, "tick", 40)
        return buttons


class RuleSetCreateView(CreateView):
    """Create a draft from a pasted document through `ruleset_draft_save`."""

    def form_valid(self, form: forms.BaseForm) -> HttpResponse:
        self.form = form
        try:
            self.object = ruleset_draft_save(
                staff=self.request.user,
                document=form.cleaned_data["source"],
            )
        except DomainError as exc:
            show_ruleset_error(form, exc)
            self.produced_error_message = exc.message
            return self.form_invalid(form)
        return self.save_action()


class RuleSetEditView(EditView):
    """Drafts only. A published version is shown read-only (inspect) and a POST to edit
    it is refused without touching it."""

    def _refuse(self) -> HttpResponse:
        messages.error(self.request, gettext("A published rule-set version cannot be changed; draft a new version."))
        return HttpResponseRedirect(self.get_inspect_url() or reverse(self.index_url_name))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        if self.object.status != RuleSetStatus.DRAFT:
            return self._refuse()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        if self.object.status != RuleSetStatus.DRAFT:
            return self._refuse()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: forms.BaseForm) -> HttpResponse:
        self.form = form
        try:
            self.object = ruleset_draft_save(
                staff=self.request.user,
                document=form.cleaned_data["source"],
                version_id=self.object.pk,
            )
        except DomainError as exc:
            show_ruleset_error(form, exc)
            self.produced_error_message = exc.message
            return self.form_invalid(form)
        return self.save_action()


class RuleSetInspectView(DashForEmptyMixin, InspectView):
    """Any version, read-only, with its whole document pretty-printed."""

    template_name = "grading/admin/ruleset_inspect.html"
    publish_url_name: str | None = None
    acceptable_url_name: str | None = None

    def get_edit_url(self) -> str | None:
        if self.object.status != RuleSetStatus.DRAFT:
            return None
        url: str | None = super().get_edit_url()
        return url

    def get_content_hash_display_value(self) -> str:
        return str(self.object.content_hash)

    def get_device_types_display_value(self) -> str:
        return ", ".join(self.object.device_types) or "—"

    @cached_property
    def header_more_buttons(self) -> list[Any]:
        buttons: list[Any] = list(super().header_more_buttons)
        version = self.object
        if version.status == RuleSetStatus.DRAFT and self.publish_url_name and self.user_has_permission("publish"):
            buttons.append(
                Button(
                    gettext("Publish"),
                    url=reverse(self.publish_url_name, args=(quote(version.pk),)),
                    icon_name="upload",
                    priority=30,
                )
            )
        if (
            version.status == RuleSetStatus.PUBLISHED
            and self.acceptable_url_name
            and self.user_has_permission("change")
        ):
            buttons.append(
                Button(
                    gettext("Mark older grades not acceptable")
                    if version.acceptable
                    else gettext("Mark older grades acceptable"),
                    url=reverse(self.acceptable_url_name, args=(quote(version.pk),)),
                    icon_name="tick",
                    priority=40,
                )
            )
        return buttons

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["document_json"] = json.dumps(self.object.document, ensure_ascii=False, indent=2)
        context["is_draft"] = self.object.status == RuleSetStatus.DRAFT
        return context


class RuleSetPublishView(ObjectActionView):
    model = RuleSetVersion
    permission_required = "publish"
    page_title = _("Publish rule-set version")
    header_icon = "upload"
    submit_button_label = _("Yes, publish")

    def unavailable(self) -> str | None:
        if self.object.status != RuleSetStatus.DRAFT:
            return gettext("Only a draft can be published.")
        return None

    def description(self) -> str:
        return gettext(
            "Once published, %(version)s can never change: every new grade in its category is made with it and "
            "records its hash %(hash)s. To change it later, draft a new version."
        ) % {"version": self.object, "hash": self.object.content_hash[:12]}

    def perform(self, data: dict[str, Any]) -> str:
        version = ruleset_publish(staff=self.request.user, version_id=self.object.pk)  # type: ignore[arg-type]
        return gettext("%(key)s %(version)s is published.") % {"key": version.key, "version": version.version}


class RuleSetAcceptableView(ObjectActionView):
    model = RuleSetVersion
    permission_required = "change"
    page_title = _("Acceptability of older grades")
    header_icon = "tick"
    form_class = RuleSetAcceptableForm

    def unavailable(self) -> str | None:
        if self.object.status == RuleSetStatus.DRAFT:
            return gettext("Only a published version can be marked acceptable or not.")
        return None

    def get_initial(self) -> dict[str, Any]:
        return {"acceptable": "false" if self.object.acceptable else "true"}

    def get_submit_button_label(self) -> str:
        if self.object.acceptable:
            return gettext("Mark older grades not acceptable")
        return gettext("Mark older grades acceptable")

    def description(self) -> str:
        if self.object.acceptable:
            return gettext(
                "Listings graded under %(version)s stay publishable after a newer version is published. Marking it "
                "not acceptable means those listings must be graded again before they can be published."
            ) % {"version": self.object}
        return gettext(
            "Grades made under %(version)s are not accepted once a newer version exists. Marking it acceptable "
            "lets listings graded under it be published again."
        ) % {"version": self.object}

    def perform(self, data: dict[str, Any]) -> str:
        version = ruleset_set_acceptable(
            staff=self.request.user,  # type: ignore[arg-type]
            version_id=self.object.pk,
            acceptable=data["acceptable"],
        )
        if version.acceptable:
            return gettext("Grades made under %(version)s are acceptable.") % {"version": version}
        return gettext("Grades made under %(version)s are no longer acceptable.") % {"version": version}


# --- Appraiser credentials ------------------------------------------------------------------


def credential_state(credential: AppraiserCredential) -> str:
    if credential.revoked_at is not None:
        return gettext("Revoked")
    if credential.valid_to < timezone.localdate():
        return gettext("Expired")
    if credential.verified_at is None:
        return gettext("Waiting for verification")
    return gettext("Verified")


class CredentialFilterSet(WagtailFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"),
        choices=[
            ("unverified", _("Waiting for verification")),
            ("verified", _("Verified and valid")),
            ("expired", _("Expired")),
            ("revoked", _("Revoked")),
        ],
        method="filter_state",
        empty_label=_("All"),
    )

    class Meta:
        model = AppraiserCredential
        fields: ClassVar[list[str]] = []

    def filter_state(self, queryset: QuerySet[AppraiserCredential], name: str, value: str) -> Any:
        today = timezone.localdate()
        live = Q(revoked_at__isnull=True)
        return {
            "unverified": queryset.filter(live, verified_at__isnull=True, valid_to__gte=today),
            "verified": queryset.filter(live, verified_at__isnull=False, valid_from__lte=today, valid_to__gte=today),
            "expired": queryset.filter(live, valid_to__lt=today),
            "revoked": queryset.filter(revoked_at__isnull=False),
        }.get(value, queryset)


class CredentialIndexView(IndexView):
    verify_url_name: str | None = None
    revoke_url_name: str | None = None
    document_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[AppraiserCredential]:
        return super().get_base_queryset().select_related("user", "organisation")

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "number",
                label=_("Credential"),
                accessor=str,
                get_url=self.get_inspect_url,
                sort_key="number",
            ),
            Column("user", label=_("Appraiser"), accessor=lambda c: f"{c.user.public_name} <{c.user.email}>"),
            Column("organisation", label=_("Institution"), accessor=lambda c: c.organisation or "—"),
            Column("categories", label=_("Categories"), accessor=lambda c: ", ".join(c.categories)),
            Column("valid_to", label=_("Valid to"), sort_key="valid_to"),
            StatusTagColumn(
                "state",
                label=_("State"),
                accessor=credential_state,
                primary=lambda c: c.verified_at is not None and c.revoked_at is None,
            ),
        ]

    def get_list_more_buttons(self, instance: AppraiserCredential) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.revoked_at is None and self.user_has_permission("verify"):
            if instance.verified_at is None:
                buttons += action_button(
                    gettext("Verify"), self.verify_url_name, instance.pk, "tick", 30, prominent=True
                )
            buttons += action_button(gettext("Revoke"), self.revoke_url_name, instance.pk, "cross", 40)
        if instance.document and self.user_has_permission("view"):
            buttons += action_button(gettext("Download document"), self.document_url_name, instance.pk, "download", 50)
        return buttons


class CredentialInspectView(DashForEmptyMixin, InspectView):
    document_url_name: str | None = None
    verify_url_name: str | None = None
    revoke_url_name: str | None = None

    def get_document_display_value(self) -> str:
        credential = self.object
        if not credential.document or not self.document_url_name:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse(self.document_url_name, args=(quote(credential.pk),)),
            gettext("Download %(name)s") % {"name": posixpath.basename(credential.document.name)},
        )

    def get_categories_display_value(self) -> str:
        return ", ".join(self.object.categories)

    def get_user_display_value(self) -> str:
        return f"{self.object.user.public_name} <{self.object.user.email}>"

    def get_state_display_value(self) -> str:
        return credential_state(self.object)

    def get_field_label(self, field_name: str, field: Any) -> str:
        if field_name == "state":
            return gettext("State")
        return str(super().get_field_label(field_name, field))

    @cached_property
    def header_more_buttons(self) -> list[Any]:
        buttons: list[Any] = list(super().header_more_buttons)
        credential = self.object
        if credential.revoked_at is None and self.user_has_permission("verify"):
            if credential.verified_at is None and self.verify_url_name:
                buttons.append(
                    Button(
                        gettext("Verify"),
                        url=reverse(self.verify_url_name, args=(quote(credential.pk),)),
                        icon_name="tick",
                        priority=30,
                    )
                )
            if self.revoke_url_name:
                buttons.append(
                    Button(
                        gettext("Revoke"),
                        url=reverse(self.revoke_url_name, args=(quote(credential.pk),)),
                        icon_name="cross",
                        priority=40,
                    )
                )
        return buttons


class CredentialVerifyView(ObjectActionView):
    model = AppraiserCredential
    permission_required = "verify"
    page_title = _("Verify credential")
    header_icon = "tick"
    submit_button_label = _("Yes, verify")

    def unavailable(self) -> str | None:
        if self.object.revoked_at is not None:
            return gettext("This credential was revoked.")
        if self.object.verified_at is not None:
            return gettext("This credential is already verified.")
        return None

    def description(self) -> str:
        credential = self.object
        return gettext(
            "Check the uploaded document first. Once verified, %(appraiser)s may claim and grade items in "
            "%(categories)s until %(valid_to)s."
        ) % {
            "appraiser": credential.user.public_name,
            "categories": ", ".join(credential.categories),
            "valid_to": credential.valid_to,
        }

    def perform(self, data: dict[str, Any]) -> str:
        credential = credential_verify(staff=self.request.user, credential_id=self.object.pk)  # type: ignore[arg-type]
        return gettext("Credential %(credential)s is verified.") % {"credential": credential}


class CredentialRevokeView(ObjectActionView):
    model = AppraiserCredential
    permission_required = "verify"
    page_title = _("Revoke credential")
    header_icon = "cross"
    submit_button_label = _("Yes, revoke")
    submit_button_classname = "button serious"

    def unavailable(self) -> str | None:
        if self.object.revoked_at is not None:
            return gettext("This credential was already revoked.")
        return None

    def description(self) -> str:
        return gettext(
            "%(appraiser)s can no longer grade with this credential; items they claimed under it go back to the "
            "queue. Appraisals they already signed stay as they are."
        ) % {"appraiser": self.object.user.public_name}

    def perform(self, data: dict[str, Any]) -> str:
        credential = credential_revoke(staff=self.request.user, credential_id=self.object.pk)  # type: ignore[arg-type]
        return gettext("Credential %(credential)s is revoked.") % {"credential": credential}


class CredentialDocumentView(PermissionCheckedMixin, View):
    """Streams the private credential document to staff; it never has a public URL."""

    model = AppraiserCredential
    permission_required = "view"

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        credential = get_object_or_404(AppraiserCredential, pk=pk)
        if not credential.document:
            raise Http404
        try:
            handle = credential.document.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        name = posixpath.basename(credential.document.name or "") or "credential"
        response = FileResponse(handle, as_attachment=True, filename=name)
        response["Cache-Control"] = "private, no-store"
        return response


# --- Price flags ---------------------------------------------------------------------------


class PriceFlagFilterSet(WagtailFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"),
        choices=[("open", _("Not reviewed")), ("reviewed", _("Reviewed"))],
        method="filter_state",
        empty_label=_("All"),
    )

    class Meta:
        model = PriceFlag
        fields: ClassVar[list[str]] = ["position"]

    def filter_state(self, queryset: QuerySet[PriceFlag], name: str, value: str) -> Any:
        if value == "open":
            return queryset.filter(reviewed_at__isnull=True)
        if value == "reviewed":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


class PriceFlagIndexView(IndexView):
    review_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[PriceFlag]:
        return super().get_base_queryset().select_related("listing", "reviewed_by")

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "listing",
                label=_("Listing"),
                accessor="listing.title",
                get_url=lambda flag: reverse("listing_detail", args=(flag.listing_id,)),
                sort_key="listing__title",
            ),
            Column("price", label=_("Asking price"), accessor=lambda flag: yuan(flag.price), sort_key="price"),
            Column(
                "band",
                label=_("Fair band"),
                accessor=lambda flag: f"{yuan(flag.band_low)} – {yuan(flag.band_high)}",
            ),
            Column("position", label=_("Position"), accessor="get_position_display", sort_key="position"),
            DateColumn("created_at", label=_("Flagged at"), sort_key="created_at"),
            StatusTagColumn(
                "state",
                label=_("State"),
                accessor=lambda flag: gettext("Reviewed") if flag.reviewed_at else gettext("Not reviewed"),
                primary=lambda flag: flag.reviewed_at is None,
            ),
        ]

    def get_list_more_buttons(self, instance: PriceFlag) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.reviewed_at is None and self.user_has_permission("review"):
            buttons += action_button(
                gettext("Mark reviewed"), self.review_url_name, instance.pk, "tick", 10, prominent=True
            )
        return buttons


class PriceFlagReviewView(ObjectActionView):
    model = PriceFlag
    permission_required = "review"
    page_title = _("Mark price flag reviewed")
    header_icon = "tick"
    submit_button_label = _("Mark reviewed")

    def get_queryset(self) -> QuerySet[PriceFlag]:
        return PriceFlag.objects.select_related("listing")

    def unavailable(self) -> str | None:
        if self.object.reviewed_at is not None:
            return gettext("This price flag was already reviewed.")
        return None

    def description(self) -> str:
        flag = self.object
        return gettext(
            "“%(title)s” asks %(price)s; the fair band is %(low)s – %(high)s. Flags are shown to buyers and never "
            "block a listing; marking it reviewed takes it off the moderators' list."
        ) % {
            "title": flag.listing.title,
            "price": yuan(flag.price),
            "low": yuan(flag.band_low),
            "high": yuan(flag.band_high),
        }

    def perform(self, data: dict[str, Any]) -> str:
        flag = price_flag_review(moderator=self.request.user, flag_id=self.object.pk)  # type: ignore[arg-type]
        return gettext("The price flag on “%(title)s” is marked reviewed.") % {"title": flag.listing.title}


# --- Appraisals held for staff review ---------------------------------------------------------
# An appraiser whose credit tier requires it (the credit policy table) signs appraisals
# that count only once staff approve them.


class AppraisalReviewFilterSet(WagtailFilterSet):
    review_status = django_filters.ChoiceFilter(
        label=_("Staff review"),
        choices=[(value, label) for value, label in AppraisalReview.choices if value != AppraisalReview.NOT_REQUIRED],
        empty_label=_("All"),
    )

    class Meta:
        model = Appraisal
        fields: ClassVar[list[str]] = []


def _appraisal_summary(appraisal: Appraisal) -> list[tuple[Any, Any]]:
    return [
        (_("Listing"), f"{appraisal.listing.title} (#{appraisal.listing_id})"),
        (_("Appraiser"), f"{appraisal.appraiser.public_name} <{appraisal.appraiser.email}>"),
        (_("Institution"), appraisal.organisation.name if appraisal.organisation else "—"),
        (_("Grade"), appraisal.grade or gettext("not sellable")),
        (_("Rule set"), f"{appraisal.rule_set_key} {appraisal.rule_set_version}"),
        (_("Signed at"), timezone.localtime(appraisal.signed_at).strftime("%Y-%m-%d %H:%M")),
    ]


class AppraisalReviewIndexView(IndexView):
    approve_url_name: str | None = None
    reject_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[Appraisal]:
        return (
            super()
            .get_base_queryset()
            .exclude(review_status=AppraisalReview.NOT_REQUIRED)
            .select_related("listing", "appraiser", "organisation")
        )

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "listing",
                label=_("Listing"),
                accessor="listing.title",
                get_url=self.get_inspect_url,
                sort_key="listing__title",
            ),
            Column("appraiser", label=_("Appraiser"), accessor=lambda a: a.appraiser.public_name),
            Column("grade", label=_("Grade"), accessor=lambda a: a.grade or gettext("not sellable")),
            DateColumn("signed_at", label=_("Signed at"), sort_key="signed_at"),
            StatusTagColumn(
                "review_status",
                label=_("Staff review"),
                accessor="get_review_status_display",
                sort_key="review_status",
                primary=lambda a: a.review_status == AppraisalReview.PENDING,
            ),
        ]

    def get_list_more_buttons(self, instance: Appraisal) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.review_status == AppraisalReview.PENDING and self.user_has_permission("review"):
            buttons += action_button(gettext("Approve"), self.approve_url_name, instance.pk, "tick", 30, prominent=True)
            buttons += action_button(gettext("Reject"), self.reject_url_name, instance.pk, "cross", 40)
        return buttons


class AppraisalReviewInspectView(DashForEmptyMixin, InspectView):
    approve_url_name: str | None = None
    reject_url_name: str | None = None

    def get_listing_display_value(self) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("listing_detail", args=(self.object.listing_id,)),
            self.object.listing.title,
        )

    def get_appraiser_display_value(self) -> str:
        return f"{self.object.appraiser.public_name} <{self.object.appraiser.email}>"

    def get_result_display_value(self) -> str:
        findings = self.object.result.get("findings", [])
        return "; ".join(str(f.get("text", {}).get("zh", "")) for f in findings) or "—"

    @cached_property
    def header_more_buttons(self) -> list[Any]:
        buttons: list[Any] = list(super().header_more_buttons)
        if self.object.review_status == AppraisalReview.PENDING and self.user_has_permission("review"):
            for label, url_name, icon, priority in (
                (gettext("Approve"), self.approve_url_name, "tick", 30),
                (gettext("Reject"), self.reject_url_name, "cross", 40),
            ):
                if url_name:
                    buttons.append(
                        Button(
                            label,
                            url=reverse(url_name, args=(quote(self.object.pk),)),
                            icon_name=icon,
                            priority=priority,
                        )
                    )
        return buttons


class AppraisalDecideView(ObjectActionView):
    model = Appraisal
    permission_required = "review"
    form_class = AppraisalReviewNoteForm
    approve = True

    def get_queryset(self) -> QuerySet[Appraisal]:
        return Appraisal.objects.select_related("listing", "appraiser", "organisation")

    def unavailable(self) -> str | None:
        if self.object.review_status != AppraisalReview.PENDING:
            return gettext("This appraisal is not waiting for review.")
        return None

    def summary(self) -> list[tuple[Any, Any]]:
        return _appraisal_summary(self.object)

    def perform(self, data: dict[str, Any]) -> str:
        appraisal = appraisal_review(
            staff=self.request.user,  # type: ignore[arg-type]
            appraisal_id=self.object.pk,
            approve=self.approve,
            note=data.get("note", ""),
        )
        if appraisal.review_status == AppraisalReview.APPROVED:
            return gettext("The appraisal of “%(title)s” is approved and counts now.") % {
                "title": appraisal.listing.title
            }
        return gettext("The appraisal of “%(title)s” is rejected.") % {"title": appraisal.listing.title}


class AppraisalApproveView(AppraisalDecideView):
    page_title = _("Approve appraisal")
    header_icon = "tick"
    submit_button_label = _("Yes, approve")

    def description(self) -> str:
        return gettext(
            "Once approved, the grade becomes the item's grade (replacing the current one) and its publication goes "
            "on. Check the answers and evidence first."
        )


class AppraisalRejectView(AppraisalDecideView):
    page_title = _("Reject appraisal")
    header_icon = "cross"
    submit_button_label = _("Yes, reject")
    submit_button_classname = "button serious"
    approve = False

    def description(self) -> str:
        return gettext(
            "A rejected appraisal never counts; the appraiser sees your reason and an item waiting for a grade goes "
            "back to the appraisal queue."
        )
