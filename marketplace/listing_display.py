"""How a listing's category attributes read to a buyer: (label, value) rows, device
identifiers masked. Used by the listing page and by the appraisers' screens (grading)."""

from __future__ import annotations

from typing import Any

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from marketplace.models import BookAttributes, ElectronicsAttributes, FurnitureAttributes, Listing, VehicleAttributes
from marketplace.templatetags.listing_tags import mask_identifier


def field_label(model_field: Any) -> str:
    return str(capfirst(model_field.verbose_name))


def attribute_rows(listing: Listing) -> list[tuple[str, str]]:
    """The category's attributes as (label, value) rows for buyers. Device identifiers
    show only their last four characters; empty optional values are left out."""
    attributes = listing.attributes
    if attributes is None:
        return []
    meta = type(attributes)._meta

    def row(name: str, value: Any = None) -> tuple[str, str]:
        if value is None:
            getter = getattr(attributes, f"get_{name}_display", None)
            value = getter() if getter else getattr(attributes, name)
        return field_label(meta.get_field(name)), str(value)

    rows: list[tuple[str, str]] = []
    if isinstance(attributes, ElectronicsAttributes):
        rows += [row("device_type"), row("brand"), row("model_name")]
        if attributes.storage_capacity_gb:
            rows.append(row("storage_capacity_gb"))
        for name in ("imei", "imei2", "meid", "serial_number"):
            if value := getattr(attributes, name):
                rows.append(row(name, mask_identifier(value)))
    elif isinstance(attributes, BookAttributes):
        rows += [row("isbn"), row("book_title")]
        if attributes.authors:
            rows.append(row("authors", "、".join(attributes.authors)))
        rows += [row(name) for name in ("publisher", "year", "edition") if getattr(attributes, name) not in ("", None)]
    elif isinstance(attributes, FurnitureAttributes):
        rows += [row("furniture_type"), row("material")]
        size = {"width": attributes.width_cm, "depth": attributes.depth_cm, "height": attributes.height_cm}
        rows.append((_("Dimensions (W × D × H)"), _("%(width)s × %(depth)s × %(height)s cm") % size))
        if attributes.weight_kg is not None:
            rows.append((_("Weight"), _("%(weight)s kg") % {"weight": attributes.weight_kg}))
        rows.append(row("upholstered", _("yes") if attributes.upholstered else _("no")))
    elif isinstance(attributes, VehicleAttributes):
        rows += [row("make"), row("model_name"), row("first_registration", date_format(attributes.first_registration))]
        rows.append((_("Mileage"), _("%(km)s km") % {"km": f"{attributes.mileage_km:,}"}))
        rows += [row(name) for name in ("emission_standard", "fuel", "transmission", "previous_transfers")]
        rows.append(row("vin", mask_identifier(attributes.vin)))
    return rows
