"""Template helpers of the city app: the green-account panel of the profile page and
the buyer's chosen registration city."""

from __future__ import annotations

from typing import Any

from django import template

from marketplace.city.services import SESSION_REGISTRATION_CITY

register = template.Library()


@register.inclusion_tag("city/includes/green_account.html")
def green_account(user: Any) -> dict[str, Any]:
    from marketplace.city.selectors import user_green_estimate

    if not getattr(user, "is_authenticated", False):
        return {"estimate": None}
    return {"estimate": user_green_estimate(user=user)}


@register.simple_tag(takes_context=True)
def registration_city_id(context: dict[str, Any]) -> int | None:
    """?registration_city=<id> on the page, else the city the buyer chose before."""
    request = context.get("request")
    if request is None:
        return None
    raw = request.GET.get("registration_city") or request.session.get(SESSION_REGISTRATION_CITY)
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


@register.filter
def lookup(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None
