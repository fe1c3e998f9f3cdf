"""Demo page tree for `manage.py seed_demo`: events index, a flea market with stall types,
dates and applications, a consignment shop, a consignment event with a consignor and
items, a school book swap with a swap day, pupils, books and wishes, policy pages and the
grading-standards page.

Idempotent: pages are looked up by slug under their parent and only created when
missing; applications, registrations, swap days and pupils are only added to pages this
run created or that still lack them. Everything goes through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO, TypeVar

from django.utils import timezone
from wagtail.models import Page

from cms.models import (
    BookSwapPage,
    ConsignmentEventPage,
    ConsignmentShopPage,
    ConsignorRegistration,
    CreditPolicyPage,
    DropOffSlot,
    EventIndexPage,
    FleaMarketDate,
    FleaMarketPage,
    GradingStandardsPage,
    HomePage,
    Pupil,
    ShopOpeningHours,
    StallAddOn,
    StallApplication,
    StallType,
    StandardPage,
    SwapDay,
)
from cms.services.access import cms_access_sync_all
from cms.services.bookswap import book_claim, book_offer, pupil_join, swap_day_create, wish_add
from cms.services.consignment import consignment_item_add, consignor_register
from cms.services.flea import market_missing_dates, stall_application_approve, stall_apply, stall_fee_record_offline
from marketplace.models import Organisation, OrganisationKind, User

P = TypeVar("P", bound=Page)

ORGANIZER_EMAIL = "organizer@example.com"
SELLER_EMAIL = "seller@example.com"
BUYER_EMAIL = "buyer@example.com"
SHOP_EMAIL = "shop@example.com"
SCHOOL_EMAIL = "school@example.com"

RULES_BODY = (
    "<h2>交易规则 Trading rules</h2>"
    "<ul><li>每件商品都按公开的分级标准评级。Every item is graded against a public standard.</li>"
    "<li>手机、电脑等存储设备须附数据清除证书才能出售。Storage devices need a data-erasure certificate.</li>"
    "<li>禁止出售违禁品、假冒伪劣和来历不明的物品。No prohibited, counterfeit or stolen goods.</li></ul>"
    "<h2>跳蚤市场 Flea markets</h2>"
    "<p>摊位经组织者批准后方可摆摊；无故缺席会影响信用。Stalls are approved by the organiser; "
    "not showing up affects your credit.</p>"
)
PRIVACY_BODY = (
    "<p>我们只收集交易所需的数据。We collect only what a trade needs.</p>"
    "<p>学校旧书分享日的学生只用昵称和班级参加，不收集姓名、电话或邮箱。Pupils at school book swaps "
    "take part with a nickname and their class only.</p>"
)


def _child(parent: Page, model: type[P], slug: str, **fields: Any) -> tuple[P, bool]:
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing, False
    page = model(slug=slug, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page, True


def _organisation(kind: str, email: str) -> Organisation | None:
    return Organisation.objects.filter(kind=kind, memberships__user__email=email).distinct().first()


def _user(email: str) -> User | None:
    return User.objects.filter(email=email).first()


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def seed_flea_market(events: EventIndexPage, organiser: Organisation, today: dt.date) -> FleaMarketPage:
    page = FleaMarketPage(
        slug="xuhui-flea-market",
        title="徐汇滨江跳蚤市场 Xuhui Riverside Flea Market",
        organisation=organiser,
        intro="每月第二个周六，在滨江绿地交换、出售家里用不上的好东西。Every second Saturday by the river.",
        description="<p>社区志愿队组织，欢迎居民和小店摆摊。Run by neighbourhood volunteers; residents and "
        "small shops are welcome.</p>",
        rules="<ul><li>只卖二手物品，不卖食品。Second-hand goods only, no food.</li>"
        "<li>收摊后带走垃圾。Take your rubbish home.</li>"
        "<li>电子设备须已清除数据。Electronics must be wiped.</li></ul>",
        venue="徐汇滨江绿地 3 号广场",
        address="上海市徐汇区龙腾大道 2555 号",
        latitude="31.176512",
        longitude="121.462345",
        recurrence="monthly",
        recurrence_weekday=5,
        recurrence_week_of_month=2,
        recurrence_starts=today,
        recurrence_ends=today + dt.timedelta(days=180),
    )
    page.stall_types.set(
        [
            StallType(name="标准摊位 Standard", size="2 m × 2 m", price=3000, capacity=20, description="一张地垫"),
            StallType(name="大摊位 Large", size="3 m × 3 m", price=5000, capacity=6),
            StallType(name="后备箱摊位 Car boot", size="1 车位", price=6000, capacity=4),
        ]
    )
    page.add_ons.set(
        [
            StallAddOn(name="电源 Power socket", price=1000),
            StallAddOn(name="折叠桌 Table", price=1500),
        ]
    )
    dates = market_missing_dates(market=page, existing=(), today=today)
    extra = today + dt.timedelta(days=10)
    if extra not in {row.date for row in dates}:
        dates.append(FleaMarketDate(date=extra, note="特别场 Extra market"))
    page.dates.set(dates)
    events.add_child(instance=page)
    page.save_revision().publish()
    return page


def seed_applications(market: FleaMarketPage, today: dt.date) -> None:
    seller, buyer, organizer = _user(SELLER_EMAIL), _user(BUYER_EMAIL), _user(ORGANIZER_EMAIL)
    if seller is None or buyer is None or organizer is None:
        return
    first = today + dt.timedelta(days=market.application_deadline_days)
    market_date = (
        FleaMarketDate.objects.filter(market=market, cancelled=False, date__gte=first).order_by("date").first()
    )
    stall_types = list(market.stall_types.all())
    if market_date is None or not stall_types:
        return
    if not StallApplication.objects.filter(market_date__market=market, applicant=seller).exists():
        stall_apply(
            user=seller,
            market_date_id=market_date.pk,
            stall_type_id=stall_types[0].pk,
            add_on_ids=[market.add_ons.first().pk] if market.add_ons.exists() else [],  # type: ignore[union-attr]
            goods="旧书、童装 Books and children's clothes",
        )
    if not StallApplication.objects.filter(market_date__market=market, applicant=buyer).exists():
        application = stall_apply(
            user=buyer, market_date_id=market_date.pk, stall_type_id=stall_types[1].pk, goods="厨具 Kitchenware"
        )
        stall_application_approve(organiser=organizer, application_id=application.pk)
        stall_fee_record_offline(organiser=organizer, application_id=application.pk, reference="现金收据 R-0001")


def seed_shop(home: HomePage, shop: Organisation) -> ConsignmentShopPage:
    page = ConsignmentShopPage.objects.child_of(home).filter(slug="xunhuan-consignment").first()
    if page is not None:
        return page
    page = ConsignmentShopPage(
        slug="xunhuan-consignment",
        title=shop.name,
        organisation=shop,
        intro="寄卖二手电子产品、家具和图书，全部经过评级，电子产品附数据清除证书。",
        venue=shop.name,
        address="上海市徐汇区漕溪北路 88 号",
        latitude="31.190321",
        longitude="121.436712",
        contact_phone="021-5555 0100",
        opening_note="法定节假日休息。Closed on public holidays.",
        consignment_terms="<p>佣金 30%，售出后结算；60 天未售出可取回或捐赠。30% commission, paid out on sale; "
        "unsold after 60 days: take back or donate.</p>",
    )
    page.opening_hours.set(
        [ShopOpeningHours(weekday=day, opens_at=dt.time(10), closes_at=dt.time(19)) for day in range(6)]
    )
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def seed_consignment_event(events: EventIndexPage, organiser: Organisation, today: dt.date) -> ConsignmentEventPage:
    page = ConsignmentEventPage.objects.child_of(events).filter(slug="spring-consignment-sale").first()
    if page is None:
        sale_day = today + dt.timedelta(days=21)
        page = ConsignmentEventPage(
            slug="spring-consignment-sale",
            title="社区寄卖会 Community consignment sale",
            organisation=organiser,
            intro="把家里的童装、玩具、图书交给我们代卖；卖不掉的可以取回或捐赠。",
            terms="<p>每件售出收取 20% 场地费。20% of the sale price goes to the venue.</p>",
            venue="徐汇区社区文化中心",
            address="上海市徐汇区宛平南路 315 号",
            latitude="31.184250",
            longitude="121.448870",
            sale_starts=_local(sale_day, 9),
            sale_ends=_local(sale_day + dt.timedelta(days=1), 17),
            registration_closes=_local(sale_day - dt.timedelta(days=2), 20),
            discount_date=sale_day + dt.timedelta(days=1),
            discount_percent=30,
            pickup_starts=_local(sale_day + dt.timedelta(days=1), 17, 30),
            pickup_ends=_local(sale_day + dt.timedelta(days=1), 19),
            donation_partner="徐汇区慈善超市",
        )
        page.drop_off_slots.set(
            [
                DropOffSlot(
                    starts_at=_local(sale_day - dt.timedelta(days=1), 9),
                    ends_at=_local(sale_day - dt.timedelta(days=1), 12),
                    capacity=15,
                ),
                DropOffSlot(
                    starts_at=_local(sale_day - dt.timedelta(days=1), 14),
                    ends_at=_local(sale_day - dt.timedelta(days=1), 18),
                    capacity=15,
                ),
            ]
        )
        events.add_child(instance=page)
        page.save_revision().publish()
    seller = _user(SELLER_EMAIL)
    slot = page.drop_off_slots.order_by("starts_at").first()
    if seller is not None and slot is not None and not ConsignorRegistration.objects.filter(event=page).exists():
        consignor_register(user=seller, event_id=page.pk, slot_id=slot.pk)
        consignment_item_add(
            user=seller,
            event_id=page.pk,
            title="儿童自行车 16 寸",
            category="sports",
            asking_price=12000,
            donate_if_unsold=False,
        )
        consignment_item_add(
            user=seller,
            event_id=page.pk,
            title="乐高积木 一箱",
            category="toys",
            asking_price=8000,
            donate_if_unsold=True,
        )
    return page


def seed_book_swap(events: EventIndexPage, school: Organisation, today: dt.date) -> BookSwapPage:
    page, _created = _child(
        events,
        BookSwapPage,
        "book-swap",
        title="徐汇实验小学 旧书分享日 Book swap",
        organisation=school,
        intro="<p>把读完的书带来，换一本想读的书。Bring a book you have read, take one you want to read.</p>",
    )
    coordinator = _user(SCHOOL_EMAIL)
    if coordinator is None or SwapDay.objects.filter(page=page).exists():
        return page
    day = swap_day_create(
        coordinator=coordinator,
        page_id=page.pk,
        title="春季旧书分享日",
        date=today + dt.timedelta(days=7),
        location="学校图书馆",
        class_names=["三年级二班", "四年级一班"],
    )
    classes = list(day.classes.order_by("name"))
    pupils: dict[str, Pupil] = {}
    for nickname, swap_class in (("小书虫", classes[0]), ("星星", classes[0]), ("阿乐", classes[1])):
        pupils[nickname], _token = pupil_join(code=swap_class.code, nickname=nickname)
    wish_add(pupil=pupils["星星"], isbn="9787020050130")  # 小王子 in the local table
    book_offer(pupil=pupils["小书虫"], isbn="9787020050130")
    book_offer(pupil=pupils["小书虫"], isbn="9787100180078")
    offered = book_offer(pupil=pupils["阿乐"], isbn="9787536692930")
    book_claim(pupil=pupils["星星"], book_id=offered.pk)
    wish_add(pupil=pupils["阿乐"], isbn="9787020002207")
    return page


def seed_cms_demo(stdout: TextIO) -> None:
    home = HomePage.objects.first()
    if home is None:
        stdout.write("No home page: run the migrations first.\n")
        return
    today = timezone.localdate()
    events, _ = _child(
        home,
        EventIndexPage,
        "events",
        title="社区活动 Community events",
        intro="<p>跳蚤市场、寄卖会和学校旧书分享日。Flea markets, consignment sales and school book swaps.</p>",
    )
    organiser = _organisation(OrganisationKind.EVENT_ORGANISER, ORGANIZER_EMAIL)
    shop = _organisation(OrganisationKind.CONSIGNMENT_SHOP, SHOP_EMAIL)
    school = _organisation(OrganisationKind.SCHOOL, SCHOOL_EMAIL)
    if organiser is not None:
        market = FleaMarketPage.objects.child_of(events).filter(slug="xuhui-flea-market").first()
        if market is None:
            market = seed_flea_market(events, organiser, today)
        seed_applications(market, today)
        seed_consignment_event(events, organiser, today)
    if shop is not None:
        seed_shop(home, shop)
    if school is not None:
        seed_book_swap(events, school, today)
    _child(home, StandardPage, "rules", title="平台规则 Platform rules", intro="怎样在循环上交易。", body=RULES_BODY)
    _child(home, StandardPage, "privacy", title="隐私说明 Privacy", intro="我们收集什么数据。", body=PRIVACY_BODY)
    _child(
        home,
        GradingStandardsPage,
        "grading-standards",
        title="评级标准 Grading standards",
        intro="<p>每个品类的评级规则都是公开的数据。Every category's grading rules are public data.</p>",
    )
    _child(
        home,
        CreditPolicyPage,
        "credit-policy",
        title="信用规则 Credit policy",
        intro="<p>信用分怎样计算、各等级意味着什么。How credit scores are calculated and what each tier means.</p>",
    )
    synced = cms_access_sync_all()
    stdout.write(f"Community pages ready (events, flea market, shop, consignment sale, book swap; {synced} groups).\n")
