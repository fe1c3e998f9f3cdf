"""The "Orders" menu of the Wagtail admin: disputes to resolve (full refund, partial
refund, reject), orders on hold to decide (cancel with a full refund, or resume once the
listing is valid again), the money ledger to read and a read-only order list. Staff only.
Registered from the end of cms/wagtail_hooks.py; every decision goes through
marketplace.services.orders."""

from __future__ import annotations

import mimetypes
from decimal import Decimal
from typing import Any, ClassVar

import django_filters
from django import forms
from django.contrib.admin.utils import quote
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.admin.widgets.button import ListingButton
from wagtail.permissions import register_permission_policy

from cms.admin_views import show_domain_error
from marketplace.errors import DomainError
from marketplace.models import (
    Dispute,
    DisputeEvidence,
    DisputeStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerKind,
    LedgerTransaction,
    ListingStatus,
    Order,
    OrderStatus,
)
from marketplace.services.orders import (
    DisputeOutcome,
    HoldDecision,
    dispute_resolve,
    hold_can_resume,
    order_hold_decide,
)
from marketplace.services.payouts import seller_owed, seller_payout_record
from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet
from marketplace.templatetags.listing_tags import format_money

register_permission_policy(Dispute, StaffOnlyPermissionPolicy(Dispute, actions={"view", "resolve"}))
register_permission_policy(Order, StaffOnlyPermissionPolicy(Order, actions={"view", "pay_out", "decide_hold"}))
register_permission_policy(LedgerEntry, StaffOnlyPermissionPolicy(LedgerEntry, actions={"view"}))


def order_link(order: Order) -> str:
    return reverse("order_detail", args=(order.pk,))


# --- Disputes ---------------------------------------------------------------------------


class DisputeIndexView(IndexView):
    """Open disputes first, oldest first among them (they have waited longest)."""

    resolve_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[Dispute]:
        return (
            super()
            .get_base_queryset()
            .select_related("order", "opened_by")
            .annotate(
                open_first=Case(
                    When(status=DisputeStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
                )
            )
        )

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column(
                "order",
                label=_("Order"),
                accessor=lambda d: f"#{d.order_id} {d.order.title}",
                get_url=lambda d: reverse(self.resolve_url_name, args=(quote(d.pk),)) if self.resolve_url_name else "",
            ),
            Column("kind", label=_("Kind"), accessor="get_kind_display", sort_key="kind"),
            Column("amount", label=_("Price"), accessor=lambda d: format_money(d.order.amount, d.order.currency)),
            Column("opened_by", label=_("Buyer"), accessor="opened_by"),
            StatusTagColumn(
                "status",
                label=_("Status"),
                accessor="get_status_display",
                sort_key="status",
                primary=lambda d: d.status == DisputeStatus.OPEN,
            ),
            DateColumn("created_at", label=_("Opened at"), sort_key="created_at"),
        ]

    def get_list_more_buttons(self, instance: Dispute) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if instance.status == DisputeStatus.OPEN and self.resolve_url_name and self.user_has_permission("resolve"):
            buttons.append(
                ListingButton(
                    gettext("Resolve"),
                    url=reverse(self.resolve_url_name, args=(quote(instance.pk),)),
                    icon_name="check",
                    priority=10,
                )
            )
        return buttons


class DisputeResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (DisputeOutcome.REFUND_FULL, _("Uphold: refund the buyer in full (the listing is taken down)")),
            (DisputeOutcome.REFUND_PARTIAL, _("Uphold in part: refund part of the price, the rest goes to the seller")),
            (DisputeOutcome.REJECT, _("Reject: the order continues and its timer runs again")),
        ],
    )
    refund_yuan = forms.DecimalField(
        label=_("Partial refund (¥)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Only for a partial refund."),
    )
    note = forms.CharField(
        label=_("Note to both parties"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The buyer and the seller read this with the decision."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("outcome") == DisputeOutcome.REFUND_PARTIAL and not cleaned.get("refund_yuan"):
            self.add_error("refund_yuan", _("Enter the amount to refund."))
        return cleaned


class DisputeResolveView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    model = Dispute
    permission_required = "resolve"
    template_name = "cms/admin/dispute_resolve.html"
    header_icon = "warning"
    page_title = _("Resolve dispute")
    form_class = DisputeResolveForm
    index_url_name: str | None = None
    url_name: str | None = None
    evidence_url_name: str | None = None

    @cached_property
    def dispute(self) -> Dispute:
        return get_object_or_404(
            Dispute.objects.select_related(
                "order", "order__listing", "order__buyer", "order__seller_user", "order__seller_organisation"
            ).prefetch_related("evidence"),
            pk=self.kwargs["pk"],
        )

    def get_page_subtitle(self) -> str:
        return f"#{self.dispute.order_id} {self.dispute.order.title}"

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": self.get_success_url(), "label": capfirst(Dispute._meta.verbose_name_plural)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        dispute = self.dispute
        order = dispute.order
        context.update(
            dispute=dispute,
            order=order,
            order_url=order_link(order),
            price=format_money(order.amount, order.currency),
            evidence=[
                reverse(self.evidence_url_name, args=(quote(e.pk),)) if self.evidence_url_name else ""
                for e in dispute.evidence.all()
            ],
            history=list(order.status_history.order_by("pk")),
            action_url=reverse(self.url_name, args=(quote(dispute.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
            is_open=dispute.is_open,
        )
        return context

    def form_valid(self, form: forms.Form) -> HttpResponse:
        data = form.cleaned_data
        refund = data.get("refund_yuan")
        try:
            dispute = dispute_resolve(
                moderator=self.request.user,  # type: ignore[arg-type]
                dispute_id=self.dispute.pk,
                outcome=data["outcome"],
                refund_amount=int(refund * 100) if refund is not None else None,
                note=data["note"],
            )
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Dispute on order #%(number)s: %(status)s. Both parties were told.")
            % {"number": dispute.order_id, "status": dispute.get_status_display().lower()},
        )
        return HttpResponseRedirect(self.get_success_url())


class DisputeEvidenceView(PermissionCheckedMixin, View):
    """An evidence photo for moderators: the files have no public URL."""

    model = Dispute
    permission_required = "view"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        evidence = DisputeEvidence.objects.filter(pk=pk).first()
        if evidence is None:
            raise Http404
        content_type = mimetypes.guess_type(evidence.image.name or "")[0] or "image/jpeg"
        response = FileResponse(evidence.image.open("rb"), content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        return response  # type: ignore[return-value]


class DisputeViewSet(StaffOnlyViewSet):
    model = Dispute
    name = "disputes"
    icon = "warning"
    menu_label = _("Disputes")
    index_view_class = DisputeIndexView
    list_filter = ("status", "kind")
    search_fields = ("order__title", "description")
    ordering = ("open_first", "created_at")

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(resolve_url_name=self.get_url_name("resolve"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        resolve = self.construct_view(
            DisputeResolveView,
            url_name=self.get_url_name("resolve"),
            evidence_url_name=self.get_url_name("evidence"),
        )
        evidence = self.construct_view(DisputeEvidenceView)
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("resolve/<int:pk>/", resolve, name="resolve"),
            path("evidence/<int:pk>/", evidence, name="evidence"),
        ]


# --- Orders on hold ----------------------------------------------------------------------------


class HeldOrderIndexView(IndexView):
    """Orders on hold, longest waiting first; whether each may resume already shows."""

    page_title = _("Held orders")
    decide_url_name: str | None = None

    def get_base_queryset(self) -> QuerySet[Order]:
        return (
            super()
            .get_base_queryset()
            .filter(status=OrderStatus.ON_HOLD)
            .select_related("listing", "buyer", "seller_user", "seller_organisation")
        )

    def _decide_url(self, order: Order) -> str:
        return reverse(self.decide_url_name, args=(quote(order.pk),)) if self.decide_url_name else ""

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column("title", label=_("Order"), accessor=lambda o: f"#{o.pk} {o.title}", get_url=self._decide_url),
            Column("hold_reason", label=_("Why"), accessor="hold_reason"),
            Column("status_before_hold", label=_("Before the hold"), accessor="get_status_before_hold_display"),
            StatusTagColumn(
                "listing",
                label=_("Listing"),
                accessor=lambda o: o.listing.get_status_display(),
                primary=hold_can_resume,
            ),
            Column("buyer", label=_("Buyer"), accessor="buyer"),
            Column("amount", label=_("Price"), accessor=lambda o: format_money(o.amount, o.currency)),
            DateColumn("held_at", label=_("On hold since"), sort_key="held_at"),
        ]

    def get_list_more_buttons(self, instance: Order) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if self.decide_url_name and self.user_has_permission("decide_hold"):
            buttons.append(
                ListingButton(gettext("Decide"), url=self._decide_url(instance), icon_name="check", priority=10)
            )
        return buttons


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (HoldDecision.CANCEL, _("Cancel: refund the buyer in full; nobody is held at fault")),
            (HoldDecision.RESUME, _("Resume: the listing is valid again, the order continues where it stopped")),
        ],
    )
    note = forms.CharField(
        label=_("Note to both parties"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The buyer and the seller read this with the decision."),
    )


class HoldDecideView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    model = Order
    permission_required = "decide_hold"
    template_name = "cms/admin/hold_decide.html"
    header_icon = "warning"
    page_title = _("Decide a held order")
    form_class = HoldDecisionForm
    index_url_name: str | None = None
    url_name: str | None = None

    @cached_property
    def order(self) -> Order:
        return get_object_or_404(
            Order.objects.select_related("listing", "buyer", "seller_user", "seller_organisation"),
            pk=self.kwargs["pk"],
        )

    def get_page_subtitle(self) -> str:
        return f"#{self.order.pk} {self.order.title}"

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": self.get_success_url(), "label": gettext("Held orders")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = self.order
        context.update(
            order=order,
            order_url=order_link(order),
            listing_url=reverse("listing_detail", args=(order.listing_id,)),
            price=format_money(order.amount, order.currency),
            is_held=order.status == OrderStatus.ON_HOLD,
            can_resume=hold_can_resume(order),
            valid_statuses=", ".join(
                str(ListingStatus(s).label) for s in (ListingStatus.READY, ListingStatus.PUBLISHED)
            ),
            history=list(order.status_history.select_related("actor").order_by("pk")),
            action_url=reverse(self.url_name, args=(quote(order.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
        )
        return context

    def form_valid(self, form: forms.Form) -> HttpResponse:
        data = form.cleaned_data
        try:
            order = order_hold_decide(
                moderator=self.request.user,  # type: ignore[arg-type]
                order_id=self.order.pk,
                decision=data["decision"],
                note=data["note"],
            )
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Order #%(number)s is now %(status)s. Both parties were told.")
            % {"number": order.pk, "status": order.get_status_display().lower()},
        )
        return HttpResponseRedirect(self.get_success_url())


class HeldOrderViewSet(StaffOnlyViewSet):
    model = Order
    name = "held-orders"
    icon = "warning"
    menu_label = _("Held orders")
    index_view_class = HeldOrderIndexView
    search_fields = ("title", "buyer__email", "hold_reason")
    ordering = ("held_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(decide_url_name=self.get_url_name("decide"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *self.index_urls(),
            path("decide/<int:pk>/", self.action_view(HoldDecideView, "decide"), name="decide"),
        ]


# --- Orders (read-only) ---------------------------------------------------------------------


class OrderIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[Order]:
        return super().get_base_queryset().select_related("buyer", "seller_user", "seller_organisation")

    @cached_property
    def columns(self) -> list[Column]:
        title_column = self._get_title_column_class(TitleColumn)
        return [
            title_column("title", label=_("Order"), accessor=lambda o: f"#{o.pk} {o.title}", get_url=order_link),
            Column("buyer", label=_("Buyer"), accessor="buyer"),
            Column("seller", label=_("Seller"), accessor="seller_name"),
            Column("amount", label=_("Price"), accessor=lambda o: format_money(o.amount, o.currency)),
            Column("payment_method", label=_("Payment"), accessor="get_payment_method_display"),
            StatusTagColumn("status", label=_("Status"), accessor="get_status_display", sort_key="status"),
            DateColumn("created_at", label=_("Placed"), sort_key="created_at"),
        ]

    payout_url_name: str | None = None

    def get_list_more_buttons(self, instance: Order) -> list[Any]:
        buttons: list[Any] = super().get_list_more_buttons(instance)
        if (
            instance.status == OrderStatus.COMPLETED
            and instance.is_card
            and self.payout_url_name
            and self.user_has_permission("pay_out")
        ):
            buttons.append(
                ListingButton(
                    gettext("Record payout"),
                    url=reverse(self.payout_url_name, args=(quote(instance.pk),)),
                    icon_name="doc-full",
                    priority=10,
                )
            )
        return buttons


class PayoutForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount paid (¥)"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    reference = forms.CharField(
        label=_("Transfer reference"),
        max_length=60,
        help_text=_("The bank transfer number, or a receipt number for cash."),
    )


class PayoutRecordView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Record the transfer that paid the seller of a completed card order; the ledger then
    shows what is still owed."""

    model = Order
    permission_required = "pay_out"
    template_name = "cms/admin/payout_record.html"
    header_icon = "doc-full"
    page_title = _("Record payout")
    form_class = PayoutForm
    index_url_name: str | None = None
    url_name: str | None = None

    @cached_property
    def order(self) -> Order:
        return get_object_or_404(
            Order.objects.select_related("buyer", "seller_user", "seller_organisation"), pk=self.kwargs["pk"]
        )

    @cached_property
    def owed(self) -> int:
        return seller_owed(self.order.pk)

    def get_page_subtitle(self) -> str:
        return f"#{self.order.pk} {self.order.title}"

    def get_success_url(self) -> str:
        assert self.index_url_name is not None  # noqa: S101 - set by the viewset
        return reverse(self.index_url_name)

    def get_initial(self) -> dict[str, Any]:
        return {"amount": Decimal(self.owed) / 100} if self.owed else {}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = self.order
        context.update(
            order=order,
            order_url=order_link(order),
            price=format_money(order.amount, order.currency),
            owed=format_money(self.owed, order.currency),
            owes_nothing=self.owed == 0,
            payouts=list(
                LedgerTransaction.objects.filter(order=order, kind=LedgerKind.PAYOUT).order_by("created_at", "pk")
            ),
            action_url=reverse(self.url_name, args=(quote(order.pk),)) if self.url_name else "",
            cancel_url=self.get_success_url(),
        )
        return context

    def form_valid(self, form: forms.Form) -> HttpResponse:
        data = form.cleaned_data
        try:
            seller_payout_record(
                staff=self.request.user,  # type: ignore[arg-type]
                order_id=self.order.pk,
                amount=int(data["amount"] * 100),
                reference=data["reference"],
            )
        except DomainError as exc:
            show_domain_error(self.request, form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Payout for order #%(number)s recorded; the seller was told.") % {"number": self.order.pk},
        )
        return HttpResponseRedirect(self.get_success_url())


class OrderViewSet(StaffOnlyViewSet):
    model = Order
    name = "orders"
    icon = "list-ul"
    menu_label = _("All orders")
    index_view_class = OrderIndexView
    list_filter = ("status", "payment_method", "delivery_method")
    search_fields = ("title", "buyer__email", "tracking_number")
    ordering = ("-created_at",)

    def get_index_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_index_view_kwargs(payout_url_name=self.get_url_name("payout"), **kwargs)

    def get_urlpatterns(self) -> list[URLPattern]:
        payout = self.construct_view(PayoutRecordView, url_name=self.get_url_name("payout"))
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("payout/<int:pk>/", payout, name="payout"),
        ]


# --- The money ledger (read-only) --------------------------------------------------------------


class LedgerEntryFilterSet(WagtailFilterSet):
    order = django_filters.NumberFilter(label=_("Order number"), field_name="order_id", min_value=1)
    account = django_filters.ChoiceFilter(
        label=pgettext_lazy("ledger", "Account"), choices=LedgerAccount.choices, empty_label=_("All")
    )
    kind = django_filters.ChoiceFilter(
        label=_("Movement"), field_name="transaction__kind", choices=LedgerKind.choices, empty_label=_("All")
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("Date"), field_name="transaction__created_at", widget=DateRangePickerWidget
    )

    class Meta:
        model = LedgerEntry
        fields: ClassVar[list[str]] = []


class LedgerEntryIndexView(IndexView):
    """Every entry of the ledger, newest movement first, one row per entry: the page reads
    its rows with their transaction, order and party in one query, whatever their number."""

    page_title = _("Ledger")

    def get_base_queryset(self) -> QuerySet[LedgerEntry]:
        return (
            super()
            .get_base_queryset()
            .select_related("transaction", "order", "party_user", "party_organisation")
            .order_by("-transaction__created_at", "-transaction_id", "pk")
        )

    @cached_property
    def columns(self) -> list[Column]:
        return [
            DateColumn("created_at", label=_("Date"), accessor=lambda e: e.transaction.created_at),
            Column("kind", label=_("Movement"), accessor=lambda e: e.transaction.get_kind_display()),
            Column(
                "order",
                label=_("Order"),
                accessor=lambda e: f"#{e.order_id} {e.order.title}" if e.order_id else "—",
            ),
            Column("account", label=pgettext_lazy("ledger", "Account"), accessor="get_account_display"),
            Column("party", label=_("Party"), accessor=lambda e: e.party_organisation or e.party_user or "—"),
            Column(
                "debit",
                label=pgettext_lazy("ledger", "Debit"),
                accessor=lambda e: format_money(e.amount, e.currency) if e.amount > 0 else "",
            ),
            Column(
                "credit",
                label=pgettext_lazy("ledger", "Credit"),
                accessor=lambda e: format_money(-e.amount, e.currency) if e.amount < 0 else "",
            ),
            Column("memo", label=_("Memo"), accessor=lambda e: e.transaction.memo),
        ]


class LedgerViewSet(StaffOnlyViewSet):
    model = LedgerEntry
    name = "ledger"
    icon = "doc-full"
    menu_label = _("Ledger")
    index_view_class = LedgerEntryIndexView
    filterset_class = LedgerEntryFilterSet
    list_per_page = 50
    inspect_view_enabled = False

    def get_urlpatterns(self) -> list[URLPattern]:
        return self.index_urls()


class OrdersViewSetGroup(ModelViewSetGroup):
    menu_label = _("Orders")
    menu_icon = "list-ul"
    menu_order = 260
    # The full order list last: the admin URL finder for orders is the last one registered.
    items = (DisputeViewSet, HeldOrderViewSet, LedgerViewSet, OrderViewSet)
