"""The credit publication gate: what a seller's tier means for publishing, from the
staff-edited policy table (TierEffect): low tiers need a certified appraisal in every
category and may have only so many listings on sale at once. A shop's listings follow
the shop's own tier and the policy rows of role shop."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count
from django.utils.translation import gettext as _

from marketplace.credit.models import CreditRole, TierEffect, TierEffectKind
from marketplace.credit.selectors import (
    active_effects,
    seller_tiers_for_users,
    shop_tiers_for_organisations,
    tier_label,
)
from marketplace.gates import BlockingReason, PublicationGate, Results
from marketplace.models import Listing, ListingStatus

GATING = (TierEffectKind.CERTIFIED_APPRAISAL, TierEffectKind.OPEN_LISTING_CAP)


def has_certified_grade(listing: Listing) -> bool:
    """Whether the listing's current grade is a certified appraisal, as the grading app
    reports it through the order snapshot providers (the core never imports grading)."""
    from marketplace.services.orders import snapshot_providers

    for provider in snapshot_providers():
        grade = provider(listing).get("grade")
        if grade:
            return bool(grade.get("kind") == "certified")
    return False


def _gates(effects: dict[str, dict[str, TierEffect]]) -> bool:
    return any(kind in rows for rows in effects.values() for kind in GATING)


class CreditTierGate(PublicationGate):
    name = "credit_tier"

    def check(self, listings: Sequence[Listing]) -> Results:
        sellers = {listing.seller_user_id for listing in listings if listing.seller_user_id}
        shops = {listing.seller_organisation_id for listing in listings if listing.seller_organisation_id}
        seller_effects = active_effects(CreditRole.SELLER) if sellers else {}
        shop_effects = active_effects(CreditRole.SHOP) if shops else {}
        if not (_gates(seller_effects) or _gates(shop_effects)):
            return {}
        seller_tiers = seller_tiers_for_users(sellers, seller_effects) if _gates(seller_effects) else {}
        shop_tiers = shop_tiers_for_organisations(shops, shop_effects) if _gates(shop_effects) else {}
        capped_sellers = {
            user_id
            for user_id, tier in seller_tiers.items()
            if TierEffectKind.OPEN_LISTING_CAP in seller_effects.get(tier, {})
        }
        capped_shops = {
            org_id
            for org_id, tier in shop_tiers.items()
            if TierEffectKind.OPEN_LISTING_CAP in shop_effects.get(tier, {})
        }
        on_sale = self._on_sale("seller_user_id", capped_sellers)
        shop_on_sale = self._on_sale("seller_organisation_id", capped_shops)
        results: Results = {}
        for listing in listings:
            if listing.seller_user_id and listing.seller_user_id in seller_tiers:
                tier = seller_tiers[listing.seller_user_id]
                rules = seller_effects.get(tier, {})
                selling = on_sale.get(listing.seller_user_id, 0)
                shop = False
            elif listing.seller_organisation_id and listing.seller_organisation_id in shop_tiers:
                tier = shop_tiers[listing.seller_organisation_id]
                rules = shop_effects.get(tier, {})
                selling = shop_on_sale.get(listing.seller_organisation_id, 0)
                shop = True
            else:
                continue
            reasons = self._reasons(listing, rules, tier_label(tier), selling, shop=shop)
            if reasons:
                results[listing.pk] = reasons
        return results

    @staticmethod
    def _on_sale(column: str, sellers: set[int]) -> dict[int, int]:
        if not sellers:
            return {}
        return dict(
            Listing.objects.filter(
                **{f"{column}__in": sellers}, status__in=[ListingStatus.PUBLISHED, ListingStatus.RESERVED]
            )
            .values_list(column)
            .annotate(n=Count("pk"))
            .values_list(column, "n")
        )

    def _reasons(
        self, listing: Listing, rules: dict[str, TierEffect], label: str, selling: int, *, shop: bool
    ) -> list[BlockingReason]:
        reasons = []
        if TierEffectKind.CERTIFIED_APPRAISAL in rules and not has_certified_grade(listing):
            message = (
                _(
                    "With your shop's credit tier “%(tier)s”, every item needs a certified appraisal before it can "
                    "be published. Ask for one on the listing page; the shop owner's credit page explains how to "
                    "raise the tier."
                )
                if shop
                else _(
                    "With your seller credit tier “%(tier)s”, every item needs a certified appraisal before "
                    "it can be published. Ask for one on the listing page; your credit page explains how "
                    "to raise your tier."
                )
            )
            reasons.append(self.reason("credit_certified_required", message % {"tier": label}))
        cap = rules.get(TierEffectKind.OPEN_LISTING_CAP)
        limit = cap.limit if cap is not None else None
        if limit is not None and listing.status != ListingStatus.PUBLISHED and selling >= limit:
            message = (
                _(
                    "With your shop's credit tier “%(tier)s” the shop may have at most %(limit)s listings on sale "
                    "at once. Wait until one sells or withdraw one."
                )
                if shop
                else _(
                    "With your seller credit tier “%(tier)s” you may have at most %(limit)s listings on "
                    "sale at once. Wait until one sells or withdraw one."
                )
            )
            reasons.append(self.reason("credit_listing_cap", message % {"tier": label, "limit": limit}, limit=limit))
        return reasons
