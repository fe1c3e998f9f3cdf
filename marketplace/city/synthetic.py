"""Historical trades written straight to the tables, for the demo, the statistics tests
and bench/stats.py. Not a workflow: the order services are the only way real orders
change status; these rows stand for trades that already happened, with the timestamps
they happened at (which `auto_now_add` would otherwise overwrite)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from marketplace.models import (
    BookAttributes,
    ElectronicsAttributes,
    FurnitureAttributes,
    Listing,
    ListingStatus,
    Order,
    OrderStatus,
    User,
)
from marketplace.models.orders import DeliveryMethod, PaymentMethod


@dataclass(frozen=True)
class PastTrade:
    category: str  # electronics, furniture or books
    item_type: str  # device or furniture type; ignored for books
    city: str
    district: str
    amount: int  # minor units
    published_at: dt.datetime
    ordered_at: dt.datetime
    completed_at: dt.datetime
    title: str = ""
    status: str = OrderStatus.COMPLETED
    returned_at: dt.datetime | None = None


@transaction.atomic
def past_trades_create(*, trades: list[PastTrade], seller: User, buyer: User, key_prefix: str) -> list[Order]:
    """One sold listing and one order per trade; `key_prefix` makes the orders'
    idempotency keys recognisable (and a second run a no-op for the same keys)."""
    created: list[Order] = []
    for index, trade in enumerate(trades):
        key = f"{key_prefix}{index}"
        if Order.objects.filter(buyer=buyer, idempotency_key=key).exists():
            continue
        title = trade.title or f"{trade.category} #{index}"
        listing = Listing.objects.create(
            category=trade.category,
            title=title,
            price=trade.amount,
            city=trade.city,
            district=trade.district,
            seller_user=seller,
            created_by=seller,
            status=ListingStatus.SOLD,
            status_changed_at=trade.completed_at,
            published_at=trade.published_at,
            intake_at=trade.published_at,
        )
        if trade.category == "electronics":
            ElectronicsAttributes.objects.create(
                listing=listing, device_type=trade.item_type or "other", brand="—", model_name=title[:100]
            )
        elif trade.category == "furniture":
            FurnitureAttributes.objects.create(
                listing=listing,
                furniture_type=trade.item_type or "other",
                material="—",
                width_cm=50,
                depth_cm=50,
                height_cm=50,
            )
        elif trade.category == "books":
            BookAttributes.objects.create(listing=listing, isbn="9787020002207", book_title=title[:300])
        order = Order.objects.create(
            listing=listing,
            buyer=buyer,
            seller_user=seller,
            status=trade.status,
            status_changed_at=trade.completed_at,
            delivery_method=DeliveryMethod.PICKUP,
            payment_method=PaymentMethod.CASH,
            amount=trade.amount,
            title=title,
            snapshot={"category": trade.category, "historical": True},
            idempotency_key=key,
            handed_over_at=trade.completed_at,
            completed_at=trade.completed_at,
            return_requested_at=trade.returned_at,
        )
        Listing.objects.filter(pk=listing.pk).update(created_at=trade.published_at)
        Order.objects.filter(pk=order.pk).update(created_at=trade.ordered_at)
        order.created_at = trade.ordered_at
        created.append(order)
    return created
