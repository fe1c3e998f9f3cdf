"""Reads for pages and the API, each with the joins it needs so a page runs a fixed
number of queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from marketplace.models import (
    ATTRIBUTE_MODELS,
    Listing,
    ListingPhoto,
    Membership,
    Notification,
    Organisation,
    User,
)
from marketplace.models.listings import BROWSABLE, PUBLIC_STATUSES

ATTRIBUTE_RELATIONS = tuple(model.related_accessor for model in ATTRIBUTE_MODELS.values())
BROWSABLE_STATUSES = BROWSABLE


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name", "role")


def organisation_members(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("role", "user__display_name")
    )


def _with_related(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """Seller, category attributes, and photos in display order (first = cover first)."""
    return queryset.select_related(
        "seller_user", "seller_organisation", "consignor", *ATTRIBUTE_RELATIONS
    ).prefetch_related(Prefetch("photos", queryset=ListingPhoto.objects.order_by("-is_cover", "position", "pk")))


def listing_cover(listing: Listing) -> ListingPhoto | None:
    """The cover photo from the prefetched photos (no query)."""
    photos = list(listing.photos.all())
    return photos[0] if photos else None


@dataclass(frozen=True)
class BrowseFilters:
    category: str = ""
    city: str = ""
    district: str = ""
    price_min: int | None = None  # minor units
    price_max: int | None = None
    query: str = ""


def listings_browse(*, filters: BrowseFilters) -> QuerySet[Listing]:
    queryset = Listing.objects.filter(status__in=BROWSABLE_STATUSES)
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.city:
        queryset = queryset.filter(city=filters.city)
    if filters.district:
        queryset = queryset.filter(district=filters.district)
    if filters.price_min is not None:
        queryset = queryset.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        queryset = queryset.filter(price__lte=filters.price_max)
    if filters.query:
        queryset = queryset.filter(Q(title__icontains=filters.query) | Q(description__icontains=filters.query))
    return _with_related(queryset).order_by("-published_at", "-pk")


def listing_public_detail(*, listing_id: int) -> Listing | None:
    return _with_related(Listing.objects.filter(pk=listing_id, status__in=PUBLIC_STATUSES)).first()


def listing_detail(*, listing_id: int) -> Listing | None:
    """Any status; the caller checks who may see it."""
    return _with_related(Listing.objects.filter(pk=listing_id)).first()


def listings_managed_by(*, user: User) -> QuerySet[Listing]:
    """Listings the user sells, or sells for a shop they own or staff."""
    shop_ids = Membership.objects.filter(user=user, role__in=("owner", "staff")).values("organisation_id")
    return _with_related(Listing.objects.filter(Q(seller_user=user) | Q(seller_organisation_id__in=shop_ids))).order_by(
        "-updated_at", "-pk"
    )


def browse_cities() -> list[str]:
    return list(
        Listing.objects.filter(status__in=BROWSABLE_STATUSES).order_by("city").values_list("city", flat=True).distinct()
    )


def user_notifications(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_notification_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
