"""GET /api/v1/search (the search page's parameters; results, facets and the backend
that answered) and GET /api/v1/search/suggest (completions for the query box). Public:
they show only what the search page shows to anyone."""

from __future__ import annotations

import math

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from marketplace.errors import ValidationFailed
from marketplace.templatetags.listing_tags import format_money
from search.forms import SearchForm
from search.presentation import SearchState, facet_groups
from search.query import MAX_PER_PAGE, MAX_RESULT_WINDOW
from search.selectors import facet_labels, page_facet_values, result_cards
from search.services import search_listings, search_suggestions

router = Router(tags=["search"])


class SearchParams(Schema):
    """Documents the parameters; they are read by the same form as the search page."""

    q: str = Field("", description="Words, an ISBN or a VIN (the exact item comes first).")
    category: list[str] = Field(
        default_factory=list, description="electronics, furniture, books, vehicles; repeat for several."
    )
    device_type: list[str] = Field(default_factory=list)
    grade: list[str] = Field(default_factory=list, description="Grade keys such as A or fine.")
    price: list[str] = Field(default_factory=list, description="Price buckets in yuan: 0-100, 100-500, … 50000-.")
    price_min: int | None = Field(None, description="Yuan.")
    price_max: int | None = Field(None, description="Yuan.")
    erasure_verified: bool = False
    certified: bool = False
    city: list[str] = Field(default_factory=list)
    district: list[str] = Field(default_factory=list)
    seller_tier: list[str] = Field(default_factory=list)
    event: list[int] = Field(default_factory=list)
    delivery: list[str] = Field(default_factory=list, description="ship, pickup, event.")
    seller_type: list[str] = Field(default_factory=list, description="user or shop.")
    lat: float | None = None
    lon: float | None = None
    within: float | None = Field(None, description="Kilometres from lat/lon: 1, 3, 5, 10, 25, 50 or 100.")
    sort: str = Field("relevance", description="relevance, newest, price_asc, price_desc, distance.")
    page: int = Field(1, ge=1)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)


class SearchHitOut(Schema):
    id: int
    title: str
    url: str
    category: str
    price: int = Field(description="Minor units (fen).")
    currency: str
    price_display: str
    city: str
    district: str
    status: str
    grade: str
    certified: bool
    erasure_verified: bool
    seller_type: str
    seller_tier: str
    distance_km: float | None
    thumbnail: str | None
    badges: list[str]


class FacetValueOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class SearchOut(Schema):
    backend: str = Field(description="The backend that answered: elasticsearch or database.")
    degraded: bool = Field(description="Elasticsearch was unreachable: results may be incomplete.")
    total: int = Field(description="Matching listings; a lower bound when total_is_lower_bound.")
    total_is_lower_bound: bool = Field(
        description="More listings match than `total`: the database backend stops counting at 10 000."
    )
    facets_are_partial: bool = Field(
        description="The facet counts cover the first 10 000 or so matches found, not all of them."
    )
    page: int
    per_page: int
    pages: int
    sort: str
    results: list[SearchHitOut]
    facets: dict[str, list[FacetValueOut]]


class SuggestOut(Schema):
    suggestions: list[str]


@router.get("/search", response=SearchOut, auth=None, url_name="search")
def search(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    form = SearchForm(request.GET)
    if form.ignored():
        raise ValidationFailed(
            _("Some search parameters are not valid."),
            details={"fields": {name: [str(e) for e in errors] for name, errors in form.errors.items()}},
        )
    page = min(params.page, max(1, MAX_RESULT_WINDOW // params.per_page))
    query = form.to_query(page=page, per_page=params.per_page)
    outcome = search_listings(query=query)
    result = outcome.result
    state = SearchState(form.state(), reverse("search"))
    labels = facet_labels(page_facet_values(state.pairs, result.facets))
    results = []
    for card in result_cards(result.hits):
        listing, hit = card.listing, card.hit
        results.append(
            {
                "id": listing.pk,
                "title": listing.title,
                "url": reverse("listing_detail", args=[listing.pk]),
                "category": listing.category,
                "price": listing.price,
                "currency": listing.currency,
                "price_display": format_money(listing.price, listing.currency),
                "city": listing.city,
                "district": listing.district,
                "status": listing.status,
                "grade": hit.grade,
                "certified": hit.certified,
                "erasure_verified": hit.erasure_verified,
                "seller_type": "shop" if listing.seller_organisation_id else "user",
                "seller_tier": hit.seller_tier,
                "distance_km": hit.distance_km,
                "thumbnail": card.thumbnail,
                "badges": [badge.label for badge in getattr(listing, "badges", [])],
            }
        )
    return {
        "backend": outcome.backend,
        "degraded": outcome.degraded,
        "total": result.total,
        "total_is_lower_bound": result.total_is_lower_bound,
        "facets_are_partial": result.facets_are_partial,
        "page": query.page,
        "per_page": query.per_page,
        "pages": max(1, math.ceil(min(result.total, MAX_RESULT_WINDOW) / query.per_page)),
        "sort": query.effective_sort.value,
        "results": results,
        "facets": {
            group.name: [
                {"value": o.value, "label": o.label, "count": o.count, "selected": o.selected} for o in group.options
            ]
            for group in facet_groups(state, result, labels)
        },
    }


@router.get("/search/suggest", response=SuggestOut, auth=None, url_name="search_suggest")
def suggest(request: HttpRequest, q: str = "") -> dict[str, list[str]]:
    return {"suggestions": search_suggestions(prefix=q[:100])}
