"""Creating, editing, publishing and withdrawing listings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.forms.listings import ATTRIBUTE_FORMS, COMMON_FIELDS, ListingForm
from marketplace.gates import BlockingReason, evaluate_gates, gates_by_name
from marketplace.models import (
    BookAttributes,
    BookRecordSource,
    Category,
    Listing,
    ListingStatus,
    Membership,
    Organisation,
    Role,
    User,
)
from marketplace.models.listings import EDITABLE_STATUSES, PUBLIC_STATUSES
from marketplace.selectors import ATTRIBUTE_RELATIONS
from marketplace.services.books import book_details_filled, book_record_learn
from marketplace.services.lifecycle import listing_transition
from marketplace.signals import listing_changed

SHOP_MANAGER_ROLES = (Role.OWNER, Role.STAFF)
TITLE_MAX_LENGTH = Listing._meta.get_field("title").max_length or 120
# The order in which waiting stages come: the first stage still blocking is where the listing waits.
STAGE_ORDER = (ListingStatus.PENDING_APPRAISAL, ListingStatus.PENDING_ERASURE)
PUBLISHABLE_FROM = frozenset(
    {
        ListingStatus.DRAFT,
        ListingStatus.PENDING_APPRAISAL,
        ListingStatus.PENDING_ERASURE,
        ListingStatus.READY,
        ListingStatus.EXPIRED,
    }
)


class PublicationBlocked(DomainError):
    code = "publication_blocked"
    http_status = 409

    def __init__(self, reasons: list[BlockingReason]):
        super().__init__(
            _("This listing cannot be published yet."),
            details={"blocking": [reason.as_dict() for reason in reasons]},
        )
        self.reasons = reasons


def user_manages_organisation(*, user: User, organisation_id: int) -> bool:
    return Membership.objects.filter(user=user, organisation_id=organisation_id, role__in=SHOP_MANAGER_ROLES).exists()


# Whom a shop may name as a listing's consignor: settings.MARKETPLACE_CONSIGNOR_LOOKUP, a
# dotted path to a callable (*, shop_id, email=None, consignor_id=None) -> User | None (the
# consignment app answers: someone who accepted an agreement with the shop). Without one,
# nobody may be named.
ConsignorLookup = Callable[..., User | None]

# One message for every refusal, so a shop cannot tell an address without an account
# from one that has not accepted its agreement.
CONSIGNOR_NOT_AGREED = gettext_lazy(
    "This shop has no accepted consignment agreement with that e-mail address. Invite the consignor from the "
    "consignment desk; once they accept, you can name them here."
)


@functools.cache
def consignor_lookup() -> ConsignorLookup | None:
    path = getattr(settings, "MARKETPLACE_CONSIGNOR_LOOKUP", "")
    return import_string(path) if path else None


def _reset_lookup(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_CONSIGNOR_LOOKUP":
        consignor_lookup.cache_clear()


setting_changed.connect(_reset_lookup)


def consignor_for_shop(*, shop: Organisation, email: str) -> User | None:
    """The consignor with this e-mail address the shop may name, or None (see
    CONSIGNOR_NOT_AGREED)."""
    lookup = consignor_lookup()
    return lookup(shop_id=shop.pk, email=email) if lookup is not None and email.strip() else None


def _consignor_agreed(shop: Organisation, consignor: User) -> bool:
    lookup = consignor_lookup()
    return lookup is not None and lookup(shop_id=shop.pk, consignor_id=consignor.pk) is not None


def listing_can_manage(*, user: User, listing: Listing) -> bool:
    """The seller, or the owner/staff of the selling shop."""
    if not user.is_authenticated:
        return False
    if listing.seller_user_id is not None:
        return bool(listing.seller_user_id == user.pk)
    return user_manages_organisation(user=user, organisation_id=listing.seller_organisation_id)  # type: ignore[arg-type]


def listing_can_view(*, user: User, listing: Listing) -> bool:
    return (
        listing.status in PUBLIC_STATUSES
        or bool(user.is_authenticated and user.is_staff)
        or listing_can_manage(user=user, listing=listing)
    )


def _form_errors(form: forms.BaseForm, prefix: str = "") -> dict[str, list[str]]:
    return {f"{prefix}{name}": [str(message) for message in errors] for name, errors in form.errors.items()}


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _book_title_as_listing_title(data: Mapping[str, Any], attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A book listing's title is the book's title: the seller types it once."""
    title = " ".join(str(attributes.get("book_title") or "").split())
    return {**data, "title": Truncator(title).chars(TITLE_MAX_LENGTH)}


def _validate(
    *,
    category: str,
    data: Mapping[str, Any],
    attributes: Mapping[str, Any],
    listing: Listing | None,
    title_from_book: bool = False,
) -> tuple[ListingForm, forms.ModelForm]:
    """Validate the common fields and the category's attributes together. With
    `title_from_book` the title is the book's title, and its errors are the book title's."""
    if category == Category.BOOKS:
        attributes = book_details_filled(attributes)
        if title_from_book:
            data = _book_title_as_listing_title(data, attributes)
    common = ListingForm(data=data, category=category, instance=listing)
    attribute_instance = listing.attributes if listing is not None else None
    attribute_form = ATTRIBUTE_FORMS[category](data=attributes, instance=attribute_instance)
    common_ok = common.is_valid()
    attributes_ok = attribute_form.is_valid()
    if not (common_ok and attributes_ok):
        common_errors = _form_errors(common)
        attribute_errors = _form_errors(attribute_form, "attributes.")
        if title_from_book and "title" in common_errors:
            # Said once, next to the book title (unless it has its own complaint already).
            attribute_errors.setdefault("attributes.book_title", common_errors.pop("title"))
        raise ValidationFailed(
            _("Some fields need your attention."), details={"fields": {**common_errors, **attribute_errors}}
        )
    return common, attribute_form


def _learn_book(listing: Listing, actor: User) -> None:
    """The details typed for an ISBN the catalogue did not know are kept for the next seller."""
    book = listing.attributes
    if isinstance(book, BookAttributes):
        book_record_learn(
            isbn=book.isbn,
            title=book.book_title,
            authors=book.authors or (),
            publisher=book.publisher,
            year=book.year,
            source=BookRecordSource.LISTING,
            actor=actor,
        )


@transaction.atomic
def listing_create(
    *,
    actor: User,
    category: str,
    data: Mapping[str, Any],
    attributes: Mapping[str, Any],
    seller_organisation: Organisation | None = None,
    consignor: User | None = None,
) -> Listing:
    """Create a draft listing sold by `actor`, or by `seller_organisation` when the actor
    is its owner or staff (then a consignor who accepted the shop's agreement may be
    recorded)."""
    if category not in Category.values:
        raise ValidationFailed(
            _("Unknown category."),
            details={"fields": {"category": [_("Choose one of: %s") % ", ".join(Category.values)]}},
        )
    if seller_organisation is not None:
        if not user_manages_organisation(user=actor, organisation_id=seller_organisation.pk):
            raise PermissionDenied(_("Only the shop's owner or staff can list items for it."))
        if consignor is not None and not _consignor_agreed(seller_organisation, consignor):
            raise ValidationFailed(
                str(CONSIGNOR_NOT_AGREED), details={"fields": {"consignor_email": [str(CONSIGNOR_NOT_AGREED)]}}
            )
    elif consignor is not None:
        raise ValidationFailed(_("Only shops take items on consignment."))
    # A book listing given no title is titled by its book.
    title_from_book = category == Category.BOOKS and _blank(str(data.get("title") or "").strip())
    common, attribute_form = _validate(
        category=category, data=data, attributes=attributes, listing=None, title_from_book=title_from_book
    )
    listing: Listing = common.save(commit=False)
    listing.category = category
    listing.created_by = actor
    listing.intake_at = timezone.now()
    if seller_organisation is not None:
        listing.seller_organisation = seller_organisation
        listing.consignor = consignor
    else:
        listing.seller_user = actor
    listing.save()
    attribute_row = attribute_form.save(commit=False)
    attribute_row.listing = listing
    attribute_row.save()
    listing.__dict__.pop("attributes", None)
    _learn_book(listing, actor)
    return listing


def listing_get_for_manage(*, user: User, listing_id: int, lock: bool = False) -> Listing:
    queryset = Listing.objects.select_related("seller_user", "seller_organisation", *ATTRIBUTE_RELATIONS)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    listing = queryset.filter(pk=listing_id).first()
    if listing is None or not listing_can_view(user=user, listing=listing):
        raise NotFound(_("No such listing."))
    if not listing_can_manage(user=user, listing=listing):
        raise PermissionDenied(_("Only the seller can change this listing."))
    return listing


@transaction.atomic
def listing_update(
    *, actor: User, listing_id: int, data: Mapping[str, Any], attributes: Mapping[str, Any] | None = None
) -> Listing:
    """Change some fields (a partial update: fields not given keep their values). A book
    listing whose book title changes without a new title given takes the book's title."""
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if listing.status not in EDITABLE_STATUSES:
        raise Conflict(
            _("A %(status)s listing cannot be edited; withdraw it first.")
            % {"status": ListingStatus(listing.status).label.lower()},
            code="listing_not_editable",
        )
    merged = {**model_to_dict(listing, fields=COMMON_FIELDS), **dict(data)}
    current_attributes = model_to_dict(listing.attributes) if listing.attributes is not None else {}
    merged_attributes = {**current_attributes, **dict(attributes or {})}
    title_from_book = (
        listing.category == Category.BOOKS
        and "book_title" in (attributes or {})
        and _blank(str(data.get("title") or "").strip())
    )
    common, attribute_form = _validate(
        category=listing.category,
        data=merged,
        attributes=merged_attributes,
        listing=listing,
        title_from_book=title_from_book,
    )
    common.save()
    attribute_form.save()
    listing.__dict__.pop("attributes", None)
    _learn_book(listing, actor)
    listing_id = listing.pk
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
    return listing


@transaction.atomic
def listing_delete(*, actor: User, listing_id: int) -> None:
    """Drafts that were never published may be deleted; anything else is withdrawn instead,
    so its history stays."""
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if listing.status != ListingStatus.DRAFT or listing.published_at is not None:
        raise Conflict(
            _("Only a draft that was never published can be deleted; withdraw this listing instead."),
            code="listing_not_deletable",
        )
    listing.delete()


@transaction.atomic
def _publish_or_collect_reasons(*, actor: User, listing_id: int) -> tuple[Listing, list[BlockingReason]]:
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if listing.status == ListingStatus.PUBLISHED:
        return listing, []
    if listing.status not in PUBLISHABLE_FROM:
        raise Conflict(
            _("A %(status)s listing cannot be published.") % {"status": ListingStatus(listing.status).label.lower()},
            code="listing_not_publishable",
        )
    reasons = evaluate_gates([listing])[listing.pk]
    if reasons:
        gates = gates_by_name()
        by_gate: dict[str, list[BlockingReason]] = {}
        for reason in reasons:
            by_gate.setdefault(reason.gate, []).append(reason)
        for name, gate_reasons in by_gate.items():
            gates[name].on_blocked(listing, gate_reasons)
        stages = {gates[name].waiting_stage(listing, gate_reasons) for name, gate_reasons in by_gate.items()}
        waiting = next((stage for stage in STAGE_ORDER if stage in stages), None)
        if waiting is not None and listing.status != waiting:
            listing_transition(listing=listing, to_status=waiting, actor=actor, reason="publication attempt")
        elif waiting is None and listing.status in STAGE_ORDER:
            # Nothing that still blocks waits on anyone else (an appraiser, a technician):
            # the listing is not "waiting for appraisal" any more, whatever brought it there.
            listing_transition(
                listing=listing, to_status=ListingStatus.DRAFT, actor=actor, reason="nothing to wait for"
            )
        return listing, reasons
    if listing.status != ListingStatus.READY:
        listing_transition(listing=listing, to_status=ListingStatus.READY, actor=actor, reason="all gates passed")
    listing_transition(listing=listing, to_status=ListingStatus.PUBLISHED, actor=actor)
    return listing, []


def listing_publish(*, actor: User, listing_id: int) -> Listing:
    """Run every publication gate; publish, or raise PublicationBlocked carrying every
    reason. A blocked attempt still commits what it learned (the waiting stage, alerts)."""
    listing, reasons = _publish_or_collect_reasons(actor=actor, listing_id=listing_id)
    if reasons:
        raise PublicationBlocked(reasons)
    return listing


@transaction.atomic
def listing_withdraw(*, actor: User, listing_id: int, reason: str = "") -> Listing:
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if listing.status == ListingStatus.WITHDRAWN:
        return listing
    return listing_transition(
        listing=listing, to_status=ListingStatus.WITHDRAWN, actor=actor, reason=reason or "withdrawn by seller"
    )


@transaction.atomic
def listing_reopen(*, actor: User, listing_id: int) -> Listing:
    """Bring a withdrawn or expired listing back to draft so the seller can edit it."""
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if listing.status == ListingStatus.REJECTED:
        raise PermissionDenied(_("A listing taken down by a moderator can only be reinstated by a moderator."))
    return listing_transition(listing=listing, to_status=ListingStatus.DRAFT, actor=actor, reason="reopened")
