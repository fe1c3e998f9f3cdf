"""A rule set as people read it: every section, item, option, threshold, gate, grade and
band in the current language, with what each answer does to the grade and the source
each rule comes from. Used by the public grading-standards pages and the grading forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from grading.rules import Condition, Item, Option, RuleSet, Text, parse_rule_set
from marketplace.models import Category, DeviceType

# What rules may know about the item itself (grading.services.listing_facts), as people say it.
FACT_LABELS: dict[str, Any] = {
    "category": gettext_lazy("Category"),
    "clothing_storage": gettext_lazy("Clothing-storage unit"),
    "height_cm": gettext_lazy("Height (cm)"),
    "upholstered": gettext_lazy("Upholstered"),
    "is_textbook": gettext_lazy("Textbook"),
    "has_access_code": gettext_lazy("Comes with an access code"),
    "device_type": gettext_lazy("Device type"),
}
ITEM_TYPE_LABELS: dict[str, Any] = {
    "boolean": gettext_lazy("Yes or no"),
    "choice": gettext_lazy("One of the options"),
    "multi_choice": gettext_lazy("Any of the options"),
    "number": gettext_lazy("A number"),
    "defect_list": gettext_lazy("A list of defects: position, defect and severity"),
}
PART_LABELS: dict[str, Any] = {
    "functional": gettext_lazy("functional"),
    "cosmetic": gettext_lazy("cosmetic"),
}


def current_language() -> str:
    """ "en" or "zh": the language of the rule sets' bilingual labels to show."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def number(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def effects(rule_set: RuleSet, *, deduction: float = 0, cap: str | None = None, language: str) -> list[str]:
    """What an answer does: "−5 points", "at best B"."""
    found = []
    if deduction:
        found.append(
            ngettext("−%(points)s point", "−%(points)s points", 1 if deduction == 1 else 2)
            % {"points": number(deduction)}
        )
    if cap:
        found.append(_("at best %(grade)s") % {"grade": rule_set.grade(cap).label.get(language)})
    return found


CITATION_NOTES = {
    "health": gettext_lazy("health"),
    "hygiene": gettext_lazy("hygiene"),
    "replaced parts are always disclosed": gettext_lazy("replaced parts are always disclosed"),
}


def citation_display(citation: str) -> str:
    """Citations name their sources as published (foreign standards keep their titles);
    only our own "Platform rule 2026.1" is said in the reader's language."""
    prefix = "Platform rule"
    if not citation.startswith(prefix):
        return citation
    rest = citation[len(prefix) :]
    for english, text in CITATION_NOTES.items():
        rest = rest.replace(f"({english})", f"({text})")
    return str(_("Platform rule")) + rest


def option_label(rule_set: RuleSet, option: Option, *, language: str) -> str:
    """An option with its effect, as graders see it in the forms: "obvious leak (−5 points)"."""
    label = option.label.get(language)
    # "Fine" capping the grade at Fine goes without saying.
    cap = option.cap if option.cap != option.key else None
    found = effects(rule_set, deduction=option.deduction, cap=cap, language=language)
    return f"{label} ({'; '.join(found)})" if found else label


@dataclass(frozen=True)
class OptionView:
    key: str
    label: str
    effects: list[str]


@dataclass(frozen=True)
class ItemView:
    key: str
    label: str
    type: str
    type_label: str
    citation: str
    required: str
    help: str = ""
    effects: list[str] = field(default_factory=list)  # booleans: what a "yes" does
    options: list[OptionView] = field(default_factory=list)
    minimum: str = ""
    maximum: str = ""
    unit: str = ""
    thresholds: list[tuple[str, list[str]]] = field(default_factory=list)
    positions: list[OptionView] = field(default_factory=list)
    defects: list[OptionView] = field(default_factory=list)
    severities: list[OptionView] = field(default_factory=list)
    disclose: bool = False
    gates: list[str] = field(default_factory=list)  # the gates that look at this item


@dataclass(frozen=True)
class SectionView:
    key: str
    label: str
    part: str
    citation: str
    max_points: str
    items: list[ItemView]


@dataclass(frozen=True)
class GateView:
    key: str
    label: str
    condition: str
    outcome: str
    citation: str
    forced_grade: str = ""


@dataclass(frozen=True)
class GradeView:
    key: str
    label: str
    description: str
    sellable: bool
    score_range: str = ""


@dataclass(frozen=True)
class StandardView:
    key: str
    version: str
    status: str
    category: str
    device_types: list[str]
    title: str
    source: str
    notes: str
    content_hash: str
    published_at: dt.datetime | None
    max_score: str
    sections: list[SectionView]
    gates: list[GateView]
    grades: list[GradeView]


def _options(rule_set: RuleSet, options: tuple[Option, ...], language: str) -> list[OptionView]:
    return [
        OptionView(
            key=o.key,
            label=o.label.get(language),
            effects=effects(rule_set, deduction=o.deduction, cap=o.cap, language=language),
        )
        for o in options
    ]


def _fact_value(fact: str, value: Any) -> str:
    if fact == "category" and value in Category.values:
        return str(Category(value).label)
    if fact == "device_type" and value in DeviceType.values:
        return str(DeviceType(value).label)
    return number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _answer_value(item: Item | None, value: Any, language: str) -> str:
    if item is not None and isinstance(value, str) and (option := item.option(value)) is not None:
        return option.label.get(language)
    return _fact_value("", value)


def describe_condition(rule_set: RuleSet, condition: Condition, *, language: str, nested: bool = False) -> str:
    """A gate's or item's condition in words: “FRP still on” is yes; Height (cm) ≥ 68.6 …"""
    if condition.all or condition.any:
        joiner = _(" and ") if condition.all else _(" or ")
        parts = [
            describe_condition(rule_set, c, language=language, nested=True) for c in condition.all or condition.any
        ]
        text = joiner.join(parts)
        return f"({text})" if nested and len(parts) > 1 else text
    item = rule_set.items().get(condition.item or "") if condition.item else None
    fact = condition.fact
    if fact is not None:
        subject = str(FACT_LABELS.get(fact, fact))
    else:
        subject = f"“{item.label.get(language) if item else condition.item}”"

    def show(value: Any) -> str:
        return _fact_value(fact, value) if fact is not None else _answer_value(item, value, language)

    op, value = condition.op, condition.value
    if op == "has_defect":
        if condition.defects and item is not None:
            names = [d.label.get(language) for d in item.defects if d.key in condition.defects]
            return _("%(subject)s lists %(defects)s") % {"subject": subject, "defects": _(", ").join(names)}
        return _("%(subject)s lists any defect") % {"subject": subject}
    if op == "is":
        return (_("%(subject)s: yes") if value else _("%(subject)s: no")) % {"subject": subject}
    if op == "in":
        values = _(", ").join(show(v) for v in value)
        return _("%(subject)s is one of %(values)s") % {"subject": subject, "values": values}
    symbol = {"equals": "=", "not_equals": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}[op]
    unit = item.unit if item is not None and op in ("lt", "lte", "gt", "gte") else ""
    return f"{subject} {symbol} {show(value)}{unit}"


def _required(rule_set: RuleSet, item: Item, language: str) -> str:
    if item.required_when is not None:
        return _("Asked only when: %(condition)s") % {
            "condition": describe_condition(rule_set, item.required_when, language=language)
        }
    return str(_("Required") if item.required else _("Optional"))


def _thresholds(rule_set: RuleSet, item: Item, language: str) -> list[tuple[str, list[str]]]:
    """Number thresholds as ranges; the first threshold the value is below applies."""
    rows: list[tuple[str, list[str]]] = []
    ascending = all(a.below < b.below for a, b in zip(item.thresholds, item.thresholds[1:], strict=False))
    low = item.minimum
    for threshold in item.thresholds:
        found = effects(rule_set, deduction=threshold.deduction, cap=threshold.cap, language=language)
        if threshold.label is not None:
            found.insert(0, threshold.label.get(language))
        if ascending and low is not None:
            span = _("%(low)s to under %(high)s%(unit)s") % {
                "low": number(low),
                "high": number(threshold.below),
                "unit": item.unit,
            }
            low = threshold.below
        else:
            span = _("under %(high)s%(unit)s") % {"high": number(threshold.below), "unit": item.unit}
        rows.append((span, found or [_("no effect")]))
    if ascending and low is not None and item.maximum is not None and low <= item.maximum and item.thresholds:
        rows.append(
            (
                _("%(low)s to %(high)s%(unit)s")
                % {"low": number(low), "high": number(item.maximum), "unit": item.unit},
                [_("no effect")],
            )
        )
    return rows


def condition_items(condition: Condition) -> set[str]:
    """The check items a condition looks at."""
    found = {condition.item} if condition.item else set()
    for sub in (*condition.all, *condition.any):
        found |= condition_items(sub)
    return found


def _item(rule_set: RuleSet, item: Item, language: str) -> ItemView:
    return ItemView(
        key=item.key,
        label=item.label.get(language),
        type=item.type,
        type_label=str(ITEM_TYPE_LABELS[item.type]),
        citation=citation_display(item.citation),
        required=_required(rule_set, item, language),
        help=item.help.get(language) if item.help else "",
        effects=effects(rule_set, deduction=item.deduction_if_true, cap=item.cap_if_true, language=language)
        if item.type == "boolean"
        else [],
        options=_options(rule_set, item.options, language),
        minimum=number(item.minimum),
        maximum=number(item.maximum),
        unit=item.unit,
        thresholds=_thresholds(rule_set, item, language) if item.type == "number" else [],
        positions=_options(rule_set, item.positions, language),
        defects=_options(rule_set, item.defects, language),
        severities=_options(rule_set, item.severities, language),
        disclose=item.disclose,
        gates=[gate.label.get(language) for gate in rule_set.gates if item.key in condition_items(gate.when)],
    )


def _score_ranges(rule_set: RuleSet) -> dict[str, str]:
    ranges: dict[str, str] = {}
    top = rule_set.max_score
    for band in sorted(rule_set.bands, key=lambda b: -b.min_score):
        if top is None:
            ranges[band.grade] = _("score %(low)s or more") % {"low": number(band.min_score)}
        elif top == rule_set.max_score:
            ranges[band.grade] = _("score %(low)s to %(high)s") % {"low": number(band.min_score), "high": number(top)}
        else:
            ranges[band.grade] = _("score %(low)s to under %(high)s") % {
                "low": number(band.min_score),
                "high": number(top),
            }
        top = band.min_score
    return ranges


def _text(value: Mapping[str, str] | str | None, language: str) -> str:
    return Text.of(value).get(language) if value else ""


def standard_view(
    document: Mapping[str, Any],
    *,
    content_hash: str,
    published_at: dt.datetime | None,
    status: str,
    language: str | None = None,
) -> StandardView:
    """Everything a published rule-set version says, ready for the standards page."""
    language = language or current_language()
    rule_set = parse_rule_set(document)
    ranges = _score_ranges(rule_set)
    return StandardView(
        key=rule_set.key,
        version=rule_set.version,
        status=status,
        category=str(Category(rule_set.category).label),
        device_types=[str(DeviceType(d).label) if d in DeviceType.values else d for d in rule_set.device_types],
        title=rule_set.title.get(language),
        source=rule_set.source.get(language),
        notes=_text(document.get("notes"), language),
        content_hash=content_hash,
        published_at=published_at,
        max_score=number(rule_set.max_score),
        sections=[
            SectionView(
                key=section.key,
                label=section.label.get(language),
                part=str(PART_LABELS[section.part]),
                citation=citation_display(section.citation),
                max_points=number(section.max_points),
                items=[_item(rule_set, item, language) for item in section.items],
            )
            for section in rule_set.sections
        ],
        gates=[
            GateView(
                key=gate.key,
                label=gate.label.get(language),
                condition=describe_condition(rule_set, gate.when, language=language),
                outcome=str(_("Not sellable"))
                if gate.outcome == "not_sellable"
                else _("Forced to %(grade)s whatever the score")
                % {"grade": rule_set.grade(gate.grade or "").label.get(language)},
                citation=citation_display(gate.citation),
                forced_grade=gate.grade or "",
            )
            for gate in rule_set.gates
        ],
        grades=[
            GradeView(
                key=grade.key,
                label=grade.label.get(language),
                description=grade.description.get(language) if grade.description else "",
                sellable=grade.sellable,
                score_range=ranges.get(grade.key, ""),
            )
            for grade in rule_set.grades
        ],
    )
