"""Test helpers that build listings through the services, the way users do."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from marketplace.models import Listing, User
from marketplace.services.listings import listing_create
from marketplace.services.photos import listing_photos_add
from tests.vin import with_check_digit

COMMON = {"city": "上海市", "district": "徐汇区", "delivery_pickup": True, "currency": "CNY"}
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "books": {"isbn": "9787020002207", "book_title": "红楼梦", "authors": ["曹雪芹"], "language": "zh"},
    "electronics": {
        "device_type": "phone",
        "brand": "Apple",
        "model_name": "iPhone 13",
        "storage_capacity_gb": 128,
        "imei": "352099001761481",
        "serial_number": "F2LXK0ABCD12",
    },
    "furniture": {
        "furniture_type": "chest_of_drawers",
        "material": "松木",
        "width_cm": 80,
        "depth_cm": 48,
        "height_cm": 100,
        "assembly_state": "assembled",
    },
    "vehicles": {
        "vin": with_check_digit("LSVAU2180N2183294"),
        "make": "大众",
        "model_name": "朗逸",
        "first_registration": "2019-05-10",
        "mileage_km": 62000,
        "emission_standard": "cn6a",
        "fuel": "petrol",
        "transmission": "automatic",
        "previous_transfers": 1,
    },
}


def make_listing(
    *, seller: User, category: str = "books", title: str = "红楼梦 全四册", price: int = 4500, **attributes: Any
) -> Listing:
    return listing_create(
        actor=seller,
        category=category,
        data={**COMMON, "title": title, "price": price},
        attributes={**ATTRIBUTES[category], **attributes},
    )


def jpeg_bytes(size: tuple[int, int] = (640, 480), colour: str = "seagreen", exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    Image.new("RGB", size, colour).save(out, format="JPEG", **kwargs)
    return out.getvalue()


def add_photos(listing: Listing, count: int = 1) -> None:
    files = [(io.BytesIO(data), len(data), f"p{i}.jpg") for i, data in enumerate(jpeg_bytes() for _ in range(count))]
    seller = listing.seller_user or listing.created_by
    assert seller is not None
    listing_photos_add(actor=seller, listing_id=listing.pk, files=files)
