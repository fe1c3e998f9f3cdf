"""How a listing becomes an index document: its text, attributes, grade, erasure
certificate, seller and events, read in a fixed number of queries for any batch.

Two values come from other apps, found by dotted path in settings so that search
depends on neither:

- `SEARCH_SELLER_TIERS`: user ids → the seller's credit tier key (the credit app sends
  `marketplace.signals.listing_changed` for a seller's live listings when the tier changes).
- `SEARCH_SHOP_TIERS`: organisation ids → the shop's own credit tier key (likewise re-sent
  for a shop's live listings when the shop's tier changes).
- `SEARCH_LISTING_EVENTS`: listing ids → ids of the events the listing is offered at
  (the CMS sends `listing_changed` when that link changes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from grading.models import AppraisalKind
from grading.services import current_appraisals
from marketplace.models import (
    ATTRIBUTE_MODELS,
    BookAttributes,
    ElectronicsAttributes,
    Listing,
    VehicleAttributes,
)
from search.query import INDEXED_STATUSES, GeoPoint, IndexDocument
from wipe_cert.models import CertificateStatus
from wipe_cert.services import certificates_for_listings

ATTRIBUTE_RELATIONS = tuple(model.related_accessor for model in ATTRIBUTE_MODELS.values())


def _provider(setting: str) -> Callable[[Sequence[int]], Mapping[int, Any]] | None:
    path = getattr(settings, setting, "")
    return import_string(path) if path else None


def seller_tiers(listings: Sequence[Listing]) -> dict[int, str]:
    """Listing id → the seller's credit tier key: a private seller's tier, or a shop's
    own tier, never the tier of the person who listed it for the shop ("" without a
    credit provider)."""
    people = {listing.pk: listing.seller_user_id for listing in listings if listing.seller_user_id}
    shops = {listing.pk: listing.seller_organisation_id for listing in listings if listing.seller_organisation_id}
    person_provider = _provider("SEARCH_SELLER_TIERS")
    shop_provider = _provider("SEARCH_SHOP_TIERS")
    person_tiers = person_provider(list(set(people.values()))) if person_provider and people else {}
    shop_tiers = shop_provider(list(set(shops.values()))) if shop_provider and shops else {}
    found = {pk: str(person_tiers.get(uid, "")) for pk, uid in people.items()}
    found |= {pk: str(shop_tiers.get(org_id, "")) for pk, org_id in shops.items()}
    return {listing.pk: found.get(listing.pk, "") for listing in listings}


def listing_event_ids(listings: Sequence[Listing]) -> dict[int, tuple[int, ...]]:
    """Listing id → ids of the events it is offered at."""
    provider = _provider("SEARCH_LISTING_EVENTS")
    found = provider([listing.pk for listing in listings]) if provider else {}
    return {listing.pk: tuple(found.get(listing.pk, ())) for listing in listings}


def _suggestions(*texts: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for text in texts:
        text = " ".join(text.split())[:200]
        if text:
            found[text] = None
    return tuple(found)


def build_documents(listing_ids: Sequence[int]) -> dict[int, IndexDocument | None]:
    """Listing id → its document, or None when it must not be in the index (not
    published or reserved, or gone)."""
    found: dict[int, IndexDocument | None] = dict.fromkeys(listing_ids)
    listings = list(
        Listing.objects.filter(pk__in=list(listing_ids), status__in=INDEXED_STATUSES).select_related(
            *ATTRIBUTE_RELATIONS
        )
    )
    if not listings:
        return found
    ids = [listing.pk for listing in listings]
    appraisals = current_appraisals(ids)
    certificates = certificates_for_listings(ids)
    tiers = seller_tiers(listings)
    events = listing_event_ids(listings)
    for listing in listings:
        appraisal = appraisals.get(listing.pk)
        graded = appraisal is not None and appraisal.sellable
        certificate = certificates.get(listing.pk)
        attributes = listing.attributes
        brand = model = book_title = isbn = ""
        device_type = emission_standard = ""
        authors: tuple[str, ...] = ()
        identifiers: list[str] = []
        if isinstance(attributes, ElectronicsAttributes):
            brand, model, device_type = attributes.brand, attributes.model_name, attributes.device_type
        elif isinstance(attributes, BookAttributes):
            book_title, isbn = attributes.book_title, attributes.isbn
            authors = tuple(str(author) for author in attributes.authors or ())
            identifiers.append(isbn)
        elif isinstance(attributes, VehicleAttributes):
            brand, model = attributes.make, attributes.model_name
            emission_standard = attributes.emission_standard
            identifiers.append(attributes.vin.upper())
        location = (
            GeoPoint(listing.latitude, listing.longitude)
            if listing.latitude is not None and listing.longitude is not None
            else None
        )
        delivery = tuple(
            option
            for option, offered in (
                ("ship", listing.delivery_ship),
                ("pickup", listing.delivery_pickup),
                ("event", listing.delivery_event),
            )
            if offered
        )
        found[listing.pk] = IndexDocument(
            listing_id=listing.pk,
            title=listing.title,
            description=listing.description,
            brand=brand,
            model=model,
            book_title=book_title,
            authors=authors,
            isbn=isbn,
            identifiers=tuple(identifier for identifier in identifiers if identifier),
            category=listing.category,
            device_type=device_type,
            emission_standard=emission_standard,
            grade=appraisal.grade if graded and appraisal is not None else "",
            certified=graded and appraisal is not None and appraisal.kind == AppraisalKind.CERTIFIED,
            erasure_verified=certificate is not None and certificate.status == CertificateStatus.ACCEPTED,
            price=listing.price,
            currency=listing.currency,
            city=listing.city,
            district=listing.district,
            location=location,
            delivery=delivery,
            seller_type="shop" if listing.seller_organisation_id else "user",
            seller_tier=tiers.get(listing.pk, ""),
            event_ids=events.get(listing.pk, ()),
            status=listing.status,
            published_at=listing.published_at or listing.status_changed_at or listing.created_at,
            suggestions=_suggestions(listing.title, f"{brand} {model}", model, book_title, *authors),
        )
    return found


def indexable_listing_ids() -> list[int]:
    return list(Listing.objects.filter(status__in=INDEXED_STATUSES).order_by("pk").values_list("pk", flat=True))
