"""Wagtail hooks of the community pages (flea markets, consignment events, book swaps),
kept apart from the moderation menu; imported by cms.wagtail_hooks.

- organisers' screens (stall applications, vendor lists, consignment registrations);
- a menu item for people who run community pages;
- links from a page in the page explorer to its screen;
- after a page is published: the owning organisation's group and permissions are
  refreshed, and applications for dates the organiser cancelled are closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets.button import Button
from wagtail.models import Page

from cms import community_admin as views
from cms.models import ORGANISATION_PAGE_MODELS, ConsignmentEventPage, FleaMarketPage, OrganisationCmsAccess
from cms.services.access import organisation_cms_access, user_runs_organisation
from cms.services.flea import market_cancelled_dates_close
from marketplace.models import Organisation


@hooks.register("register_admin_urls")
def community_admin_urls() -> list[Any]:
    return [
        path("community/", views.MarketsView.as_view(), name="cms_community_markets"),
        path("community/markets/dates/<int:date_id>/", views.MarketDateView.as_view(), name="cms_market_date"),
        path(
            "community/markets/dates/<int:date_id>/vendors/",
            views.VendorListView.as_view(),
            name="cms_market_date_vendors",
        ),
        path(
            "community/markets/dates/<int:date_id>/vendors.pdf",
            views.VendorListPdfView.as_view(),
            name="cms_market_date_vendors_pdf",
        ),
        path(
            "community/markets/applications/<int:application_id>/<str:action>/",
            views.StallApplicationActionView.as_view(),
            name="cms_stall_application_action",
        ),
        path(
            "community/consignment-events/<int:page_id>/",
            views.ConsignmentEventView.as_view(),
            name="cms_consignment_event",
        ),
        path(
            "community/consignment-items/<int:item_id>/<str:status>/",
            views.ConsignmentItemActionView.as_view(),
            name="cms_consignment_item_action",
        ),
    ]


class CommunityMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return views.runs_any_community_page(request.user)  # type: ignore[arg-type]


@hooks.register("register_admin_menu_item")
def community_menu_item() -> MenuItem:
    return CommunityMenuItem(
        _("Stalls and consignors"),
        reverse("cms_community_markets"),
        name="community-events",
        icon_name="group",
        order=240,
    )


def _screen_button(page: Page, user: Any) -> Button | None:
    specific = page.specific_deferred
    if not isinstance(specific, FleaMarketPage | ConsignmentEventPage):
        return None
    if not user_runs_organisation(user=user, organisation_id=specific.organisation_id):
        return None
    if isinstance(specific, ConsignmentEventPage):
        return Button(
            _("Consignors and items"),
            url=reverse("cms_consignment_event", args=(page.pk,)),
            icon_name="group",
            priority=90,
        )
    return Button(_("Stall applications"), url=reverse("cms_community_markets"), icon_name="group", priority=90)


@hooks.register("register_page_listing_more_buttons")
def community_page_listing_buttons(page: Page, user: Any, next_url: str | None = None) -> Iterator[Button]:
    button = _screen_button(page, user)
    if button is not None:
        yield button


@hooks.register("register_page_header_buttons")
def community_page_header_buttons(
    page: Page, user: Any, view_name: str, next_url: str | None = None
) -> Iterator[Button]:
    button = _screen_button(page, user)
    if button is not None:
        yield button


@hooks.register("after_publish_page")
def community_page_published(request: HttpRequest, page: Page) -> None:
    specific = page.specific
    if isinstance(specific, ORGANISATION_PAGE_MODELS):
        # The owner now, and any organisation that had the page before (staff may have
        # handed it to another one), get their permissions recomputed.
        organisations = set(
            OrganisationCmsAccess.objects.filter(group__page_permissions__page=page).values_list(
                "organisation_id", flat=True
            )
        )
        if specific.organisation_id is not None:
            organisations.add(specific.organisation_id)
        for organisation in Organisation.objects.filter(pk__in=organisations):
            organisation_cms_access(organisation=organisation)
    if isinstance(specific, FleaMarketPage):
        market_cancelled_dates_close(market_id=specific.pk, actor=request.user)  # type: ignore[arg-type]
