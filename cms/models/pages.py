"""The site's general pages: home, the events index, policy pages and the grading
standards. The home page is the root of the site's page tree (cms/migrations/0002)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, Panel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from cms.models.common import RICHTEXT_FEATURES, SanitisedRichTextMixin

EVENT_PAGE_TYPES = ["cms.FleaMarketPage", "cms.ConsignmentEventPage", "cms.BookSwapPage"]


class HomePage(SanitisedRichTextMixin, Page):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    intro = models.CharField(_("introduction"), max_length=255, blank=True)
    body = RichTextField(_("body"), blank=True, features=["bold", "italic", "link", "ol", "ul", "h2", "h3"])
    featured_count = models.PositiveSmallIntegerField(
        _("featured listings"), default=8, help_text=_("How many of the newest listings the home page shows.")
    )

    content_panels: ClassVar[list[Panel]] = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("body"),
        FieldPanel("featured_count"),
    ]
    search_fields: ClassVar[list[index.BaseField]] = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("body"),
    ]
    max_count = 1
    parent_page_types: ClassVar[list[str]] = ["wagtailcore.Page"]
    subpage_types: ClassVar[list[str]] = [
        "cms.EventIndexPage",
        "cms.StandardPage",
        "cms.GradingStandardsPage",
        "cms.ConsignmentShopPage",
        "cms.BookSwapPage",
        "cms.CreditPolicyPage",
    ]

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.selectors import featured_listings, upcoming_events

        context = super().get_context(request, *args, **kwargs)
        context["featured_listings"] = featured_listings(limit=self.featured_count)
        context["upcoming_events"] = upcoming_events(limit=6)
        return context


class EventIndexPage(SanitisedRichTextMixin, Page):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    intro = RichTextField(_("introduction"), blank=True, features=RICHTEXT_FEATURES)

    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("intro")]
    search_fields: ClassVar[list[index.BaseField]] = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage"]
    subpage_types: ClassVar[list[str]] = EVENT_PAGE_TYPES

    class Meta:
        verbose_name = _("events index")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.selectors import upcoming_events

        context = super().get_context(request, *args, **kwargs)
        context["upcoming_events"] = upcoming_events(limit=50)
        context["event_pages"] = self.get_children().live().specific().order_by("title")
        return context


class StandardPage(SanitisedRichTextMixin, Page):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    """A policy or information page: platform rules, privacy, how consignment works."""

    intro = models.CharField(_("introduction"), max_length=255, blank=True)
    body = RichTextField(_("body"), blank=True, features=RICHTEXT_FEATURES)

    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields: ClassVar[list[index.BaseField]] = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("body"),
    ]
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: ClassVar[list[str]] = ["cms.StandardPage", "cms.ConsignmentShopPage"]

    class Meta:
        verbose_name = _("standard page")


class GradingStandardsPage(SanitisedRichTextMixin, Page):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    """Lists the published grading rule sets; each links to its full standard at
    /grading/standards/<key>/, rendered from the live rule set."""

    intro = RichTextField(_("introduction"), blank=True, features=RICHTEXT_FEATURES)

    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("intro")]
    search_fields: ClassVar[list[index.BaseField]] = [*Page.search_fields, index.SearchField("intro")]
    max_count = 1
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("grading standards page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.selectors import grading_standards

        context = super().get_context(request, *args, **kwargs)
        context["standards"] = grading_standards()
        return context


class CreditPolicyPage(SanitisedRichTextMixin, Page):
    # Everything personal on it is a personal part: cached for members too (cms/page_cache.py).
    page_cache_members: ClassVar[bool] = True
    """The published credit policy. Its numbers (half-life, weights, tier thresholds,
    effects) are rendered from the code's configuration and the live policy table, so
    the page can never drift from what runs; editors write only the text around them."""

    intro = RichTextField(_("introduction"), blank=True, features=RICHTEXT_FEATURES)

    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("intro")]
    search_fields: ClassVar[list[index.BaseField]] = [*Page.search_fields, index.SearchField("intro")]
    max_count = 1
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage"]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("credit policy page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from marketplace.credit.policy import policy_parameters

        context = super().get_context(request, *args, **kwargs)
        context["policy"] = policy_parameters()
        return context
