"""The buying panel of a listing (settings.MARKETPLACE_LISTING_PANELS): Buy, Make an
offer and Message the seller on the public page; open offers, orders and conversations
on the seller's manage page."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext_lazy, pgettext

from marketplace.extensions import Panel, personal
from marketplace.models import DeliveryMethod, Listing, ListingStatus, Offer, OfferStatus, Order, PaymentMethod
from marketplace.models.orders import ENDED_STATUSES
from marketplace.order_selectors import open_offers_for_listing
from marketplace.services.listings import listing_can_manage
from marketplace.services.messages import conversations_with_buyers
from marketplace.services.orders import delivery_choices, order_arrangements, payment_choices

# One line per (delivery, payment) pair: how the buyer gets the item and what happens to
# the money, so nobody has to guess which payment fits which delivery.
ARRANGEMENT_HELP = {
    (DeliveryMethod.SHIP, PaymentMethod.CARD): gettext_lazy(
        "Posted to you. The platform holds your card payment and pays the seller only after you confirm receipt."
    ),
    (DeliveryMethod.PICKUP, PaymentMethod.CARD): gettext_lazy(
        "You collect it from the seller. The platform holds your card payment until you confirm receipt."
    ),
    (DeliveryMethod.PICKUP, PaymentMethod.CASH): gettext_lazy(
        "You collect it from the seller and pay them in cash there; the platform never holds this money."
    ),
    (DeliveryMethod.EVENT, PaymentMethod.CARD): gettext_lazy(
        "You collect it at the event. The platform holds your card payment until you confirm receipt."
    ),
    (DeliveryMethod.EVENT, PaymentMethod.CASH): gettext_lazy(
        "You collect it at the event and pay the seller in cash there; the platform never holds this money."
    ),
}


def _choices(values: list[str], enum: Any) -> list[tuple[str, str]]:
    return [(value, str(enum(value).label)) for value in values]


def buy_arrangements(listing: Listing) -> list[dict[str, str]]:
    """The buy form's choices: only valid delivery × payment pairs, the first preselected."""
    return [
        {
            "value": f"{delivery}:{payment}",
            "delivery": delivery,
            "payment": payment,
            "label": pgettext("delivery · payment", "%(delivery)s · %(payment)s")
            % {"delivery": DeliveryMethod(delivery).label, "payment": PaymentMethod(payment).label},
            "help": str(ARRANGEMENT_HELP[(DeliveryMethod(delivery), PaymentMethod(payment))]),
        }
        for delivery, payment in order_arrangements(listing)
    ]


@personal
def order_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    if where == "manage":
        return _seller_panel(listing, user)
    if user.is_authenticated and listing_can_manage(user=user, listing=listing):
        return None
    my_order = None
    my_offer = None
    if user.is_authenticated:
        my_order = Order.objects.filter(listing=listing, buyer=user).exclude(status__in=list(ENDED_STATUSES)).first()
        my_offer = Offer.objects.filter(listing=listing, buyer=user, status=OfferStatus.OPEN).order_by("-pk").first()
    deliveries = delivery_choices(listing)
    payments = payment_choices(listing)
    arrangements = buy_arrangements(listing)
    return Panel(
        template="marketplace/orders/panel.html",
        context={
            "listing": listing,
            "authenticated": user.is_authenticated,
            "for_sale": listing.status == ListingStatus.PUBLISHED and my_order is None,
            "my_order": my_order,
            "my_offer": my_offer,
            "deliveries": _choices(deliveries, DeliveryMethod),
            "payments": _choices(payments, PaymentMethod),
            "arrangements": arrangements,
            "card_available": PaymentMethod.CARD in payments,
            "ship_without_card": DeliveryMethod.SHIP in deliveries and PaymentMethod.CARD not in payments,
            "idempotency_key": uuid.uuid4().hex,
        },
    )


def _seller_panel(listing: Listing, user: Any) -> Panel | None:
    if not (user.is_authenticated and listing_can_manage(user=user, listing=listing)):
        return None
    orders = list(Order.objects.filter(listing=listing).select_related("buyer").order_by("-pk")[:10])
    offers = list(open_offers_for_listing(listing_id=listing.pk))
    buyers = conversations_with_buyers(seller=user, listing_id=listing.pk)
    if not (orders or offers or buyers):
        return None
    return Panel(
        template="marketplace/orders/seller_panel.html",
        context={"listing": listing, "orders": orders, "offers": offers, "buyers": buyers},
    )
