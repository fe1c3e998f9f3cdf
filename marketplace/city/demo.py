"""Demo data of the city app (a seed_demo step, declared on its AppConfig): the green-account factors with
their sources, a few example relocation rules, six months of past trades between the
demo seller and buyer, and the statistics rollup over them. Idempotent: existing factors
and cities (which staff may have edited) are left alone."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from marketplace.city.models import GreenFactor, RelocationCity
from marketplace.city.services import rollup_refresh_recent
from marketplace.city.synthetic import PastTrade
from marketplace.credit.models import Rating
from marketplace.credit.services import ratings_reveal_due
from marketplace.demo import demo_coordinates
from marketplace.models import (
    BookAttributes,
    ElectronicsAttributes,
    FurnitureAttributes,
    Listing,
    ListingStatus,
    Order,
    User,
)

_APPLE = "Apple Product Environmental Report"
_WRAP = "WRAP (2011), Benefits of Reuse Case Study: Domestic Furniture"
_FIRA = "FIRA (2011), Benchmarking Carbon Footprints of Furniture Products"
_DISPLACE = "Estimate: about 80% of the life-cycle footprint is production; reuse assumed to spare half of it."

# (category, item type, kg CO2e avoided per item, ± %, source, address, note)
FACTORS: tuple[tuple[str, str, str, int, str, str, str], ...] = (
    ("electronics", "", "40", 70, "Estimate for devices without a more specific factor", "", _DISPLACE),
    (
        "electronics",
        "phone",
        "30",
        50,
        f"{_APPLE}, iPhone 13 (2021): 64 kg CO2e life cycle, 81% production",
        "https://www.apple.com/environment/pdf/products/iphone/iPhone_13_PER_Sept2021.pdf",
        _DISPLACE,
    ),
    (
        "electronics",
        "tablet",
        "35",
        50,
        f"{_APPLE}, iPad (9th generation, 2021): 79 kg CO2e life cycle",
        "https://www.apple.com/environment/pdf/products/ipad/iPad_PER_Sept2021.pdf",
        _DISPLACE,
    ),
    (
        "electronics",
        "laptop",
        "80",
        50,
        f"{_APPLE}, MacBook Air M1 (2020): 161 kg CO2e life cycle, 71% production",
        "https://www.apple.com/environment/pdf/products/notebooks/13-inch_MacBookAir_PER_Nov2020.pdf",
        _DISPLACE,
    ),
    (
        "electronics",
        "desktop",
        "150",
        60,
        "Dell, Product Carbon Footprint, OptiPlex desktops (2021)",
        "https://www.dell.com/en-us/dt/corporate/social-impact/advancing-sustainability/sustainable-products-and-services/product-carbon-footprints.htm",
        _DISPLACE,
    ),
    (
        "electronics",
        "wearable",
        "15",
        60,
        f"{_APPLE}, Apple Watch Series 7 (2021): 34 kg CO2e life cycle",
        "https://www.apple.com/environment/pdf/products/watch/Apple_Watch_Series7_PER_Sept2021.pdf",
        _DISPLACE,
    ),
    (
        "electronics",
        "storage_medium",
        "8",
        80,
        "Tannu & Nair (2023), The Dirty Secret of SSDs, HotCarbon",
        "",
        _DISPLACE,
    ),
    ("furniture", "", "40", 70, _WRAP, "https://wrap.org.uk", "Estimate for furniture without a more specific factor."),
    ("furniture", "sofa", "90", 60, _FIRA, "https://www.fira.co.uk", "Estimate: upholstered three-seat sofa."),
    ("furniture", "chair", "20", 60, _FIRA, "https://www.fira.co.uk", "Estimate: wooden or office chair."),
    ("furniture", "table", "40", 60, _FIRA, "https://www.fira.co.uk", "Estimate: dining table."),
    ("furniture", "wardrobe", "100", 60, _FIRA, "https://www.fira.co.uk", "Estimate: two-door wardrobe."),
    (
        "books",
        "",
        "1",
        50,
        "Book Industry Environmental Council / Green Press Initiative (2008), Environmental Trends "
        "and Climate Impacts: about 4 kg CO2e per new book",
        "",
        "Estimate: a reused book spares about a quarter of a new copy's footprint "
        "(not every reuse replaces a purchase).",
    ),
    (
        "vehicles",
        "",
        "1500",
        70,
        "ICCT (2021), A global comparison of the life-cycle greenhouse gas emissions of combustion engine "
        "and electric passenger cars: about 6 t CO2e to produce a mid-size car",
        "https://theicct.org/publication/a-global-comparison-of-the-life-cycle-greenhouse-gas-emissions-"
        "of-combustion-engine-and-electric-passenger-cars/",
        "Estimate: a used-car purchase assumed to displace a quarter of a new car's production.",
    ),
    ("clothing", "", "5", 70, "WRAP (2017), Valuing Our Clothes", "https://wrap.org.uk", "Estimate per garment."),
    ("toys", "", "3", 80, "Estimate (no specific study)", "", "Rough estimate per toy; to be reviewed by staff."),
    ("household", "", "5", 80, "Estimate (no specific study)", "", "Rough estimate per item; to be reviewed."),
    ("sports", "", "8", 80, "Estimate (no specific study)", "", "Rough estimate per item; to be reviewed."),
)

EXAMPLE = "example — to be maintained by staff"
# (city, province, minimum standard)
EXAMPLE_CITIES: tuple[tuple[str, str, str], ...] = (
    ("北京市", "北京市", "cn6a"),
    ("上海市", "上海市", "cn6a"),
    ("杭州市", "浙江省", "cn5"),
    ("成都市", "四川省", "cn5"),
    ("西宁市", "青海省", "cn4"),
)

PLACES = (("上海市", "徐汇区"), ("上海市", "静安区"), ("上海市", "浦东新区"), ("上海市", "闵行区"))
KINDS = (
    ("electronics", "phone", 80_000, 300_000),
    ("electronics", "laptop", 150_000, 600_000),
    ("electronics", "tablet", 60_000, 250_000),
    ("furniture", "sofa", 30_000, 200_000),
    ("furniture", "chair", 3_000, 30_000),
    ("furniture", "table", 10_000, 80_000),
    ("books", "", 500, 8_000),
)


def seed_factors() -> int:
    created = 0
    for category, item_type, kg, uncertainty, source, url, note in FACTORS:
        _factor, was_created = GreenFactor.objects.get_or_create(
            category=category,
            item_type=item_type,
            defaults={
                "kg_co2e": Decimal(kg),
                "uncertainty_percent": uncertainty,
                "source": source,
                "source_url": url,
                "note": note,
            },
        )
        created += was_created
    return created


def seed_example_cities() -> int:
    created = 0
    for name, province, minimum in EXAMPLE_CITIES:
        _city, was_created = RelocationCity.objects.get_or_create(
            name=name,
            defaults={"province": province, "minimum_standard": minimum, "is_example": True, "note": EXAMPLE},
        )
        created += was_created
    return created


def demo_past_trades(now: dt.datetime, count: int = 36) -> list[PastTrade]:
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    trades = []
    for index in range(count):
        category, item_type, low, high = rng.choice(KINDS)
        city, district = rng.choice(PLACES)
        completed_at = now - dt.timedelta(days=rng.randint(2, 175), hours=rng.randint(0, 10))
        ordered_at = completed_at - dt.timedelta(days=rng.randint(1, 5))
        published_at = ordered_at - dt.timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 20))
        trades.append(
            PastTrade(
                category=category,
                item_type=item_type,
                city=city,
                district=district,
                amount=rng.randrange(low, high, 100),
                published_at=published_at,
                ordered_at=ordered_at,
                completed_at=completed_at,
                title=f"Demo trade {index + 1}",
            )
        )
    return trades


def past_trade_through_services(
    *, trade: PastTrade, seller: User, buyer: User, key: str, rated_by: tuple[str, ...] = (), spot: int = 0
) -> Order | None:
    """A cash pick-up sale made with the order services (so payments, ledger and history
    are real), rated by the parties in `rated_by` ("buyer", "seller") with the rating
    service, then dated back to when it happened. The listing is put on sale directly,
    without photos or grading, as the benchmark data is."""
    from marketplace.credit.services import rating_submit
    from marketplace.services.orders import order_handover_confirm, order_place

    if Order.objects.filter(buyer=buyer, idempotency_key=key).exists():
        return None
    latitude, longitude = demo_coordinates(trade.district, spot)
    listing = Listing.objects.create(
        category=trade.category,
        title=trade.title,
        price=trade.amount,
        city=trade.city,
        district=trade.district,
        latitude=latitude,
        longitude=longitude,
        seller_user=seller,
        created_by=seller,
        status=ListingStatus.PUBLISHED,
        status_changed_at=trade.published_at,
        published_at=trade.published_at,
        intake_at=trade.published_at,
    )
    if trade.category == "electronics":
        ElectronicsAttributes.objects.create(
            listing=listing, device_type=trade.item_type, brand="—", model_name=trade.title
        )
    elif trade.category == "furniture":
        FurnitureAttributes.objects.create(
            listing=listing, furniture_type=trade.item_type, material="—", width_cm=80, depth_cm=60, height_cm=75
        )
    else:
        BookAttributes.objects.create(listing=listing, isbn="9787020002207", book_title=trade.title)
    order = order_place(
        buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash", idempotency_key=key
    )
    order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)
    for party in rated_by:
        rating_submit(
            user=buyer if party == "buyer" else seller,
            order_id=order.pk,
            stars=5,
            as_described=5 if party == "buyer" else None,
            communication=5,
            speed=4,
        )
    Listing.objects.filter(pk=listing.pk).update(created_at=trade.published_at)
    Order.objects.filter(pk=order.pk).update(
        created_at=trade.ordered_at,
        handed_over_at=trade.completed_at,
        completed_at=trade.completed_at,
        status_changed_at=trade.completed_at,
    )
    # Rated the day after the hand-over; sealed until the rating window closes (or both rated).
    Rating.objects.filter(order=order).update(created_at=trade.completed_at + dt.timedelta(days=1))
    return order


def _rated_by(index: int) -> tuple[str, ...]:
    """Who rated the index-th past trade: the buyer praised the seller now and then; the
    seller never rated the buyer back. Two accounts that rate mostly each other, each at
    least twice, look like a rating ring, so a past mutual rating would flag the demo
    buyer and seller the first time a visitor rates the demo's completed order both ways."""
    return ("buyer",) if index % 4 == 1 else ()


def seed_city_demo(stdout: Any) -> None:
    factors = seed_factors()
    cities = seed_example_cities()
    seller = User.objects.filter(email="seller@example.com").first()
    buyer = User.objects.filter(email="buyer@example.com").first()
    added = 0
    if seller is not None and buyer is not None:
        for index, trade in enumerate(demo_past_trades(timezone.now())):
            added += (
                past_trade_through_services(
                    trade=trade,
                    seller=seller,
                    buyer=buyer,
                    key=f"demo-history-{index}",
                    rated_by=_rated_by(index),
                    spot=index,
                )
                is not None
            )
        # Their rating windows closed long ago: the ratings become visible, as the
        # nightly task would make them.
        ratings_reveal_due()
    run = rollup_refresh_recent()
    stdout.write(
        f"City data: {factors} green factors, {cities} example relocation cities, {added} past trades added; "
        f"statistics recalculated for {run.first_day}…{run.last_day}."
    )
