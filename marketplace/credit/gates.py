"""The credit publication gate: what a seller's tier means for publishing, from the
staff-edited policy table (TierEffect): low tiers need a certified appraisal in every
category and may have only so many listings on sale at once."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count
from django.utils.translation import gettext as _

from marketplace.credit.models import CreditRole, TierEffectKind
from marketplace.credit.selectors import active_effects, seller_tiers_for_users, tier_label
from marketplace.gates import PublicationGate, Results
from marketplace.models import Listing, ListingStatus


def has_certified_grade(listing: Listing) -> bool:
    """Whether the listing's current grade is a certified appraisal, as the grading app
    reports it through the order snapshot providers (the core never imports grading)."""
    from marketplace.services.orders import snapshot_providers

    for provider in snapshot_providers():
        grade = provider(listing).get("grade")
        if grade:
            return bool(grade.get("kind") == "certified")
    return False


class CreditTierGate(PublicationGate):
    name = "credit_tier"

    def check(self, listings: Sequence[Listing]) -> Results:
        sellers = {listing.seller_user_id for listing in listings if listing.seller_user_id}
        if not sellers:
            return {}
        effects = active_effects(CreditRole.SELLER)
        if not any(
            TierEffectKind.CERTIFIED_APPRAISAL in row or TierEffectKind.OPEN_LISTING_CAP in row
            for row in effects.values()
        ):
            return {}
        tiers = seller_tiers_for_users(sellers)
        capped = {
            user_id for user_id, tier in tiers.items() if TierEffectKind.OPEN_LISTING_CAP in effects.get(tier, {})
        }
        on_sale: dict[int, int] = {}
        if capped:
            on_sale = dict(
                Listing.objects.filter(
                    seller_user_id__in=capped, status__in=[ListingStatus.PUBLISHED, ListingStatus.RESERVED]
                )
                .values_list("seller_user_id")
                .annotate(n=Count("pk"))
                .values_list("seller_user_id", "n")
            )
        results: Results = {}
        for listing in listings:
            if not listing.seller_user_id:
                continue
            tier = tiers[listing.seller_user_id]
            rules = effects.get(tier, {})
            label = tier_label(tier)
            reasons = []
            if TierEffectKind.CERTIFIED_APPRAISAL in rules and not has_certified_grade(listing):
                reasons.append(
                    self.reason(
                        "credit_certified_required",
                        _(
                            "With your seller credit tier “%(tier)s”, every item needs a certified appraisal before "
                            "it can be published. Ask for one on the listing page; your credit page explains how "
                            "to raise your tier."
                        )
                        % {"tier": label},
                    )
                )
            cap = rules.get(TierEffectKind.OPEN_LISTING_CAP)
            limit = cap.limit if cap is not None else None
            if (
                limit is not None
                and listing.status != ListingStatus.PUBLISHED
                and on_sale.get(listing.seller_user_id, 0) >= limit
            ):
                reasons.append(
                    self.reason(
                        "credit_listing_cap",
                        _(
                            "With your seller credit tier “%(tier)s” you may have at most %(limit)s listings on "
                            "sale at once. Wait until one sells or withdraw one."
                        )
                        % {"tier": label, "limit": limit},
                        limit=limit,
                    )
                )
            if reasons:
                results[listing.pk] = reasons
        return results
