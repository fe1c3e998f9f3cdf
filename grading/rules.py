"""The grading evaluator: a rule set plus a grader's answers give a grade.

Pure: no database, no Django. A rule set is data (see grading/rulesets/*.yaml and
grading/schema.py); `parse_rule_set` turns the validated document into dataclasses
and `evaluate` applies it:

1. every section starts at its maximum points and loses the deductions of its items
   (never below zero); the score is the sum of the sections, and grade bands map it
   to a grade — or, for rule sets without points, the best grade is the start;
2. answers may cap the grade ("marks visible from 50 cm: at best B");
3. gates are hard rules: a failing gate either forces a grade (an accident car is
   五级 whatever its score) or makes the item not sellable. Gates dominate the score.

Deductions are non-negative, caps only worsen and gate conditions only look for the
presence of a defect, so adding a defect never improves the result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import rfc8785

ItemType = Literal["boolean", "choice", "multi_choice", "number", "defect_list"]
Language = Literal["zh", "en"]


class AnswerError(ValueError):
    """Answers that do not fit the rule set. `errors` maps item keys to (code, message)."""

    def __init__(self, errors: dict[str, tuple[str, str]]):
        super().__init__("; ".join(f"{key}: {message}" for key, (_, message) in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, language: str) -> str:
        if language.startswith("en"):
            return self.en
        # Some shipped labels carry the English name after the Chinese ("上佳 Fine"); the
        # Chinese page shows the Chinese only, so grade pills read alike ("上佳", "B 级", "一级").
        suffix = f" {self.en}"
        if self.en and self.zh.endswith(suffix) and len(self.zh) > len(suffix):
            return self.zh[: -len(suffix)].rstrip()
        return self.zh

    @classmethod
    def of(cls, value: Mapping[str, str] | str) -> Text:
        if isinstance(value, str):
            return cls(zh=value, en=value)
        return cls(zh=value["zh"], en=value["en"])


@dataclass(frozen=True)
class Option:
    key: str
    label: Text
    deduction: float = 0
    cap: str | None = None


@dataclass(frozen=True)
class Threshold:
    """Applies when the number is below `below` (the first matching threshold wins)."""

    below: float
    deduction: float = 0
    cap: str | None = None
    label: Text | None = None


@dataclass(frozen=True)
class Item:
    key: str
    type: ItemType
    label: Text
    citation: str
    required: bool = True
    required_when: Condition | None = None
    help: Text | None = None
    # boolean: what a "yes" costs
    deduction_if_true: float = 0
    cap_if_true: str | None = None
    # choice / multi_choice
    options: tuple[Option, ...] = ()
    # number
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    thresholds: tuple[Threshold, ...] = ()
    # defect_list
    positions: tuple[Option, ...] = ()
    defects: tuple[Option, ...] = ()
    severities: tuple[Option, ...] = ()
    disclose: bool = False

    def option(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)


@dataclass(frozen=True)
class Section:
    key: str
    label: Text
    part: Literal["functional", "cosmetic"]
    citation: str
    items: tuple[Item, ...]
    max_points: float | None = None


@dataclass(frozen=True)
class Condition:
    """A small declarative predicate over answers and listing facts.

    Exactly one form is used: `all`/`any` of sub-conditions, or a comparison of an
    item's answer (`item`) or a listing fact (`fact`) by one operator."""

    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    item: str | None = None
    fact: str | None = None
    op: str = "is"
    value: Any = None
    defects: tuple[str, ...] = ()  # for op "has_defect": restrict to these defect codes


@dataclass(frozen=True)
class Gate:
    key: str
    label: Text
    citation: str
    when: Condition
    outcome: Literal["not_sellable", "forced_grade"]
    grade: str | None = None


@dataclass(frozen=True)
class Grade:
    key: str
    label: Text
    sellable: bool = True
    description: Text | None = None


@dataclass(frozen=True)
class Band:
    grade: str
    min_score: float


@dataclass(frozen=True)
class RuleSet:
    key: str
    version: str
    category: str
    device_types: tuple[str, ...]
    title: Text
    source: Text
    grades: tuple[Grade, ...]  # best first
    sections: tuple[Section, ...]
    gates: tuple[Gate, ...]
    bands: tuple[Band, ...] = ()
    content_hash: str = ""

    def items(self) -> dict[str, Item]:
        return {item.key: item for section in self.sections for item in section.items}

    def grade(self, key: str) -> Grade:
        return next(grade for grade in self.grades if grade.key == key)

    def rank(self, grade_key: str) -> int:
        """0 is the best grade; larger is worse."""
        return [grade.key for grade in self.grades].index(grade_key)

    @property
    def max_score(self) -> float | None:
        """The sum of the scored sections' maxima; None when no section carries points."""
        points = [section.max_points for section in self.sections if section.max_points is not None]
        return sum(points) if points else None


@dataclass(frozen=True)
class Finding:
    """One line of the explanation: what an answer did to the result."""

    kind: Literal["deduction", "cap", "gate", "disclosure", "band"]
    item: str
    text: Text
    points: float = 0
    grade: str | None = None


@dataclass(frozen=True)
class Result:
    grade: str | None  # None when not sellable
    sellable: bool
    score: float | None
    section_scores: dict[str, float]
    gate_failures: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def explanation(self, language: str = "zh") -> list[str]:
        return [finding.text.get(language) for finding in self.findings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "sellable": self.sellable,
            "score": self.score,
            "section_scores": dict(self.section_scores),
            "gate_failures": list(self.gate_failures),
            "findings": [
                {
                    "kind": f.kind,
                    "item": f.item,
                    "points": f.points,
                    "grade": f.grade,
                    "text": {"zh": f.text.zh, "en": f.text.en},
                }
                for f in self.findings
            ],
        }


# --- parsing -----------------------------------------------------------------------


def content_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of a rule-set document."""
    return hashlib.sha256(rfc8785.dumps(json.loads(json.dumps(document)))).hexdigest()


def _options(raw: Sequence[Mapping[str, Any]] | None) -> tuple[Option, ...]:
    return tuple(
        Option(
            key=str(o["key"]),
            label=Text.of(o["label"]),
            deduction=float(o.get("deduction", 0)),
            cap=o.get("cap"),
        )
        for o in raw or ()
    )


def _condition(raw: Mapping[str, Any]) -> Condition:
    if "all" in raw:
        return Condition(all=tuple(_condition(c) for c in raw["all"]))
    if "any" in raw:
        return Condition(any=tuple(_condition(c) for c in raw["any"]))
    operators = ("is", "equals", "not_equals", "lt", "lte", "gt", "gte", "has_defect", "in")
    op = next((name for name in operators if name in raw), "is")
    value = raw.get(op, True)
    defects: tuple[str, ...] = ()
    if op == "has_defect":
        defects = tuple(value) if isinstance(value, list) else ()
        value = True
    return Condition(item=raw.get("item"), fact=raw.get("fact"), op=op, value=value, defects=defects)


def _item(raw: Mapping[str, Any]) -> Item:
    return Item(
        key=raw["key"],
        type=raw["type"],
        label=Text.of(raw["label"]),
        citation=raw["citation"],
        required=raw.get("required", True) and "required_when" not in raw,
        required_when=_condition(raw["required_when"]) if "required_when" in raw else None,
        help=Text.of(raw["help"]) if "help" in raw else None,
        deduction_if_true=float(raw.get("deduction_if_true", 0)),
        cap_if_true=raw.get("cap_if_true"),
        options=_options(raw.get("options")),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        unit=raw.get("unit", ""),
        thresholds=tuple(
            Threshold(
                below=float(t["below"]),
                deduction=float(t.get("deduction", 0)),
                cap=t.get("cap"),
                label=Text.of(t["label"]) if "label" in t else None,
            )
            for t in raw.get("thresholds", ())
        ),
        positions=_options(raw.get("positions")),
        defects=_options(raw.get("defects")),
        severities=_options(raw.get("severities")),
        disclose=bool(raw.get("disclose", False)),
    )


def parse_rule_set(document: Mapping[str, Any]) -> RuleSet:
    """Build the evaluator's view of a schema-valid rule-set document."""
    return RuleSet(
        key=document["key"],
        version=str(document["version"]),
        category=document["category"],
        device_types=tuple(document.get("device_types", ())),
        title=Text.of(document["title"]),
        source=Text.of(document["source"]),
        grades=tuple(
            Grade(
                key=g["key"],
                label=Text.of(g["label"]),
                sellable=g.get("sellable", True),
                description=Text.of(g["description"]) if "description" in g else None,
            )
            for g in document["grades"]
        ),
        sections=tuple(
            Section(
                key=s["key"],
                label=Text.of(s["label"]),
                part=s["part"],
                citation=s["citation"],
                max_points=s.get("max_points"),
                items=tuple(_item(i) for i in s["items"]),
            )
            for s in document["sections"]
        ),
        gates=tuple(
            Gate(
                key=g["key"],
                label=Text.of(g["label"]),
                citation=g["citation"],
                when=_condition(g["when"]),
                outcome=g["outcome"],
                grade=g.get("grade"),
            )
            for g in document.get("gates", ())
        ),
        bands=tuple(Band(grade=b["grade"], min_score=float(b["min_score"])) for b in document.get("bands", ())),
        content_hash=content_hash(document),
    )


# --- answers ---------------------------------------------------------------------------


def _fact_or_answer(condition: Condition, answers: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    if condition.fact is not None:
        return facts.get(condition.fact)
    return answers.get(condition.item or "")


def condition_holds(condition: Condition, answers: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if condition.all:
        return all(condition_holds(c, answers, facts) for c in condition.all)
    if condition.any:
        return any(condition_holds(c, answers, facts) for c in condition.any)
    value = _fact_or_answer(condition, answers, facts)
    op, expected = condition.op, condition.value
    if op == "has_defect":
        entries = value or []
        return any(not condition.defects or entry.get("defect") in condition.defects for entry in entries)
    if value is None:
        return False
    if op == "is":
        return bool(value) is bool(expected)
    if op == "equals":
        return bool(value == expected)
    if op == "not_equals":
        return bool(value != expected)
    if op == "in":
        return value in expected
    number = float(value)
    return {
        "lt": number < expected,
        "lte": number <= expected,
        "gt": number > expected,
        "gte": number >= expected,
    }[op]


def _is_required(item: Item, facts: Mapping[str, Any]) -> bool:
    if item.required_when is not None:
        return condition_holds(item.required_when, {}, facts)
    return item.required


def validate_answers(
    rule_set: RuleSet, answers: Mapping[str, Any], facts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check answers against the rule set and return them normalised, or raise AnswerError
    listing every problem (unknown item, wrong type, missing required item, bad option)."""
    facts = facts or {}
    items = rule_set.items()
    errors: dict[str, tuple[str, str]] = {}
    clean: dict[str, Any] = {}
    for key in answers:
        if key not in items:
            errors[key] = ("unknown_item", f"“{key}” is not a check item of {rule_set.key} {rule_set.version}")
    for key, item in items.items():
        if key not in answers or answers[key] is None:
            if _is_required(item, facts):
                errors[key] = ("missing_item", f"“{item.label.en}” must be answered")
            continue
        value = answers[key]
        problem = _check_value(item, value)
        if problem:
            errors[key] = problem
        else:
            clean[key] = _normalise_value(item, value)
    if errors:
        raise AnswerError(errors)
    return clean


def _check_value(item: Item, value: Any) -> tuple[str, str] | None:
    if item.type == "boolean":
        return None if isinstance(value, bool) else ("wrong_type", "expected true or false")
    if item.type == "choice":
        if not isinstance(value, str):
            return ("wrong_type", "expected one option key")
        return None if item.option(value) else ("unknown_option", f"“{value}” is not an option")
    if item.type == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ("wrong_type", "expected a list of option keys")
        unknown = [v for v in value if item.option(v) is None]
        return ("unknown_option", f"unknown options: {', '.join(unknown)}") if unknown else None
    if item.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ("wrong_type", "expected a number")
        if (item.minimum is not None and value < item.minimum) or (item.maximum is not None and value > item.maximum):
            return ("out_of_range", f"expected a number from {item.minimum} to {item.maximum}")
        return None
    # defect_list
    if not isinstance(value, list):
        return ("wrong_type", "expected a list of defects")
    positions = {p.key for p in item.positions}
    defects = {d.key for d in item.defects}
    severities = {s.key for s in item.severities}
    for entry in value:
        if not isinstance(entry, Mapping):
            return ("wrong_type", "each defect is an object with position, defect and severity")
        if entry.get("position") not in positions:
            return ("unknown_position", f"unknown position “{entry.get('position')}”")
        if entry.get("defect") not in defects:
            return ("unknown_defect", f"unknown defect “{entry.get('defect')}”")
        if severities and str(entry.get("severity")) not in severities:
            return ("unknown_severity", f"unknown severity “{entry.get('severity')}”")
    return None


def _normalise_value(item: Item, value: Any) -> Any:
    if item.type == "defect_list":
        entries = [
            {"position": e["position"], "defect": e["defect"], "severity": str(e.get("severity", ""))} for e in value
        ]
        return sorted(entries, key=lambda e: (e["position"], e["defect"], e["severity"]))
    if item.type == "multi_choice":
        return sorted(set(value))
    return value


# --- evaluation -----------------------------------------------------------------------


def _item_effects(item: Item, value: Any) -> tuple[float, list[tuple[str, Text]], list[Finding]]:
    """Deduction, caps (grade, reason) and explanation lines of one answered item."""
    deduction = 0.0
    caps: list[tuple[str, Text]] = []
    findings: list[Finding] = []
    label = item.label
    if item.type == "boolean" and value is True:
        deduction = item.deduction_if_true
        if item.cap_if_true:
            caps.append((item.cap_if_true, label))
    elif item.type == "choice":
        option = item.option(value)
        assert option is not None  # noqa: S101 - validated
        deduction = option.deduction
        if option.cap:
            caps.append((option.cap, Text(zh=f"{label.zh}：{option.label.zh}", en=f"{label.en}: {option.label.en}")))
    elif item.type == "multi_choice":
        for key in value:
            option = item.option(key)
            assert option is not None  # noqa: S101 - validated
            deduction += option.deduction
            if option.cap:
                caps.append(
                    (option.cap, Text(zh=f"{label.zh}：{option.label.zh}", en=f"{label.en}: {option.label.en}"))
                )
        if item.disclose and value:
            names_zh = "、".join(item.option(k).label.zh for k in value)  # type: ignore[union-attr]
            names_en = ", ".join(item.option(k).label.en for k in value)  # type: ignore[union-attr]
            findings.append(
                Finding(
                    "disclosure",
                    item.key,
                    Text(zh=f"如实披露：{label.zh}（{names_zh}）", en=f"Disclosed: {label.en} ({names_en})"),
                )
            )
    elif item.type == "number":
        threshold = next((t for t in item.thresholds if value < t.below), None)
        if threshold is not None:
            deduction = threshold.deduction
            if threshold.cap:
                caps.append(
                    (threshold.cap, Text(zh=f"{label.zh}：{value}{item.unit}", en=f"{label.en}: {value}{item.unit}"))
                )
    elif item.type == "defect_list":
        severities = {s.key: s for s in item.severities}
        positions = {p.key: p for p in item.positions}
        defects = {d.key: d for d in item.defects}
        for entry in value:
            severity = severities.get(entry["severity"])
            defect = defects[entry["defect"]]
            points = (severity.deduction if severity else 0) + defect.deduction
            deduction += points
            where = positions[entry["position"]].label
            text = Text(
                zh=f"{label.zh}：{where.zh} {defect.label.zh}{'（' + severity.label.zh + '）' if severity else ''}",
                en=f"{label.en}: {where.en} {defect.label.en}{' (' + severity.label.en + ')' if severity else ''}",
            )
            for cap in (defect.cap, severity.cap if severity else None):
                if cap:
                    caps.append((cap, text))
            if points:
                findings.append(Finding("deduction", item.key, text, points=points))
            elif item.disclose:
                findings.append(Finding("disclosure", item.key, text))
        return deduction, caps, findings
    if deduction:
        findings.append(
            Finding(
                "deduction",
                item.key,
                Text(zh=f"{label.zh}：扣 {deduction:g} 分", en=f"{label.en}: −{deduction:g} points"),
                points=deduction,
            )
        )
    return deduction, caps, findings


def _band_grade(rule_set: RuleSet, score: float) -> str:
    for band in sorted(rule_set.bands, key=lambda b: -b.min_score):
        if score >= band.min_score:
            return band.grade
    return rule_set.grades[-1].key


def evaluate(rule_set: RuleSet, answers: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> Result:
    """Grade, score, section scores, gate failures and explanation for these answers."""
    facts = facts or {}
    clean = validate_answers(rule_set, answers, facts)
    findings: list[Finding] = []
    caps: list[tuple[str, Text]] = []
    section_scores: dict[str, float] = {}
    for section in rule_set.sections:
        lost = 0.0
        for item in section.items:
            if item.key not in clean:
                continue
            deduction, item_caps, item_findings = _item_effects(item, clean[item.key])
            lost += deduction
            caps.extend(item_caps)
            findings.extend(item_findings)
        if section.max_points is not None:
            section_scores[section.key] = max(0.0, section.max_points - lost)

    score = sum(section_scores.values()) if rule_set.max_score is not None else None
    grade = _band_grade(rule_set, score) if score is not None and rule_set.bands else rule_set.grades[0].key
    if score is not None and rule_set.bands:
        findings.append(
            Finding(
                "band",
                "score",
                Text(
                    zh=f"总分 {score:g}/{rule_set.max_score:g}，对应 {rule_set.grade(grade).label.get('zh')}",
                    en=f"Score {score:g}/{rule_set.max_score:g}: {rule_set.grade(grade).label.en}",
                ),
                grade=grade,
            )
        )
    for cap, reason in caps:
        if rule_set.rank(cap) > rule_set.rank(grade):
            grade = cap
        findings.append(
            Finding(
                "cap",
                "cap",
                Text(
                    zh=f"{reason.zh}：最高 {rule_set.grade(cap).label.get('zh')}",
                    en=f"{reason.en}: at best {rule_set.grade(cap).label.en}",
                ),
                grade=cap,
            )
        )

    failures: list[str] = []
    sellable = True
    for gate in rule_set.gates:
        if not condition_holds(gate.when, clean, facts):
            continue
        failures.append(gate.key)
        if gate.outcome == "not_sellable":
            sellable = False
            effect = Text(zh="不可出售", en="not sellable")
        else:
            assert gate.grade is not None  # noqa: S101 - schema requires it
            # A forced grade only ever worsens the result, so adding a defect never helps.
            if rule_set.rank(gate.grade) > rule_set.rank(grade):
                grade = gate.grade
            effect = Text(
                zh=f"定为 {rule_set.grade(gate.grade).label.get('zh')}",
                en=f"graded {rule_set.grade(gate.grade).label.en}",
            )
        findings.append(
            Finding(
                "gate",
                gate.key,
                Text(zh=f"{gate.label.zh}：{effect.zh}", en=f"{gate.label.en}: {effect.en}"),
                grade=gate.grade,
            )
        )
    if not rule_set.grade(grade).sellable:
        sellable = False
    return Result(
        grade=grade if sellable else None,
        sellable=sellable,
        score=score,
        section_scores=section_scores,
        gate_failures=tuple(failures),
        findings=tuple(findings),
    )
