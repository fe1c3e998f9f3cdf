"""Flea markets (跳蚤市场): the page with its venue, stall types, add-ons, photos and dates,
and the stall applications (plain models, not page content).

Dates, stall types and add-ons are page content (inline panels, kept in revisions).
Applications, capacity rows and "available at this event" marks are operational data
that revisions never touch; they point at dates and stall types with PROTECT, and the
page form refuses to delete a date or stall type that has applications (cancel the date
instead)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
    TabbedInterface,
)
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from cms.admin_forms import FleaMarketPageForm
from cms.models.common import (
    EVENT_ORGANISER_KINDS,
    RICHTEXT_FEATURES,
    LocationMixin,
    OrganisationPageMixin,
    SanitisedRichTextMixin,
    SortedInline,
    organisation_fk_kwargs,
)
from marketplace.models import Listing, Organisation


class Recurrence(models.TextChoices):
    NONE = "none", _("No repetition (add dates by hand)")
    WEEKLY = "weekly", _("Every week")
    BIWEEKLY = "biweekly", _("Every second week")
    MONTHLY = "monthly", _("Once a month, on the n-th weekday")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WeekOfMonth(models.IntegerChoices):
    FIRST = 1, _("first")
    SECOND = 2, _("second")
    THIRD = 3, _("third")
    FOURTH = 4, _("fourth")
    LAST = -1, _("last")


def default_setup_time() -> dt.time:
    """8:00. A callable, not a fixed time: Django's fields.W161 check warns about a fixed
    time default whenever `check` happens to run within seconds of that time of day."""
    return dt.time(8, 0)


class FleaMarketPage(  # type: ignore[django-manager-missing]  # Page + abstract mixin
    RoutablePageMixin, SanitisedRichTextMixin, OrganisationPageMixin, Page, LocationMixin
):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    organisation_kinds = EVENT_ORGANISER_KINDS
    organisation = models.ForeignKey(Organisation, **organisation_fk_kwargs(*EVENT_ORGANISER_KINDS))
    intro = models.TextField(_("introduction"), blank=True, max_length=1000)
    description = RichTextField(_("about the market"), blank=True, features=RICHTEXT_FEATURES)
    rules = RichTextField(
        _("rules"), blank=True, features=RICHTEXT_FEATURES, help_text=_("What may be sold, set-up, rubbish, parking.")
    )
    venue_plan = models.ForeignKey(
        "wagtailimages.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("venue plan"),
        help_text=_("An image of the site plan with the stall rows; no online map is loaded."),
    )
    opens_at = models.TimeField(_("opens at"), default=dt.time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=dt.time(15, 0))
    setup_from = models.TimeField(
        _("vendors set up from"),
        null=True,
        blank=True,
        default=default_setup_time,
        help_text=_("Arrival time for stalls."),
    )
    recurrence = models.CharField(_("repeats"), max_length=10, choices=Recurrence.choices, default=Recurrence.NONE)
    recurrence_weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, default=Weekday.SATURDAY
    )
    recurrence_week_of_month = models.SmallIntegerField(
        _("week of the month"),
        choices=WeekOfMonth.choices,
        default=WeekOfMonth.SECOND,
        help_text=_("Only for monthly markets, e.g. the second Saturday."),
    )
    recurrence_starts = models.DateField(_("repeat from"), null=True, blank=True)
    recurrence_ends = models.DateField(
        _("repeat until"), null=True, blank=True, help_text=_("Dates are generated up to a year ahead at most.")
    )
    applications_open = models.BooleanField(_("stall applications open"), default=True)
    application_deadline_days = models.PositiveSmallIntegerField(
        _("applications close (days before)"), default=1, validators=[MaxValueValidator(60)]
    )

    search_fields: ClassVar[list[index.BaseField]] = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("description"),
        index.SearchField("venue"),
        index.SearchField("address"),
    ]
    content_panels: ClassVar[list[Panel]] = [
        *Page.content_panels,
        FieldPanel("organisation", permission="marketplace.change_organisation"),
        FieldPanel("intro"),
        FieldPanel("description"),
        FieldPanel("rules"),
        InlinePanel("photos", label=_("Photos")),
    ]
    venue_panels: ClassVar[list[Panel]] = [
        FieldPanel("venue"),
        FieldPanel("address"),
        FieldRowPanel([FieldPanel("latitude"), FieldPanel("longitude")], heading=_("Position")),
        FieldPanel("venue_plan"),
    ]
    dates_panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("setup_from"), FieldPanel("opens_at"), FieldPanel("closes_at")], heading=_("Times")),
        MultiFieldPanel(
            [
                FieldPanel("recurrence"),
                FieldRowPanel([FieldPanel("recurrence_week_of_month"), FieldPanel("recurrence_weekday")]),
                FieldRowPanel([FieldPanel("recurrence_starts"), FieldPanel("recurrence_ends")]),
            ],
            heading=_("Repeating dates"),
            help_text=_(
                "When you save, the missing dates of the rule are added below. To drop a date, tick "
                "“cancelled” rather than deleting it: applicants are told and it is not generated again."
            ),
        ),
        InlinePanel("dates", label=_("Market dates")),
    ]
    stall_panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("applications_open"), FieldPanel("application_deadline_days")]),
        HelpPanel(content=_("Prices are in fen: 3000 means ¥30.00. Capacity is the number of stalls per date.")),
        InlinePanel("stall_types", label=_("Stall types"), min_num=1),
        InlinePanel("add_ons", label=_("Add-ons")),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(venue_panels, heading=_("Venue")),
            ObjectList(dates_panels, heading=_("Dates")),
            ObjectList(stall_panels, heading=_("Stalls")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ],
        base_form_class=FleaMarketPageForm,
    )
    parent_page_types: ClassVar[list[str]] = ["cms.EventIndexPage"]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("flea market")
        verbose_name_plural = _("flea markets")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.views.flea import market_page_context

        context = super().get_context(request, *args, **kwargs)
        context.update(market_page_context(request, self))
        return context

    @path("")
    def index(self, request: HttpRequest) -> HttpResponse:
        return self.render(request)

    @path("apply/", name="apply")
    def apply(self, request: HttpRequest) -> HttpResponse:
        from cms.views.flea import stall_apply_view

        return stall_apply_view(request, self)

    @path("applications/<int:application_id>/cancel/", name="cancel_application")
    def cancel_application(self, request: HttpRequest, application_id: int) -> HttpResponse:
        from cms.views.flea import stall_cancel_view

        return stall_cancel_view(request, self, application_id)

    @path("applications/<int:application_id>/pay/", name="pay_fee")
    def pay_fee(self, request: HttpRequest, application_id: int) -> HttpResponse:
        from cms.views.flea import stall_fee_pay_view

        return stall_fee_pay_view(request, self, application_id)

    @path("applications/<int:application_id>/pay/refresh/", name="pay_fee_refresh")
    def pay_fee_refresh(self, request: HttpRequest, application_id: int) -> HttpResponse:
        from cms.views.flea import stall_fee_refresh_view

        return stall_fee_refresh_view(request, self, application_id)


class StallType(SortedInline):
    market = ParentalKey(FleaMarketPage, on_delete=models.CASCADE, related_name="stall_types")
    name = models.CharField(_("name"), max_length=60, help_text=_("e.g. Standard stall, Car boot"))
    size = models.CharField(_("size"), max_length=40, blank=True, help_text=_("e.g. 2 m × 2 m"))
    price = models.PositiveIntegerField(_("price (fen)"), help_text=_("Per date, in fen: 3000 means ¥30.00."))
    capacity = models.PositiveSmallIntegerField(_("stalls per date"), validators=[MinValueValidator(1)])
    description = models.CharField(_("description"), max_length=255, blank=True)

    panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("size")]),
        FieldRowPanel([FieldPanel("price"), FieldPanel("capacity")]),
        FieldPanel("description"),
    ]

    class Meta(SortedInline.Meta):
        verbose_name = _("stall type")
        verbose_name_plural = _("stall types")

    def __str__(self) -> str:
        return f"{self.name} ({self.size})" if self.size else self.name


class StallAddOn(SortedInline):
    market = ParentalKey(FleaMarketPage, on_delete=models.CASCADE, related_name="add_ons")
    name = models.CharField(_("name"), max_length=60, help_text=_("e.g. Power socket, Table"))
    price = models.PositiveIntegerField(_("price (fen)"), default=0)

    panels: ClassVar[list[Panel]] = [FieldRowPanel([FieldPanel("name"), FieldPanel("price")])]

    class Meta(SortedInline.Meta):
        verbose_name = _("add-on")
        verbose_name_plural = _("add-ons")

    def __str__(self) -> str:
        return self.name


class FleaMarketPhoto(SortedInline):
    market = ParentalKey(FleaMarketPage, on_delete=models.CASCADE, related_name="photos")
    image = models.ForeignKey(
        "wagtailimages.Image", on_delete=models.CASCADE, related_name="+", verbose_name=_("image")
    )
    caption = models.CharField(_("caption"), max_length=200, blank=True)

    panels: ClassVar[list[Panel]] = [FieldPanel("image"), FieldPanel("caption")]

    class Meta(SortedInline.Meta):
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class FleaMarketDate(models.Model):
    market = ParentalKey(FleaMarketPage, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    starts_at = models.TimeField(_("opens at"), null=True, blank=True, help_text=_("Blank: the market's time."))
    ends_at = models.TimeField(_("closes at"), null=True, blank=True)
    cancelled = models.BooleanField(_("cancelled"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True, help_text=_("e.g. Moved indoors if it rains."))
    generated = models.BooleanField(_("from the repeat rule"), default=False, editable=False)

    panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("date"), FieldPanel("starts_at"), FieldPanel("ends_at")]),
        FieldRowPanel([FieldPanel("cancelled"), FieldPanel("note")]),
    ]

    class Meta:
        verbose_name = _("market date")
        verbose_name_plural = _("market dates")
        ordering: ClassVar[list[str]] = ["date"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["market", "date"], name="flea_market_date_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.market.title} · {self.date:%Y-%m-%d}"

    @property
    def opens(self) -> dt.time:
        return self.starts_at or self.market.opens_at

    @property
    def closes(self) -> dt.time:
        return self.ends_at or self.market.closes_at


class StallCapacity(models.Model):
    """One row per (date, stall type): the row approvals lock, so two organisers approving
    at once cannot overbook. `capacity` overrides the stall type's for this date."""

    market_date = models.ForeignKey(FleaMarketDate, on_delete=models.CASCADE, related_name="capacities")
    stall_type = models.ForeignKey(StallType, on_delete=models.CASCADE, related_name="capacities")
    capacity = models.PositiveSmallIntegerField(_("capacity on this date"), null=True, blank=True)

    class Meta:
        verbose_name = _("stall capacity")
        verbose_name_plural = _("stall capacities")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["market_date", "stall_type"], name="stall_capacity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.market_date} · {self.stall_type}"

    @property
    def effective_capacity(self) -> int:
        return self.capacity if self.capacity is not None else self.stall_type.capacity


class StallApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the organiser")
    APPROVED = "approved", _("Approved")
    WAITLISTED = "waitlisted", _("On the waiting list")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("Did not show up")


A = StallApplicationStatus
STALL_TRANSITIONS: dict[str, frozenset[str]] = {
    A.PENDING: frozenset({A.APPROVED, A.WAITLISTED, A.REJECTED, A.CANCELLED}),
    A.WAITLISTED: frozenset({A.APPROVED, A.REJECTED, A.CANCELLED}),
    A.APPROVED: frozenset({A.CANCELLED, A.NO_SHOW}),
    A.REJECTED: frozenset(),
    A.CANCELLED: frozenset(),
    A.NO_SHOW: frozenset(),
}
# Applications that still hold or wait for a place; one per applicant and date.
ACTIVE_STALL_STATUSES = frozenset({A.PENDING, A.APPROVED, A.WAITLISTED})


class PaymentMethod(models.TextChoices):
    OFFLINE = "offline", _("Paid offline (cash, bank transfer)")
    CARD = "card", _("Card")


class StallApplication(models.Model):
    market_date = models.ForeignKey(
        FleaMarketDate, on_delete=models.PROTECT, related_name="applications", verbose_name=_("date")
    )
    stall_type = models.ForeignKey(
        StallType, on_delete=models.PROTECT, related_name="applications", verbose_name=_("stall type")
    )
    add_ons = models.ManyToManyField(StallAddOn, blank=True, related_name="applications", verbose_name=_("add-ons"))
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="stall_applications",
        verbose_name=_("applicant"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stall_applications",
        verbose_name=_("applying for"),
        help_text=_("Set when a shop applies; the applicant is its owner or staff."),
    )
    goods = models.CharField(_("what you will sell"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=StallApplicationStatus.choices, default=A.PENDING, editable=False
    )
    fee = models.PositiveIntegerField(_("fee (fen)"), help_text=_("Stall and add-ons, fixed when applying."))
    stall_number = models.PositiveSmallIntegerField(_("stall number"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    waitlisted_at = models.DateTimeField(_("waitlisted at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    payment_method = models.CharField(_("paid by"), max_length=10, choices=PaymentMethod.choices, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    payment_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    close_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stall application")
        verbose_name_plural = _("stall applications")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["market_date", "applicant"],
                condition=Q(status__in=sorted(ACTIVE_STALL_STATUSES)),
                name="stall_application_one_active_per_date",
            ),
            models.CheckConstraint(condition=Q(status__in=list(A.values)), name="stall_application_status_valid"),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True) | Q(status__in=[A.APPROVED, A.NO_SHOW, A.CANCELLED]),
                name="stall_application_paid_only_when_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_name} · {self.market_date}"

    @property
    def vendor_name(self) -> str:
        if self.organisation is not None:
            return self.organisation.name
        return str(self.applicant.public_name)

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STALL_STATUSES


class ListingAtEvent(models.Model):
    """A seller's listing marked "available at this event" for a market date."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="event_availability")
    market_date = models.ForeignKey(FleaMarketDate, on_delete=models.CASCADE, related_name="listings_available")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("listing available at an event")
        verbose_name_plural = _("listings available at events")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["listing", "market_date"], name="listing_at_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.listing} @ {self.market_date}"


class StallFeePaymentStatus(models.TextChoices):
    STARTED = "started", _("Waiting for the card")
    FAILED = "failed", _("Card declined")
    SUCCEEDED = "succeeded", _("Paid")
    REFUNDING = "refunding", _("Being refunded")
    REFUNDED = "refunded", _("Refunded")


class StallFeePayment(models.Model):
    """One card attempt to pay a stall fee: a Stripe PaymentIntent with automatic capture
    (marketplace.services.fee_payments). The application records the fee as paid; this
    row is what the platform needs to find and refund the card payment. At most one
    attempt per application is open (started) at a time, so a double click cannot charge
    twice; a succeeded intent that is not (or no longer) wanted is refunded."""

    application = models.ForeignKey(
        StallApplication, on_delete=models.PROTECT, related_name="fee_payments", verbose_name=_("application")
    )
    intent_id = models.CharField(_("payment intent"), max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    amount = models.PositiveIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=StallFeePaymentStatus.choices,
        default=StallFeePaymentStatus.STARTED,
        editable=False,
    )
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    refund_id = models.CharField(_("refund"), max_length=255, blank=True)
    refund_reason = models.CharField(_("refund reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True, editable=False)
    refunded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("stall fee card payment")
        verbose_name_plural = _("stall fee card payments")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["intent_id"], condition=~Q(intent_id=""), name="stall_fee_payment_intent_unique"
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status=StallFeePaymentStatus.STARTED),
                name="stall_fee_payment_one_open_per_application",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(StallFeePaymentStatus.values)), name="stall_fee_payment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.intent_id or '—'} · {self.get_status_display()}"
