"""Reading rule-set documents from the repository (grading/rulesets/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grading.schema import validate_rule_set

RULESET_DIR = Path(__file__).resolve().parent / "rulesets"


def load_document(path: Path) -> dict[str, Any]:
    """Parse and schema-check one rule-set file."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    validate_rule_set(document)
    return document


def shipped_documents() -> list[dict[str, Any]]:
    return [load_document(path) for path in sorted(RULESET_DIR.glob("*.yaml"))]
