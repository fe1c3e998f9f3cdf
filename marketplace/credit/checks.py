"""Order checks (settings.MARKETPLACE_ORDER_CHECKS): what a buyer's credit tier allows."""

from __future__ import annotations

from django.utils.translation import gettext as _

from marketplace.credit.models import CreditRole, TierEffectKind
from marketplace.credit.selectors import effect_for, tier_label, tiers_for_users
from marketplace.errors import PermissionDenied
from marketplace.models import Listing, PaymentMethod, User


def buyer_tier_check(*, buyer: User, listing: Listing, delivery_method: str, payment_method: str) -> None:
    """Low-tier buyers cannot reserve an item to pay in cash at pickup: an unpaid
    reservation blocks the item for everyone else."""
    if payment_method != PaymentMethod.CASH:
        return
    if effect_for(buyer.pk, CreditRole.BUYER, TierEffectKind.NO_CASH_ON_PICKUP) is None:
        return
    tier = tiers_for_users([buyer.pk], CreditRole.BUYER)[buyer.pk]
    raise PermissionDenied(
        _(
            "With your buyer credit tier “%(tier)s” you cannot reserve items to pay in cash at pickup. Pay by card "
            "(the money is held until you confirm receipt), or see your credit page for how to raise your tier."
        )
        % {"tier": tier_label(tier)},
        code="credit_no_cash",
    )
