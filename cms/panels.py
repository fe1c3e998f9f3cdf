"""The listing-page panel for flea markets: where a listing can be seen at an event
(public page), and for its seller a way to add it to a date they have a stall on."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cms.models import FleaMarketDate, ListingAtEvent, StallApplication, StallApplicationStatus
from marketplace.extensions import Panel
from marketplace.models import Listing
from marketplace.services.listings import listing_can_manage


def _stall_dates(listing: Listing, today: Any) -> list[FleaMarketDate]:
    approved = StallApplication.objects.filter(
        status=StallApplicationStatus.APPROVED, market_date__date__gte=today, market_date__cancelled=False
    )
    if listing.seller_organisation_id is not None:
        approved = approved.filter(organisation_id=listing.seller_organisation_id)
    else:
        approved = approved.filter(applicant_id=listing.seller_user_id, organisation__isnull=True)
    return list(
        FleaMarketDate.objects.filter(pk__in=approved.values("market_date_id"))
        .select_related("market")
        .order_by("date")
    )


def event_availability_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    today = timezone.localdate()
    marks = list(
        ListingAtEvent.objects.filter(listing=listing, market_date__date__gte=today, market_date__cancelled=False)
        .select_related("market_date__market")
        .order_by("market_date__date")
    )
    if where == "manage":
        if not listing_can_manage(user=user, listing=listing):
            return None
        marked = {mark.market_date_id for mark in marks}
        choices = [d for d in _stall_dates(listing, today) if d.pk not in marked]
        if not marks and not choices:
            return None
        return Panel(
            template="cms/panels/listing_events.html",
            context={
                "where": where,
                "listing": listing,
                "marks": marks,
                "choices": choices,
                "public": listing.is_public,
            },
        )
    if not marks:
        return None
    return Panel(
        template="cms/panels/listing_events.html", context={"where": where, "listing": listing, "marks": marks}
    )
