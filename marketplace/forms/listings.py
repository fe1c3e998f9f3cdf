"""Validation of listing input, shared by the pages and the API: the common fields and
one attribute form per category. Errors are field-level and translated."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.models import (
    DEVICE_TRAITS,
    BookAttributes,
    Category,
    ElectronicsAttributes,
    FurnitureAttributes,
    Listing,
    VehicleAttributes,
)
from marketplace.models.listings import FurnitureType
from marketplace.validators import (
    normalise_imei,
    normalise_isbn,
    normalise_meid,
    normalise_serial,
    normalise_vin,
    round_coordinate,
    validate_date_between,
    validate_price,
    validate_range,
)

COMMON_FIELDS = (
    "title",
    "description",
    "price",
    "currency",
    "city",
    "district",
    "latitude",
    "longitude",
    "delivery_ship",
    "delivery_pickup",
    "delivery_event",
    "reference_new_price",
    "purchased_on",
)
CURRENCIES = [("CNY", gettext_lazy("Chinese yuan (CNY)"))]


class ListingForm(forms.ModelForm):
    """Common fields. `price` is in minor units (fen)."""

    currency = forms.ChoiceField(label=gettext_lazy("currency"), choices=CURRENCIES, initial="CNY", required=False)

    class Meta:
        model = Listing
        fields = COMMON_FIELDS

    def __init__(self, *args: Any, category: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category = category

    def clean_currency(self) -> str:
        return self.cleaned_data.get("currency") or "CNY"

    def clean_latitude(self) -> float | None:
        value = self.cleaned_data.get("latitude")
        if value is not None:
            validate_range(value, low=-90, high=90, code="latitude_out_of_range")
        return round_coordinate(value)

    def clean_longitude(self) -> float | None:
        value = self.cleaned_data.get("longitude")
        if value is not None:
            validate_range(value, low=-180, high=180, code="longitude_out_of_range")
        return round_coordinate(value)

    def clean_purchased_on(self) -> dt.date | None:
        value = self.cleaned_data.get("purchased_on")
        if value is not None:
            validate_date_between(
                value, earliest=dt.date(1900, 1, 1), latest=timezone.localdate(), code="purchase_date_implausible"
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        price = cleaned.get("price")
        if price is not None:
            try:
                validate_price(category=self.category, price=price)
            except ValidationError as exc:
                self.add_error("price", exc)
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        if not any(cleaned.get(f) for f in ("delivery_ship", "delivery_pickup", "delivery_event")):
            self.add_error("delivery_pickup", _("Choose at least one way for the buyer to get the item."))
        return cleaned


class ListingPageForm(ListingForm):
    """The same fields for people: the price is typed in yuan, e.g. 45.50."""

    price_yuan = forms.DecimalField(
        label=gettext_lazy("Price (¥)"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )

    class Meta(ListingForm.Meta):
        fields = tuple(  # type: ignore[assignment]
            f for f in COMMON_FIELDS if f not in {"price", "currency", "latitude", "longitude", "reference_new_price"}
        )

    field_order = ("title", "price_yuan", "description", "city", "district")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.category == Category.BOOKS:
            # A book listing is titled by its book: the title is typed once, as the book title.
            del self.fields["title"]
        if self.instance.pk and not self.is_bound:
            self.initial["price_yuan"] = (Decimal(self.instance.price) / 100).quantize(Decimal("0.01"))

    def clean(self) -> dict[str, Any]:
        yuan = self.cleaned_data.get("price_yuan")
        if yuan is not None:
            self.cleaned_data["price"] = int(yuan * 100)
        return super().clean()

    def _post_clean(self) -> None:
        if "price" in self.cleaned_data:
            self.instance.price = self.cleaned_data["price"]
        super()._post_clean()  # type: ignore[misc]


class AuthorsField(forms.Field):
    """A list of author names: a JSON list from the API, or names separated by commas or 、 from a page."""

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        names = [str(v) for v in value] if isinstance(value, (list, tuple)) else re.split(r"[,;，；、]", str(value))
        return [name.strip() for name in names if name.strip()]

    def prepare_value(self, value: Any) -> Any:
        return "、".join(value) if isinstance(value, (list, tuple)) else value


def identifier_field(model: type[Any], name: str, *, required: bool) -> forms.CharField:
    """People type identifiers with spaces or dashes (978-7-02-000220-7, 35-209900-176148-1)
    and MEIDs in their 18-digit decimal form, so the input may be longer than the
    normalised value the model stores; the clean_<field> methods normalise it."""
    field = model._meta.get_field(name)
    return forms.CharField(label=capfirst(field.verbose_name), required=required, max_length=32)


class ElectronicsAttributesForm(forms.ModelForm):
    imei = identifier_field(ElectronicsAttributes, "imei", required=False)
    imei2 = identifier_field(ElectronicsAttributes, "imei2", required=False)
    meid = identifier_field(ElectronicsAttributes, "meid", required=False)

    class Meta:
        model = ElectronicsAttributes
        fields = ("device_type", "brand", "model_name", "storage_capacity_gb", "serial_number", "imei", "imei2", "meid")

    def clean_imei(self) -> str:
        value = self.cleaned_data.get("imei", "")
        return normalise_imei(value) if value else ""

    def clean_imei2(self) -> str:
        value = self.cleaned_data.get("imei2", "")
        return normalise_imei(value) if value else ""

    def clean_meid(self) -> str:
        value = self.cleaned_data.get("meid", "")
        return normalise_meid(value) if value else ""

    def clean_serial_number(self) -> str:
        return normalise_serial(self.cleaned_data.get("serial_number", ""))

    def clean_storage_capacity_gb(self) -> int | None:
        value = self.cleaned_data.get("storage_capacity_gb")
        if value is not None:
            validate_range(value, low=1, high=1_000_000, code="storage_out_of_range")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        device_type = cleaned.get("device_type")
        if not device_type:
            return cleaned
        traits = DEVICE_TRAITS[device_type]
        has_cellular_id = bool(cleaned.get("imei") or cleaned.get("meid"))
        if not traits.cellular and (cleaned.get("imei") or cleaned.get("imei2") or cleaned.get("meid")):
            self.add_error("imei", _("This kind of device has no IMEI or MEID; leave it empty."))
        if device_type == "phone" and not has_cellular_id and "imei" not in self.errors:
            self.add_error("imei", _("A phone needs its IMEI (or MEID): it is checked against the stolen register."))
        if traits.user_storage and not (cleaned.get("serial_number") or has_cellular_id):
            self.add_error(
                "serial_number",
                _("Devices that store personal data need a serial number (or IMEI) to bind the erasure certificate."),
            )
        if cleaned.get("imei2") and cleaned.get("imei2") == cleaned.get("imei"):
            self.add_error("imei2", _("The second IMEI must differ from the first."))
        return cleaned


class FurnitureAttributesForm(forms.ModelForm):
    CLOTHING_STORAGE_TYPES: ClassVar[set[str]] = {FurnitureType.WARDROBE, FurnitureType.CHEST_OF_DRAWERS}

    class Meta:
        model = FurnitureAttributes
        fields = (
            "furniture_type",
            "material",
            "width_cm",
            "depth_cm",
            "height_cm",
            "weight_kg",
            "upholstered",
            "clothing_storage",
            "assembly_state",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field in ("width_cm", "depth_cm", "height_cm"):
            value = cleaned.get(field)
            if value is not None:
                try:
                    validate_range(value, low=1, high=1000, code="dimension_out_of_range")
                except ValidationError as exc:
                    self.add_error(field, exc)
        weight = cleaned.get("weight_kg")
        if weight is not None:
            try:
                validate_range(float(weight), low=0.1, high=2000, code="weight_out_of_range")
            except ValidationError as exc:
                self.add_error("weight_kg", exc)
        if cleaned.get("furniture_type") in self.CLOTHING_STORAGE_TYPES:
            cleaned["clothing_storage"] = True
        return cleaned


class BookAttributesForm(forms.ModelForm):
    isbn = identifier_field(BookAttributes, "isbn", required=True)
    authors = AuthorsField(label=gettext_lazy("Authors"), required=False)

    class Meta:
        model = BookAttributes
        fields = (
            "isbn",
            "book_title",
            "authors",
            "publisher",
            "edition",
            "year",
            "language",
            "is_textbook",
            "has_access_code",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["book_title"].error_messages["required"] = gettext_lazy(
            "Type the book's title: the catalogue does not know this ISBN yet."
        )
        self.fields["isbn"].help_text = gettext_lazy(
            "Type the ISBN first (the 10 or 13 digits above the barcode) and press “Look up”: "
            "it fills in the title, authors, publisher and year."
        )

    def clean_isbn(self) -> str:
        return normalise_isbn(self.cleaned_data.get("isbn", ""))

    def clean_year(self) -> int | None:
        year = self.cleaned_data.get("year")
        if year is not None:
            validate_range(year, low=1450, high=timezone.localdate().year, code="year_out_of_range")
        return year


class VehicleAttributesForm(forms.ModelForm):
    vin = identifier_field(VehicleAttributes, "vin", required=True)

    class Meta:
        model = VehicleAttributes
        fields = (
            "vin",
            "make",
            "model_name",
            "first_registration",
            "mileage_km",
            "emission_standard",
            "fuel",
            "transmission",
            "previous_transfers",
            "inspection_expiry",
            "insurance_expiry",
        )
        widgets: ClassVar[dict[str, Any]] = {
            "first_registration": forms.DateInput(attrs={"type": "date"}),
            "inspection_expiry": forms.DateInput(attrs={"type": "date"}),
            "insurance_expiry": forms.DateInput(attrs={"type": "date"}),
        }

    def clean_vin(self) -> str:
        return normalise_vin(self.cleaned_data.get("vin", ""))

    def clean_first_registration(self) -> dt.date:
        value = self.cleaned_data["first_registration"]
        validate_date_between(
            value, earliest=dt.date(1950, 1, 1), latest=timezone.localdate(), code="registration_date_implausible"
        )
        return value

    def clean_mileage_km(self) -> int:
        value = self.cleaned_data["mileage_km"]
        validate_range(value, low=0, high=2_000_000, code="mileage_implausible")
        return value

    def clean_previous_transfers(self) -> int:
        value = self.cleaned_data.get("previous_transfers") or 0
        validate_range(value, low=0, high=50, code="transfers_implausible")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        registered = cleaned.get("first_registration")
        latest = timezone.localdate() + dt.timedelta(days=366 * 6)
        for field in ("inspection_expiry", "insurance_expiry"):
            value = cleaned.get(field)
            if value is not None and registered is not None:
                try:
                    validate_date_between(value, earliest=registered, latest=latest, code="expiry_implausible")
                except ValidationError as exc:
                    self.add_error(field, exc)
        return cleaned


ATTRIBUTE_FORMS: dict[str, type[forms.ModelForm]] = {
    Category.ELECTRONICS: ElectronicsAttributesForm,
    Category.FURNITURE: FurnitureAttributesForm,
    Category.BOOKS: BookAttributesForm,
    Category.VEHICLES: VehicleAttributesForm,
}
