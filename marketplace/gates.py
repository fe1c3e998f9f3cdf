"""Publication gates: small pluggable checks run before a listing is published.

The list lives in `settings.MARKETPLACE_PUBLICATION_GATES` as dotted paths, the way
Django lists middleware; other apps (grading, erasure certificates) append theirs.
A gate checks a batch of listings at once, so a page showing many listings runs a
fixed number of queries, and returns the blocking reasons per listing id."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Count
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from marketplace.models import Category, Listing, ListingPhoto, ProhibitedTerm, StolenGoodsReport
from marketplace.models.moderation import IdentifierKind


@dataclass(frozen=True)
class BlockingReason:
    gate: str
    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"gate": self.gate, "code": self.code, "message": self.message}


Results = dict[int, list[BlockingReason]]


class PublicationGate:
    """Base class. `stage` names the listing status that means "waiting for this gate"
    (e.g. pending_appraisal); gates without one leave the status alone when they block."""

    name: ClassVar[str]
    stage: ClassVar[str | None] = None

    def check(self, listings: Sequence[Listing]) -> Results:
        raise NotImplementedError

    def waiting_stage(self, listing: Listing, reasons: list[BlockingReason]) -> str | None:
        """The status in which `listing` waits while this gate blocks it: `stage`, unless
        the gate knows that nobody else has to act (e.g. a seller's own self-assessment)."""
        return self.stage

    def on_blocked(self, listing: Listing, reasons: list[BlockingReason]) -> None:
        """Side effects when a publication attempt is blocked by this gate (runs in the
        publishing transaction)."""

    def reason(self, code: str, message: str, **data: Any) -> BlockingReason:
        return BlockingReason(gate=self.name, code=code, message=message, data=data)


class PhotosPresentGate(PublicationGate):
    name = "photos_present"
    MINIMUM: ClassVar[dict[str, int]] = {Category.VEHICLES: 3}

    def check(self, listings: Sequence[Listing]) -> Results:
        counts = dict(
            ListingPhoto.objects.filter(listing__in=[listing.pk for listing in listings])
            .values_list("listing")
            .annotate(n=Count("pk"))
            .values_list("listing", "n")
        )
        results: Results = {}
        for listing in listings:
            needed = self.MINIMUM.get(listing.category, 1)
            have = counts.get(listing.pk, 0)
            if have < needed:
                message = (
                    _("Add at least one photo.")
                    if needed == 1
                    else _("Add at least %(needed)d photos (you have %(have)d).") % {"needed": needed, "have": have}
                )
                results[listing.pk] = [self.reason("photos_missing", message, needed=needed, have=have)]
        return results


class SellerEmailVerifiedGate(PublicationGate):
    name = "seller_verified"

    def check(self, listings: Sequence[Listing]) -> Results:
        user_ids = {listing.seller_user_id for listing in listings if listing.seller_user_id}
        verified = set(
            EmailAddress.objects.filter(user_id__in=user_ids, verified=True).values_list("user_id", flat=True)
        )
        results: Results = {}
        for listing in listings:
            if listing.seller_user_id and listing.seller_user_id not in verified:
                results[listing.pk] = [
                    self.reason("email_unverified", _("Verify your e-mail address: open the link we sent you."))
                ]
            elif listing.seller_organisation_id and listing.seller_organisation.verified_at is None:  # type: ignore[union-attr]
                results[listing.pk] = [
                    self.reason(
                        "organisation_unverified", _("The shop has not been verified by staff yet; try again later.")
                    )
                ]
        return results


def listing_text(listing: Listing) -> str:
    """Everything a seller typed that the prohibited-item screen reads."""
    parts = [listing.title, listing.description]
    attributes = listing.attributes
    for attr in ("brand", "model_name", "make", "book_title", "material"):
        value = getattr(attributes, attr, "") if attributes is not None else ""
        if value:
            parts.append(str(value))
    return "\n".join(parts).casefold()


class ProhibitedItemGate(PublicationGate):
    name = "prohibited_item"

    def check(self, listings: Sequence[Listing]) -> Results:
        terms = list(ProhibitedTerm.objects.filter(active=True).only("term", "category"))
        results: Results = {}
        for listing in listings:
            text = listing_text(listing)
            hits = [term for term in terms if term.term.casefold() in text]
            if hits:
                results[listing.pk] = [
                    self.reason(
                        f"prohibited_{term.category}",
                        _("“%(term)s” points to a prohibited item (%(category)s); such items cannot be sold here.")
                        % {"term": term.term, "category": term.get_category_display()},
                        term_id=term.pk,
                    )
                    for term in hits
                ]
        return results


# Which listing identifiers are compared with which register entries.
IDENTIFIER_KIND_OF = {
    "imei": IdentifierKind.IMEI,
    "imei2": IdentifierKind.IMEI,
    "meid": IdentifierKind.IMEI,
    "vin": IdentifierKind.VIN,
    "serial": IdentifierKind.SERIAL,
}


class StolenGoodsGate(PublicationGate):
    name = "stolen_goods"

    def check(self, listings: Sequence[Listing]) -> Results:
        wanted: dict[tuple[str, str], list[Listing]] = defaultdict(list)
        for listing in listings:
            for kind, value in listing.identifiers().items():
                wanted[(IDENTIFIER_KIND_OF[kind], value)].append(listing)
        if not wanted:
            return {}
        reports = StolenGoodsReport.objects.filter(active=True, identifier__in={value for _, value in wanted})
        results: Results = defaultdict(list)
        for report in reports:
            for listing in wanted.get((report.identifier_kind, report.identifier), []):
                results[listing.pk].append(
                    self.reason(
                        "reported_stolen",
                        _(
                            "This %(kind)s is in the stolen-goods register. Moderators have been told; "
                            "if you believe this is a mistake, contact them with proof of ownership."
                        )
                        % {"kind": report.get_identifier_kind_display()},
                        report_id=report.pk,
                    )
                )
        return dict(results)

    def on_blocked(self, listing: Listing, reasons: list[BlockingReason]) -> None:
        from marketplace.services.moderation import stolen_match_alert

        for reason in reasons:
            stolen_match_alert(listing=listing, report_id=reason.data["report_id"])


@functools.cache
def get_publication_gates() -> tuple[PublicationGate, ...]:
    return tuple(import_string(path)() for path in settings.MARKETPLACE_PUBLICATION_GATES)


def _reset_gates(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_PUBLICATION_GATES":
        get_publication_gates.cache_clear()


setting_changed.connect(_reset_gates)


def evaluate_gates(listings: Sequence[Listing]) -> Results:
    """Every blocking reason of every gate, per listing id (empty list: publishable)."""
    results: Results = {listing.pk: [] for listing in listings}
    for gate in get_publication_gates():
        for listing_id, reasons in gate.check(listings).items():
            results[listing_id].extend(reasons)
    return results


def gates_by_name() -> dict[str, PublicationGate]:
    return {gate.name: gate for gate in get_publication_gates()}
