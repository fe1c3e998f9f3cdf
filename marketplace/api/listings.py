"""Listings in the JSON API: create, read, edit, photos, publish, withdraw, report.

The paths and the listing JSON are a public contract. Endpoints stay thin: parse the
request, call a service or a selector, and render the listing with `listing_json`, which
reads only what the selectors prefetched (a fixed number of queries)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, cast

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from marketplace.api.common import PUBLIC_READ_AUTH, ErrorOut, request_user
from marketplace.errors import NotFound, ValidationFailed
from marketplace.forms.listings import ATTRIBUTE_FORMS, COMMON_FIELDS
from marketplace.gates import BlockingReason, evaluate_gates
from marketplace.models import Listing, ListingPhoto, Organisation, ReportReason, User
from marketplace.selectors import listing_detail, listings_managed_by
from marketplace.services.listings import (
    CONSIGNOR_NOT_AGREED,
    consignor_for_shop,
    listing_can_manage,
    listing_can_view,
    listing_create,
    listing_delete,
    listing_get_for_manage,
    listing_publish,
    listing_update,
    listing_withdraw,
    user_manages_organisation,
)
from marketplace.services.moderation import listing_report_create, listing_url
from marketplace.services.photos import listing_photos_add

router = Router(tags=["listings"])

# Attribute fields that identify one physical item: shown in full only to the people
# who manage the listing and to staff; everyone else sees the last four characters.
IDENTIFIER_FIELDS = frozenset({"serial_number", "imei", "imei2", "meid", "vin"})
MASK = "••••"


# --- Input ------------------------------------------------------------------------
# Strict types: a string where a number belongs is refused (422) rather than coerced.


class ListingCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    category: StrictStr = Field(description="electronics, furniture, books or vehicles")
    title: StrictStr
    description: StrictStr = ""
    price: StrictInt = Field(description="In minor units (fen): 4500 means ¥45.00.")
    currency: StrictStr = "CNY"
    city: StrictStr
    district: StrictStr = ""
    latitude: StrictFloat | StrictInt | None = None
    longitude: StrictFloat | StrictInt | None = None
    delivery_ship: StrictBool = False
    delivery_pickup: StrictBool = True
    delivery_event: StrictBool = False
    attributes: dict[str, Any] = Field(default_factory=dict, description="The category's fields.")
    seller_organisation_id: StrictInt | None = Field(
        default=None, description="List for this shop; the caller must be its owner or staff."
    )
    consignor_email: StrictStr | None = Field(
        default=None,
        description="The consignor's e-mail address, for items a shop sells on consignment: only someone who "
        "accepted the shop's consignment agreement.",
    )


class ListingUpdateIn(Schema):
    """Only the fields given change; `attributes` is partial too. null clears a field."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    description: StrictStr | None = None
    price: StrictInt | None = None
    currency: StrictStr | None = None
    city: StrictStr | None = None
    district: StrictStr | None = None
    latitude: StrictFloat | StrictInt | None = None
    longitude: StrictFloat | StrictInt | None = None
    delivery_ship: StrictBool | None = None
    delivery_pickup: StrictBool | None = None
    delivery_event: StrictBool | None = None
    attributes: dict[str, Any] | None = None


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: ReportReason
    details: StrictStr = Field(default="", max_length=2000)


class ListingsQuery(Schema):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


# --- Output -----------------------------------------------------------------------


class DeliveryOut(Schema):
    ship: bool
    pickup: bool
    event: bool


class SellerOut(Schema):
    kind: str = Field(description="user or organisation")
    id: int
    name: str = Field(description="The public name; never an e-mail address.")


class PhotoOut(Schema):
    id: int
    position: int
    is_cover: bool
    width: int
    height: int
    renditions: dict[str, str] = Field(description='WebP URLs by width ("320", "960", "1920") once made.')


class BlockingOut(Schema):
    gate: str
    code: str
    message: str


class ListingOut(Schema):
    id: int
    status: str
    category: str
    title: str
    description: str
    price: int = Field(description="In minor units (fen).")
    currency: str
    city: str
    district: str
    latitude: float | None
    longitude: float | None
    delivery: DeliveryOut
    seller: SellerOut
    attributes: dict[str, Any] = Field(description="The category's fields; identifiers masked unless you manage it.")
    photos: list[PhotoOut]
    created_at: dt.datetime
    published_at: dt.datetime | None
    url: str
    blocking: list[BlockingOut] | None = Field(
        default=None, description="What still blocks publication; only for the listing's managers."
    )


class ListingPageOut(Schema):
    count: int
    items: list[ListingOut]


class ReportOut(Schema):
    id: int
    status: str


# --- Rendering --------------------------------------------------------------------


def mask_identifier(value: str) -> str:
    if not value:
        return value
    return MASK if len(value) <= 4 else f"{MASK} {value[-4:]}"


def attributes_json(listing: Listing, *, full_identifiers: bool) -> dict[str, Any]:
    attributes = listing.attributes
    if attributes is None:
        return {}
    result: dict[str, Any] = {}
    for name in ATTRIBUTE_FORMS[listing.category]._meta.fields or ():
        value = getattr(attributes, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        elif name in IDENTIFIER_FIELDS and not full_identifiers:
            value = mask_identifier(value)
        result[name] = value
    return result


def photo_json(photo: ListingPhoto) -> dict[str, Any]:
    # The private original is never given out, only the public renditions.
    return {
        "id": photo.pk,
        "position": photo.position,
        "is_cover": photo.is_cover,
        "width": photo.width,
        "height": photo.height,
        "renditions": photo.rendition_urls,
    }


def seller_json(listing: Listing) -> dict[str, Any]:
    if listing.seller_organisation is not None:
        return {"kind": "organisation", "id": listing.seller_organisation.pk, "name": listing.seller_organisation.name}
    seller = cast(User, listing.seller_user)
    return {"kind": "user", "id": seller.pk, "name": seller.public_name}


def listing_json(
    listing: Listing, *, full_identifiers: bool, blocking: Sequence[BlockingReason] | None = None
) -> dict[str, Any]:
    """A listing loaded by the selectors (seller, attributes and photos prefetched)."""
    return {
        "id": listing.pk,
        "status": listing.status,
        "category": listing.category,
        "title": listing.title,
        "description": listing.description,
        "price": listing.price,
        "currency": listing.currency,
        "city": listing.city,
        "district": listing.district,
        "latitude": listing.latitude,
        "longitude": listing.longitude,
        "delivery": {
            "ship": listing.delivery_ship,
            "pickup": listing.delivery_pickup,
            "event": listing.delivery_event,
        },
        "seller": seller_json(listing),
        "attributes": attributes_json(listing, full_identifiers=full_identifiers),
        "photos": [photo_json(photo) for photo in listing.photos.all()],
        "created_at": listing.created_at,
        "published_at": listing.published_at,
        "url": listing_url(listing),
        "blocking": None if blocking is None else [reason.as_dict() for reason in blocking],
    }


def _viewable_listing(user: User, listing_id: int) -> Listing:
    listing = listing_detail(listing_id=listing_id)
    if listing is None or not listing_can_view(user=user, listing=listing):
        raise NotFound(_("No such listing."))
    return listing


def _render_for(user: User, listing_id: int) -> dict[str, Any]:
    listing = _viewable_listing(user, listing_id)
    manages = listing_can_manage(user=user, listing=listing)
    blocking = evaluate_gates([listing])[listing.pk] if manages else None
    return listing_json(listing, full_identifiers=manages or bool(user.is_staff), blocking=blocking)


def _check_attribute_names(category: str, attributes: Mapping[str, Any]) -> None:
    """A misspelt attribute would otherwise be ignored without a word."""
    form = ATTRIBUTE_FORMS.get(category)
    if form is None:
        return  # an unknown category is reported by the service
    known = set(form._meta.fields or ())
    unknown = sorted(set(attributes) - known)
    if unknown:
        raise ValidationFailed(
            _("Some fields need your attention."),
            details={
                "fields": {
                    f"attributes.{name}": [
                        _("Unknown field for this category; expected one of: %(fields)s")
                        % {"fields": ", ".join(sorted(known))}
                    ]
                    for name in unknown
                }
            },
        )


def _with_defaults(category: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """An omitted attribute takes the model's default (e.g. a book's language), as it would
    in the pre-filled page form; only fields without a default are required."""
    form = ATTRIBUTE_FORMS.get(category)
    if form is None:
        return dict(attributes)
    model = form._meta.model
    defaults = {}
    for name in form._meta.fields or ():
        field = model._meta.get_field(name)
        if name not in attributes and field.has_default():
            defaults[name] = field.get_default()
    return {**defaults, **attributes}


def _seller_organisation(actor: User, payload: ListingCreateIn) -> tuple[Organisation | None, User | None]:
    organisation = None
    if payload.seller_organisation_id is not None:
        organisation = Organisation.objects.filter(pk=payload.seller_organisation_id).first()
        if organisation is None:
            raise ValidationFailed(
                _("No such organisation."),
                details={"fields": {"seller_organisation_id": [_("No such organisation.")]}},
            )
    if not payload.consignor_email:
        return organisation, None
    if organisation is None:
        raise ValidationFailed(
            _("Only shops take items on consignment."),
            details={"fields": {"consignor_email": [_("Give seller_organisation_id as well, or leave this out.")]}},
        )
    if not user_manages_organisation(user=actor, organisation_id=organisation.pk):
        return organisation, None  # listing_create refuses; the consignor lookup must not reveal accounts
    consignor = consignor_for_shop(shop=organisation, email=payload.consignor_email)
    if consignor is None:
        # The same answer whether or not the address has an account.
        raise ValidationFailed(
            str(CONSIGNOR_NOT_AGREED), details={"fields": {"consignor_email": [str(CONSIGNOR_NOT_AGREED)]}}
        )
    return organisation, consignor


# --- Endpoints --------------------------------------------------------------------


@router.get("/listings", response={200: ListingPageOut, 401: ErrorOut})
def listings_mine(request: HttpRequest, query: Query[ListingsQuery]) -> dict[str, Any]:
    """The caller's own listings and those of the shops they own or staff, newest change first."""
    user = request_user(request)
    queryset = listings_managed_by(user=user)
    page = list(queryset[query.offset : query.offset + query.limit])
    blocking = evaluate_gates(page)
    return {
        "count": queryset.count(),
        "items": [listing_json(listing, full_identifiers=True, blocking=blocking[listing.pk]) for listing in page],
    }


@router.post("/listings", response={201: ListingOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut})
def listing_create_endpoint(request: HttpRequest, payload: ListingCreateIn) -> Status[dict[str, Any]]:
    """Create a draft listing."""
    actor = request_user(request)
    _check_attribute_names(payload.category, payload.attributes)
    organisation, consignor = _seller_organisation(actor, payload)
    listing = listing_create(
        actor=actor,
        category=payload.category,
        data=payload.model_dump(include=set(COMMON_FIELDS)),
        attributes=_with_defaults(payload.category, payload.attributes),
        seller_organisation=organisation,
        consignor=consignor,
    )
    return Status(201, _render_for(actor, listing.pk))


@router.get(
    "/listings/{int:listing_id}", response={200: ListingOut, 401: ErrorOut, 404: ErrorOut}, auth=PUBLIC_READ_AUTH
)
def listing_read(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    """Anyone may read a published, reserved or sold listing; other states only its managers
    and staff (everyone else gets 404). Managers also get `blocking`."""
    return _render_for(request_user(request), listing_id)


@router.patch(
    "/listings/{int:listing_id}",
    response={200: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def listing_update_endpoint(request: HttpRequest, listing_id: int, payload: ListingUpdateIn) -> dict[str, Any]:
    actor = request_user(request)
    attributes = payload.attributes or {}
    if attributes:
        listing = listing_get_for_manage(user=actor, listing_id=listing_id)
        _check_attribute_names(listing.category, attributes)
    listing_update(
        actor=actor,
        listing_id=listing_id,
        data=payload.model_dump(include=set(COMMON_FIELDS), exclude_unset=True),
        attributes=attributes,
    )
    return _render_for(actor, listing_id)


@router.delete(
    "/listings/{int:listing_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
)
def listing_delete_endpoint(request: HttpRequest, listing_id: int) -> Status[None]:
    """Only a draft that was never published can be deleted; withdraw anything else."""
    listing_delete(actor=request_user(request), listing_id=listing_id)
    return Status(204, None)


@router.post(
    "/listings/{int:listing_id}/photos",
    response={201: list[PhotoOut], 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                        "required": ["file"],
                    }
                }
            },
            "required": True,
        }
    },
)
def listing_photos_upload(request: HttpRequest, listing_id: int) -> Status[list[dict[str, Any]]]:
    """Add photos (multipart, field `file`, repeatable). One unacceptable file saves none."""
    actor = request_user(request)
    uploads = request.FILES.getlist("file")
    listing_photos_add(
        actor=actor,
        listing_id=listing_id,
        files=[(cast(IO[bytes], upload), upload.size or 0, upload.name or "") for upload in uploads],
    )
    listing = _viewable_listing(actor, listing_id)
    return Status(201, [photo_json(photo) for photo in listing.photos.all()])


@router.post(
    "/listings/{int:listing_id}/publish",
    response={200: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def listing_publish_endpoint(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    """Publish, or 409 `publication_blocked` with every blocking reason in `details.blocking`."""
    actor = request_user(request)
    listing_publish(actor=actor, listing_id=listing_id)
    return _render_for(actor, listing_id)


@router.post(
    "/listings/{int:listing_id}/withdraw",
    response={200: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def listing_withdraw_endpoint(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    actor = request_user(request)
    listing_withdraw(actor=actor, listing_id=listing_id)
    return _render_for(actor, listing_id)


@router.post(
    "/listings/{int:listing_id}/reports",
    response={201: ReportOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def listing_report_endpoint(request: HttpRequest, listing_id: int, payload: ReportIn) -> Status[dict[str, Any]]:
    """Report a public listing to the moderators (one open report per person and listing)."""
    report = listing_report_create(
        reporter=request_user(request), listing_id=listing_id, reason=payload.reason, details=payload.details
    )
    return Status(201, {"id": report.pk, "status": report.status})
