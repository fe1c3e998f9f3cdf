"""Forms of the grading screens in the Wagtail admin."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django import forms
from django.utils.translation import gettext_lazy as _

from grading.models import RuleSetVersion, ValuationParameters
from marketplace.models import Category, DeviceType


def document_source(document: dict[str, Any]) -> str:
    """A rule-set document as the YAML a person edits (labels stay readable Chinese)."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


class RuleSetDocumentForm(forms.ModelForm):
    """A draft rule-set version, pasted as YAML or JSON (JSON is YAML too). The schema
    check happens in the service, which reports every problem at once."""

    source = forms.CharField(
        label=_("Rule-set document (YAML or JSON)"),
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "grading-ruleset-source"}),
        help_text=_(
            "The whole document: key, version, category, title, source, grades, sections, gates and bands. "
            'Quote version numbers ("2027.1"). Copy a shipped rule set and give it a new version to start.'
        ),
    )

    class Meta:
        model = RuleSetVersion
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["source"] = document_source(self.instance.document)

    def clean_source(self) -> dict[str, Any]:
        text = self.cleaned_data["source"]
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = ""
            if mark is not None:
                where = _(" (line %(line)d, column %(column)d)") % {"line": mark.line + 1, "column": mark.column + 1}
            raise forms.ValidationError(
                _("This is neither valid YAML nor JSON: %(problem)s%(where)s"),
                params={"problem": getattr(exc, "problem", None) or exc, "where": where},
            ) from exc
        if not isinstance(document, dict):
            raise forms.ValidationError(_("The document must be a mapping with key, version, category, …"))
        try:
            json.dumps(document)
        except (TypeError, ValueError) as exc:
            # YAML turns unquoted dates and times into objects JSON cannot hold.
            raise forms.ValidationError(
                _("Some values are not plain text or numbers (%(problem)s); quote dates and times."),
                params={"problem": exc},
            ) from exc
        return document


class RuleSetAcceptableForm(forms.Form):
    acceptable = forms.TypedChoiceField(
        choices=[("true", _("acceptable")), ("false", _("not acceptable"))],
        coerce=lambda value: value == "true",
        widget=forms.HiddenInput,
    )


class ValuationParametersForm(forms.ModelForm):
    category = forms.ChoiceField(label=_("category"), choices=Category.choices)
    device_type = forms.ChoiceField(
        label=_("device type"),
        choices=[("", _("All device types")), *DeviceType.choices],
        required=False,
        help_text=_("Electronics only: parameters for one device type; leave empty for the whole category."),
    )
    grade_multipliers = forms.JSONField(
        label=_("grade multipliers (%)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_('Percent of the base price per grade key, e.g. {"S": 110, "A": 100, "B": 90}.'),
    )

    class Meta:
        model = ValuationParameters
        fields = (
            "category",
            "device_type",
            "annual_depreciation_percent",
            "floor_percent",
            "useful_life_years",
            "band_percent",
            "grade_multipliers",
            "comparable_days",
        )

    def clean_grade_multipliers(self) -> dict[str, int]:
        value = self.cleaned_data.get("grade_multipliers") or {}
        if not isinstance(value, dict) or not all(
            isinstance(key, str) and isinstance(percent, int) and not isinstance(percent, bool) and 0 < percent <= 500
            for key, percent in value.items()
        ):
            raise forms.ValidationError(
                _('Give an object of grade keys and whole percentages between 1 and 500, e.g. {"A": 100}.')
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("device_type") and cleaned.get("category") != Category.ELECTRONICS:
            self.add_error("device_type", _("Only electronics have device types."))
        for name in ("annual_depreciation_percent", "floor_percent", "band_percent"):
            if (cleaned.get(name) or 0) > 100:
                self.add_error(name, _("At most 100%."))
        if cleaned.get("useful_life_years") == 0:
            self.add_error("useful_life_years", _("At least one year."))
        return cleaned
