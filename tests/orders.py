"""Test helpers for orders: published listings built through the services."""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from marketplace.models import Listing, User
from marketplace.services.listings import listing_create, listing_publish
from tests.conftest import CORE_GATES
from tests.listings import ATTRIBUTES, COMMON, add_photos


def published_listing(
    *,
    seller: User,
    category: str = "books",
    title: str = "红楼梦 全四册",
    price: int = 4500,
    ship: bool = True,
    pickup: bool = True,
    event: bool = False,
    **extra: Any,
) -> Listing:
    """A listing published with the marketplace's own gates only (grading and erasure
    have their own tests)."""
    data = {
        **COMMON,
        "title": title,
        "price": price,
        "delivery_ship": ship,
        "delivery_pickup": pickup,
        "delivery_event": event,
        **extra,
    }
    listing = listing_create(actor=seller, category=category, data=data, attributes=dict(ATTRIBUTES[category]))
    add_photos(listing, 3 if category == "vehicles" else 1)
    with override_settings(MARKETPLACE_PUBLICATION_GATES=CORE_GATES):
        return listing_publish(actor=seller, listing_id=listing.pk)
