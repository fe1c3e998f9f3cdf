"""Template filters for consignment pages."""

from __future__ import annotations

from django import template

register = template.Library()


def format_percent(basis_points: int) -> str:
    """6000 → "60%", 6050 → "60.5%": integer arithmetic, no float."""
    whole, rest = divmod(int(basis_points), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.filter
def percent(basis_points: int | None) -> str:
    return "" if basis_points is None else format_percent(basis_points)
