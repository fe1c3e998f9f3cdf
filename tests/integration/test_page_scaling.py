"""Public pages keep their query count and their plans as the data grows (issue 16): home,
browse (everything, one category, one city, a deep page) and a listing page, anonymous and
logged in, run the same number of queries with N and 10 N listings, photos, orders,
ratings and credit events; on PostgreSQL the browse queries are served by the partial
indexes in order, never by a scan and sort of every listing on sale."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.credit.models import CreditEvent, CreditEventKind, CreditRole, Rating
from marketplace.models import Listing, ListingPhoto, ListingStatus, Order, OrderStatus
from marketplace.pagination import CappedPaginator
from marketplace.selectors import BrowseFilters, browse_cities_sql, listing_ids_browse
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

CITIES = ["上海市", "北京市", "杭州市"]
CATEGORIES = ["books", "electronics", "furniture"]  # vehicles and 广州市: rare, for the plan tests
PAGES = [
    "/",
    "/browse/",
    "/browse/?category=books",
    "/browse/?city=北京市",
    "/browse/?page=2",
    "/browse/?sort=price_asc&page=2",
    "/browse/?category=books&sort=price_desc",
]
_serial = itertools.count()


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Every request renders (the anonymous page cache has its own tests)."""
    settings.PAGE_CACHE_SECONDS = 0


def grow(count: int, *, seller, shop, buyer) -> None:
    """`count` listings on sale (two photos each, a seventh sold by the shop), as many sold
    ones with a completed order and both ratings, and two credit events per sale: rows
    inserted in bulk, as a busy city accumulates them."""
    now = timezone.now()
    on_sale, sold = [], []
    for _ in range(count):
        serial = next(_serial)
        fields = {
            "category": CATEGORIES[serial % len(CATEGORIES)],
            "price": 1000 + serial,
            "city": CITIES[serial % len(CITIES)],
            "district": "徐汇区",
            "delivery_pickup": True,
            "intake_at": now,
            "created_by": seller,
        }
        by_shop = serial % 7 == 0
        seller_fields = {"seller_organisation": shop} if by_shop else {"seller_user": seller}
        published = now - dt.timedelta(minutes=serial)
        on_sale.append(
            Listing(
                title=f"On sale {serial}",
                status=ListingStatus.PUBLISHED,
                published_at=published,
                status_changed_at=published,
                **fields,
                **seller_fields,
            )
        )
        sold.append(
            Listing(
                title=f"Sold {serial}",
                status=ListingStatus.SOLD,
                published_at=published,
                status_changed_at=now,
                **fields,
                seller_user=seller,
            )
        )
    Listing.objects.bulk_create(on_sale + sold)
    ListingPhoto.objects.bulk_create(
        ListingPhoto(
            listing=listing,
            original=f"listing-originals/{listing.pk}-{index}.jpg",
            sha256=f"{listing.pk:032d}{index:032d}",
            width=640,
            height=480,
            position=index,
            is_cover=index == 0,
            renditions={str(w): f"listings/{listing.pk}/{index}-{w}.webp" for w in (320, 960)},
        )
        for listing in on_sale
        for index in range(2)
    )
    orders = Order.objects.bulk_create(
        Order(
            listing=listing,
            buyer=buyer,
            seller_user=seller,
            status=OrderStatus.COMPLETED,
            status_changed_at=now,
            completed_at=now,
            delivery_method="pickup",
            payment_method="cash",
            amount=listing.price,
            title=listing.title,
        )
        for listing in sold
    )
    CreditEvent.objects.bulk_create(
        CreditEvent(
            subject=subject,
            role=role,
            kind=CreditEventKind.ORDER_COMPLETED,
            positive=1.0,
            value_minor=order.amount,
            counterparty=other,
            occurred_at=now,
        )
        for order in orders
        for subject, other, role in ((seller, buyer, CreditRole.SELLER), (buyer, seller, CreditRole.BUYER))
    )
    Rating.objects.bulk_create(
        Rating(
            order=order,
            rater=rater,
            ratee=ratee,
            rater_role=rater_role,
            ratee_role=ratee_role,
            stars=5,
            communication=5,
            speed=5,
            revealed_at=now,
        )
        for order in orders
        for rater, ratee, rater_role, ratee_role in (
            (buyer, seller, CreditRole.BUYER, CreditRole.SELLER),
            (seller, buyer, CreditRole.SELLER, CreditRole.BUYER),
        )
    )


def query_counts(client: Client, paths: list[str]) -> dict[str, int]:
    counts = {}
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = len(queries.captured_queries)
    return counts


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_pages_run_the_same_queries_with_ten_times_the_rows(logged_in):
    seller, buyer = UserFactory(), UserFactory()
    shop = OrganisationFactory(kind="consignment_shop")
    grow(30, seller=seller, shop=shop, buyer=buyer)  # two pages of browse
    viewed = Listing.objects.filter(status=ListingStatus.PUBLISHED, category="electronics", seller_user=seller).first()
    assert viewed is not None
    client = Client()
    if logged_in:
        client.force_login(buyer)
    paths = [*PAGES, f"/listings/{viewed.pk}/"]
    query_counts(client, paths)  # warm the per-process caches (site root, content types)
    small = query_counts(client, paths)

    grow(300, seller=seller, shop=shop, buyer=buyer)
    assert Listing.objects.filter(status=ListingStatus.PUBLISHED).count() == 330
    query_counts(client, paths)  # the first views after the change refill per-process caches
    large = query_counts(client, paths)

    assert large == small


def test_browse_count_stops_at_the_cap_and_says_so(client):
    seller, buyer = UserFactory(), UserFactory()
    grow(30, seller=seller, shop=OrganisationFactory(kind="consignment_shop"), buyer=buyer)
    paginator = CappedPaginator(listing_ids_browse(filters=BrowseFilters()), 24, cap=25)
    assert (paginator.count, paginator.capped, paginator.num_pages) == (25, True, 2)
    exact = CappedPaginator(listing_ids_browse(filters=BrowseFilters(city="北京市")), 24, cap=25)
    assert (exact.count, exact.capped) == (10, False)

    client.cookies["django_language"] = "en"
    page = CappedPaginator(listing_ids_browse(filters=BrowseFilters()), 24, cap=10_000)
    assert page.count == 30 and not page.capped
    html = client.get("/browse/").content.decode()
    assert "30 listings" in html and "Page 1 of 2" in html


def test_browse_past_the_cap_shows_a_lower_bound(client, settings, monkeypatch):
    import marketplace.pagination

    monkeypatch.setattr(marketplace.pagination, "COUNT_CAP", 25)
    grow(30, seller=UserFactory(), shop=OrganisationFactory(kind="consignment_shop"), buyer=UserFactory())
    client.cookies["django_language"] = "en"
    html = client.get("/browse/").content.decode()
    assert "25+ listings" in html and "Page 1 of 2+" in html
    second = client.get("/browse/?page=2").content.decode()
    assert second.count('<li class="listing-card">') == 1  # the 25th, then the pages stop


# --- Plans (PostgreSQL) -----------------------------------------------------------------------


def plan_of(sql: str, params) -> dict:
    """EXPLAIN's plan with sequential scans, bitmap scans and sorts priced out, so a small
    test table shows the plan PostgreSQL picks at city scale (where reading an index in
    order and stopping at the LIMIT wins): a query that no index serves in order still
    shows a Sort or a Seq Scan."""
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    return (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]


def nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


def uses(plan: dict) -> tuple[set[str], set[str]]:
    """(index names, node types) of a plan."""
    every = nodes(plan)
    return {n["Index Name"] for n in every if "Index Name" in n}, {n["Node Type"] for n in every}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (BrowseFilters(), "listing_browsable_newest_idx"),
        (BrowseFilters(category="vehicles"), "listing_browsable_category_idx"),
        (BrowseFilters(city="广州市"), "listing_browsable_city_idx"),
        (BrowseFilters(sort="price_asc"), "listing_browsable_price_idx"),
        (BrowseFilters(sort="price_desc"), "listing_browsable_price_idx"),
        (BrowseFilters(category="vehicles", sort="price_asc"), "listing_browse_cat_price_idx"),
        (BrowseFilters(city="广州市", sort="price_desc"), "listing_browse_city_price_idx"),
        (BrowseFilters(sort="price_asc", price_min=1500, price_max=3500), "listing_browsable_price_idx"),
    ],
    ids=["everything", "category", "city", "cheapest", "dearest", "category-cheapest", "city-dearest", "price-range"],
)
def test_browse_pages_and_counts_read_a_partial_index_in_order(filters, index):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    seller = UserFactory()
    grow(3000, seller=seller, shop=OrganisationFactory(kind="consignment_shop"), buyer=UserFactory())
    # 60 cars in 广州市 among 6 000 listings: only the matching index finds them in order.
    now = timezone.now()
    Listing.objects.bulk_create(
        Listing(
            category="vehicles",
            title=f"Car {n}",
            price=5_000_000,
            city="广州市",
            status=ListingStatus.PUBLISHED,
            published_at=now - dt.timedelta(minutes=n),
            intake_at=now,
            seller_user=seller,
            created_by=seller,
        )
        for n in range(60)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_listing")

    page = listing_ids_browse(filters=filters)[24:48]
    plan = plan_of(*page.query.sql_with_params())
    indexes, types = uses(plan)
    assert index in indexes and "Sort" not in types and "Seq Scan" not in types, plan

    count = listing_ids_browse(filters=filters).order_by()[:10_001]
    counted = count.query.get_compiler(connection=connection).as_sql()
    indexes, types = uses(plan_of(f"SELECT COUNT(*) FROM ({counted[0]}) AS capped", counted[1]))  # noqa: S608
    # The capped count reads one of the listing indexes and stops at the LIMIT.
    assert indexes and "Limit" in types and "Seq Scan" not in types


@pytest.mark.postgres
def test_the_cities_on_sale_are_read_one_index_probe_per_city():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    grow(30, seller=UserFactory(), shop=OrganisationFactory(kind="consignment_shop"), buyer=UserFactory())
    indexes, types = uses(plan_of(*browse_cities_sql()))
    # Either partial index that starts with the city serves the probes.
    assert len(indexes) == 1 and indexes <= {"listing_browsable_city_idx", "listing_browse_city_price_idx"}
    assert "Seq Scan" not in types and "HashAggregate" not in types and "Unique" not in types


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_the_flea_market_page_runs_the_same_queries_whatever_its_dates_and_listings(logged_in):
    from cms.models import FleaMarketDate, ListingAtEvent
    from tests.cms import make_market, organiser_org

    organiser, _owner = organiser_org()
    today = timezone.localdate()
    market = make_market(organiser, dates=[today + dt.timedelta(days=10)])
    seller, buyer = UserFactory(), UserFactory()
    grow(30, seller=seller, shop=OrganisationFactory(kind="consignment_shop"), buyer=buyer)
    on_sale = list(Listing.objects.filter(status=ListingStatus.PUBLISHED).order_by("pk"))
    first = market.dates.get()
    # One shop's and one person's listing: both kinds of seller badge from the start.
    shown = [
        next(x for x in on_sale if x.seller_organisation_id),
        next(x for x in on_sale if x.seller_user_id),
    ]
    ListingAtEvent.objects.bulk_create(ListingAtEvent(listing=x, market_date=first, added_by=seller) for x in shown)
    client = Client()
    if logged_in:
        client.force_login(buyer)
    url = market.url
    query_counts(client, [url])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    small = {url: len(before.captured_queries)}

    # Ten more dates, listings at several of them.
    more = FleaMarketDate.objects.bulk_create(
        FleaMarketDate(market=market, date=today + dt.timedelta(days=11 + n)) for n in range(10)
    )
    ListingAtEvent.objects.bulk_create(
        ListingAtEvent(listing=listing, market_date=more[n % 10], added_by=seller)
        for n, listing in enumerate(x for x in on_sale if x not in shown)
        if n < 20
    )
    query_counts(client, [url])  # the first view after the change refills per-process caches
    with CaptureQueriesContext(connection) as after:
        client.get(url)

    assert len(after.captured_queries) == small[url], "\n".join(q["sql"][:120] for q in after.captured_queries)
