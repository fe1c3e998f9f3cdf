"""The one place where a listing's status changes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict
from marketplace.models import ALLOWED_TRANSITIONS, Listing, ListingStatus, ListingStatusChange, User
from marketplace.signals import listing_changed

# Reasons the system records in the history, stored as these stable keys and shown to
# people in their language.
SYSTEM_REASONS = {
    "publication attempt": gettext_lazy("Publication attempted: waiting for the next check"),
    "all gates passed": gettext_lazy("All publication checks passed"),
    "nothing to wait for": gettext_lazy("Back to draft: what still blocks publication is up to the seller"),
    "reopened": gettext_lazy("Reopened as a draft"),
    "withdrawn by seller": gettext_lazy("Withdrawn by the seller"),
    "order resumed": gettext_lazy("A moderator resumed the held order"),
}


def reason_label(reason: str) -> str:
    """The history reason in the reader's language (moderators' own words stay as written)."""
    return str(SYSTEM_REASONS.get(reason, reason))


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


@transaction.atomic
def listing_transition(*, listing: Listing, to_status: str, actor: User | None, reason: str = "") -> Listing:
    """Move `listing` to `to_status` if the table allows it, and record who, when and why."""
    from_status = listing.status
    if not transition_allowed(from_status, to_status):
        raise Conflict(
            _("A listing cannot go from “%(from)s” to “%(to)s”.")
            % {"from": ListingStatus(from_status).label, "to": ListingStatus(to_status).label},
            code="transition_not_allowed",
            details={"from": from_status, "to": to_status},
        )
    now = timezone.now()
    listing.status = to_status
    listing.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if to_status == ListingStatus.PUBLISHED and listing.published_at is None:
        listing.published_at = now
        fields.append("published_at")
    listing.save(update_fields=fields)
    ListingStatusChange.objects.create(
        listing=listing, actor=actor, from_status=from_status, to_status=to_status, reason=reason
    )
    listing_id = listing.pk
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
    return listing
