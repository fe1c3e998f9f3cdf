"""Listing badges (settings.MARKETPLACE_LISTING_BADGES) and the seller's credit panel on
the listing page (settings.MARKETPLACE_LISTING_PANELS). A shop's listing carries the
shop's own credit (role shop), never its owner's record as a private seller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.credit.effects import badges_for
from marketplace.credit.models import CreditRole
from marketplace.credit.selectors import seller_tiers_for_users, shop_tiers_for_organisations, tier_label
from marketplace.credit.services import organisation_subjects
from marketplace.extensions import Badge, Panel
from marketplace.models import Listing


def seller_tier_badges(listings: Sequence[Listing]) -> dict[int, list[Badge]]:
    """The top-tier badge of each listing's seller: the person, or the shop. At most five queries."""
    sellers = {listing.seller_user_id for listing in listings if listing.seller_user_id}
    shops = {listing.seller_organisation_id for listing in listings if listing.seller_organisation_id}
    people = badges_for(sellers, CreditRole.SELLER)
    shop_subjects = organisation_subjects(shops) if shops else {}
    shop_badges = badges_for(shop_subjects.values(), CreditRole.SHOP)
    found: dict[int, list[Badge]] = {}
    for listing in listings:
        if listing.seller_user_id and listing.seller_user_id in people:
            badge = people[listing.seller_user_id]
            title = _("Seller credit tier: %(tier)s") % {"tier": badge.tier_label}
            url = badge.url
        elif listing.seller_organisation_id and shop_subjects.get(listing.seller_organisation_id) in shop_badges:
            badge = shop_badges[shop_subjects[listing.seller_organisation_id]]
            title = _("Shop credit tier: %(tier)s") % {"tier": badge.tier_label}
            url = reverse("organisation_detail", args=(listing.seller_organisation_id,))
        else:
            continue
        found[listing.pk] = [Badge(label=badge.label, kind="ok", url=url, title=title)]
    return found


def seller_credit_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    if where != "detail":
        return None
    if listing.seller_organisation_id:
        organisation_id = listing.seller_organisation_id
        tier = shop_tiers_for_organisations([organisation_id])[organisation_id]
        return Panel(
            template="credit/seller_panel.html",
            context={
                "is_shop": True,
                "seller_name": listing.seller_organisation.name if listing.seller_organisation else "",
                "url": reverse("organisation_detail", args=(organisation_id,)),
                "tier": tier,
                "tier_label": tier_label(tier),
            },
        )
    if not listing.seller_user_id:
        return None
    tier = seller_tiers_for_users([listing.seller_user_id])[listing.seller_user_id]
    return Panel(
        template="credit/seller_panel.html",
        context={
            "is_shop": False,
            "seller_id": listing.seller_user_id,
            "seller_name": listing.seller_user.public_name if listing.seller_user else "",
            "url": reverse("credit_profile", args=(listing.seller_user_id,)),
            "tier": tier,
            "tier_label": tier_label(tier),
        },
    )
