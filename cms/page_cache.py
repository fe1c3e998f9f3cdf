"""The page cache (marketplace.page_cache) for Wagtail's pages — the home page, flea
markets and the other community pages — and what keeps it true to them.

`serve` is Wagtail's page view behind the cache; config/urls.py routes page paths to it.
Pages depend on the `listings` scope (the home page shows the newest listings, market
pages the listings brought to a market), on the `site` scope, bumped after commit when a
page is published, unpublished, moved or deleted or a view restriction or site changes, and
on the `cms` scope, bumped when any record of this app (market dates, stalls, applications,
book swaps, consignment events, page drafts) is saved or deleted. Market dates also bump
`site`: listing pages show the coming dates a listing is brought to."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from wagtail import signals as wagtail_signals
from wagtail import views as wagtail_views
from wagtail.models import Page, PageViewRestriction, Site

from cms.models import FleaMarketDate, FleaMarketPage
from marketplace import page_cache

CMS = "cms"


def _page_scopes(request: HttpRequest, path: str) -> tuple[str, ...]:
    return (page_cache.LISTINGS, page_cache.SITE, CMS)


def _members(request: HttpRequest, response: HttpResponse) -> bool:
    """A page may be served from the cache to logged-in visitors when its type keeps every
    personal thing in personal parts (`page_cache_members` on the page class) and nobody's
    view of it is restricted."""
    page = (getattr(response, "context_data", None) or {}).get("page")
    if not isinstance(page, Page) or not getattr(type(page), "page_cache_members", False):
        return False
    return not page.get_view_restrictions().exists()


serve = page_cache.cache_public_page(_page_scopes, members=_members)(wagtail_views.serve)


@page_cache.personal_part("flea_member", member_scopes=lambda arg: (CMS, page_cache.SITE))
def flea_member(request: HttpRequest, arg: str, context: Any) -> str:
    """A flea market's "Your applications" and "Apply for a stall" (argument: page id)."""
    from cms.views.flea import market_member_context

    market = context.get("page") if context is not None else None
    if not isinstance(market, FleaMarketPage) or market.pk != int(arg):
        market = FleaMarketPage.objects.live().filter(pk=int(arg)).first()
        if market is None:
            return ""
    data = market_member_context(request, market)
    if context is not None and context.get("apply_form") is not None:
        data["apply_form"] = context["apply_form"]  # a refused application keeps its errors
    return render_to_string("cms/includes/flea_member.html", data, request=request)


def _on_pages_changed(sender: Any, **kwargs: Any) -> None:
    page_cache.bump_on_commit(page_cache.SITE)


def _on_records_changed(sender: Any, **kwargs: Any) -> None:
    page_cache.bump_on_commit(CMS)


def _on_market_dates_changed(sender: Any, **kwargs: Any) -> None:
    page_cache.bump_on_commit(CMS, page_cache.SITE)


def connect() -> None:
    wagtail_signals.page_published.connect(_on_pages_changed, dispatch_uid="cms.page_cache.published")
    wagtail_signals.page_unpublished.connect(_on_pages_changed, dispatch_uid="cms.page_cache.unpublished")
    wagtail_signals.post_page_move.connect(_on_pages_changed, dispatch_uid="cms.page_cache.moved")
    page_cache.connect_model_receivers([Page, PageViewRestriction, Site], "cms.page_cache", _on_pages_changed)
    records = [model for model in apps.get_app_config("cms").get_models() if model is not FleaMarketDate]
    page_cache.connect_model_receivers(records, "cms.page_cache", _on_records_changed)
    page_cache.connect_model_receivers([FleaMarketDate], "cms.page_cache", _on_market_dates_changed)
