"""The credit policy as published: the scorer's real parameters (scoring.POLICY), the
rating rules from settings and the live policy table, for the CMS policy page and the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation

from marketplace.credit.models import CreditEventKind, CreditRole, TierEffect
from marketplace.credit.scoring import POLICY, Policy, value_weight


def policy_parameters(policy: Policy = POLICY) -> dict[str, Any]:
    chinese = translation.get_language() == "zh-hans"
    prior = policy.prior_positive / (policy.prior_positive + policy.prior_negative)
    tiers = sorted(policy.tiers, key=lambda t: -t.minimum)
    effects = list(TierEffect.objects.filter(active=True).order_by("role", "tier", "effect"))
    return {
        "half_life_days": policy.half_life_days,
        "prior_positive": policy.prior_positive,
        "prior_negative": policy.prior_negative,
        "newcomer_score": round(1000 * prior),
        "kind_weights": [
            {"kind": kind, "label": str(CreditEventKind(kind).label), "weight": weight}
            for kind, weight in policy.kind_weights.items()
            if kind in CreditEventKind.values
        ],
        "value_log_divisor": policy.value_log_divisor,
        "value_weight_cap": policy.value_weight_cap,
        "value_examples": [
            {"yuan": yuan, "weight": round(value_weight(yuan * 100, policy), 2)} for yuan in (10, 100, 1000, 10000)
        ],
        "rater_floor": policy.rater_floor,
        "unknown_rater_weight": policy.unknown_rater_weight,
        "counterparty_window_days": policy.counterparty_window_days,
        "ring_discount": policy.ring_discount,
        "work_settle_days": policy.work_settle_days,
        "rating_window_days": getattr(settings, "CREDIT_RATING_WINDOW_DAYS", 14),
        "tiers": [
            {
                "key": tier.key,
                "label": tier.label_zh if chinese else tier.label_en,
                "minimum": tier.minimum,
                "effects": [
                    {"role": str(CreditRole(e.role).label), "effect": str(e.get_effect_display()), "limit": e.limit}
                    for e in effects
                    if e.tier == tier.key
                ],
            }
            for tier in tiers
        ],
    }
