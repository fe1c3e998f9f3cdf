"""The statistics filter (period and area) and the relocation city choice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.city.periods import Period, last_months
from marketplace.city.providers import Area

MAX_PERIOD_DAYS = 366 * 5


class StatisticsFilterForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"}))
    # Any "city|district" is accepted (an area with no trades yet simply has none); the
    # select offers the places the statistics know.
    area = forms.CharField(label=_("City and district"), required=False, max_length=130, widget=forms.Select)

    def __init__(self, data: Any = None, *, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        default = last_months(timezone.localdate(), 12)
        if data is not None and not any(data.get(name) for name in ("start", "end", "area")):
            data = None
        super().__init__(data, initial={"start": default.start, "end": default.end, "area": ""}, **kwargs)
        self.default_period = default
        choices: list[tuple[str, Any]] = [("", _("Everywhere"))]
        for city, district in areas:
            label = f"{city} {district}" if district else city
            choices.append((f"{city}|{district}", label))
        self.fields["area"].widget.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start: dt.date | None = cleaned.get("start")
        end: dt.date | None = cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The period ends before it starts."))
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                self.add_error("end", _("Choose a period of at most five years."))
        return cleaned

    def period_and_area(self) -> tuple[Period, Area]:
        """The chosen period and area; the defaults (last twelve months, everywhere) when
        the form was not submitted. Call after is_valid()."""
        if not self.is_bound:
            return self.default_period, Area()
        city, _sep, district = (self.cleaned_data.get("area") or "").partition("|")
        return Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"]), Area(city, district)
