"""Credit in templates of the apps that plug into the marketplace: `{% credit_badge
user_id role as badge %}` gives the subject's top-tier badge in that role, or None."""

from __future__ import annotations

from django import template

from marketplace.credit.effects import CreditBadge, badge_for
from marketplace.credit.selectors import tier_label

register = template.Library()


@register.simple_tag
def credit_badge(user_id: int | None, role: str) -> CreditBadge | None:
    return badge_for(user_id, role)


@register.filter
def credit_tier_label(key: str) -> str:
    """A tier key (`good`) as its name in the reader's language; pages never show keys."""
    return tier_label(key) if key else ""
