"""JSON Schema of a rule-set document, checked whenever one is loaded or edited, plus
the cross-reference checks a schema cannot express (grades named by caps, bands and
gates must exist; item keys must be unique; gates must name existing items)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

TEXT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["zh", "en"],
            "properties": {"zh": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
        },
    ]
}
KEY = {"type": "string", "pattern": "^[A-Za-z0-9_一-龥-]+$"}
OPTION = {
    "type": "object",
    "required": ["key", "label"],
    "properties": {"key": KEY, "label": TEXT, "deduction": {"type": "number", "minimum": 0}, "cap": KEY},
    "additionalProperties": False,
}
CONDITION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "all": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
        "any": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
        "item": KEY,
        "fact": KEY,
        "is": {"type": "boolean"},
        "equals": {},
        "not_equals": {},
        "in": {"type": "array"},
        "lt": {"type": "number"},
        "lte": {"type": "number"},
        "gt": {"type": "number"},
        "gte": {"type": "number"},
        "has_defect": {"oneOf": [{"type": "boolean", "const": True}, {"type": "array", "items": KEY}]},
    },
    "additionalProperties": False,
    "oneOf": [
        {"required": ["all"]},
        {"required": ["any"]},
        {"required": ["item"], "not": {"required": ["fact"]}},
        {"required": ["fact"], "not": {"required": ["item"]}},
    ],
}
ITEM = {
    "type": "object",
    "required": ["key", "type", "label", "citation"],
    "properties": {
        "key": KEY,
        "type": {"enum": ["boolean", "choice", "multi_choice", "number", "defect_list"]},
        "label": TEXT,
        "help": TEXT,
        "citation": {"type": "string", "minLength": 1},
        "required": {"type": "boolean"},
        "required_when": {"$ref": "#/$defs/condition"},
        "deduction_if_true": {"type": "number", "minimum": 0},
        "cap_if_true": KEY,
        "options": {"type": "array", "items": OPTION, "minItems": 1},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "unit": {"type": "string"},
        "thresholds": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["below"],
                "properties": {
                    "below": {"type": "number"},
                    "deduction": {"type": "number", "minimum": 0},
                    "cap": KEY,
                    "label": TEXT,
                },
                "additionalProperties": False,
            },
        },
        "positions": {"type": "array", "items": OPTION, "minItems": 1},
        "defects": {"type": "array", "items": OPTION, "minItems": 1},
        "severities": {"type": "array", "items": OPTION},
        "disclose": {"type": "boolean"},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"type": {"enum": ["choice", "multi_choice"]}}}, "then": {"required": ["options"]}},
        {"if": {"properties": {"type": {"const": "defect_list"}}}, "then": {"required": ["positions", "defects"]}},
        {"if": {"properties": {"type": {"const": "number"}}}, "then": {"required": ["min", "max"]}},
    ],
}
RULE_SET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["key", "version", "category", "title", "source", "grades", "sections"],
    "properties": {
        "key": KEY,
        "version": {"type": "string", "minLength": 1},
        "category": {"enum": ["electronics", "furniture", "books", "vehicles"]},
        "device_types": {"type": "array", "items": KEY},
        "title": TEXT,
        "source": TEXT,
        "notes": TEXT,
        "grades": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["key", "label"],
                "properties": {"key": KEY, "label": TEXT, "sellable": {"type": "boolean"}, "description": TEXT},
                "additionalProperties": False,
            },
        },
        "bands": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["grade", "min_score"],
                "properties": {"grade": KEY, "min_score": {"type": "number"}},
                "additionalProperties": False,
            },
        },
        "sections": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["key", "label", "part", "citation", "items"],
                "properties": {
                    "key": KEY,
                    "label": TEXT,
                    "part": {"enum": ["functional", "cosmetic"]},
                    "citation": {"type": "string", "minLength": 1},
                    "max_points": {"type": "number", "exclusiveMinimum": 0},
                    "items": {"type": "array", "items": ITEM, "minItems": 1},
                },
                "additionalProperties": False,
            },
        },
        "gates": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "label", "citation", "when", "outcome"],
                "properties": {
                    "key": KEY,
                    "label": TEXT,
                    "citation": {"type": "string", "minLength": 1},
                    "when": {"$ref": "#/$defs/condition"},
                    "outcome": {"enum": ["not_sellable", "forced_grade"]},
                    "grade": KEY,
                },
                "additionalProperties": False,
                "if": {"properties": {"outcome": {"const": "forced_grade"}}},
                "then": {"required": ["grade"]},
            },
        },
    },
    "additionalProperties": False,
    "$defs": {"condition": CONDITION},
}


class RuleSetInvalid(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _conditions(condition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    nested = [*condition.get("all", []), *condition.get("any", [])]
    return [condition] + [c for sub in nested for c in _conditions(sub)]


def validate_rule_set(document: Mapping[str, Any]) -> None:
    """Raise RuleSetInvalid with every problem found."""
    validator = jsonschema.Draft202012Validator(RULE_SET_SCHEMA)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(document)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        raise RuleSetInvalid(problems)
    grades = [g["key"] for g in document["grades"]]
    if len(set(grades)) != len(grades):
        problems.append("grades: keys must be unique")
    items: dict[str, Mapping[str, Any]] = {}
    for section in document["sections"]:
        for item in section["items"]:
            if item["key"] in items:
                problems.append(f"item {item['key']}: key used twice")
            items[item["key"]] = item
            caps = [item.get("cap_if_true")]
            for group in ("options", "defects", "severities", "positions", "thresholds"):
                caps += [o.get("cap") for o in item.get(group, [])]
            problems += [f"item {item['key']}: unknown grade {cap}" for cap in caps if cap and cap not in grades]
    for band in document.get("bands", []):
        if band["grade"] not in grades:
            problems.append(f"bands: unknown grade {band['grade']}")
    if document.get("bands") and not any("max_points" in s for s in document["sections"]):
        problems.append("bands need at least one section with max_points")
    for gate in document.get("gates", []):
        if gate.get("grade") and gate["grade"] not in grades:
            problems.append(f"gate {gate['key']}: unknown grade {gate['grade']}")
        for condition in _conditions(gate["when"]):
            if "item" in condition and condition["item"] not in items:
                problems.append(f"gate {gate['key']}: unknown item {condition['item']}")
    if problems:
        raise RuleSetInvalid(problems)
