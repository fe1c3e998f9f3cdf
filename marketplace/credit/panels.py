"""The rating panel on the order page (settings.MARKETPLACE_ORDER_PANELS)."""

from __future__ import annotations

from typing import Any

from marketplace.credit.selectors import order_ratings
from marketplace.extensions import Panel


def rating_panel(order: Any, user: Any, party: str) -> Panel | None:
    if party not in ("buyer", "seller") or order.completed_at is None:
        return None
    ratings = order_ratings(order=order, party=party)
    return Panel(template="credit/rating_panel.html", context={"order": order, "party": party, "ratings": ratings})
