"""The erasure-certificate payload: a versioned JSON Schema, RFC 8785 canonical bytes
and the fingerprint. Pure (no Django), so `python -m wipe_cert.verify` can use it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import jsonschema
import rfc8785

SCHEMA_VERSION = "xunhuan.erasure-certificate/1"

_TIME = {"type": "string", "format": "date-time", "minLength": 20}
_SHORT = {"type": "string", "maxLength": 200}

MEDIUM = {
    "type": "object",
    "required": ["type", "technique", "nist_level", "tool", "verification", "started_at", "ended_at"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["HDD", "SSD", "NVMe", "eMMC", "UFS", "SD"]},
        "model": _SHORT,
        "serial": _SHORT,
        "capacity_bytes": {"type": "integer", "minimum": 0},
        "interface": {"type": "string", "maxLength": 40},
        "nist_level": {"enum": ["clear", "purge", "destroy"]},
        "technique": {
            "enum": [
                "overwrite",
                "block_erase",
                "crypto_erase",
                "sanitize",
                "secure_erase",
                "factory_reset",
                "destruction",
            ]
        },
        "method_name": _SHORT,
        "passes": {"type": "integer", "minimum": 0, "maximum": 100},
        "random_passes": {"type": "integer", "minimum": 0, "maximum": 100},
        "pattern": _SHORT,
        "blanking": {"type": "boolean"},
        "status": {"enum": ["success", "failed", "unknown"]},
        "result": {"enum": ["erased", "failed", "unknown"]},
        "tool": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": _SHORT, "version": _SHORT},
        },
        "tool_recorded": {"type": "boolean"},
        "verification": {
            "type": "object",
            "required": ["method", "result"],
            "additionalProperties": False,
            "properties": {
                "method": {"enum": ["none", "last_pass", "all_passes", "sample", "tool_status"]},
                "result": {"enum": ["passed", "failed", "not_run"]},
            },
        },
        "errors": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pass": {"type": "integer", "minimum": 0},
                "verification": {"type": "integer", "minimum": 0},
                "sync": {"type": "integer", "minimum": 0},
            },
        },
        "hidden_areas": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"checked": {"type": "boolean"}, "cleared": {"type": ["boolean", "null"]}},
        },
        "started_at": _TIME,
        "ended_at": _TIME,
    },
}

PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "schema",
        "certificate_id",
        "issued_at",
        "provider",
        "technician",
        "device",
        "media",
        "locks",
        "overall_result",
        "source_report",
    ],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_VERSION},
        "certificate_id": {
            "type": "string",
            "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        },
        "issued_at": _TIME,
        "provider": {
            "type": "object",
            "required": ["name", "uscc", "key_id"],
            "additionalProperties": False,
            "properties": {"name": _SHORT, "uscc": {"type": "string", "pattern": "^[0-9A-Z]{18}$"}, "key_id": _SHORT},
        },
        "technician": {
            "type": "object",
            "required": ["name", "credential"],
            "additionalProperties": False,
            "properties": {"name": _SHORT, "credential": _SHORT},
        },
        "device": {
            "type": "object",
            "required": ["type", "maker", "model"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "maxLength": 30},
                "maker": _SHORT,
                "model": _SHORT,
                "serial": _SHORT,
                "imeis": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{15}$"}, "maxItems": 2},
                "meid": {"type": "string", "pattern": "^[0-9A-F]{14}$"},
            },
        },
        "device_encrypted": {"type": "boolean"},
        "media": {"type": "array", "items": MEDIUM, "minItems": 1, "maxItems": 16},
        "locks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "activation_lock": {"enum": ["off", "on", "n/a"]},
                "frp": {"enum": ["off", "on", "n/a"]},
                "mdm": {"enum": ["off", "on", "n/a"]},
                "removable_media_removed": {"type": "boolean"},
                "sim_removed": {"type": "boolean"},
                "esim_erased": {"type": ["boolean", "null"]},
            },
        },
        "overall_result": {"enum": ["pass", "fail"]},
        "exceptions": {"type": "array", "items": {"type": "string", "maxLength": 80}},
        "source_report": {
            "type": "object",
            "required": ["format", "sha256"],
            "additionalProperties": False,
            "properties": {
                "format": {"enum": ["nwipe_log", "nwipe_json", "nvme_sanitize_log", "manual"]},
                "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            },
        },
    },
}


class PayloadInvalid(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _time_problems(payload: Mapping[str, Any]) -> list[str]:
    """Timestamps must be ISO 8601 with a zone (checked here, not left to optional
    jsonschema format plugins)."""
    found: list[tuple[str, Any]] = [("issued_at", payload.get("issued_at"))]
    for index, medium in enumerate(payload.get("media") or []):
        if isinstance(medium, Mapping):
            found += [(f"media/{index}/{key}", medium.get(key)) for key in ("started_at", "ended_at")]
    problems = []
    for where, value in found:
        if not isinstance(value, str):
            continue
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not an ISO 8601 time")
            continue
        if moment.tzinfo is None:
            problems.append(f"{where}: {value!r} has no time zone")
    return problems


def validate_payload(payload: Mapping[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(PAYLOAD_SCHEMA)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(payload)'}: {error.message}"
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    ]
    problems += _time_problems(payload)
    if problems:
        raise PayloadInvalid(problems)


def canonical(payload: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes: key order and whitespace do not change them."""
    return bytes(rfc8785.dumps(payload))


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()
