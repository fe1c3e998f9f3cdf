"""What other apps add to listing pages without the core importing them: badges on
cards and detail pages (grade, erasure verified…) and panels on the detail page.

Both are lists of dotted paths in settings, like the publication gates. A badge
provider takes a batch of listings and returns badges per listing id, so a page of
results costs a fixed number of queries; a panel provider returns a template and its
context for one listing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from marketplace.models import Listing


@dataclass(frozen=True)
class Badge:
    label: str
    kind: str = "info"  # ok | warn | info
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]
    # Set instead of template and context for a personal provider's place on the public page:
    # the panel is rendered for each visitor as the personal part "listing_panel" of this
    # argument (marketplace/personal_parts.py), so the rest of the page can be cached.
    part: str = ""


def personal(provider: Callable[..., Panel | None]) -> Callable[..., Panel | None]:
    """Mark a panel provider whose panel on the public page depends on the visitor (the buy
    panel): the page keeps its place and renders it per visitor."""
    provider.personal = True  # type: ignore[attr-defined]
    return provider


BadgeProvider = Callable[[Sequence[Listing]], dict[int, list[Badge]]]
# (listing, user, where) → Panel or None; `where` is "detail" (public page) or "manage"
# (the seller's page).
PanelProvider = Callable[[Listing, Any, str], Panel | None]


@functools.cache
def badge_providers() -> tuple[BadgeProvider, ...]:
    return tuple(import_string(path) for path in getattr(settings, "MARKETPLACE_LISTING_BADGES", []))


@functools.cache
def panel_providers() -> tuple[PanelProvider, ...]:
    return tuple(import_string(path) for path in getattr(settings, "MARKETPLACE_LISTING_PANELS", []))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "MARKETPLACE_LISTING_BADGES":
        badge_providers.cache_clear()
    if setting == "MARKETPLACE_LISTING_PANELS":
        panel_providers.cache_clear()
    if setting == "MARKETPLACE_ORDER_PANELS":
        order_panel_providers.cache_clear()


setting_changed.connect(_reset)


def badges_for(listings: Sequence[Listing]) -> dict[int, list[Badge]]:
    found: dict[int, list[Badge]] = {listing.pk: [] for listing in listings}
    if not listings:
        return found
    for provider in badge_providers():
        for listing_id, badges in provider(listings).items():
            found.setdefault(listing_id, []).extend(badges)
    return found


def attach_badges(listings: Sequence[Listing]) -> None:
    """Set `listing.badges` on each listing (for templates)."""
    found = badges_for(listings)
    for listing in listings:
        listing.badges = found.get(listing.pk, [])  # type: ignore[attr-defined]


def panels_for(listing: Listing, user: Any, where: str = "detail") -> list[Panel]:
    """The panels of a listing's page. On the public page ("detail") a personal provider's
    panel is a place to render per visitor (`Panel.part`), whoever is looking now."""
    panels = []
    for index, provider in enumerate(panel_providers()):
        if where == "detail" and getattr(provider, "personal", False):
            panels.append(Panel(template="", context={}, part=f"{index}:{listing.pk}"))
        elif (panel := provider(listing, user, where)) is not None:
            panels.append(panel)
    return panels


# Panels on the order page (settings.MARKETPLACE_ORDER_PANELS): (order, user, party) →
# Panel or None; `party` is "buyer", "seller" or "moderator".
OrderPanelProvider = Callable[[Any, Any, str], Panel | None]


@functools.cache
def order_panel_providers() -> tuple[OrderPanelProvider, ...]:
    return tuple(import_string(path) for path in getattr(settings, "MARKETPLACE_ORDER_PANELS", []))


def order_panels_for(order: Any, user: Any, party: str) -> list[Panel]:
    return [panel for provider in order_panel_providers() if (panel := provider(order, user, party)) is not None]
