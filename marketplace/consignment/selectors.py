"""Reads for the consignment pages and the order hook: each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.consignment import rules
from marketplace.consignment.models import (
    AgreementStatus,
    ConsignmentAgreement,
    ConsignmentItem,
    ConsignorPayout,
    IntakeBatch,
    ItemStatus,
    MarkdownStep,
    ShareTier,
)
from marketplace.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerKind,
    Listing,
    ListingStatus,
    Membership,
    Order,
    OrderStatus,
    Organisation,
    User,
)
from marketplace.services.ledger import consignor_balances
from marketplace.services.listings import SHOP_MANAGER_ROLES
from marketplace.services.privacy import WITHDRAWABLE_LISTING_STATUSES

# A listing in these states is still at the shop in the consignor's name: offered,
# being prepared, or held for a buyer. It ties the consignor to the shop.
CONSIGNMENT_OPEN_STATUSES = frozenset({*WITHDRAWABLE_LISTING_STATUSES, ListingStatus.RESERVED})

TERMS_PREFETCH = (
    Prefetch("tiers", queryset=ShareTier.objects.all()),
    Prefetch("markdown_steps", queryset=MarkdownStep.objects.all()),
)


def shops_managed_by(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        memberships__user=user, memberships__role__in=SHOP_MANAGER_ROLES, kind="consignment_shop"
    ).distinct()


def user_manages_shop(*, user: User, shop_id: int) -> bool:
    return bool(
        user.is_authenticated
        and Membership.objects.filter(user=user, organisation_id=shop_id, role__in=SHOP_MANAGER_ROLES).exists()
    )


def agreements_of_shop(*, shop: Organisation) -> QuerySet[ConsignmentAgreement]:
    return (
        ConsignmentAgreement.objects.filter(shop=shop)
        .select_related("consignor")
        .prefetch_related(*TERMS_PREFETCH)
        .order_by("-created_at", "-pk")
    )


def agreement_detail(*, agreement_id: int) -> ConsignmentAgreement | None:
    return (
        ConsignmentAgreement.objects.select_related("shop", "consignor")
        .prefetch_related(*TERMS_PREFETCH)
        .filter(pk=agreement_id)
        .first()
    )


def batch_detail(*, batch_id: int) -> IntakeBatch | None:
    return (
        IntakeBatch.objects.select_related("agreement__shop", "agreement__consignor", "received_by")
        .prefetch_related(
            Prefetch("items", queryset=ConsignmentItem.objects.select_related("listing").order_by("item_code"))
        )
        .filter(pk=batch_id)
        .first()
    )


def items_of_agreement(*, agreement: ConsignmentAgreement) -> QuerySet[ConsignmentItem]:
    return ConsignmentItem.objects.filter(agreement=agreement).select_related("listing", "batch").order_by("-pk")


def payouts_of_agreement(*, agreement: ConsignmentAgreement) -> QuerySet[ConsignorPayout]:
    return ConsignorPayout.objects.filter(agreement=agreement).select_related("recorded_by")


def balance_for(*, shop_id: int, consignor_id: int) -> int:
    return consignor_balances(consignor_id=consignor_id, shop_id=shop_id).get((shop_id, consignor_id), 0)


def balances_of_shop(*, shop_id: int) -> dict[int, int]:
    """{consignor id: owed}, one query."""
    return {consignor: owed for (_shop, consignor), owed in consignor_balances(shop_id=shop_id).items()}


# --- Items as people see them -----------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    item: ConsignmentItem
    status: str
    status_label: str
    days_on_sale: int
    current_price: int


def item_display_status(item: ConsignmentItem) -> str:
    """The item's own status, or what its listing says while it is on sale (reserved,
    sold before the completion event arrived, not yet published)."""
    if item.status != ItemStatus.ON_SALE:
        return item.status
    if item.listing.status == ListingStatus.SOLD:
        return ItemStatus.SOLD
    return item.status


def item_views(items: list[ConsignmentItem]) -> list[ItemView]:
    today = timezone.localdate()
    views = []
    for item in items:
        status = item_display_status(item)
        if status == ItemStatus.ON_SALE and item.listing.status != ListingStatus.PUBLISHED:
            label = str(ListingStatus(item.listing.status).label)
        else:
            label = str(ItemStatus(status).label)
        views.append(
            ItemView(
                item=item,
                status=status,
                status_label=label,
                days_on_sale=rules.days_on_sale(timezone.localdate(item.intake_at), today),
                current_price=item.listing.price,
            )
        )
    return views


# --- The consignor's portal ---------------------------------------------------------------------


def portal_items(*, consignor: User) -> list[ConsignmentItem]:
    return list(
        ConsignmentItem.objects.filter(agreement__consignor=consignor)
        .select_related("listing", "agreement__shop")
        .order_by("-intake_at", "item_code")
    )


def portal_sales(*, consignor: User) -> list[Order]:
    """Completed consignment sales with the consignor's released share (`consignor_amount`)."""
    released = (
        LedgerEntry.objects.filter(
            order=OuterRef("pk"), account=LedgerAccount.CONSIGNOR_PAYABLE, transaction__kind=LedgerKind.RELEASE
        )
        .values("order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return list(
        Order.objects.filter(consignor=consignor, status=OrderStatus.COMPLETED)
        .select_related("seller_organisation")
        .annotate(consignor_released=-Coalesce(Subquery(released, output_field=IntegerField()), 0))
        .order_by("-completed_at", "-pk")
    )


def portal_payouts(*, consignor: User) -> list[ConsignorPayout]:
    return list(ConsignorPayout.objects.filter(agreement__consignor=consignor).select_related("agreement__shop"))


def portal_balances(*, consignor: User) -> list[tuple[Organisation, int]]:
    """(shop, owed) for every shop with an agreement or a balance; two queries."""
    owed = {shop: amount for (shop, _c), amount in consignor_balances(consignor_id=consignor.pk).items()}
    answered = ConsignmentAgreement.objects.filter(consignor=consignor).exclude(status=AgreementStatus.DECLINED)
    shops = Organisation.objects.filter(consignment_agreements__in=answered).distinct().order_by("name")
    found = {shop.pk: shop for shop in shops}
    missing = set(owed) - set(found)
    if missing:  # a balance left at a shop whose agreements were since removed: rare
        found.update({shop.pk: shop for shop in Organisation.objects.filter(pk__in=missing)})
    return [(shop, owed.get(shop.pk, 0)) for shop in sorted(found.values(), key=lambda s: s.name)]


def portal_invitations(*, consignor: User) -> list[ConsignmentAgreement]:
    """Open invitations sent to the user's e-mail address (verified: allauth requires it
    before anyone signs in), with their terms."""
    return list(
        ConsignmentAgreement.objects.filter(status=AgreementStatus.INVITED, invited_email__iexact=consignor.email)
        .select_related("shop")
        .prefetch_related(*TERMS_PREFETCH)
        .order_by("-created_at", "-pk")
    )


def portal_agreements(*, consignor: User) -> list[ConsignmentAgreement]:
    return list(
        ConsignmentAgreement.objects.filter(consignor=consignor)
        .exclude(status=AgreementStatus.DECLINED)
        .select_related("shop")
        .prefetch_related(*TERMS_PREFETCH)
        .order_by("status", "-created_at", "-pk")
    )


# --- Naming a consignor on a listing ----------------------------------------------------------


def agreed_consignor(*, shop_id: int, email: str | None = None, consignor_id: int | None = None) -> User | None:
    """settings.MARKETPLACE_CONSIGNOR_LOOKUP: the consignor a shop may name on a listing,
    found by e-mail address or id — only someone who accepted an agreement with the shop
    that has not ended. None for everyone else, whether they have an account or not."""
    agreements = ConsignmentAgreement.objects.filter(shop_id=shop_id, status=AgreementStatus.ACCEPTED)
    if consignor_id is not None:
        agreements = agreements.filter(consignor_id=consignor_id)
    elif email:
        email = email.strip()
        agreements = agreements.filter(Q(consignor__email__iexact=email) | Q(invited_email__iexact=email))
    else:
        return None
    agreement = agreements.select_related("consignor").filter(consignor__is_active=True).first()
    return agreement.consignor if agreement is not None else None


# --- The order hook -----------------------------------------------------------------------------


def order_consignor_share_bp(listing: Listing, amount: int) -> int | None:
    """settings.MARKETPLACE_CONSIGNOR_SHARE_PROVIDER: the share of this sale under the
    item's agreement (tier by its original price, who bears the discount), or None for a
    consignment listing taken in without an agreement."""
    item = (
        ConsignmentItem.objects.select_related("agreement")
        .prefetch_related("agreement__tiers", "agreement__markdown_steps")
        .filter(listing_id=listing.pk)
        .first()
    )
    if item is None:
        return None
    return rules.consignor_share_bp(item.agreement.terms(), item.original_price, amount)
