"""Reads for the search pages and API: the listings behind a page of hits (with their
seller, attributes, cover photo and badges, in a fixed number of queries), saved
searches, and labels for the facet values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.module_loading import import_string

from grading.models import RuleSetStatus, RuleSetVersion
from marketplace.extensions import attach_badges
from marketplace.models import Listing, ListingPhoto, User
from marketplace.selectors import ATTRIBUTE_RELATIONS, listing_cover
from search.models import SavedSearch
from search.query import INDEXED_STATUSES, Hit

THUMBNAIL_WIDTH = 320


@dataclass(frozen=True)
class ResultCard:
    listing: Listing
    hit: Hit
    has_photo: bool
    thumbnail: str | None  # None while the cover's renditions are being made


def result_cards(hits: Sequence[Hit]) -> list[ResultCard]:
    """The listings of `hits`, in hit order. A hit whose listing went off sale since it
    was indexed is left out."""
    ids = [hit.listing_id for hit in hits]
    found = {
        listing.pk: listing
        for listing in Listing.objects.filter(pk__in=ids, status__in=INDEXED_STATUSES)
        .select_related("seller_user", "seller_organisation", *ATTRIBUTE_RELATIONS)
        .prefetch_related(Prefetch("photos", queryset=ListingPhoto.objects.order_by("-is_cover", "position", "pk")))
    }
    listings = [found[hit.listing_id] for hit in hits if hit.listing_id in found]
    attach_badges(listings)
    cards = []
    for hit in hits:
        listing = found.get(hit.listing_id)
        if listing is None:
            continue
        cover = listing_cover(listing)
        cards.append(
            ResultCard(
                listing=listing,
                hit=hit,
                has_photo=cover is not None,
                thumbnail=cover.rendition_url(THUMBNAIL_WIDTH) if cover else None,
            )
        )
    return cards


def saved_searches_of(*, user: User) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user=user).order_by("-created_at", "-pk")


def grade_labels() -> dict[str, str]:
    """Grade key → label in the current language, from the published rule sets."""
    language = "en" if translation.get_language() == "en" else "zh"
    labels: dict[str, str] = {}
    # Retired versions still label the grades given under them; published ones win.
    versions = RuleSetVersion.objects.filter(status__in=(RuleSetStatus.PUBLISHED, RuleSetStatus.RETIRED))
    for document in versions.order_by("status", "key").values_list("document", flat=True):
        for grade in document.get("grades", []):
            label = grade.get("label", grade["key"])
            text = label.get(language, label.get("zh", grade["key"])) if isinstance(label, dict) else label
            labels.setdefault(grade["key"], str(text))
    return labels


def facet_labels(values: Iterable[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """Labels for the facet values on a page (pairs of facet name and value): grades
    from the rule sets, and whatever `SEARCH_FACET_LABELS` names (events, credit tiers),
    one query per facet whatever the number of values."""
    wanted: dict[str, set[str]] = {}
    for name, value in values:
        wanted.setdefault(name, set()).add(value)
    labels: dict[str, dict[str, str]] = {"grade": grade_labels()}
    for name, path in settings.SEARCH_FACET_LABELS.items():
        if path and wanted.get(name):
            labels[name] = dict(import_string(path)(sorted(wanted[name])))
    return labels


def page_facet_values(state_pairs: Iterable[tuple[str, str]], facets: dict[str, list]) -> list[tuple[str, str]]:
    """Every (facet, value) a page shows: the counted ones and the ones in the URL."""
    pairs = [(name, facet.value) for name, found in facets.items() for facet in found]
    return [*pairs, *state_pairs]
