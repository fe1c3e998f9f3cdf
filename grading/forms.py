"""Forms of the grading screens: the Wagtail admin's, and the pages where sellers self-assess,
appraisers grade and sign, and appraisers submit their credentials."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import IO, Any

import yaml
from django import forms
from django.utils.translation import gettext_lazy as _

from grading.models import RuleSetVersion, ValuationParameters
from grading.presentation import PART_LABELS, effects, number, option_label
from grading.rules import Item, RuleSet, condition_holds
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


class AppraisalReviewNoteForm(forms.Form):
    # Required by the service (its message is shown); optional here so an empty note is
    # answered with that message rather than a generic form error.
    note = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The appraiser sees it when the appraisal is rejected."),
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


# --- Grading pages: the answers to a rule set, and appraiser credentials -------------------

# Empty defect rows offered per defect list; a grader rarely needs more, and a re-assessment
# offers two more than it had.
DEFECT_ROWS = 6
BOOLEAN_CHOICES = (("yes", _("Yes")), ("no", _("No")))
# Choice items with more options than this are a drop-down instead of radio buttons.
MAX_RADIO_OPTIONS = 6


def _yes(value: str) -> bool:
    return value == "yes"


@dataclass
class DefectRow:
    number: int
    position: forms.BoundField
    defect: forms.BoundField
    severity: forms.BoundField | None
    evidence: forms.BoundField | None

    @property
    def errors(self) -> list[str]:
        fields = [self.position, self.defect, self.severity, self.evidence]
        return [str(error) for bound in fields if bound is not None for error in bound.errors]


@dataclass
class ItemFields:
    """One check item as the template shows it: a field, or rows for a defect list."""

    item: Item
    label: str
    help: str
    citation: str
    field: forms.BoundField | None = None
    rows: list[DefectRow] = dataclass_field(default_factory=list)
    has_severity: bool = False
    errors: list[str] = dataclass_field(default_factory=list)


@dataclass
class SectionFields:
    label: str
    part: str
    max_points: str
    items: list[ItemFields]


class GradingForm(forms.Form):
    """The answers to one rule set for one listing, generated from the rule set: a yes/no
    radio pair per boolean, radios or a drop-down per choice, a number input with its unit,
    checkboxes for multiple choices, and a fixed number of position/defect/severity rows
    per defect list (with an evidence photo per row for certified appraisals). Items that
    apply only to some listings (`required_when` on the listing's facts) are left out when
    they do not apply. The evaluator validates again when the answers are signed."""

    prefix = "answer"

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        rule_set: RuleSet,
        facts: Mapping[str, Any],
        language: str,
        evidence: bool = False,
        initial_answers: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data, files)
        self.rule_set = rule_set
        self.language = language
        self.with_evidence = evidence
        self.item_errors: dict[str, list[str]] = {}
        initial_answers = initial_answers or {}
        self.applicable = [
            item
            for section in rule_set.sections
            for item in section.items
            if item.required_when is None or condition_holds(item.required_when, {}, facts)
        ]
        self.row_counts: dict[str, int] = {}
        for item in self.applicable:
            if item.type == "defect_list":
                entries = initial_answers.get(item.key) or []
                self._add_defect_rows(item, entries)
            else:
                self.fields[item.key] = self._field(item)
                if item.key in initial_answers:
                    self.initial[item.key] = self._initial(item, initial_answers[item.key])

    # --- building ---------------------------------------------------------------------

    def _field(self, item: Item) -> forms.Field:
        field = self._bare_field(item)
        field.help_text = item.help.get(self.language) if item.help else ""
        return field

    def _bare_field(self, item: Item) -> forms.Field:
        label = item.label.get(self.language)
        # Items asked only under a condition are required whenever they are shown.
        required = item.required or item.required_when is not None
        options = [(o.key, option_label(self.rule_set, o, language=self.language)) for o in item.options]
        if item.type == "boolean":
            found = effects(
                self.rule_set, deduction=item.deduction_if_true, cap=item.cap_if_true, language=self.language
            )
            yes = str(_("Yes")) + (f" ({'; '.join(found)})" if found else "")
            return forms.TypedChoiceField(
                label=label,
                choices=[("yes", yes), ("no", _("No"))],
                coerce=_yes,
                empty_value=None,
                required=required,
                widget=forms.RadioSelect,
            )
        if item.type == "choice":
            if len(options) <= MAX_RADIO_OPTIONS:
                return forms.ChoiceField(label=label, choices=options, required=required, widget=forms.RadioSelect)
            return forms.ChoiceField(label=label, choices=[("", "—"), *options], required=required, widget=forms.Select)
        if item.type == "multi_choice":
            return forms.MultipleChoiceField(
                label=label, choices=options, required=required, widget=forms.CheckboxSelectMultiple
            )
        whole = all(
            float(v).is_integer()
            for v in (item.minimum, item.maximum, *(t.below for t in item.thresholds))
            if v is not None
        )
        return forms.FloatField(
            label=f"{label} ({item.unit})" if item.unit else label,
            min_value=item.minimum,
            max_value=item.maximum,
            required=required,
            widget=forms.NumberInput(attrs={"step": "1" if whole else "any", "inputmode": "decimal"}),
        )

    def _initial(self, item: Item, value: Any) -> Any:
        if item.type == "boolean":
            return "yes" if value else "no"
        return value

    def _add_defect_rows(self, item: Item, entries: list[Mapping[str, Any]]) -> None:
        count = max(DEFECT_ROWS, len(entries) + 2) if entries else DEFECT_ROWS
        self.row_counts[item.key] = count
        label = item.label.get(self.language)
        positions = [("", "—"), *((p.key, p.label.get(self.language)) for p in item.positions)]
        defects = [("", "—"), *((d.key, option_label(self.rule_set, d, language=self.language)) for d in item.defects)]
        severities = [
            ("", "—"),
            *((s.key, option_label(self.rule_set, s, language=self.language)) for s in item.severities),
        ]
        for index in range(count):
            number = index + 1
            names = self._row_names(item.key, index)
            entry = entries[index] if index < len(entries) else {}
            self.fields[names["position"]] = forms.ChoiceField(
                label=_("%(item)s, row %(number)d: position") % {"item": label, "number": number},
                choices=positions,
                required=False,
                initial=entry.get("position", ""),
            )
            self.fields[names["defect"]] = forms.ChoiceField(
                label=_("%(item)s, row %(number)d: defect") % {"item": label, "number": number},
                choices=defects,
                required=False,
                initial=entry.get("defect", ""),
            )
            if item.severities:
                self.fields[names["severity"]] = forms.ChoiceField(
                    label=_("%(item)s, row %(number)d: severity") % {"item": label, "number": number},
                    choices=severities,
                    required=False,
                    initial=entry.get("severity", ""),
                )
            if self.with_evidence:
                self.fields[names["evidence"]] = forms.FileField(
                    label=_("%(item)s, row %(number)d: evidence photo") % {"item": label, "number": number},
                    required=False,
                    widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
                )

    @staticmethod
    def _row_names(key: str, index: int) -> dict[str, str]:
        return {part: f"{key}.{index}.{part}" for part in ("position", "defect", "severity", "evidence")}

    # --- reading ----------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for item in self.applicable:
            if item.type != "defect_list":
                continue
            entries = []
            for index in range(self.row_counts[item.key]):
                names = self._row_names(item.key, index)
                position = cleaned.get(names["position"]) or ""
                defect = cleaned.get(names["defect"]) or ""
                severity = cleaned.get(names["severity"]) or ""
                photo = cleaned.get(names["evidence"])
                if not (position or defect or severity or photo):
                    continue
                if not position:
                    self.add_error(names["position"], _("Choose where the defect is."))
                if not defect:
                    self.add_error(names["defect"], _("Choose the defect."))
                if item.severities and not severity:
                    self.add_error(names["severity"], _("Choose how severe the defect is."))
                if position and defect and (severity or not item.severities):
                    entry = {"position": position, "defect": defect}
                    if item.severities:
                        entry["severity"] = severity
                    entries.append((entry, photo))
            cleaned[item.key] = entries
        return cleaned

    def answers(self) -> dict[str, Any]:
        """The answers as the evaluator takes them (call after is_valid())."""
        found: dict[str, Any] = {}
        for item in self.applicable:
            value = self.cleaned_data.get(item.key)
            if item.type == "defect_list":
                found[item.key] = [entry for entry, _photo in value or []]
            elif item.type == "number" and value is not None:
                found[item.key] = int(value) if float(value).is_integer() else value
            elif item.type == "multi_choice":
                if value or item.required or item.required_when is not None:
                    found[item.key] = list(value or [])
            elif value is not None and value != "":
                found[item.key] = value
        return found

    def evidence(self) -> list[tuple[dict[str, str], IO[bytes], int, str]]:
        """The evidence photos of the defect rows, as appraisal_submit takes them."""
        photos = []
        for item in self.applicable:
            if item.type != "defect_list":
                continue
            for entry, photo in self.cleaned_data.get(item.key) or []:
                if photo is not None:
                    meta = {"item": item.key, "position": entry["position"], "defect": entry["defect"]}
                    photos.append((meta, photo, photo.size or 0, photo.name or ""))
        return photos

    def add_answer_errors(self, problems: Mapping[str, Mapping[str, str]]) -> None:
        """Put the evaluator's problems (details["answers"] of ValidationFailed) next to
        the items they concern."""
        items = self.rule_set.items()
        for key, problem in problems.items():
            item = items.get(key)
            message = answer_problem_message(item, problem.get("code", ""), problem.get("message", ""))
            if key in self.fields:
                self.add_error(key, message)
            elif item is not None and item.type == "defect_list" and key in self.row_counts:
                self.item_errors.setdefault(key, []).append(message)
            else:
                self.add_error(None, message)

    # --- showing ----------------------------------------------------------------------

    def sections(self) -> list[SectionFields]:
        shown = {item.key for item in self.applicable}
        result = []
        for section in self.rule_set.sections:
            items = []
            for item in section.items:
                if item.key not in shown:
                    continue
                entry = ItemFields(
                    item=item,
                    label=item.label.get(self.language),
                    help=item.help.get(self.language) if item.help else "",
                    citation=item.citation,
                    has_severity=bool(item.severities),
                    errors=self.item_errors.get(item.key, []),
                )
                if item.type == "defect_list":
                    for index in range(self.row_counts[item.key]):
                        names = self._row_names(item.key, index)
                        entry.rows.append(
                            DefectRow(
                                number=index + 1,
                                position=self[names["position"]],
                                defect=self[names["defect"]],
                                severity=self[names["severity"]] if item.severities else None,
                                evidence=self[names["evidence"]] if self.with_evidence else None,
                            )
                        )
                else:
                    entry.field = self[item.key]
                items.append(entry)
            if items:
                result.append(
                    SectionFields(
                        label=section.label.get(self.language),
                        part=str(PART_LABELS[section.part]),
                        max_points=number(section.max_points),
                        items=items,
                    )
                )
        return result


def answer_problem_message(item: Item | None, code: str, fallback: str) -> str:
    """The evaluator's problem codes in the reader's language (its own messages are English)."""
    if code == "missing_item":
        return str(_("Answer this question."))
    if code == "out_of_range" and item is not None:
        return _("Give a number from %(min)s to %(max)s.") % {"min": number(item.minimum), "max": number(item.maximum)}
    if code in ("unknown_option", "unknown_position", "unknown_defect", "unknown_severity", "wrong_type"):
        return str(_("Choose one of the options offered."))
    if code == "unknown_item":
        return str(_("The grading standard changed while you were filling in the form; check your answers."))
    return fallback


class SignAppraisalForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I inspected this item and sign this appraisal"),
        error_messages={"required": _("Confirm that you inspected the item before signing.")},
    )


class CredentialForm(forms.Form):
    issuer = forms.CharField(
        label=_("Issuer"), max_length=200, help_text=_("Who issued the credential, e.g. 中国旧货业协会.")
    )
    number = forms.CharField(label=_("Credential number"), max_length=64)
    categories = forms.MultipleChoiceField(
        label=_("Categories"),
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The kinds of items the credential lets you appraise."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(
        label=_("Credential document"),
        help_text=_("A scan or photo of the certificate: PDF, JPEG or PNG. Only staff see it."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
