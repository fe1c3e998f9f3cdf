"""The core's personal parts (marketplace/page_cache.py, "Personal parts"): what a public
page shows one visitor and not another — the navigation's member links, the flash messages,
and on a listing's page the buy panel, the seller's "Manage" link and the report form. The
rest of the page is shared by everyone and cached once.

A renderer gets the request, the part's argument and, during a full render, the page's
template context (to reuse what the view already read); on a cache hit the context is None
and the renderer reads what it needs itself. What it shows visitors who are not logged in
must not read the database when it can be avoided: those are most hits."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from marketplace.extensions import panel_providers
from marketplace.forms.moderation import ReportForm
from marketplace.models import Listing, ListingStatus
from marketplace.page_cache import SITE, listing_scope, personal_part
from marketplace.services.listings import listing_can_manage

REPORTABLE = frozenset({ListingStatus.PUBLISHED, ListingStatus.RESERVED})
_LISTINGS = "_personal_parts_listings"  # request attribute: listings read for this request


@personal_part("nav", member_scopes=lambda arg: ())
def nav(request: HttpRequest, arg: str, context: Any) -> str:
    return render_to_string("includes/nav_personal.html", request=request)


@personal_part("messages", anonymous_shared=False)
def flash_messages(request: HttpRequest, arg: str, context: Any) -> str:
    return render_to_string("includes/messages.html", request=request)


def _listing(request: HttpRequest, listing_id: int, context: Any) -> Listing | None:
    """The listing the page shows: the view's during a full render, else read once per
    request (the page's parts share it)."""
    if context is not None:
        listing = context.get("listing")
        if isinstance(listing, Listing) and listing.pk == listing_id:
            return listing
    read: dict[int, Listing | None] = request.__dict__.setdefault(_LISTINGS, {})
    if listing_id not in read:
        read[listing_id] = Listing.objects.filter(pk=listing_id).first()
    return read[listing_id]


def _listing_id(arg: str) -> int:
    return int(arg.rpartition(":")[2])


@personal_part("listing_panel", member_scopes=lambda arg: (listing_scope(_listing_id(arg)), SITE))
def listing_panel(request: HttpRequest, arg: str, context: Any) -> str:
    """A personal panel provider's panel (marketplace.extensions.personal): "<index>:<id>"."""
    index = int(arg.partition(":")[0])
    listing = _listing(request, _listing_id(arg), context)
    providers = panel_providers()
    if listing is None or index >= len(providers):
        return ""
    panel = providers[index](listing, request.user, "detail")
    if panel is None:
        return ""
    return render_to_string(panel.template, {"panel": panel.context, "listing": listing}, request=request)


@personal_part("listing_manage", member_scopes=lambda arg: (listing_scope(_listing_id(arg)),))
def listing_manage(request: HttpRequest, arg: str, context: Any) -> str:
    if not request.user.is_authenticated:
        return ""
    listing = _listing(request, _listing_id(arg), context)
    if listing is None or not listing_can_manage(user=request.user, listing=listing):
        return ""
    return render_to_string(
        "marketplace/listings/_manage_link.html", {"listing": listing, "can_manage": True}, request=request
    )


@personal_part("listing_report", member_scopes=lambda arg: (listing_scope(_listing_id(arg)),))
def listing_report(request: HttpRequest, arg: str, context: Any) -> str:
    """The report form, for members looking at a listing on sale they do not sell."""
    if not request.user.is_authenticated:
        return ""
    listing = _listing(request, _listing_id(arg), context)
    if listing is None or listing.status not in REPORTABLE or listing_can_manage(user=request.user, listing=listing):
        return ""
    form = ReportForm(prefix="report")
    return render_to_string(
        "marketplace/listings/_report.html", {"listing": listing, "report_form": form}, request=request
    )
