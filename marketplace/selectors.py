"""Reads for pages and the API, each with the joins it needs so a page runs a fixed
number of queries whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
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
    sort: str = "newest"  # a key of BROWSE_SORTS


# Newest first; the partial indexes listing_browsable_newest_idx (everything),
# listing_browsable_category_idx and listing_browsable_city_idx serve this order.
BROWSE_ORDER = ("-published_at", "-pk")
# Every browse order, each served in order by a partial index: newest as above; price by
# listing_browsable_price_idx, listing_browse_cat_price_idx and listing_browse_city_price_idx
# (read backwards for high to low, hence the id in the same direction as the price).
BROWSE_SORTS: dict[str, tuple[str, ...]] = {
    "newest": BROWSE_ORDER,
    "price_asc": ("price", "pk"),
    "price_desc": ("-price", "-pk"),
}


def listings_browse(*, filters: BrowseFilters) -> QuerySet[Listing]:
    return _with_related(_browse_filtered(filters)).order_by(*BROWSE_ORDER)


def listing_ids_browse(*, filters: BrowseFilters) -> QuerySet[Listing, int]:
    """The ids only, in browse order: what a paginator counts and slices (an index scan,
    no joins), before `listings_by_ids` loads one page of them."""
    order = BROWSE_SORTS.get(filters.sort, BROWSE_ORDER)
    return _browse_filtered(filters).order_by(*order).values_list("pk", flat=True)


def listings_by_ids(ids: Iterable[int]) -> list[Listing]:
    """One page of listings with their related rows, from a sliced `listing_ids_browse`:
    the ids are read first (an index-only scan, however deep the page), then only their
    rows are joined. A deep OFFSET over the joined query joined every row it skipped, and
    `id IN (subquery with LIMIT)` misleads the planner into joining every listing."""
    wanted = list(ids)
    if not wanted:
        return []
    # In the order of the ids, whichever order browse read them in.
    position = {pk: index for index, pk in enumerate(wanted)}
    return sorted(_with_related(Listing.objects.filter(pk__in=wanted)), key=lambda listing: position[listing.pk])


def _browse_filtered(filters: BrowseFilters) -> QuerySet[Listing]:
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
    return queryset


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
    """The cities with listings on sale, in order. A loose index scan (one probe of the
    partial index listing_browsable_city_idx per city, ~log N each), not a DISTINCT over
    every listing on sale: the cost follows the number of cities, not of listings."""
    sql, params = browse_cities_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [city for (city,) in cursor.fetchall()]


def browse_cities_sql() -> tuple[str, list[str]]:
    table = connection.ops.quote_name(Listing._meta.db_table)
    statuses = ", ".join(["%s"] * len(BROWSABLE_STATUSES))
    following = f"SELECT city FROM {table} WHERE status IN ({statuses}) AND city > cities.city ORDER BY city LIMIT 1"  # noqa: S608
    sql = (
        f"WITH RECURSIVE cities(city) AS ("  # noqa: S608 - a quoted table name and placeholders only
        f"  SELECT * FROM (SELECT city FROM {table} WHERE status IN ({statuses}) ORDER BY city LIMIT 1) AS lowest"
        f"  UNION ALL SELECT ({following}) FROM cities WHERE cities.city IS NOT NULL"
        f") SELECT city FROM cities WHERE city IS NOT NULL"
    )
    return sql, [str(status) for status in BROWSABLE_STATUSES] * 2


def user_notifications(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_notification_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
