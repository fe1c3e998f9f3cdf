"""Test helpers for community pages: a page tree under the site's home page, organisations
with their members, and published pages with inline rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from cms.models import (
    BookSwapPage,
    ConsignmentEventPage,
    ConsignmentShopPage,
    DropOffSlot,
    EventIndexPage,
    FleaMarketDate,
    FleaMarketPage,
    HomePage,
    StallAddOn,
    StallType,
    StandardPage,
)
from cms.services.access import organisation_cms_access
from marketplace.models import ListingStatus, Organisation, OrganisationKind, Role, User
from marketplace.services.lifecycle import listing_transition
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


def home() -> HomePage:
    page = HomePage.objects.first()
    assert page is not None, "cms/migrations/0002 creates the home page"
    return page


def publish_child(parent: Any, page: Any) -> Any:
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def event_index() -> EventIndexPage:
    existing = EventIndexPage.objects.first()
    if existing is not None:
        return existing
    return publish_child(home(), EventIndexPage(title="Events", slug="events"))


def organisation(kind: str, role: str, *, user: User | None = None, name: str = "") -> tuple[Organisation, User]:
    extra = {"uscc": ""} if kind in {OrganisationKind.SCHOOL, OrganisationKind.EVENT_ORGANISER} else {}
    org = OrganisationFactory(kind=kind, **({"name": name} if name else {}), **extra)
    member = user or UserFactory()
    MembershipFactory(user=member, organisation=org, role=role)
    return org, member


def organiser_org(**kwargs: Any) -> tuple[Organisation, User]:
    return organisation(OrganisationKind.EVENT_ORGANISER, Role.ORGANISER, **kwargs)


def school_org(**kwargs: Any) -> tuple[Organisation, User]:
    return organisation(OrganisationKind.SCHOOL, Role.COORDINATOR, **kwargs)


def shop_org(**kwargs: Any) -> tuple[Organisation, User]:
    return organisation(OrganisationKind.CONSIGNMENT_SHOP, Role.OWNER, **kwargs)


def make_market(
    org: Organisation,
    *,
    dates: list[dt.date] | None = None,
    capacity: int = 2,
    price: int = 3000,
    slug: str = "riverside-market",
    grant_access: bool = True,
    **fields: Any,
) -> FleaMarketPage:
    today = timezone.localdate()
    defaults: dict[str, Any] = {
        "title": "Riverside flea market",
        "intro": "Every second Saturday by the river.",
        "venue": "Riverside Square 3",
        "address": "2555 Longteng Avenue, Xuhui",
        "latitude": "31.176512",
        "longitude": "121.462345",
        "application_deadline_days": 1,
    }
    page = FleaMarketPage(slug=slug, organisation=org, **{**defaults, **fields})
    page.stall_types.set(
        [
            StallType(name="Standard stall", size="2 m × 2 m", price=price, capacity=capacity),
            StallType(name="Car boot", size="1 parking space", price=6000, capacity=1),
        ]
    )
    page.add_ons.set([StallAddOn(name="Power socket", price=1000), StallAddOn(name="Table", price=1500)])
    page.dates.set([FleaMarketDate(date=day) for day in (dates or [today + dt.timedelta(days=10)])])
    publish_child(event_index(), page)
    if grant_access:
        organisation_cms_access(organisation=org)
    return page


def make_book_swap(org: Organisation, *, grant_access: bool = True, **fields: Any) -> BookSwapPage:
    page = publish_child(
        event_index(),
        BookSwapPage(title="Book swap", slug=fields.pop("slug", "book-swap"), organisation=org, **fields),
    )
    if grant_access:
        organisation_cms_access(organisation=org)
    return page


def make_consignment_event(org: Organisation, *, capacity: int = 1, **fields: Any) -> ConsignmentEventPage:
    now = timezone.now()
    page = ConsignmentEventPage(
        title="Spring consignment sale",
        slug=fields.pop("slug", "spring-sale"),
        organisation=org,
        sale_starts=now + dt.timedelta(days=10),
        sale_ends=now + dt.timedelta(days=11),
        registration_closes=now + dt.timedelta(days=8),
        discount_date=(now + dt.timedelta(days=11)).date(),
        discount_percent=30,
        venue="Community centre",
        **fields,
    )
    page.drop_off_slots.set(
        [
            DropOffSlot(
                starts_at=now + dt.timedelta(days=9), ends_at=now + dt.timedelta(days=9, hours=3), capacity=capacity
            ),
            DropOffSlot(
                starts_at=now + dt.timedelta(days=9, hours=4), ends_at=now + dt.timedelta(days=9, hours=6), capacity=5
            ),
        ]
    )
    publish_child(event_index(), page)
    organisation_cms_access(organisation=org)
    return page


def make_shop_page(org: Organisation) -> ConsignmentShopPage:
    page = publish_child(
        home(),
        ConsignmentShopPage(
            title="Second Life Consignment",
            slug="second-life",
            organisation=org,
            intro="Graded electronics and furniture on consignment.",
            address="88 Caoxi North Road",
            consignment_terms="<p>30% commission.</p>",
        ),
    )
    organisation_cms_access(organisation=org)
    return page


def make_standard_page(title: str = "Platform rules", body: str = "<p>Be kind.</p>") -> StandardPage:
    return publish_child(home(), StandardPage(title=title, slug=title.lower().replace(" ", "-"), body=body))


def publish_listing(listing: Any, actor: User | None = None) -> Any:
    listing_transition(listing=listing, to_status=ListingStatus.READY, actor=actor)
    listing_transition(listing=listing, to_status=ListingStatus.PUBLISHED, actor=actor)
    return listing
