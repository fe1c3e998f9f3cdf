"""The vehicle relocation (限迁) panel of a vehicle's listing page (listed in
settings.MARKETPLACE_LISTING_PANELS): the buyer picks the city they would register the
car in and sees whether its emission standard is accepted there."""

from __future__ import annotations

from typing import Any

from marketplace.city.relocation import can_register
from marketplace.city.selectors import relocation_cities
from marketplace.extensions import Panel
from marketplace.models import Category, Listing
from marketplace.models.listings import VehicleAttributes


def relocation_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    if where != "detail" or listing.category != Category.VEHICLES:
        return None
    vehicle = listing.attributes
    if not isinstance(vehicle, VehicleAttributes):
        return None
    cities = relocation_cities()
    if not cities:
        return None
    return Panel(
        template="city/panels/relocation.html",
        context={
            "listing": listing,
            "standard": vehicle.emission_standard,
            "standard_label": vehicle.get_emission_standard_display(),
            "cities": cities,
            # city id → may the car be registered there
            "verdicts": {city.pk: can_register(vehicle.emission_standard, city.minimum_standard) for city in cities},
        },
    )
