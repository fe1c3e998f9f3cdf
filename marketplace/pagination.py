"""A paginator whose count stops at a cap, for lists that can hold every listing on sale.

Django's Paginator runs COUNT(*) over every matching row, which grows with the listings
(tens of milliseconds at 100 000, far more at a million). Above the cap nobody reads the
exact figure and nobody pages that deep, so the count reads at most `cap + 1` rows of the
index (`SELECT COUNT(*) FROM (… LIMIT cap + 1)`) and pages show "10000+ listings"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """`load`, when given, turns a page's slice of `object_list` (e.g. ids) into the rows
    the page shows (e.g. the listings with their joins), so only those get loaded."""

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int,
        *,
        cap: int | None = None,
        load: Callable[[Any], Sequence[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.queryset = object_list
        self.cap = COUNT_CAP if cap is None else cap
        self.load = load

    def page(self, number: Any) -> Page:
        page = super().page(number)
        if self.load is not None:
            page.object_list = self.load(page.object_list)
        return page

    @cached_property
    def _rows_up_to_cap(self) -> int:
        """min(matching rows, cap + 1), counted over a LIMIT subquery."""
        return int(self.queryset.order_by()[: self.cap + 1].count())

    @cached_property
    def count(self) -> int:
        """The number of rows, or the cap when there are more (see `capped`)."""
        return min(self._rows_up_to_cap, self.cap)

    @property
    def capped(self) -> bool:
        """More rows match than the cap: `count` is the cap, the pages stop there."""
        return self._rows_up_to_cap > self.cap
