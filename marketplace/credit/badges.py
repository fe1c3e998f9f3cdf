"""Listing badges (settings.MARKETPLACE_LISTING_BADGES) and the seller's credit panel on
the listing page (settings.MARKETPLACE_LISTING_PANELS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.credit.models import CreditRole, TierEffectKind
from marketplace.credit.selectors import active_effects, seller_tiers_for_users, tier_label
from marketplace.extensions import Badge, Panel
from marketplace.models import Listing


def seller_tier_badges(listings: Sequence[Listing]) -> dict[int, list[Badge]]:
    sellers = {listing.seller_user_id for listing in listings if listing.seller_user_id}
    if not sellers:
        return {}
    effects = active_effects(CreditRole.SELLER)
    badge_tiers = {tier for tier, rows in effects.items() if TierEffectKind.BADGE in rows}
    if not badge_tiers:
        return {}
    tiers = seller_tiers_for_users(sellers)
    found: dict[int, list[Badge]] = {}
    for listing in listings:
        if listing.seller_user_id and tiers.get(listing.seller_user_id) in badge_tiers:
            found[listing.pk] = [
                Badge(
                    label=_("Top-rated seller"),
                    kind="ok",
                    url=reverse("credit_profile", args=(listing.seller_user_id,)),
                    title=_("Seller credit tier: %(tier)s") % {"tier": tier_label(tiers[listing.seller_user_id])},
                )
            ]
    return found


def seller_credit_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    if where != "detail" or not listing.seller_user_id:
        return None
    tier = seller_tiers_for_users([listing.seller_user_id])[listing.seller_user_id]
    return Panel(
        template="credit/seller_panel.html",
        context={
            "seller_id": listing.seller_user_id,
            "seller_name": listing.seller_user.public_name if listing.seller_user else "",
            "tier": tier,
            "tier_label": tier_label(tier),
        },
    )
