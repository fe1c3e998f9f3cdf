"""Subscribers to the marketplace's domain events (sent after commit, with ids only)."""

from __future__ import annotations

from typing import Any


def on_order_completed(sender: Any, order_id: int, **kwargs: Any) -> None:
    from marketplace.consignment.services import consignment_item_mark_sold

    consignment_item_mark_sold(order_id=order_id)
