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
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.consignment import rules
from marketplace.consignment.models import (
    AGREEMENT_TRANSITIONS,
    ALLOWED_TRANSITIONS,
    AgreementStatus,
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
from marketplace.consignment.selectors import CONSIGNMENT_OPEN_STATUSES, balance_for, user_manages_shop
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Order, Organisation, OrganisationKind, User
from marketplace.models.listings import ALLOWED_TRANSITIONS as LISTING_TRANSITIONS
from marketplace.services.ledger import ledger_consignor_payout
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import (
    PUBLISHABLE_FROM,
    SHOP_MANAGER_ROLES,
    PublicationBlocked,
    listing_create,
    listing_publish,
)
from marketplace.services.notifications import notify, notify_address
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


def _shop_managers(shop: Organisation) -> list[User]:
    return list(
        User.objects.filter(
            memberships__organisation=shop, memberships__role__in=SHOP_MANAGER_ROLES, is_active=True
        ).distinct()
    )


def _agreement_transition(
    *, agreement: ConsignmentAgreement, to_status: str, actor: User | None = None, reason: str = ""
) -> None:
    """The only place that changes an agreement's status, following AGREEMENT_TRANSITIONS."""
    if to_status not in AGREEMENT_TRANSITIONS[agreement.status]:
        raise Conflict(
            _("An agreement that is %(status)s cannot become %(to)s.")
            % {
                "status": AgreementStatus(agreement.status).label.lower(),
                "to": AgreementStatus(to_status).label.lower(),
            },
            code="agreement_status",
        )
    agreement.status = to_status
    agreement.status_changed_at = timezone.now()
    fields = ["status", "status_changed_at", "consignor"]
    if to_status == AgreementStatus.ENDED:
        agreement.ended_by = actor
        agreement.end_reason = reason[:500]
        fields += ["ended_by", "end_reason"]
    try:
        with transaction.atomic():
            agreement.save(update_fields=fields)
    except IntegrityError as exc:
        raise Conflict(
            _("You already have an active agreement with %(shop)s; end it first.") % {"shop": agreement.shop.name},
            code="consignment_agreement_exists",
        ) from exc


def _normalised_email(email: str) -> str:
    return email.strip()


@transaction.atomic
def agreement_invite(
    *,
    actor: User,
    shop: Organisation,
    email: str,
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
    """A shop's terms, sent to an e-mail address for the consignor to accept. Raises
    ValidationFailed with field errors. Whether the address has an account changes only
    the e-mail's wording, never what the shop is told."""
    _require_manager(actor, shop.pk)
    if shop.kind != OrganisationKind.CONSIGNMENT_SHOP:
        raise ValidationFailed(_("Only a consignment shop makes consignment agreements."))
    email = _normalised_email(email)
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
    if not email:
        errors.setdefault("consignor", []).append(_("Enter the consignor's e-mail address."))
    elif email.lower() == actor.email.lower():
        errors.setdefault("consignor", []).append(_("You cannot consign items to your own shop."))
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), details={"fields": errors})
    # Only the shop's own invitations are consulted: nothing here depends on accounts.
    if ConsignmentAgreement.objects.filter(
        shop=shop,
        invited_email__iexact=email,
        status__in=[AgreementStatus.INVITED, AgreementStatus.ACCEPTED],
    ).exists():
        raise Conflict(
            _("This shop already invited %(email)s or has an active agreement with that address; end it first.")
            % {"email": email},
            code="consignment_agreement_exists",
        )
    try:
        with transaction.atomic():
            agreement = ConsignmentAgreement.objects.create(
                shop=shop,
                invited_email=email,
                status=AgreementStatus.INVITED,
                status_changed_at=timezone.now(),
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
    _send_invitation(agreement)
    return agreement


def _send_invitation(agreement: ConsignmentAgreement) -> None:
    """Someone with an account reads it in the site too; an address without one is asked
    to sign up with it first. Both are sent after commit, so the shop's page is the same."""
    params = {"shop": agreement.shop.name}
    subject = gettext_lazy("%(shop)s invites you to consign items")
    invitee = User.objects.filter(email__iexact=agreement.invited_email, is_active=True).first()
    if invitee is not None:
        notify(
            users=[invitee],
            kind="consignment_invitation",
            subject=subject,
            body=gettext_lazy(
                "%(shop)s invites you to a consignment agreement: they would sell items you bring them and pay "
                "you your share. Read the terms, then accept or decline on your consignment page. Until you "
                "accept, the shop cannot list anything in your name."
            ),
            params=params,
            link=reverse("consignment_portal"),
        )
        return
    notify_address(
        email=agreement.invited_email,
        subject=subject,
        body=gettext_lazy(
            "%(shop)s invites you to a consignment agreement on Xunhuan: they would sell items you bring them and "
            "pay you your share. To read the terms and accept or decline, sign up with this e-mail address, then "
            "open your consignment page. If you do not want this, ignore this e-mail: nothing is listed in your "
            "name unless you accept."
        ),
        params=params,
        link=reverse("account_signup"),
    )


def _invitation_for(consignor: User, agreement_id: int) -> ConsignmentAgreement:
    """An open invitation addressed to the user's (verified) e-mail address; any other
    looks as if it did not exist."""
    agreement = (
        ConsignmentAgreement.objects.select_for_update(of=("self",))
        .select_related("shop")
        .filter(pk=agreement_id, status=AgreementStatus.INVITED, invited_email__iexact=consignor.email)
        .first()
    )
    if agreement is None or not consignor.is_active:
        raise NotFound(_("No such invitation."))
    return agreement


@transaction.atomic
def agreement_accept(*, consignor: User, agreement_id: int) -> ConsignmentAgreement:
    """The invited person agrees: from now on the shop may take items in and list them
    in their name."""
    agreement = _invitation_for(consignor, agreement_id)
    if user_manages_shop(user=consignor, shop_id=agreement.shop_id):
        raise ValidationFailed(_("You cannot consign items to a shop you run."), code="own_shop")
    agreement.consignor = consignor
    _agreement_transition(agreement=agreement, to_status=AgreementStatus.ACCEPTED, actor=consignor)
    notify(
        users=_shop_managers(agreement.shop),
        kind="consignment_agreement",
        subject=gettext_lazy("%(consignor)s accepted your consignment agreement"),
        body=gettext_lazy("%(consignor)s accepted the agreement with %(shop)s. You can now take their items in."),
        params={"consignor": consignor.public_name, "shop": agreement.shop.name},
        link=reverse("consignment_agreement", args=(agreement.pk,)),
    )
    return agreement


@transaction.atomic
def agreement_decline(*, consignor: User, agreement_id: int) -> ConsignmentAgreement:
    agreement = _invitation_for(consignor, agreement_id)
    _agreement_transition(agreement=agreement, to_status=AgreementStatus.DECLINED, actor=consignor)
    notify(
        users=_shop_managers(agreement.shop),
        kind="consignment_agreement",
        subject=gettext_lazy("Consignment invitation declined"),
        body=gettext_lazy("The invitation to %(email)s was declined. Nothing can be listed in their name."),
        params={"email": agreement.invited_email},
        link=reverse("consignment_agreement", args=(agreement.pk,)),
    )
    return agreement


@transaction.atomic
def agreement_end(*, actor: User, agreement_id: int) -> ConsignmentAgreement:
    """The shop ends an agreement (no more intake under these terms; items already taken
    in keep them) or withdraws an invitation not yet answered."""
    agreement = _agreement_for_manager(actor, agreement_id, lock=True)
    if agreement.status in (AgreementStatus.INVITED, AgreementStatus.ACCEPTED):
        _agreement_transition(agreement=agreement, to_status=AgreementStatus.ENDED, actor=actor)
    return agreement


def items_still_consigned(*, shop_id: int, consignor_id: int) -> list[Listing]:
    """Listings the shop still offers or holds for a buyer in the consignor's name."""
    return list(
        Listing.objects.filter(
            seller_organisation_id=shop_id, consignor_id=consignor_id, status__in=CONSIGNMENT_OPEN_STATUSES
        ).order_by("pk")
    )


def _titles(listings: Sequence[Listing]) -> str:
    shown = "、".join(f"“{listing.title}”" for listing in listings[:10])
    return shown if len(listings) <= 10 else f"{shown} …"


@transaction.atomic
def agreement_end_by_consignor(*, consignor: User, agreement_id: int) -> ConsignmentAgreement:
    """The consignor ends their agreement, once no item of theirs is on sale or reserved
    at the shop. Otherwise ItemsStillConsigned says which."""
    agreement = (
        ConsignmentAgreement.objects.select_for_update(of=("self",))
        .select_related("shop")
        .filter(pk=agreement_id, consignor=consignor)
        .first()
    )
    if agreement is None:
        raise NotFound(_("No such consignment agreement."))
    if agreement.status != AgreementStatus.ACCEPTED:
        return agreement
    listings = items_still_consigned(shop_id=agreement.shop_id, consignor_id=consignor.pk)
    if listings:
        raise Conflict(
            _(
                "%(shop)s still has these items of yours on sale or reserved: %(items)s. Ask the shop to return them "
                "to you or withdraw them, then end the agreement."
            )
            % {"shop": agreement.shop.name, "items": _titles(listings)},
            code="items_still_consigned",
            details={"listings": [listing.pk for listing in listings]},
        )
    _agreement_transition(agreement=agreement, to_status=AgreementStatus.ENDED, actor=consignor)
    notify(
        users=_shop_managers(agreement.shop),
        kind="consignment_agreement",
        subject=gettext_lazy("%(consignor)s ended their consignment agreement"),
        body=gettext_lazy(
            "%(consignor)s ended the agreement with %(shop)s. You can no longer take items in or list them "
            "in their name."
        ),
        params={"consignor": consignor.public_name, "shop": agreement.shop.name},
        link=reverse("consignment_agreement", args=(agreement.pk,)),
    )
    return agreement


@dataclass
class ReleaseReport:
    agreement: ConsignmentAgreement
    withdrawn: list[Listing] = field(default_factory=list)
    reserved: list[Listing] = field(default_factory=list)


@transaction.atomic
def agreement_release(*, staff: User, agreement_id: int, reason: str) -> ReleaseReport:
    """Staff free a consignor from a shop: the agreement ends, the listings in their name
    that are not reserved are withdrawn (their items are to be returned) and the shop is
    told. A reserved listing stays with its buyer's order, which must finish first."""
    if not (staff.is_active and staff.is_staff):
        raise PermissionDenied(_("Only staff can release a consignor."))
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            _("Give a reason; the shop and the consignor see it."), details={"fields": {"reason": [_("Required.")]}}
        )
    agreement = (
        ConsignmentAgreement.objects.select_for_update(of=("self",))
        .select_related("shop", "consignor")
        .filter(pk=agreement_id)
        .first()
    )
    if agreement is None:
        raise NotFound(_("No such consignment agreement."))
    report = ReleaseReport(agreement=agreement)
    now = timezone.now()
    if agreement.consignor_id is not None:
        listings = (
            Listing.objects.select_for_update(of=("self",))
            .filter(
                seller_organisation_id=agreement.shop_id,
                consignor_id=agreement.consignor_id,
                status__in=CONSIGNMENT_OPEN_STATUSES,
            )
            .order_by("pk")
        )
        for listing in listings:
            if listing.status == ListingStatus.RESERVED:
                report.reserved.append(listing)
                continue
            listing_transition(
                listing=listing, to_status=ListingStatus.WITHDRAWN, actor=staff, reason="consignor released by staff"
            )
            report.withdrawn.append(listing)
        items = ConsignmentItem.objects.select_for_update().filter(
            listing__in=[listing.pk for listing in report.withdrawn], status=ItemStatus.ON_SALE
        )
        for item in items.order_by("pk"):
            _item_transition(item=item, to_status=ItemStatus.RETURNED, now=now)
    if agreement.status in (AgreementStatus.INVITED, AgreementStatus.ACCEPTED):
        _agreement_transition(agreement=agreement, to_status=AgreementStatus.ENDED, actor=staff, reason=reason)
    params = {
        "shop": agreement.shop.name,
        "consignor": agreement.consignor.public_name if agreement.consignor else agreement.invited_email,
        "items": _titles(report.withdrawn) if report.withdrawn else "—",
        "reason": reason,
    }
    notify(
        users=_shop_managers(agreement.shop),
        kind="consignment_released",
        subject=gettext_lazy("Staff released %(consignor)s from your consignment agreement"),
        body=gettext_lazy(
            "Our staff ended the consignment agreement between %(shop)s and %(consignor)s: %(reason)s "
            "These listings were withdrawn: %(items)s. Return the items to the consignor and settle what you owe them."
        ),
        params=params,
        link=reverse("consignment_agreement", args=(agreement.pk,)),
    )
    if agreement.consignor is not None:
        notify(
            users=[agreement.consignor],
            kind="consignment_released",
            subject=gettext_lazy("You were released from your agreement with %(shop)s"),
            body=gettext_lazy(
                "Our staff ended your consignment agreement with %(shop)s: %(reason)s These listings were withdrawn: "
                "%(items)s. The shop was asked to return the items to you and to pay what it owes you."
            ),
            params=params,
            link=reverse("consignment_portal"),
        )
    return report


def consignment_close_for_deleted_user(user: User) -> None:
    """MARKETPLACE_ACCOUNT_ERASERS: a deleted account's agreements end and the
    invitations to its address lapse (the deletion checks made sure nothing is on sale)."""
    now = timezone.now()
    ConsignmentAgreement.objects.filter(consignor=user, status=AgreementStatus.ACCEPTED).update(
        status=AgreementStatus.ENDED, status_changed_at=now, end_reason="account deleted"
    )
    ConsignmentAgreement.objects.filter(invited_email__iexact=user.email, status=AgreementStatus.INVITED).update(
        status=AgreementStatus.DECLINED, status_changed_at=now
    )


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
        raise Conflict(
            _("Items are taken in only under an agreement the consignor accepted and that has not ended."),
            code="agreement_not_active",
        )
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
    if agreement.consignor is None:
        raise Conflict(_("The consignor has not accepted this agreement."), code="agreement_not_accepted")
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
    balance = balance_for(shop_id=agreement.shop_id, consignor_id=agreement.consignor.pk)
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
