"""Every state change of consignment: agreements, intake, markdowns and expiry, sales,
payouts. Listings are created, published and withdrawn through the marketplace's
listing services; money moves only through marketplace.services.ledger."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.consignment import rules
from marketplace.consignment.models import (
    ALLOWED_TRANSITIONS,
    ConsignmentAgreement,
    ConsignmentItem,
    ConsignorPayout,
    DiscountBearer,
    ExpiryAction,
    IntakeBatch,
    ItemStatus,
    MarkdownStep,
    PayoutMethod,
    ShareTier,
)
from marketplace.consignment.selectors import balance_for, user_manages_shop
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Order, Organisation, OrganisationKind, User
from marketplace.models.listings import ALLOWED_TRANSITIONS as LISTING_TRANSITIONS
from marketplace.services.ledger import ledger_consignor_payout
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import PUBLISHABLE_FROM, PublicationBlocked, listing_create, listing_publish
from marketplace.services.notifications import notify
from marketplace.signals import listing_changed
from marketplace.templatetags.listing_tags import format_money

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 30
INTAKE_CATEGORIES = ("books", "electronics", "furniture")

PROBLEM_MESSAGES: dict[str, Any] = {
    "no_tiers": gettext_lazy("Give the consignor's share."),
    "one_open_tier": gettext_lazy("Exactly one tier must have no upper price (it covers everything above)."),
    "duplicate_tier": gettext_lazy("Two tiers have the same upper price."),
    "tier_bound_positive": gettext_lazy("A tier's upper price must be more than zero."),
    "share_range": gettext_lazy("A share must be between 0 % and 100 %."),
    "duplicate_step": gettext_lazy("Two markdown steps start on the same day."),
    "step_days_positive": gettext_lazy("A markdown starts after at least one day on sale."),
    "discount_range": gettext_lazy("A markdown must be more than 0 % and less than 100 %."),
    "discount_increasing": gettext_lazy("Each later markdown must be larger than the one before."),
    "one_floor": gettext_lazy("Give the floor either as a price or as a percentage, not both."),
    "floor_positive": gettext_lazy("The floor price must be more than zero."),
    "floor_percent_range": gettext_lazy("The floor percentage must be more than 0 % and at most 100 %."),
    "expiry_positive": gettext_lazy("The agreement must run for at least one day."),
    "step_after_expiry": gettext_lazy("Every markdown must start before the items expire (day %(days)s)."),
    "bearer_unknown": gettext_lazy("Choose who bears a discount."),
}


def _require_manager(actor: User, shop_id: int) -> None:
    if not user_manages_shop(user=actor, shop_id=shop_id):
        raise PermissionDenied(_("Only the shop's owner or staff can manage its consignments."))


def _agreement_for_manager(actor: User, agreement_id: int, *, lock: bool = False) -> ConsignmentAgreement:
    queryset = ConsignmentAgreement.objects.select_related("shop", "consignor")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    agreement = queryset.filter(pk=agreement_id).first()
    if agreement is None or not user_manages_shop(user=actor, shop_id=agreement.shop_id):
        raise NotFound(_("No such consignment agreement."))
    return agreement


def _item_transition(*, item: ConsignmentItem, to_status: str, now: dt.datetime) -> None:
    if to_status not in ALLOWED_TRANSITIONS[item.status]:
        raise Conflict(
            _("A consigned item that is %(status)s cannot change to %(to)s.")
            % {"status": ItemStatus(item.status).label.lower(), "to": ItemStatus(to_status).label.lower()},
            code="consignment_item_status",
        )
    item.status = to_status
    item.status_changed_at = now
    item.save(update_fields=["status", "status_changed_at"])


# --- Agreements ------------------------------------------------------------------------------------


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    shop: Organisation,
    consignor: User,
    tiers: Sequence[rules.Tier],
    steps: Sequence[rules.Step] = (),
    floor_price: int | None = None,
    floor_percent_bp: int | None = None,
    discount_bearer: str = DiscountBearer.SHARED,
    expiry_days: int = 90,
    expiry_action: str = ExpiryAction.RETURN,
    payout_threshold: int = 0,
    notes: str = "",
) -> ConsignmentAgreement:
    """A shop's terms with one consignor. Raises ValidationFailed with field errors."""
    _require_manager(actor, shop.pk)
    if shop.kind != OrganisationKind.CONSIGNMENT_SHOP:
        raise ValidationFailed(_("Only a consignment shop makes consignment agreements."))
    terms = rules.Terms(
        tiers=tuple(tiers),
        steps=tuple(steps),
        floor_price=floor_price,
        floor_percent_bp=floor_percent_bp,
        bearer=discount_bearer,
        expiry_days=expiry_days,
    )
    errors: dict[str, list[str]] = {}
    for problem in rules.check_terms(terms):
        message = str(PROBLEM_MESSAGES[problem.code])
        errors.setdefault(problem.field, []).append(message % dict(problem.params) if problem.params else message)
    if expiry_action not in ExpiryAction.values:
        errors.setdefault("expiry_action", []).append(_("Choose what happens to unsold items."))
    if payout_threshold < 0:
        errors.setdefault("payout_threshold", []).append(_("The payout threshold cannot be negative."))
    if consignor.pk == actor.pk:
        errors.setdefault("consignor", []).append(_("You cannot consign items to your own shop."))
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), details={"fields": errors})
    if ConsignmentAgreement.objects.filter(shop=shop, consignor=consignor, is_active=True).exists():
        raise Conflict(
            _("%(consignor)s already has an active agreement with this shop; end it first.")
            % {"consignor": consignor.public_name},
            code="consignment_agreement_exists",
        )
    try:
        with transaction.atomic():
            agreement = ConsignmentAgreement.objects.create(
                shop=shop,
                consignor=consignor,
                discount_bearer=discount_bearer,
                floor_price=floor_price,
                floor_percent_bp=floor_percent_bp,
                expiry_days=expiry_days,
                expiry_action=expiry_action,
                payout_threshold=payout_threshold,
                notes=notes[:2000],
                created_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict(_("This agreement was just created by someone else."), code="consignment_race") from exc
    ShareTier.objects.bulk_create(
        ShareTier(agreement=agreement, up_to=t.up_to, consignor_share_bp=t.share_bp) for t in tiers
    )
    MarkdownStep.objects.bulk_create(
        MarkdownStep(agreement=agreement, after_days=s.after_days, discount_bp=s.discount_bp) for s in steps
    )
    notify(
        users=[consignor],
        kind="consignment_agreement",
        subject=gettext_lazy("Consignment agreement with %(shop)s"),
        body=gettext_lazy(
            "%(shop)s recorded a consignment agreement with you. Your items, sales and balance are in your "
            "consignment portal."
        ),
        params={"shop": shop.name},
        link="/consignment/mine/",
    )
    return agreement


@transaction.atomic
def agreement_end(*, actor: User, agreement_id: int) -> ConsignmentAgreement:
    """No more intake under these terms; items already taken in keep them."""
    agreement = _agreement_for_manager(actor, agreement_id, lock=True)
    if agreement.is_active:
        agreement.is_active = False
        agreement.save(update_fields=["is_active"])
    return agreement


# --- Intake ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeLine:
    title: str
    category: str
    price: int  # minor units
    condition_notes: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)


@transaction.atomic
def intake_batch_create(*, actor: User, agreement_id: int, lines: Sequence[IntakeLine]) -> IntakeBatch:
    """Take several items in at once: each becomes a draft listing sold by the shop with
    the consignor recorded, and a consigned item with its code. All or nothing: an error
    in any line (reported as `items.<n>.<field>`) saves none."""
    agreement = _agreement_for_manager(actor, agreement_id, lock=True)
    if not agreement.is_active:
        raise Conflict(_("This agreement has ended; make a new one to take items in."), code="agreement_ended")
    if not lines:
        raise ValidationFailed(_("Enter at least one item."))
    if len(lines) > MAX_BATCH_ITEMS:
        raise ValidationFailed(_("At most %(count)s items per batch.") % {"count": MAX_BATCH_ITEMS})
    shop = agreement.shop
    if not shop.city:
        raise ValidationFailed(_("Add the shop's city to its organisation page first: listings need a place."))
    now = timezone.now()
    batch = IntakeBatch.objects.create(agreement=agreement, received_by=actor)
    errors: dict[str, list[str]] = {}
    items = []
    for index, line in enumerate(lines, start=1):
        if line.category not in INTAKE_CATEGORIES:
            errors[f"items.{index}.category"] = [_("Choose books, electronics or furniture.")]
            continue
        try:
            with transaction.atomic():
                listing = listing_create(
                    actor=actor,
                    category=line.category,
                    data={
                        "title": line.title,
                        "description": line.condition_notes,
                        "price": line.price,
                        "currency": agreement.currency,
                        "city": shop.city,
                        "district": shop.district,
                        "delivery_pickup": True,
                    },
                    attributes=dict(line.attributes),
                    seller_organisation=shop,
                    consignor=agreement.consignor,
                )
        except ValidationFailed as exc:
            for name, messages in exc.details.get("fields", {}).items():
                errors[f"items.{index}.{name}"] = messages
            continue
        items.append(
            ConsignmentItem(
                listing=listing,
                agreement=agreement,
                batch=batch,
                item_code=f"XH{shop.pk}-{batch.pk:04d}-{index:02d}",
                original_price=listing.price,
                condition_notes=line.condition_notes[:2000],
                intake_at=now,
                expiry_action=agreement.expiry_action,
            )
        )
    if errors:
        raise ValidationFailed(_("Some items need your attention."), details={"fields": errors})
    ConsignmentItem.objects.bulk_create(items)
    return batch


def batch_publish(*, actor: User, batch_id: int) -> tuple[list[int], dict[int, PublicationBlocked]]:
    """Try to publish every draft of a batch through the usual gates. Returns the listing
    ids published and, per listing id, why the others wait."""
    batch = IntakeBatch.objects.select_related("agreement").filter(pk=batch_id).first()
    if batch is None or not user_manages_shop(user=actor, shop_id=batch.agreement.shop_id):
        raise NotFound(_("No such intake batch."))
    published: list[int] = []
    blocked: dict[int, PublicationBlocked] = {}
    for item in batch.items.select_related("listing").filter(status=ItemStatus.ON_SALE):
        if item.listing.status not in PUBLISHABLE_FROM:
            continue
        try:
            listing_publish(actor=actor, listing_id=item.listing_id)
            published.append(item.listing_id)
        except PublicationBlocked as exc:
            blocked[item.listing_id] = exc
        except Conflict:
            continue
    return published, blocked


# --- Sales ---------------------------------------------------------------------------------------------


@transaction.atomic
def consignment_item_mark_sold(*, order_id: int) -> ConsignmentItem | None:
    """After `order_completed`: the consigned item of that order is sold."""
    order = Order.objects.filter(pk=order_id).only("listing_id", "consignor_id").first()
    if order is None or order.consignor_id is None:
        return None
    item = ConsignmentItem.objects.select_for_update().filter(listing_id=order.listing_id).first()
    if item is None or item.status != ItemStatus.ON_SALE:
        return item
    _item_transition(item=item, to_status=ItemStatus.SOLD, now=timezone.now())
    return item


# --- Markdowns and expiry (Celery beat) ------------------------------------------------------------------


@dataclass
class MarkdownReport:
    repriced: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    sold: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


# Not touched while a buyer holds them or they are gone.
UNTOUCHABLE = frozenset({ListingStatus.RESERVED, ListingStatus.SOLD})


def _reprice(item: ConsignmentItem, listing: Listing, terms: rules.Terms, days: int, report: MarkdownReport) -> None:
    discount = rules.scheduled_discount_bp(terms, days)
    if discount <= item.markdown_bp_applied:
        return
    price = rules.markdown_price(terms, item.original_price, days)
    item.markdown_bp_applied = discount
    item.save(update_fields=["markdown_bp_applied"])
    if price < listing.price:  # never raises a price the shop already cut further
        Listing.objects.filter(pk=listing.pk).update(price=price, updated_at=timezone.now())
        listing_id = listing.pk
        transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
        report.repriced.append(item.pk)


def _expire(item: ConsignmentItem, listing: Listing, now: dt.datetime, report: MarkdownReport) -> None:
    action = item.expiry_action
    if action == ExpiryAction.CONVERT:
        Listing.objects.filter(pk=listing.pk).update(consignor=None, updated_at=now)
        _item_transition(item=item, to_status=ItemStatus.CONVERTED, now=now)
        listing_id = listing.pk
        transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
    else:
        if ListingStatus.WITHDRAWN in LISTING_TRANSITIONS[listing.status]:
            listing_transition(
                listing=listing, to_status=ListingStatus.WITHDRAWN, actor=None, reason=f"consignment expired: {action}"
            )
        target = ItemStatus.RETURNED if action == ExpiryAction.RETURN else ItemStatus.DONATED
        _item_transition(item=item, to_status=target, now=now)
    texts = {
        ExpiryAction.RETURN: gettext_lazy(
            "“%(title)s” (%(code)s) did not sell within the agreed time. It is ready for you to collect at %(shop)s."
        ),
        ExpiryAction.DONATE: gettext_lazy(
            "“%(title)s” (%(code)s) did not sell within the agreed time and is donated, as agreed with %(shop)s."
        ),
        ExpiryAction.CONVERT: gettext_lazy(
            "“%(title)s” (%(code)s) did not sell within the agreed time and became stock of %(shop)s, as agreed."
        ),
    }
    notify(
        users=[item.agreement.consignor],
        kind="consignment_expired",
        subject=gettext_lazy("Consignment ended: %(title)s"),
        body=texts[ExpiryAction(action)],
        params={"title": listing.title, "code": item.item_code, "shop": item.agreement.shop.name},
        link="/consignment/mine/",
    )
    report.expired.append(item.pk)


def consignment_markdowns_run(*, now: dt.datetime | None = None) -> MarkdownReport:
    """Apply each on-sale item's scheduled markdown (once per step, never below the floor)
    and, at the end of the agreed time, its expiry action. Safe to run any number of times."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = MarkdownReport()
    candidates = list(
        ConsignmentItem.objects.filter(status=ItemStatus.ON_SALE).values_list("pk", flat=True).order_by("pk")
    )
    for item_id in candidates:
        try:
            with transaction.atomic():
                item = (
                    ConsignmentItem.objects.select_for_update(of=("self",))
                    .select_related("agreement__shop", "agreement__consignor")
                    .prefetch_related("agreement__tiers", "agreement__markdown_steps")
                    .filter(pk=item_id, status=ItemStatus.ON_SALE)
                    .first()
                )
                if item is None:
                    continue
                listing = Listing.objects.select_for_update(of=("self",)).get(pk=item.listing_id)
                if listing.status == ListingStatus.SOLD:
                    _item_transition(item=item, to_status=ItemStatus.SOLD, now=now)
                    report.sold.append(item.pk)
                    continue
                if listing.status in UNTOUCHABLE:
                    continue
                terms = item.agreement.terms()
                days = rules.days_on_sale(timezone.localdate(item.intake_at), today)
                if rules.expiry_due(terms, days):
                    _expire(item, listing, now, report)
                else:
                    _reprice(item, listing, terms, days, report)
        except Exception:
            logger.exception("consignment markdown failed for item %s", item_id)
            report.failed.append(item_id)
    return report


# --- Payouts ---------------------------------------------------------------------------------------


@transaction.atomic
def consignor_payout_record(
    *, actor: User, agreement_id: int, amount: int, method: str, reference: str = ""
) -> ConsignorPayout:
    """The shop paid the consignor: recorded with its reference and posted to the ledger
    (consignor payable debited). Refused above the balance owed or below the agreement's
    payout threshold."""
    agreement = _agreement_for_manager(actor, agreement_id, lock=True)
    reference = reference.strip()[:100]
    errors: dict[str, list[str]] = {}
    if method not in PayoutMethod.values:
        errors["method"] = [_("Choose cash or bank transfer.")]
    if method == PayoutMethod.BANK_TRANSFER and not reference:
        errors["reference"] = [_("Enter the bank transfer's reference.")]
    if amount <= 0:
        errors["amount"] = [_("The amount must be more than zero.")]
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), details={"fields": errors})
    # Payouts of one consignor at one shop are serialised by the agreement row locked above.
    balance = balance_for(shop_id=agreement.shop_id, consignor_id=agreement.consignor_id)
    if amount > balance:
        raise ValidationFailed(
            _("That is more than the %(balance)s owed to the consignor.")
            % {"balance": format_money(balance, agreement.currency)},
            code="payout_above_balance",
            details={"fields": {"amount": [_("At most %(balance)s.") % {"balance": format_money(balance)}]}},
        )
    if amount < agreement.payout_threshold:
        raise ValidationFailed(
            _("Payouts start at %(threshold)s under this agreement.")
            % {"threshold": format_money(agreement.payout_threshold, agreement.currency)},
            code="payout_below_threshold",
            details={
                "fields": {
                    "amount": [_("At least %(threshold)s.") % {"threshold": format_money(agreement.payout_threshold)}]
                }
            },
        )
    payout = ConsignorPayout.objects.create(
        agreement=agreement,
        amount=amount,
        currency=agreement.currency,
        method=method,
        reference=reference,
        recorded_by=actor,
    )
    payout.ledger_transaction = ledger_consignor_payout(
        key=f"consignor-payout:{payout.pk}",
        consignor=agreement.consignor,
        shop=agreement.shop,
        currency=agreement.currency,
        amount=amount,
        memo=f"consignor payout {payout.pk} ({method} {reference})",
    )
    payout.save(update_fields=["ledger_transaction"])
    notify(
        users=[agreement.consignor],
        kind="consignment_payout",
        subject=gettext_lazy("Payout from %(shop)s"),
        body=gettext_lazy("%(shop)s paid you %(amount)s (%(method)s %(reference)s)."),
        params={
            "shop": agreement.shop.name,
            "amount": format_money(amount, agreement.currency),
            "method": PayoutMethod(method).label,
            "reference": reference,
        },
        link="/consignment/mine/",
    )
    return payout
