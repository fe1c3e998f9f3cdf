"""Statistics other apps contribute (grade distributions, appraisals, erasure
certificates) without the core importing them: `settings.CITY_STATISTICS_PROVIDERS` lists
dotted paths of callables `(period, area) -> StatsSection`, like the publication gates.

A provider runs a fixed number of aggregate queries whatever the data size."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from marketplace.city.periods import Period


@dataclass(frozen=True)
class Area:
    """A city and district to narrow the figures to; empty strings mean everywhere."""

    city: str = ""
    district: str = ""

    @property
    def is_everywhere(self) -> bool:
        return not self.city and not self.district

    def filter_kwargs(self, prefix: str) -> dict[str, str]:
        """ORM filters for a relation to a listing (`prefix` e.g. "listing__")."""
        found = {}
        if self.city:
            found[f"{prefix}city"] = self.city
        if self.district:
            found[f"{prefix}district"] = self.district
        return found

    def __str__(self) -> str:
        return " ".join(part for part in (self.city, self.district) if part)


@dataclass(frozen=True)
class StatsTable:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    # Column whose numbers are drawn as bars against column 0's labels, if any.
    chart_column: int | None = None


@dataclass(frozen=True)
class StatsSection:
    key: str
    title: str
    tables: list[StatsTable] = field(default_factory=list)
    note: str = ""


StatisticsProvider = Callable[[Period, Area], StatsSection]


@functools.cache
def statistics_providers() -> tuple[StatisticsProvider, ...]:
    return tuple(import_string(path) for path in getattr(settings, "CITY_STATISTICS_PROVIDERS", []))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CITY_STATISTICS_PROVIDERS":
        statistics_providers.cache_clear()


setting_changed.connect(_reset)


def provided_sections(period: Period, area: Area) -> list[StatsSection]:
    return [provider(period, area) for provider in statistics_providers()]
