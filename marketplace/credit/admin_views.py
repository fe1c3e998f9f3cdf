"""The "Credit" area of the Wagtail admin for moderators (staff only): search subjects,
see their events and score history, apply adjustments and sanctions (reason required,
audited, reversible), decide appeals, review rating rings and issue partner tokens.
Every change goes through marketplace.credit.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from marketplace.credit import services
from marketplace.credit.models import (
    AppealStatus,
    CreditAppeal,
    CreditRole,
    CreditScore,
    CreditScoreHistory,
    PartnerToken,
    RatingRing,
)
from marketplace.credit.selectors import reversed_event_ids, subject_events, subjects_search
from marketplace.errors import DomainError, ValidationFailed
from marketplace.models import User


class AdjustmentForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=CreditRole.choices)
    direction = forms.ChoiceField(label=_("Direction"), choices=[("down", _("Lower")), ("up", _("Raise"))])
    size = forms.FloatField(
        label=_("Size"), min_value=0.1, max_value=20, initial=1, help_text=_("One completed order counts about 1.")
    )
    sanction = forms.BooleanField(label=_("Record as a sanction"), required=False)
    reason = forms.CharField(
        label=_("Reason (the user sees it)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


def _flash(request: HttpRequest, exc: DomainError) -> None:
    message = exc.message
    if isinstance(exc, ValidationFailed):
        extra = [m for ms in (exc.details.get("fields") or {}).values() for m in ms if m != exc.message]
        if extra:
            message = f"{message} {' '.join(str(m) for m in extra)}"
    messages.error(request, message)


class CreditAdminView(WagtailAdminTemplateMixin, TemplateView):
    header_icon = "pick"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not (request.user.is_authenticated and request.user.is_staff):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("credit_admin_subjects"), "label": gettext("Credit")},
            {"url": "", "label": self.get_page_title()},
        ]


class SubjectsView(CreditAdminView):
    template_name = "credit/admin/subjects.html"
    page_title = _("Credit: subjects")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "")
        context["query"] = query
        context["subjects"] = list(subjects_search(query))
        context["open_appeals"] = CreditAppeal.objects.filter(status=AppealStatus.OPEN).count()
        context["open_rings"] = RatingRing.objects.filter(status="open").count()
        return context


class SubjectView(CreditAdminView):
    template_name = "credit/admin/subject.html"
    page_title = _("Credit record")

    def get_page_subtitle(self) -> str:
        return str(self.subject)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.subject = get_object_or_404(User, pk=kwargs["user_id"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        events = subject_events(self.subject)
        context.update(
            subject=self.subject,
            scores=list(CreditScore.objects.filter(user=self.subject).order_by("role")),
            history=list(CreditScoreHistory.objects.filter(user=self.subject).order_by("-computed_at", "-pk")[:50]),
            events=events,
            reversed_ids=reversed_event_ids(events),
            appeals=list(CreditAppeal.objects.filter(user=self.subject).select_related("event")),
            form=kwargs.get("form") or AdjustmentForm(),
            reverse_form=ReasonForm(),
        )
        return context

    def post(self, request: HttpRequest, user_id: int) -> HttpResponse:
        form = AdjustmentForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("The adjustment is not valid; a reason is required."))
            return self.render_to_response(self.get_context_data(form=form), status=422)
        data = form.cleaned_data
        try:
            services.credit_adjust(
                moderator=request.user,  # type: ignore[arg-type]
                user_id=self.subject.pk,
                role=data["role"],
                direction=data["direction"],
                size=data["size"],
                reason=data["reason"],
                sanction=data["sanction"],
            )
        except DomainError as exc:
            _flash(request, exc)
            return self.render_to_response(self.get_context_data(form=form), status=422)
        messages.success(request, gettext("Adjustment recorded; the user was notified."))
        return HttpResponseRedirect(reverse("credit_admin_subject", args=(self.subject.pk,)))


class EventReverseView(CreditAdminView):
    http_method_names = ["post"]  # noqa: RUF012 - Django's own attribute

    def post(self, request: HttpRequest, event_id: int) -> HttpResponse:
        from marketplace.credit.models import CreditEvent

        event = get_object_or_404(CreditEvent, pk=event_id)
        try:
            services.credit_event_reverse(
                moderator=request.user,  # type: ignore[arg-type]
                event_id=event.pk,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, gettext("Event reversed; the user was notified."))
        return HttpResponseRedirect(reverse("credit_admin_subject", args=(event.subject_id,)))


class AppealsView(CreditAdminView):
    template_name = "credit/admin/appeals.html"
    page_title = _("Credit appeals")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["open"] = list(
            CreditAppeal.objects.filter(status=AppealStatus.OPEN).select_related("user", "event").order_by("created_at")
        )
        context["decided"] = list(
            CreditAppeal.objects.exclude(status=AppealStatus.OPEN)
            .select_related("user", "event", "decided_by")
            .order_by("-decided_at")[:50]
        )
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        appeal_id = request.POST.get("appeal_id", "")
        try:
            services.credit_appeal_decide(
                moderator=request.user,  # type: ignore[arg-type]
                appeal_id=int(appeal_id) if appeal_id.isdigit() else 0,
                uphold=request.POST.get("decision") == "uphold",
                note=request.POST.get("note", ""),
            )
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, gettext("Appeal decided; the user was notified."))
        return HttpResponseRedirect(reverse("credit_admin_appeals"))


class RingsView(CreditAdminView):
    template_name = "credit/admin/rings.html"
    page_title = _("Rating rings")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rings = list(RatingRing.objects.select_related("reviewed_by")[:100])
        ids = {int(m) for ring in rings for m in ring.members}
        users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
        context["rings"] = [(ring, [users.get(int(m)) for m in ring.members]) for ring in rings]
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        ring_id = request.POST.get("ring_id", "")
        try:
            services.ring_review(
                moderator=request.user,  # type: ignore[arg-type]
                ring_id=int(ring_id) if ring_id.isdigit() else 0,
                confirm=request.POST.get("decision") == "confirm",
                note=request.POST.get("note", ""),
            )
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, gettext("Ring reviewed; the members' scores are recomputed."))
        return HttpResponseRedirect(reverse("credit_admin_rings"))


class PartnerTokensView(CreditAdminView):
    template_name = "credit/admin/tokens.html"
    page_title = _("Partner tokens")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["tokens"] = list(PartnerToken.objects.select_related("created_by"))
        context["new_token"] = kwargs.get("new_token")
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        staff: Any = request.user
        try:
            if request.POST.get("revoke", "").isdigit():
                services.partner_token_revoke(staff=staff, token_id=int(request.POST["revoke"]))
                messages.success(request, gettext("Token revoked."))
            else:
                _token, raw = services.partner_token_create(staff=staff, name=request.POST.get("name", ""))
                messages.success(request, gettext("Token created. Copy it now: it is not shown again."))
                return self.render_to_response(self.get_context_data(new_token=raw))
        except DomainError as exc:
            _flash(request, exc)
        return HttpResponseRedirect(reverse("credit_admin_tokens"))
