"""The search parameters, as the page, the API and saved searches read them from a URL.

The URL is the whole state of a search: a page can be bookmarked, shared, saved and
re-run by the alert task. Values that do not validate are dropped (and the page says
which); the API refuses them instead."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.models import Category, DeviceType
from search.query import MAX_PER_PAGE, PRICE_BUCKET_KEYS, GeoPoint, SearchQuery, Sort

SORT_CHOICES = [
    (Sort.RELEVANCE.value, _("Best match")),
    (Sort.NEWEST.value, _("Newest first")),
    (Sort.PRICE_ASC.value, _("Price: low to high")),
    (Sort.PRICE_DESC.value, _("Price: high to low")),
    (Sort.DISTANCE.value, _("Distance: nearest first")),
]


def _within(km: int) -> str:
    return gettext("Within %(km)s km") % {"km": km}


within_label = lazy(_within, str)
DISTANCE_CHOICES = [("", _("Any distance"))] + [(str(km), within_label(km)) for km in (1, 3, 5, 10, 25, 50, 100)]
DELIVERY_CHOICES = [("ship", _("Can be shipped")), ("pickup", _("Local pickup")), ("event", _("At an event"))]
SELLER_TYPE_CHOICES = [("user", _("Private sellers")), ("shop", _("Shops"))]
# Parameters in the order they appear in canonical URLs.
MULTI_VALUED = (
    "category",
    "device_type",
    "grade",
    "price",
    "city",
    "district",
    "seller_tier",
    "event",
    "delivery",
    "seller_type",
)
FLAGS = ("erasure_verified", "certified")
PARAMETERS = (
    "q",
    *MULTI_VALUED,
    *FLAGS,
    "price_min",
    "price_max",
    "lat",
    "lon",
    "within",
    "registration_city",
    "sort",
)


def registration_cities() -> list[tuple[int, str]]:
    """The destination cities of the "can be registered in" filter (settings hook)."""
    path = getattr(settings, "SEARCH_REGISTRATION_CITIES", "")
    return list(import_string(path)()) if path else []


def registrable_standards(city_id: int) -> tuple[str, ...]:
    path = getattr(settings, "SEARCH_REGISTRATION_STANDARDS", "")
    return tuple(import_string(path)(city_id)) if path else ()


class AnyValuesField(forms.MultipleChoiceField):
    """Several free-text values (a city, a grade key): any non-empty short string."""

    def __init__(self, *, max_length: int = 60, **kwargs: Any) -> None:
        self.max_length = max_length
        super().__init__(required=False, **kwargs)

    def valid_value(self, value: str) -> bool:
        return 0 < len(value) <= self.max_length

    def clean(self, value: Any) -> list[str]:
        cleaned = super().clean(value)
        return list(dict.fromkeys(v.strip() for v in cleaned if v.strip()))


class FlagInput(forms.CheckboxInput):
    """?erasure_verified=1 (or true/on/yes) sets a flag; 0, false or nothing does not."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> bool:
        value = data.get(name)
        return isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes")


class IdsField(AnyValuesField):
    def valid_value(self, value: str) -> bool:
        return value.isdigit() and len(value) <= 18


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search for"), required=False, max_length=200)
    category = forms.MultipleChoiceField(label=_("Category"), choices=Category.choices, required=False)
    device_type = forms.MultipleChoiceField(label=_("Device type"), choices=DeviceType.choices, required=False)
    grade = AnyValuesField(label=_("Grade"), max_length=20)
    price = forms.MultipleChoiceField(
        label=_("Price"), choices=[(key, key) for key in PRICE_BUCKET_KEYS], required=False
    )
    price_min = forms.IntegerField(label=_("Lowest price (¥)"), required=False, min_value=0, max_value=10**8)
    price_max = forms.IntegerField(label=_("Highest price (¥)"), required=False, min_value=0, max_value=10**8)
    erasure_verified = forms.BooleanField(label=_("Erasure verified"), required=False, widget=FlagInput)
    certified = forms.BooleanField(label=_("Certified appraisal"), required=False, widget=FlagInput)
    city = AnyValuesField(label=_("City"))
    district = AnyValuesField(label=_("District"))
    seller_tier = AnyValuesField(label=_("Seller credit tier"), max_length=20)
    event = IdsField(label=_("Event"))
    delivery = forms.MultipleChoiceField(label=_("Delivery"), choices=DELIVERY_CHOICES, required=False)
    seller_type = forms.MultipleChoiceField(label=_("Seller"), choices=SELLER_TYPE_CHOICES, required=False)
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    within = forms.TypedChoiceField(
        label=_("Distance"), choices=DISTANCE_CHOICES, required=False, coerce=float, empty_value=None
    )
    registration_city = forms.IntegerField(label=_("Can be registered in"), required=False, min_value=1)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def clean_registration_city(self) -> int | None:
        city = self.cleaned_data.get("registration_city")
        if city is not None and city not in {pk for pk, _name in registration_cities()}:
            raise forms.ValidationError(_("Unknown city."))
        return city

    def valid_data(self) -> dict[str, Any]:
        """The cleaned values of the fields that validated (the others are ignored)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def ignored(self) -> list[tuple[str, str]]:
        """(field label, error) for each parameter that was dropped."""
        self.is_valid()
        return [(str(self.fields[name].label or name), str(errors[0])) for name, errors in self.errors.items()]

    def state(self) -> list[tuple[str, str]]:
        """The valid parameters as URL pairs, in canonical order (no page number)."""
        data = self.valid_data()
        pairs: list[tuple[str, str]] = []
        for name in PARAMETERS:
            value = data.get(name)
            if value in (None, "", [], False):
                continue
            if name in MULTI_VALUED:
                pairs.extend((name, str(v)) for v in value)
            elif name in FLAGS:
                pairs.append((name, "1"))
            elif name in ("lat", "lon"):
                pairs.append((name, f"{value:.3f}"))
            elif name == "within":
                pairs.append((name, f"{value:g}"))
            else:
                pairs.append((name, str(value)))
        return pairs

    def to_query(self, *, page: int = 1, per_page: int = 20, **changes: Any) -> SearchQuery:
        data = self.valid_data()
        near = None
        if data.get("lat") is not None and data.get("lon") is not None:
            near = GeoPoint(round(data["lat"], 3), round(data["lon"], 3))
        price_min, price_max = data.get("price_min"), data.get("price_max")
        query = SearchQuery(
            text=data.get("q") or "",
            categories=tuple(data.get("category") or ()),
            device_types=tuple(data.get("device_type") or ()),
            grades=tuple(data.get("grade") or ()),
            price_buckets=tuple(data.get("price") or ()),
            price_min=price_min * 100 if price_min is not None else None,
            price_max=price_max * 100 if price_max is not None else None,
            cities=tuple(data.get("city") or ()),
            districts=tuple(data.get("district") or ()),
            erasure_verified=bool(data.get("erasure_verified")),
            certified=bool(data.get("certified")),
            seller_tiers=tuple(data.get("seller_tier") or ()),
            event_ids=tuple(int(v) for v in data.get("event") or ()),
            delivery=tuple(data.get("delivery") or ()),
            seller_types=tuple(data.get("seller_type") or ()),
            near=near,
            within_km=data.get("within") if near is not None else None,
            registrable_standards=(
                registrable_standards(data["registration_city"]) if data.get("registration_city") else None
            ),
            sort=Sort(data.get("sort") or Sort.RELEVANCE),
            page=max(1, page),
            per_page=max(1, min(per_page, MAX_PER_PAGE)),
        )
        return query.with_changes(**changes) if changes else query
