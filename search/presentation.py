"""How a search state is shown: facet groups with counts and toggle links, chips for
the active filters, labels for facet values. Shared by the page and the API; every
link is a URL of the search page, which holds the whole state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.models import Category, DeviceType
from marketplace.templatetags.listing_tags import format_money
from search.forms import DELIVERY_CHOICES, FLAGS, SELLER_TYPE_CHOICES
from search.query import FACETS, PRICE_BUCKETS, SearchResult

FACET_LABELS = {
    "category": gettext_lazy("Category"),
    "device_type": gettext_lazy("Device type"),
    "grade": gettext_lazy("Grade"),
    "price": gettext_lazy("Price"),
    "erasure_verified": gettext_lazy("Data erasure"),
    "certified": gettext_lazy("Appraisal"),
    "city": gettext_lazy("City"),
    "district": gettext_lazy("District"),
    "delivery": gettext_lazy("Delivery"),
    "seller_type": gettext_lazy("Seller"),
    "seller_tier": gettext_lazy("Seller credit tier"),
    "event": gettext_lazy("Event"),
}
FLAG_LABELS = {
    "erasure_verified": gettext_lazy("Erasure verified"),
    "certified": gettext_lazy("Certified appraisal"),
}


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    url: str  # the search with this value toggled


@dataclass(frozen=True)
class FacetGroup:
    name: str
    label: str
    options: list[FacetOption]


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str


def price_label(key: str) -> str:
    for bucket in PRICE_BUCKETS:
        if bucket.key == key:
            if bucket.low == 0 and bucket.high is not None:
                return _("Under %(price)s") % {"price": _yuan(bucket.high)}
            if bucket.high is None:
                return _("%(price)s and more") % {"price": _yuan(bucket.low)}
            return _("%(low)s to %(high)s") % {"low": _yuan(bucket.low), "high": _yuan(bucket.high)}
    return key


def _yuan(minor: int) -> str:
    return format_money(minor).removesuffix(".00")


# Facet name → {value: label} for values only the database can name (grades, events, tiers).
Labels = Mapping[str, Mapping[str, str]]


def value_label(name: str, value: str, labels: Labels) -> str:
    known = labels.get(name, {})
    if value in known:
        return known[value]
    choices: dict[str, object] = {}
    if name == "category":
        choices = dict(Category.choices)
    elif name == "device_type":
        choices = dict(DeviceType.choices)
    elif name == "delivery":
        choices = dict(DELIVERY_CHOICES)
    elif name == "seller_type":
        choices = dict(SELLER_TYPE_CHOICES)
    elif name in ("grade", "seller_tier"):
        return value
    elif name == "price":
        return price_label(value)
    elif name in FLAG_LABELS:
        return str(FLAG_LABELS[name])
    elif name == "event":
        return _("Event %(number)s") % {"number": value}
    return str(choices.get(value, value))


class SearchState:
    """The search's URL parameters, and the URLs one click away from them."""

    def __init__(self, pairs: list[tuple[str, str]], base_url: str) -> None:
        self.pairs = pairs
        self.base_url = base_url

    def url(self, pairs: list[tuple[str, str]]) -> str:
        return f"{self.base_url}?{urlencode(pairs)}" if pairs else self.base_url

    @property
    def querystring(self) -> str:
        return urlencode(self.pairs)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def toggled(self, name: str, value: str) -> str:
        if name in FLAGS:
            value = "1"
        if (name, value) in self.pairs:
            return self.url([pair for pair in self.pairs if pair != (name, value)])
        return self.url([*self.pairs, (name, value)])

    def without(self, *names: str) -> str:
        return self.url([pair for pair in self.pairs if pair[0] not in names])

    def with_value(self, name: str, value: str) -> str:
        return self.url([*(pair for pair in self.pairs if pair[0] != name), (name, value)])

    def hidden_fields(self, *excluded: str) -> list[tuple[str, str]]:
        """The state as hidden form inputs, for forms that change one part of it."""
        return [pair for pair in self.pairs if pair[0] not in excluded]


def facet_groups(state: SearchState, result: SearchResult, labels: Labels) -> list[FacetGroup]:
    groups = []
    for name in FACETS:
        counts = {facet.value: facet.count for facet in result.facets.get(name, [])}
        # A flag facet has the single value "true" (the URL says erasure_verified=1).
        selected = set(state.values(name)) if name not in FLAGS else ({"true"} if state.values(name) else set())
        values = list(counts) + sorted(selected - set(counts))
        options = [
            FacetOption(
                value=value,
                label=value_label(name, value, labels),
                count=counts.get(value, 0),
                selected=value in selected,
                url=state.toggled(name, value),
            )
            for value in values
        ]
        if options:
            groups.append(FacetGroup(name=name, label=str(FACET_LABELS[name]), options=options))
    return groups


def chips(state: SearchState, labels: Labels) -> list[Chip]:
    found: list[Chip] = []
    names = {name for name, _value in state.pairs}
    for name, value in state.pairs:
        if name == "q":
            found.append(Chip(_("“%(text)s”") % {"text": value}, state.without("q")))
        elif name in FACET_LABELS:
            label = value_label(name, value, labels)
            if name not in FLAGS:
                label = _("%(facet)s: %(value)s") % {"facet": FACET_LABELS[name], "value": label}
            found.append(Chip(label, state.toggled(name, value)))
        elif name == "registration_city":
            city = labels.get(name, {}).get(value, value)
            found.append(Chip(_("Vehicles that can be registered in %(city)s") % {"city": city}, state.without(name)))
        elif name == "price_min":
            found.append(Chip(_("From ¥%(price)s") % {"price": value}, state.without("price_min")))
        elif name == "price_max":
            found.append(Chip(_("Up to ¥%(price)s") % {"price": value}, state.without("price_max")))
    if {"lat", "lon"} <= names:
        within = state.values("within")
        label = (
            _("Within %(km)s km of the chosen point") % {"km": within[0]}
            if within
            else _("Distance from the chosen point")
        )
        found.append(Chip(label, state.without("lat", "lon", "within")))
    return found


def summary(state: SearchState, labels: Labels) -> str:
    """A name for a saved search: its words and filters."""
    return " · ".join(chip.label for chip in chips(state, labels)) or _("All listings")
