"""Reports from users, take-downs, and the stolen-goods register."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    IdentifierKind,
    Listing,
    ListingReport,
    ListingStatus,
    Membership,
    Order,
    Party,
    ReportReason,
    ReportStatus,
    Role,
    StolenGoodsReport,
    StolenMatchAlert,
    User,
)
from marketplace.models.orders import BEFORE_HANDOVER, ENDED_STATUSES
from marketplace.services.lifecycle import listing_transition
from marketplace.services.notifications import moderators, notify
from marketplace.services.order_state import lock_order
from marketplace.validators import normalise_imei, normalise_meid, normalise_serial, normalise_vin

TAKEN_DOWN_FROM = frozenset(
    {
        ListingStatus.DRAFT,
        ListingStatus.PENDING_APPRAISAL,
        ListingStatus.PENDING_ERASURE,
        ListingStatus.READY,
        ListingStatus.PUBLISHED,
        ListingStatus.RESERVED,
    }
)


def listing_url(listing: Listing) -> str:
    return f"/listings/{listing.pk}/"


def require_moderator(user: User) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied(_("Only moderators can do this."))


@transaction.atomic
def listing_report_create(*, reporter: User, listing_id: int, reason: str, details: str = "") -> ListingReport:
    listing = Listing.objects.filter(
        pk=listing_id, status__in=[ListingStatus.PUBLISHED, ListingStatus.RESERVED]
    ).first()
    if listing is None:
        raise NotFound(_("No such listing."))
    if reason not in ReportReason.values:
        raise ValidationFailed(
            _("Choose a reason for the report."), details={"fields": {"reason": [_("Unknown reason.")]}}
        )
    if listing.seller_user_id == reporter.pk:
        raise PermissionDenied(_("You cannot report your own listing."))
    try:
        with transaction.atomic():
            report = ListingReport.objects.create(
                listing=listing, reporter=reporter, reason=reason, details=details.strip()[:2000]
            )
    except IntegrityError as exc:
        raise Conflict(
            _("You already reported this listing; moderators are looking at it."), code="already_reported"
        ) from exc
    notify(
        users=moderators(),
        kind="listing_reported",
        subject=gettext_lazy("Listing reported: %(title)s"),
        body=gettext_lazy("A user reported “%(title)s” (%(reason)s). It is waiting in the moderation queue."),
        params={"title": listing.title, "reason": report.get_reason_display()},
        link="/cms-admin/",
    )
    return report


def _lock_open_order(listing_id: int) -> Order | None:
    order_id = (
        Order.objects.filter(listing_id=listing_id)
        .exclude(status__in=ENDED_STATUSES)
        .values_list("pk", flat=True)
        .first()
    )
    return None if order_id is None else lock_order(order_id)


def _listing_sellers(listing: Listing) -> list[User]:
    if listing.seller_user is not None:
        return [listing.seller_user]
    return [
        m.user
        for m in Membership.objects.filter(
            organisation=listing.seller_organisation, role__in=[Role.OWNER, Role.STAFF]
        ).select_related("user")
    ]


@transaction.atomic
def listing_take_down(*, moderator: User, listing_id: int, reason: str) -> Listing:
    """A moderator removes a listing (status `rejected`) with a reason; open reports on it
    are upheld, and the seller and the reporters are told."""
    require_moderator(moderator)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for taking the listing down; the seller will read it."))
    # Orders lock before their listing everywhere, so lock the listing's open order first.
    open_order = _lock_open_order(listing_id)
    listing = (
        Listing.objects.select_for_update(of=("self",)).select_related("seller_user").filter(pk=listing_id).first()
    )
    if listing is None:
        raise NotFound(_("No such listing."))
    if listing.status not in TAKEN_DOWN_FROM:
        raise Conflict(_("This listing cannot be taken down in its current state."), code="listing_not_live")
    if open_order is not None and open_order.status not in BEFORE_HANDOVER:
        raise Conflict(
            _(
                "Order #%(number)s for this listing is already with the buyer. Resolve it first (a dispute or a "
                "return); the listing can be taken down afterwards."
            )
            % {"number": open_order.pk},
            code="listing_order_in_progress",
        )
    listing_transition(listing=listing, to_status=ListingStatus.REJECTED, actor=moderator, reason=reason)
    if open_order is not None:
        # The buyer must not pay for, or wait for, an item that may not be sold.
        from marketplace.services.orders import order_cancel_locked

        order_cancel_locked(
            order=open_order,
            actor=moderator,
            by=Party.MODERATOR,
            at_fault=Party.SELLER,
            reason=str(_("the listing was taken down by a moderator")),
        )
    open_reports = list(
        ListingReport.objects.filter(listing=listing, status=ReportStatus.OPEN).select_related("reporter")
    )
    now = timezone.now()
    for report in open_reports:
        report.status = ReportStatus.UPHELD
        report.handled_by = moderator
        report.handled_at = now
        report.resolution_note = reason
    ListingReport.objects.bulk_update(open_reports, ["status", "handled_by", "handled_at", "resolution_note"])
    notify(
        users=_listing_sellers(listing),
        kind="listing_taken_down",
        subject=gettext_lazy("Your listing “%(title)s” was taken down"),
        body=gettext_lazy("A moderator took down “%(title)s”. Reason: %(reason)s"),
        params={"title": listing.title, "reason": reason},
        link=f"/my/listings/{listing.pk}/",
    )
    notify(
        users=[report.reporter for report in open_reports],
        kind="report_upheld",
        subject=gettext_lazy("Thank you: the listing you reported was taken down"),
        body=gettext_lazy("Moderators reviewed your report on “%(title)s” and took the listing down."),
        params={"title": listing.title},
    )
    return listing


@transaction.atomic
def listing_report_dismiss(*, moderator: User, report_id: int, note: str = "") -> ListingReport:
    require_moderator(moderator)
    report = (
        ListingReport.objects.select_for_update(of=("self",))
        .select_related("listing", "reporter")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise NotFound(_("No such report."))
    if report.status != ReportStatus.OPEN:
        raise Conflict(_("This report was already handled."), code="report_closed")
    report.status = ReportStatus.DISMISSED
    report.handled_by = moderator
    report.handled_at = timezone.now()
    report.resolution_note = note.strip()
    report.save(update_fields=["status", "handled_by", "handled_at", "resolution_note"])
    body = (
        gettext_lazy("Moderators reviewed your report on “%(title)s” and left the listing up. %(note)s")
        if report.listing.status in (ListingStatus.PUBLISHED, ListingStatus.RESERVED)
        else gettext_lazy("Moderators reviewed your report on “%(title)s”; the listing is no longer on sale. %(note)s")
    )
    notify(
        users=[report.reporter],
        kind="report_dismissed",
        subject=gettext_lazy("Your report was reviewed"),
        body=body,
        params={"title": report.listing.title, "note": report.resolution_note},
    )
    return report


def normalise_identifier(kind: str, value: str) -> str:
    if kind == IdentifierKind.VIN:
        return normalise_vin(value)
    if kind == IdentifierKind.IMEI:
        compact = normalise_serial(value)
        return normalise_imei(compact) if compact.isdigit() else normalise_meid(compact)
    return normalise_serial(value)


def listings_matching(kind: str, identifier: str) -> list[Listing]:
    if kind == IdentifierKind.VIN:
        matches = Q(vehicle__vin=identifier)
    elif kind == IdentifierKind.IMEI:
        matches = Q(electronics__imei=identifier) | Q(electronics__imei2=identifier) | Q(electronics__meid=identifier)
    else:
        matches = Q(electronics__serial_number=identifier)
    return list(Listing.objects.filter(matches).select_related("seller_user").order_by("pk"))


@transaction.atomic
def stolen_report_add(
    *, staff: User, kind: str, identifier: str, source: str, reference: str = "", description: str = ""
) -> StolenGoodsReport:
    """Enter an owner's or police report into the register. Live listings with that
    identifier are taken down at once and moderators are alerted."""
    require_moderator(staff)
    try:
        normalised = normalise_identifier(kind, identifier)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={"fields": {"identifier": exc.messages}}) from exc
    report = StolenGoodsReport.objects.create(
        identifier_kind=kind,
        identifier=normalised,
        source=source,
        reference=reference,
        description=description,
        entered_by=staff,
    )
    for listing in listings_matching(kind, normalised):
        stolen_match_alert(listing=listing, report_id=report.pk)
        if listing.status in TAKEN_DOWN_FROM:
            listing_transition(
                listing=listing,
                to_status=ListingStatus.REJECTED,
                actor=staff,
                reason=f"stolen-goods register entry #{report.pk}",
            )
            notify(
                users=_listing_sellers(listing),
                kind="listing_blocked_stolen",
                subject=gettext_lazy("Your listing “%(title)s” was blocked"),
                body=gettext_lazy(
                    "Its identifier matches a report in the stolen-goods register. If you are the rightful owner, "
                    "contact the moderators with proof of purchase."
                ),
                params={"title": listing.title},
                link=f"/my/listings/{listing.pk}/",
            )
    return report


@transaction.atomic
def stolen_match_alert(*, listing: Listing, report_id: int) -> bool:
    """Alert moderators that `listing` matches a stolen-goods report, once per pair."""
    try:
        with transaction.atomic():
            StolenMatchAlert.objects.create(listing=listing, report_id=report_id)
    except IntegrityError:
        return False
    notify(
        users=moderators(),
        kind="stolen_match",
        subject=gettext_lazy("Possible stolen item: %(title)s"),
        body=gettext_lazy("Listing #%(id)s “%(title)s” matches stolen-goods report #%(report)s."),
        params={"id": listing.pk, "title": listing.title, "report": report_id},
        link=listing_url(listing),
    )
    return True


@transaction.atomic
def stolen_report_resolve(*, staff: User, report_id: int) -> StolenGoodsReport:
    """Deactivate a register entry (the item was recovered or the report withdrawn). Entries
    are never deleted; listings it took down stay down until a moderator reinstates them."""
    require_moderator(staff)
    report = StolenGoodsReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("No such stolen-goods report."))
    if not report.active:
        raise Conflict(_("This stolen-goods report was already resolved."), code="stolen_report_resolved")
    report.active = False
    report.resolved_at = timezone.now()
    report.save(update_fields=["active", "resolved_at"])
    return report
