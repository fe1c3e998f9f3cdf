"""Reads of orders and offers for pages and the API, with the joins they need so a page
runs a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from marketplace.models import (
    Dispute,
    Membership,
    Offer,
    OfferStatus,
    Order,
    OrderStatusChange,
    Payment,
    User,
)
from marketplace.services.order_state import SELLER_ROLES

ORDER_RELATIONS = ("listing", "buyer", "seller_user", "seller_organisation", "consignor")


def _with_related(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related(*ORDER_RELATIONS).prefetch_related(
        Prefetch("payments", queryset=Payment.objects.order_by("-pk")),
    )


def _managed_shops(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, role__in=SELLER_ROLES)


def orders_bought_by(*, user: User) -> QuerySet[Order]:
    return _with_related(Order.objects.filter(buyer=user)).order_by("-created_at", "-pk")


def orders_sold_by(*, user: User) -> QuerySet[Order]:
    """Orders for listings the user sells, or sells for a shop they own or staff."""
    return _with_related(
        Order.objects.filter(
            Q(seller_user=user) | Q(seller_organisation_id__in=_managed_shops(user).values("organisation_id"))
        )
    ).order_by("-created_at", "-pk")


def order_detail(*, order_id: int) -> Order | None:
    return (
        _with_related(Order.objects.filter(pk=order_id))
        .prefetch_related(
            Prefetch("status_history", queryset=OrderStatusChange.objects.select_related("actor").order_by("pk")),
            Prefetch("disputes", queryset=Dispute.objects.prefetch_related("evidence").order_by("-pk")),
        )
        .first()
    )


def offers_made_by(*, user: User) -> QuerySet[Offer]:
    return Offer.objects.filter(buyer=user).select_related("listing", "order").order_by("-created_at", "-pk")


def offers_received_by(*, user: User) -> QuerySet[Offer]:
    return (
        Offer.objects.filter(
            Q(listing__seller_user=user)
            | Q(listing__seller_organisation_id__in=_managed_shops(user).values("organisation_id"))
        )
        .select_related("listing", "buyer", "order")
        .order_by("-created_at", "-pk")
    )


def open_offers_for_listing(*, listing_id: int) -> QuerySet[Offer]:
    return (
        Offer.objects.filter(listing_id=listing_id, status=OfferStatus.OPEN)
        .select_related("buyer")
        .order_by("-created_at", "-pk")
    )
