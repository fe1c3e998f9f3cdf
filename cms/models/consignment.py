"""Consignment shop pages (shop information, opening hours, terms and the shop's listings)
and consignment event pages (寄卖活动): drop-off slots with capacity, consignor
registrations, the items a consignor enters before the event, a discount day and the
pickup or donation of unsold items.

Agreements, intake, tags, markdowns and payouts of the shops themselves live on the
marketplace side, not here."""

from __future__ import annotations

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

from cms.admin_forms import GuardedDeletionPageForm
from cms.models.common import (
    CONSIGNMENT_EVENT_KINDS,
    RICHTEXT_FEATURES,
    SHOP_KINDS,
    LocationMixin,
    OrganisationPageMixin,
    SanitisedRichTextMixin,
    SortedInline,
    organisation_fk_kwargs,
)
from cms.models.flea import Weekday
from marketplace.models import Organisation


class ConsignmentShopPage(  # type: ignore[django-manager-missing]  # Page + abstract mixin
    SanitisedRichTextMixin, OrganisationPageMixin, Page, LocationMixin
):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    organisation_kinds = SHOP_KINDS
    organisation = models.ForeignKey(Organisation, **organisation_fk_kwargs(*SHOP_KINDS))
    intro = models.TextField(_("about the shop"), blank=True, max_length=1000)
    contact_phone = models.CharField(_("shop telephone"), max_length=30, blank=True)
    opening_note = models.CharField(
        _("opening hours note"), max_length=200, blank=True, help_text=_("e.g. Closed on public holidays.")
    )
    consignment_terms = RichTextField(
        _("consignment terms"),
        blank=True,
        features=RICHTEXT_FEATURES,
        help_text=_("Commission, how long items stay on sale, markdowns, what happens to unsold items."),
    )
    listings_shown = models.PositiveSmallIntegerField(_("listings shown"), default=12)

    search_fields: ClassVar[list[index.BaseField]] = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("consignment_terms"),
        index.SearchField("address"),
    ]
    content_panels: ClassVar[list[Panel]] = [
        *Page.content_panels,
        FieldPanel("organisation", permission="marketplace.change_organisation"),
        FieldPanel("intro"),
        FieldPanel("consignment_terms"),
        FieldPanel("listings_shown"),
    ]
    shop_panels: ClassVar[list[Panel]] = [
        FieldPanel("venue"),
        FieldPanel("address"),
        FieldRowPanel([FieldPanel("latitude"), FieldPanel("longitude")], heading=_("Position")),
        FieldPanel("contact_phone"),
        InlinePanel("opening_hours", label=_("Opening hours")),
        FieldPanel("opening_note"),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(shop_panels, heading=_("Shop")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ]
    )
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: ClassVar[list[str]] = ["cms.ConsignmentEventPage"]

    class Meta:
        verbose_name = _("consignment shop")
        verbose_name_plural = _("consignment shops")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.selectors import shop_listings

        context = super().get_context(request, *args, **kwargs)
        context["listings"] = shop_listings(organisation_id=self.organisation_id, limit=self.listings_shown)
        context["hours"] = list(self.opening_hours.all())
        return context


class ShopOpeningHours(SortedInline):
    shop = ParentalKey(ConsignmentShopPage, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("weekday"), FieldPanel("opens_at"), FieldPanel("closes_at")])
    ]

    class Meta(SortedInline.Meta):
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")


class ConsignmentEventPage(  # type: ignore[django-manager-missing]  # Page + abstract mixin
    RoutablePageMixin, SanitisedRichTextMixin, OrganisationPageMixin, Page, LocationMixin
):
    """A community consignment sale: consignors register for a drop-off slot and enter
    their items beforehand; the organiser sells them on the day; unsold items are picked
    up, or donated when the consignor ticked "donate if unsold"."""

    organisation_kinds = CONSIGNMENT_EVENT_KINDS
    organisation = models.ForeignKey(Organisation, **organisation_fk_kwargs(*CONSIGNMENT_EVENT_KINDS))
    intro = models.TextField(_("introduction"), blank=True, max_length=1000)
    terms = RichTextField(
        _("terms for consignors"),
        blank=True,
        features=RICHTEXT_FEATURES,
        help_text=_("Commission, accepted goods, labels, what happens to unsold items."),
    )
    sale_starts = models.DateTimeField(_("sale starts"))
    sale_ends = models.DateTimeField(_("sale ends"))
    registration_closes = models.DateTimeField(
        _("registration closes"), help_text=_("After this, consignors can no longer register or change items.")
    )
    max_items_per_consignor = models.PositiveSmallIntegerField(
        _("items per consignor"), default=25, validators=[MinValueValidator(1)]
    )
    discount_date = models.DateField(_("discount day"), null=True, blank=True)
    discount_percent = models.PositiveSmallIntegerField(
        _("discount on that day (%)"), default=0, validators=[MaxValueValidator(90)]
    )
    pickup_starts = models.DateTimeField(_("pickup of unsold items from"), null=True, blank=True)
    pickup_ends = models.DateTimeField(_("pickup until"), null=True, blank=True)
    donation_partner = models.CharField(
        _("unsold items are donated to"), max_length=120, blank=True, help_text=_("e.g. a charity shop.")
    )

    search_fields: ClassVar[list[index.BaseField]] = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("terms"),
        index.SearchField("venue"),
    ]
    content_panels: ClassVar[list[Panel]] = [
        *Page.content_panels,
        FieldPanel("organisation", permission="marketplace.change_organisation"),
        FieldPanel("intro"),
        FieldPanel("terms"),
    ]
    event_panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("sale_starts"), FieldPanel("sale_ends")], heading=_("Sale")),
        FieldRowPanel([FieldPanel("registration_closes"), FieldPanel("max_items_per_consignor")]),
        InlinePanel("drop_off_slots", label=_("Drop-off slots"), min_num=1),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("discount_date"), FieldPanel("discount_percent")])], heading=_("Discount day")
        ),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("pickup_starts"), FieldPanel("pickup_ends")]), FieldPanel("donation_partner")],
            heading=_("Unsold items"),
        ),
    ]
    venue_panels: ClassVar[list[Panel]] = [
        FieldPanel("venue"),
        FieldPanel("address"),
        FieldRowPanel([FieldPanel("latitude"), FieldPanel("longitude")], heading=_("Position")),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(event_panels, heading=_("Event")),
            ObjectList(venue_panels, heading=_("Venue")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ],
        base_form_class=GuardedDeletionPageForm,
    )
    parent_page_types: ClassVar[list[str]] = ["cms.EventIndexPage", "cms.ConsignmentShopPage"]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("consignment event")
        verbose_name_plural = _("consignment events")

    def discounted(self, price: int) -> int:
        """The price on the discount day, in fen (rounded down to whole fen)."""
        return price * (100 - self.discount_percent) // 100

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.views.consignment import event_page_context

        context = super().get_context(request, *args, **kwargs)
        context.update(event_page_context(request, self))
        return context

    @path("")
    def index(self, request: HttpRequest) -> HttpResponse:
        return self.render(request)

    @path("register/", name="register")
    def register(self, request: HttpRequest) -> HttpResponse:
        from cms.views.consignment import register_view

        return register_view(request, self)

    @path("items/", name="items")
    def items(self, request: HttpRequest) -> HttpResponse:
        from cms.views.consignment import items_view

        return items_view(request, self)

    @path("items/<int:item_id>/remove/", name="item_remove")
    def item_remove(self, request: HttpRequest, item_id: int) -> HttpResponse:
        from cms.views.consignment import item_remove_view

        return item_remove_view(request, self, item_id)

    @path("cancel/", name="cancel_registration")
    def cancel_registration(self, request: HttpRequest) -> HttpResponse:
        from cms.views.consignment import registration_cancel_view

        return registration_cancel_view(request, self)


class DropOffSlot(SortedInline):
    event = ParentalKey(ConsignmentEventPage, on_delete=models.CASCADE, related_name="drop_off_slots")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    capacity = models.PositiveSmallIntegerField(_("consignors"), validators=[MinValueValidator(1)])

    panels: ClassVar[list[Panel]] = [
        FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at"), FieldPanel("capacity")])
    ]

    class Meta(SortedInline.Meta):
        verbose_name = _("drop-off slot")
        verbose_name_plural = _("drop-off slots")

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    CANCELLED = "cancelled", _("Cancelled")


class ConsignorRegistration(models.Model):
    event = models.ForeignKey(ConsignmentEventPage, on_delete=models.PROTECT, related_name="registrations")
    slot = models.ForeignKey(
        DropOffSlot, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("drop-off slot")
    )
    consignor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="event_consignments")
    number = models.PositiveIntegerField(_("consignor number"), help_text=_("Printed on the item labels."))
    status = models.CharField(
        _("status"), max_length=12, choices=RegistrationStatus.choices, default=RegistrationStatus.REGISTERED
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consignor registration")
        verbose_name_plural = _("consignor registrations")
        ordering: ClassVar[list[str]] = ["number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["event", "consignor"],
                condition=Q(status="registered"),
                name="consignor_registration_one_per_event",
            ),
            models.UniqueConstraint(fields=["event", "number"], name="consignor_registration_number_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.number:03d} {self.consignor}"


class EventItemCategory(models.TextChoices):
    CLOTHING = "clothing", _("Clothing and shoes")
    TOYS = "toys", _("Toys and games")
    BOOKS = "books", _("Books")
    HOUSEHOLD = "household", _("Household")
    FURNITURE = "furniture", _("Furniture")
    ELECTRONICS = "electronics", _("Electronics without storage")
    SPORTS = "sports", _("Sports and outdoors")
    OTHER = "other", _("Other")


class EventItemStatus(models.TextChoices):
    ENTERED = "entered", _("Entered")
    RECEIVED = "received", _("Dropped off")
    SOLD = "sold", _("Sold")
    PICKED_UP = "picked_up", _("Picked up")
    DONATED = "donated", _("Donated")


I = EventItemStatus  # noqa: E741 - short alias for the table below
EVENT_ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    I.ENTERED: frozenset({I.RECEIVED}),
    I.RECEIVED: frozenset({I.SOLD, I.PICKED_UP, I.DONATED}),
    I.SOLD: frozenset(),
    I.PICKED_UP: frozenset(),
    I.DONATED: frozenset(),
}


class ConsignmentEventItem(models.Model):
    registration = models.ForeignKey(ConsignorRegistration, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField(_("item number"))
    title = models.CharField(_("item"), max_length=120)
    category = models.CharField(_("category"), max_length=20, choices=EventItemCategory.choices)
    asking_price = models.PositiveIntegerField(_("price (fen)"), validators=[MinValueValidator(1)])
    donate_if_unsold = models.BooleanField(_("donate if unsold"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=EventItemStatus.choices, default=I.ENTERED)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consigned item")
        verbose_name_plural = _("consigned items")
        ordering: ClassVar[list[str]] = ["registration__number", "number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["registration", "number"], name="consignment_event_item_number_unique"),
            models.CheckConstraint(condition=Q(asking_price__gt=0), name="consignment_event_item_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def code(self) -> str:
        """What goes on the label: consignor number and item number."""
        return f"{self.registration.number:03d}-{self.number:02d}"
