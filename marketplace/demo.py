"""Demo marketplace data for `manage.py seed_demo`: prohibited terms, listings in every
category and several states, generated photos, a stolen-goods register entry and an
open report.

Everything goes through the services, the way users would do it, and is keyed so that a
second run adds nothing: terms by their text, listings by (seller, title), the register
entry by its identifier, the report by (listing, reporter)."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from marketplace.errors import DomainError
from marketplace.models import (
    Category,
    Listing,
    ListingPhoto,
    ListingReport,
    ListingStatus,
    Organisation,
    OrganisationKind,
    ProhibitedCategory,
    ProhibitedTerm,
    Role,
    StolenGoodsReport,
    User,
)
from marketplace.models.moderation import IdentifierKind, StolenReportSource
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish, listing_withdraw
from marketplace.services.moderation import listing_report_create, stolen_report_add
from marketplace.services.photos import listing_photos_add

SELLER_EMAIL = "seller@example.com"
BUYER_EMAIL = "buyer@example.com"
SHOP_EMAIL = "shop@example.com"
STAFF_EMAIL = "admin@example.com"

PROHIBITED_TERMS: tuple[tuple[str, str, str], ...] = (
    ("仿真枪", ProhibitedCategory.WEAPONS, "Replica firearms (枪支管理法)."),
    ("枪支", ProhibitedCategory.WEAPONS, ""),
    ("弹药", ProhibitedCategory.WEAPONS, ""),
    ("管制刀具", ProhibitedCategory.WEAPONS, "Controlled knives."),
    ("airsoft gun", ProhibitedCategory.WEAPONS, ""),
    ("ammunition", ProhibitedCategory.WEAPONS, ""),
    ("毒品", ProhibitedCategory.DRUGS, ""),
    ("大麻", ProhibitedCategory.DRUGS, ""),
    ("cannabis", ProhibitedCategory.DRUGS, ""),
    ("高仿", ProhibitedCategory.COUNTERFEIT, "Signals a counterfeit."),
    ("复刻", ProhibitedCategory.COUNTERFEIT, "Signals a counterfeit."),
    ("A货", ProhibitedCategory.COUNTERFEIT, "Signals a counterfeit."),
    ("replica", ProhibitedCategory.COUNTERFEIT, ""),
    ("counterfeit", ProhibitedCategory.COUNTERFEIT, ""),
    ("Galaxy Note7", ProhibitedCategory.RECALLED, "Battery fire recall, 2016."),
    ("召回", ProhibitedCategory.RECALLED, "Recalled products may not be resold."),
)

# An IMEI with a valid check digit that no demo listing uses: the police report below.
STOLEN_IMEI = "354112079988775"

CATEGORY_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    Category.ELECTRONICS: ((37, 99, 235), (15, 23, 42)),
    Category.FURNITURE: ((180, 83, 9), (67, 20, 7)),
    Category.BOOKS: ((21, 128, 61), (5, 46, 22)),
    Category.VEHICLES: ((185, 28, 28), (69, 10, 10)),
}

# What each demo listing should end up as.
PUBLISHED = ListingStatus.PUBLISHED
DRAFT = ListingStatus.DRAFT
WITHDRAWN = ListingStatus.WITHDRAWN
PENDING_APPRAISAL = ListingStatus.PENDING_APPRAISAL
PENDING_ERASURE = ListingStatus.PENDING_ERASURE

# Centres of the Shanghai districts the demo uses (WGS-84); each listing sits a few hundred
# metres from its district's centre so that the distance search has something near.
DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    "徐汇区": (31.188, 121.437),
    "长宁区": (31.220, 121.424),
    "静安区": (31.229, 121.448),
    "浦东新区": (31.221, 121.544),
    "闵行区": (31.113, 121.382),
    "嘉定区": (31.375, 121.265),
    "宝山区": (31.405, 121.489),
}


def demo_coordinates(district: str, index: int) -> tuple[float, float]:
    """A spot near the district's centre, different for each `index` (about 100 m apart)."""
    latitude, longitude = DISTRICT_CENTRES.get(district, DISTRICT_CENTRES["徐汇区"])
    return round(latitude + 0.001 * (index % 7 - 3), 3), round(longitude + 0.001 * (index // 7 % 7 - 3), 3)


@dataclass(frozen=True)
class DemoListing:
    category: str
    title: str
    label: str  # Latin text drawn on the generated photos
    price_yuan: int
    description: str
    attributes: Mapping[str, Any]
    target: str = PUBLISHED
    photos: int = 1
    district: str = "徐汇区"
    ship: bool = False
    by_shop: bool = False  # sold by the consignment shop for buyer@example.com
    extra: Mapping[str, Any] = field(default_factory=dict)
    # For the fair-price band: the price when new and how long ago the seller bought it
    # (books and vehicles are aged by their year and first registration instead).
    new_price_yuan: int | None = None
    bought_months_ago: int | None = None


def _today_plus(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def demo_listings() -> tuple[DemoListing, ...]:
    return (
        DemoListing(
            Category.ELECTRONICS,
            "iPhone 13 128GB 蓝色",
            "iPhone 13 128GB",
            2650,
            "自用一年半，电池健康 88%，一直带壳贴膜，屏幕无划痕。原装盒子和数据线都在。",
            {
                "device_type": "phone",
                "brand": "Apple",
                "model_name": "iPhone 13",
                "storage_capacity_gb": 128,
                "imei": "352099001761481",
                "serial_number": "F2LXK0ABCD12",
            },
            photos=2,
            ship=True,
            new_price_yuan=5999,
            bought_months_ago=18,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "iPhone 12 mini 128GB 白色 手机",
            "iPhone 12 mini 128GB",
            1750,
            "换了大屏手机，这台 iPhone 12 mini 一直带壳贴膜，电池健康 91%，面容 ID 正常。"
            "已由鉴定师检测并做过数据清除，附证书。",
            {
                "device_type": "phone",
                "brand": "Apple",
                "model_name": "iPhone 12 mini",
                "storage_capacity_gb": 128,
                "imei": "353902110123452",
                "serial_number": "G6TDM12MINI8",
            },
            photos=2,
            ship=True,
            district="静安区",
            new_price_yuan=5499,
            bought_months_ago=48,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "华为 MatePad 11 平板 128GB WiFi版",
            "Huawei MatePad 11",
            1280,
            "孩子上网课用过，配原装键盘和笔。WiFi 版，没有插卡功能。",
            {
                "device_type": "tablet",
                "brand": "华为 Huawei",
                "model_name": "MatePad 11 DBY-W09",
                "storage_capacity_gb": 128,
                "serial_number": "HWDBY21A0045872",
            },
            ship=True,
            new_price_yuan=2499,
            bought_months_ago=28,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "索尼 A7 III 全画幅微单 机身",
            "Sony Alpha 7 III",
            6800,
            "快门约 2.1 万次，无进灰，成色九成新。附两块电池和充电器。",
            {"device_type": "camera", "brand": "Sony 索尼", "model_name": "ILCE-7M3", "serial_number": "3712958"},
            photos=2,
            new_price_yuan=13999,
            bought_months_ago=30,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "ThinkPad X1 Carbon Gen 9 i7 16GB 512GB",
            "ThinkPad X1 Carbon Gen 9",
            4200,
            "公司换机淘汰，键盘背光正常，电池循环 210 次。已送去做数据清除，证书出来后上架。",
            {
                "device_type": "laptop",
                "brand": "Lenovo 联想",
                "model_name": "ThinkPad X1 Carbon Gen 9",
                "storage_capacity_gb": 512,
                "serial_number": "PF2XK7QZ",
            },
            target=PENDING_ERASURE,
            new_price_yuan=11999,
            bought_months_ago=36,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "ThinkPad T480 i5 旧笔记本 硬盘自备",
            "ThinkPad T480",
            1100,
            "办公用旧机，屏幕有轻微划痕。原硬盘已换成小容量测试盘，送去做数据清除，证书出来后上架。",
            {
                "device_type": "laptop",
                "brand": "Lenovo 联想",
                "model_name": "ThinkPad T480",
                "serial_number": "PF1T480Q",
            },
            target=PENDING_ERASURE,
            new_price_yuan=6999,
            bought_months_ago=60,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "Kindle Paperwhite 4 8GB 墨黑",
            "Kindle Paperwhite 4",
            380,
            "草稿：还没拍照。屏幕完好，送保护套。",
            {
                "device_type": "tablet",
                "brand": "Amazon",
                "model_name": "Kindle Paperwhite 4 (PQ94WIF)",
                "storage_capacity_gb": 8,
                "serial_number": "G000PP1234567890",
            },
            target=DRAFT,
            photos=0,
            new_price_yuan=998,
            bought_months_ago=36,
        ),
        DemoListing(
            Category.FURNITURE,
            "宜家 MALM 五斗柜 白色",
            "IKEA MALM chest",
            450,
            "80×48×100 厘米，六个抽屉滑轨顺畅。附防倾倒固定件，请自提（三楼无电梯）。",
            {
                "furniture_type": "chest_of_drawers",
                "material": "刨花板 白色贴面",
                "width_cm": 80,
                "depth_cm": 48,
                "height_cm": 100,
                "weight_kg": "43.5",
                "assembly_state": "assembled",
            },
            district="闵行区",
            new_price_yuan=899,
            bought_months_ago=51,
        ),
        DemoListing(
            Category.FURNITURE,
            "北欧实木餐桌 1.4 米 配四把椅子",
            "Oak dining table + 4 chairs",
            1200,
            "白橡木实木，桌面有轻微使用痕迹，椅子坐垫可拆洗。",
            {
                "furniture_type": "table",
                "material": "白橡木",
                "width_cm": 140,
                "depth_cm": 80,
                "height_cm": 75,
                "weight_kg": "38",
                "assembly_state": "assembled",
            },
            photos=2,
            district="长宁区",
            new_price_yuan=3999,
            bought_months_ago=84,
        ),
        DemoListing(
            Category.FURNITURE,
            "布艺三人沙发 浅灰色",
            "Three-seat fabric sofa",
            900,
            "搬家暂不出了，先下架。",
            {
                "furniture_type": "sofa",
                "material": "棉麻布艺 实木框架",
                "width_cm": 210,
                "depth_cm": 90,
                "height_cm": 85,
                "upholstered": True,
                "assembly_state": "assembled",
            },
            target=WITHDRAWN,
            new_price_yuan=3299,
            bought_months_ago=48,
        ),
        DemoListing(
            Category.BOOKS,
            "红楼梦 人民文学出版社 1982",
            "Hong Lou Meng, 1982",
            45,
            "人民文学出版社 1982 年版，全四册，书页微黄，无缺页无笔记。",
            {
                "isbn": "9787020002207",
                "book_title": "红楼梦",
                "authors": ["曹雪芹", "高鹗"],
                "publisher": "人民文学出版社",
                "edition": "第 3 版",
                "year": 1982,
                "language": "zh",
            },
            ship=True,
            new_price_yuan=60,
            bought_months_ago=14,
        ),
        DemoListing(
            Category.BOOKS,
            "百年孤独 南海出版公司 精装",
            "One Hundred Years of Solitude",
            28,
            "范晔译本，精装，只读过一遍。",
            {
                "isbn": "9787544253994",
                "book_title": "百年孤独",
                "authors": ["加西亚·马尔克斯"],
                "publisher": "南海出版公司",
                "year": 2011,
                "language": "zh",
            },
            ship=True,
            new_price_yuan=55,
            bought_months_ago=71,
        ),
        DemoListing(
            Category.BOOKS,
            "三体 重庆出版社",
            "The Three-Body Problem",
            20,
            "第一部，平装，封面有折痕。",
            {
                "isbn": "9787536692930",
                "book_title": "三体",
                "authors": ["刘慈欣"],
                "publisher": "重庆出版社",
                "year": 2008,
                "language": "zh",
            },
            district="浦东新区",
            new_price_yuan=38,
            bought_months_ago=33,
        ),
        DemoListing(
            Category.BOOKS,
            "Introduction to Algorithms, 3rd edition",
            "Introduction to Algorithms",
            160,
            "MIT Press hardcover. A few pencil notes in chapter 15, otherwise clean. 算法导论英文原版。",
            {
                "isbn": "9780262033848",
                "book_title": "Introduction to Algorithms",
                "authors": ["Thomas H. Cormen", "Charles E. Leiserson", "Ronald L. Rivest", "Clifford Stein"],
                "publisher": "MIT Press",
                "edition": "3rd",
                "year": 2009,
                "language": "en",
                "is_textbook": True,
            },
            ship=True,
            new_price_yuan=498,
            bought_months_ago=110,
        ),
        DemoListing(
            Category.BOOKS,
            "Plenum Press 物理专著 英文原版",
            "Plenum Press monograph",
            60,
            "草稿：还要核对版次。",
            {
                "isbn": "0306406152",
                "book_title": "Plenum Press monograph",
                "authors": [],
                "publisher": "Plenum Press",
                "language": "en",
            },
            target=DRAFT,
            new_price_yuan=120,
            bought_months_ago=60,
        ),
        DemoListing(
            Category.VEHICLES,
            "大众 朗逸 2019款 1.5L 自动",
            "VW Lavida 2019 1.5L AT",
            72000,
            "一手车，4S 店定期保养，无事故无泡水。国六排放，可迁全国大部分城市。",
            {
                "vin": "LSVNV2184K2123456",
                "make": "大众 Volkswagen",
                "model_name": "朗逸 1.5L 自动舒适版",
                "first_registration": dt.date(2019, 6, 15),
                "mileage_km": 48500,
                "emission_standard": "cn6a",
                "fuel": "petrol",
                "transmission": "automatic",
                "previous_transfers": 0,
            },
            photos=3,
            district="嘉定区",
            extra={"inspection_expiry": 300, "insurance_expiry": 120},
            new_price_yuan=139900,
        ),
        DemoListing(
            Category.VEHICLES,
            "福特 福克斯 2018款 1.5L 自动",
            "Ford Focus 2018 1.5L AT",
            52000,
            "等待鉴定评估师上门检测，检测报告出来后上架。",
            {
                "vin": "LVSHCAMB5JE123456",
                "make": "福特 Ford",
                "model_name": "福克斯 两厢 1.5L 自动",
                "first_registration": dt.date(2018, 3, 20),
                "mileage_km": 86000,
                "emission_standard": "cn5",
                "fuel": "petrol",
                "transmission": "automatic",
                "previous_transfers": 1,
            },
            target=PENDING_APPRAISAL,
            photos=3,
            district="宝山区",
            extra={"inspection_expiry": 200, "insurance_expiry": 90},
            new_price_yuan=119800,
        ),
        DemoListing(
            Category.ELECTRONICS,
            "任天堂 Switch OLED 白色 双手柄",
            "Nintendo Switch OLED",
            1650,
            "寄卖：店内已检测，手柄无漂移，已恢复出厂设置。",
            {
                "device_type": "console",
                "brand": "Nintendo 任天堂",
                "model_name": "Switch OLED HEG-001",
                "storage_capacity_gb": 64,
                "serial_number": "XTW70012345678",
            },
            photos=2,
            by_shop=True,
            new_price_yuan=2599,
            bought_months_ago=15,
        ),
        DemoListing(
            Category.FURNITURE,
            "榆木官帽椅 一对",
            "Elm armchairs (pair)",
            2400,
            "寄卖：老榆木，榫卯结构稳固，已做清洁上蜡。店内可看实物。",
            {
                "furniture_type": "chair",
                "material": "老榆木",
                "width_cm": 58,
                "depth_cm": 46,
                "height_cm": 112,
                "weight_kg": "12.5",
                "assembly_state": "assembled",
            },
            by_shop=True,
            new_price_yuan=4800,
            bought_months_ago=120,
        ),
    )


def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A CJK font when the system has one (Noto CJK on Debian); Pillow's built-in font otherwise."""
    for name in ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "wqy-microhei.ttc"):
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def demo_photo(*, category: str, title: str, label: str, index: int, count: int) -> bytes:
    """A 1200×900 JPEG: a gradient in the category's colour with the item's name on it."""
    width, height = 1200, 900
    light, dark = CATEGORY_COLOURS[category]
    mask = Image.linear_gradient("L").resize((width, height))
    if index % 2:
        mask = mask.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), dark), Image.new("RGB", (width, height), light), mask)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((80, 300, width - 80, 640), radius=32, fill=(255, 255, 255))
    small, cjk = _font(32)
    heading = title if cjk else label
    size = 64
    big, _ = _font(size)
    while size > 28 and draw.textlength(heading, font=big) > width - 240:
        size -= 4
        big, _ = _font(size)
    draw.text((120, 340), heading, fill=dark, font=big)
    if cjk:
        draw.text((120, 450), label, fill=(71, 85, 105), font=small)
    draw.text((120, 560), f"Xunhuan demo · {index + 1}/{count}", fill=(100, 116, 139), font=small)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def seed_prohibited_terms() -> int:
    for term, category, note in PROHIBITED_TERMS:
        ProhibitedTerm.objects.update_or_create(term=term, defaults={"category": category, "note": note})
    return len(PROHIBITED_TERMS)


def _shop_of(user: User) -> Organisation:
    return Organisation.objects.get(
        kind=OrganisationKind.CONSIGNMENT_SHOP, memberships__user=user, memberships__role=Role.OWNER
    )


def _attributes(spec: DemoListing) -> dict[str, Any]:
    attributes = dict(spec.attributes)
    for name, days in spec.extra.items():
        attributes[name] = _today_plus(days)
    return attributes


def _create(spec: DemoListing, *, seller: User, shop: Organisation, consignor: User, index: int) -> Listing:
    latitude, longitude = demo_coordinates(spec.district, index)
    data = {
        "title": spec.title,
        "description": spec.description,
        "price": spec.price_yuan * 100,
        "currency": "CNY",
        "city": "上海市",
        "district": spec.district,
        "latitude": latitude,
        "longitude": longitude,
        "delivery_ship": spec.ship,
        "delivery_pickup": True,
        "delivery_event": False,
        "reference_new_price": spec.new_price_yuan * 100 if spec.new_price_yuan else None,
        "purchased_on": _today_plus(-30 * spec.bought_months_ago) if spec.bought_months_ago else None,
    }
    listing = listing_create(
        actor=seller,
        category=spec.category,
        data=data,
        attributes=_attributes(spec),
        seller_organisation=shop if spec.by_shop else None,
        consignor=consignor if spec.by_shop else None,
    )
    if spec.photos:
        photos = [
            demo_photo(category=spec.category, title=spec.title, label=spec.label, index=i, count=spec.photos)
            for i in range(spec.photos)
        ]
        listing_photos_add(
            actor=seller,
            listing_id=listing.pk,
            files=[(io.BytesIO(data), len(data), f"demo-{i + 1}.jpg") for i, data in enumerate(photos)],
        )
    return listing


def _bring_to_target(spec: DemoListing, listing: Listing, *, seller: User) -> None:
    if spec.target == DRAFT:
        return
    if spec.target in (PENDING_APPRAISAL, PENDING_ERASURE):
        # No service submits a listing for appraisal or erasure yet; the gates that will
        # (grading, erasure certificates) are not installed in this demo's settings.
        listing_transition(listing=listing, to_status=spec.target, actor=seller, reason="demo: sent for checks")
        return
    try:
        listing_publish(actor=seller, listing_id=listing.pk)
    except PublicationBlocked:
        # Later gates (grades, erasure certificates) may hold a listing back; it then
        # waits in the stage the gates chose, which is a fine demo state too.
        if spec.target != WITHDRAWN:
            return
    if spec.target == WITHDRAWN:
        listing_withdraw(actor=seller, listing_id=listing.pk, reason="demo: seller moved house")


def seed_listings() -> tuple[list[Listing], int]:
    seller = User.objects.get(email=SELLER_EMAIL)
    shop_user = User.objects.get(email=SHOP_EMAIL)
    consignor = User.objects.get(email=BUYER_EMAIL)
    shop = _shop_of(shop_user)
    listings: list[Listing] = []
    created = 0
    for index, spec in enumerate(demo_listings()):
        acting = shop_user if spec.by_shop else seller
        owner = {"seller_organisation": shop} if spec.by_shop else {"seller_user": seller}
        listing = Listing.objects.filter(title=spec.title, **owner).first()
        if listing is None:
            listing = _create(spec, seller=acting, shop=shop, consignor=consignor, index=index)
            _bring_to_target(spec, listing, seller=acting)
            listing.refresh_from_db()
            created += 1
        listings.append(listing)
    return listings, created


def seed_stolen_report() -> None:
    if StolenGoodsReport.objects.filter(identifier_kind=IdentifierKind.IMEI, identifier=STOLEN_IMEI).exists():
        return
    stolen_report_add(
        staff=User.objects.get(email=STAFF_EMAIL),
        kind=IdentifierKind.IMEI,
        identifier=STOLEN_IMEI,
        source=StolenReportSource.POLICE,
        reference="沪公(徐)立字[2026]0815号",
        description="iPhone 14 Pro 暗紫色，2026 年 3 月在徐家汇地铁站被盗。",
    )


def seed_open_report(listings: list[Listing]) -> None:
    """The buyer reports the camera, so the moderation queue has something in it."""
    camera = next((listing for listing in listings if listing.title.startswith("索尼 A7 III")), None)
    buyer = User.objects.get(email=BUYER_EMAIL)
    if camera is None or camera.status != PUBLISHED:
        return
    if ListingReport.objects.filter(listing=camera, reporter=buyer).exists():
        return
    try:
        listing_report_create(
            reporter=buyer,
            listing_id=camera.pk,
            reason="misleading_grade",
            details="描述说九成新，但第二张照片里机身底部有明显磕碰。",
        )
    except DomainError:
        return


def seed_marketplace_demo(stdout: TextIO) -> None:
    """Seed the marketplace demo; called by `manage.py seed_demo` after the accounts exist."""
    terms = seed_prohibited_terms()
    listings, created = seed_listings()
    seed_stolen_report()
    seed_open_report(listings)
    statuses = Counter(listing.status for listing in listings)
    photos = ListingPhoto.objects.filter(listing__in=listings).count()
    summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    stdout.write(
        f"Marketplace demo: {len(listings)} listings ({created} new; {summary}), {photos} photos, "
        f"{terms} prohibited terms, {StolenGoodsReport.objects.count()} stolen-goods entries, "
        f"{ListingReport.objects.filter(status='open').count()} open reports."
    )


# --- Orders, offers and messages ------------------------------------------------------------
# Cash orders only: the demo runs without a Stripe key (card payment is hidden then).

DEMO_ORDERS = (
    # (listing title, idempotency key, completed?)
    ("三体 重庆出版社", "demo-order-completed", True),
    ("宜家 MALM 五斗柜 白色", "demo-order-awaiting-handover", False),
)
DEMO_OFFER_TITLE = "北欧实木餐桌 1.4 米 配四把椅子"
DEMO_MESSAGE_TITLE = "索尼 A7 III 全画幅微单 机身"


def _published_demo_listing(title: str, seller: User) -> Listing | None:
    return Listing.objects.filter(title=title, seller_user=seller, status=ListingStatus.PUBLISHED).first()


def seed_order_demo(stdout: TextIO) -> None:
    """A completed cash order (so both parties can rate and the ledger has a sale), one
    waiting for its hand-over code, an open offer and a question to a seller. Idempotent."""
    from marketplace.models import Offer, Order
    from marketplace.services.messages import message_send
    from marketplace.services.offers import offer_make
    from marketplace.services.orders import order_handover_confirm, order_place

    seller = User.objects.get(email=SELLER_EMAIL)
    buyer = User.objects.get(email=BUYER_EMAIL)
    for title, key, complete in DEMO_ORDERS:
        if Order.objects.filter(buyer=buyer, idempotency_key=key).exists():
            continue
        listing = _published_demo_listing(title, seller)
        if listing is None:
            continue
        order = order_place(
            buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash", idempotency_key=key
        )
        if complete:
            order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)

    table = _published_demo_listing(DEMO_OFFER_TITLE, seller)
    if table is not None and not Offer.objects.filter(listing=table, buyer=buyer).exists():
        offer_make(
            buyer=buyer,
            listing_id=table.pk,
            amount=table.price * 85 // 100,
            delivery_method="pickup",
            payment_method="cash",
            message="周末可以自提，85 折可以吗？",
        )
    camera = _published_demo_listing(DEMO_MESSAGE_TITLE, seller)
    if camera is not None and not camera.messages.exists():
        message_send(sender=buyer, listing_id=camera.pk, body="请问快门次数大概多少？有没有拆修过？")
    orders = Order.objects.filter(buyer=buyer, idempotency_key__startswith="demo-order-")
    stdout.write(
        f"Order demo: {orders.count()} orders ({', '.join(sorted(o.status for o in orders))}), "
        f"{Offer.objects.filter(buyer=buyer).count()} offers."
    )
