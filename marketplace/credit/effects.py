"""What a credit tier means for the people behind certificates and grades, for the apps
that plug into the marketplace (grading, wipe_cert): they call these functions; the core
never imports them. Everything is read from the staff-edited policy table (TierEffect).

- `requires_review(user_id, role)`: the subject's work (a technician's certificates, an
  appraiser's grades) goes to staff review before it counts;
- `badge_for(user_id, role)` / `badges_for(user_ids, role)`: the top-tier badge to show
  next to their work, or None."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.credit.models import CreditRole, TierEffectKind
from marketplace.credit.selectors import active_effects, tier_label, tiers_for_users


@dataclass(frozen=True)
class CreditBadge:
    label: str
    tier: str
    tier_label: str
    url: str


def _badge_label(role: str) -> str:
    labels: dict[str, str] = {
        CreditRole.SELLER: _("Top-rated seller"),
        CreditRole.SHOP: _("Top-rated shop"),
        CreditRole.APPRAISER: _("Top-rated appraiser"),
        CreditRole.TECHNICIAN: _("Top-rated technician"),
        CreditRole.ERASURE_PROVIDER: _("Top-rated erasure provider"),
    }
    return labels.get(role, _("Top-rated"))


def requires_review(user_id: int, role: str) -> bool:
    """Whether the policy table sends this subject's work in `role` to staff review
    before it counts (e.g. a restricted technician's certificates). Two queries."""
    effects = active_effects(role)
    if not any(TierEffectKind.STAFF_REVIEW in rows for rows in effects.values()):
        return False
    tier = tiers_for_users([user_id], role, effects)[user_id]
    return TierEffectKind.STAFF_REVIEW in effects.get(tier, {})


def badges_for(user_ids: Iterable[int], role: str) -> dict[int, CreditBadge]:
    """The top-tier badge of each subject that has earned one in `role`. At most two queries."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    effects = active_effects(role)
    badge_tiers = {tier for tier, rows in effects.items() if TierEffectKind.BADGE in rows}
    if not badge_tiers:
        return {}
    label = _badge_label(role)
    return {
        user_id: CreditBadge(
            label=label, tier=tier, tier_label=tier_label(tier), url=reverse("credit_profile", args=(user_id,))
        )
        for user_id, tier in tiers_for_users(ids, role, effects).items()
        if tier in badge_tiers
    }


def badge_for(user_id: int | None, role: str) -> CreditBadge | None:
    if user_id is None:
        return None
    return badges_for([user_id], role).get(user_id)
