"""Wagtail page types and the community models that hang off them."""

from wagtail.models import Page

from cms.models.access import OrganisationCmsAccess
from cms.models.bookswap import (
    BookSwapPage,
    Pupil,
    SwapBook,
    SwapBookStatus,
    SwapClass,
    SwapDay,
    SwapDayStatus,
    SwapWish,
)
from cms.models.consignment import (
    EVENT_ITEM_TRANSITIONS,
    ConsignmentEventItem,
    ConsignmentEventPage,
    ConsignmentShopPage,
    ConsignorRegistration,
    DropOffSlot,
    EventItemCategory,
    EventItemStatus,
    RegistrationStatus,
    ShopOpeningHours,
)
from cms.models.flea import (
    ACTIVE_STALL_STATUSES,
    STALL_TRANSITIONS,
    FleaMarketDate,
    FleaMarketPage,
    FleaMarketPhoto,
    ListingAtEvent,
    PaymentMethod,
    Recurrence,
    StallAddOn,
    StallApplication,
    StallApplicationStatus,
    StallCapacity,
    StallType,
    Weekday,
    WeekOfMonth,
)
from cms.models.pages import CreditPolicyPage, EventIndexPage, GradingStandardsPage, HomePage, StandardPage

# Page types owned by an organisation, whose members edit them (cms.services.access).
ORGANISATION_PAGE_MODELS: tuple[type[Page], ...] = (
    FleaMarketPage,
    ConsignmentShopPage,
    ConsignmentEventPage,
    BookSwapPage,
)

__all__ = [
    "ACTIVE_STALL_STATUSES",
    "EVENT_ITEM_TRANSITIONS",
    "ORGANISATION_PAGE_MODELS",
    "STALL_TRANSITIONS",
    "BookSwapPage",
    "ConsignmentEventItem",
    "ConsignmentEventPage",
    "ConsignmentShopPage",
    "ConsignorRegistration",
    "CreditPolicyPage",
    "DropOffSlot",
    "EventIndexPage",
    "EventItemCategory",
    "EventItemStatus",
    "FleaMarketDate",
    "FleaMarketPage",
    "FleaMarketPhoto",
    "GradingStandardsPage",
    "HomePage",
    "ListingAtEvent",
    "OrganisationCmsAccess",
    "PaymentMethod",
    "Pupil",
    "Recurrence",
    "RegistrationStatus",
    "ShopOpeningHours",
    "StallAddOn",
    "StallApplication",
    "StallApplicationStatus",
    "StallCapacity",
    "StallType",
    "StandardPage",
    "SwapBook",
    "SwapBookStatus",
    "SwapClass",
    "SwapDay",
    "SwapDayStatus",
    "SwapWish",
    "WeekOfMonth",
    "Weekday",
]
