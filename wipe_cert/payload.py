"""The erasure-certificate payload: a versioned JSON Schema, RFC 8785 canonical bytes
and the fingerprint. Pure (no Django), so `python -m wipe_cert.verify` can use it."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

import jsonschema
import rfc8785

SCHEMA_VERSION = "xunhuan.erasure-certificate/2"
# Version 1 carried device identifiers in clear; certificates signed that way still verify.
LEGACY_SCHEMA_VERSION = "xunhuan.erasure-certificate/1"
SCHEMA_VERSIONS = (SCHEMA_VERSION, LEGACY_SCHEMA_VERSION)
IDENTIFIER_KINDS = ("serial", "imei", "meid")
SALT_BYTES = 32

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
                "format": {"enum": ["nwipe_log", "nwipe_json", "nvme_sanitize_log", "hdparm_security_erase", "manual"]},
                "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            },
        },
    },
}


# Version 2: identifiers enter the signed payload only as salted commitments
# (HMAC-SHA256 keyed with a per-certificate secret salt) plus their last four characters,
# so nothing anyone can download lets them search for an IMEI or serial.
_COMMITMENT: dict[str, Any] = {
    "type": "object",
    "required": ["commitment", "last4"],
    "additionalProperties": False,
    "properties": {
        "commitment": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "last4": {"type": "string", "maxLength": 4},
    },
}
_IDENTIFIER = {
    "type": "object",
    "required": ["kind", "commitment", "last4"],
    "additionalProperties": False,
    "properties": {"kind": {"enum": list(IDENTIFIER_KINDS)}, **_COMMITMENT["properties"]},
}


def _schema_v2() -> dict[str, Any]:
    schema = copy.deepcopy(PAYLOAD_SCHEMA)
    schema["properties"]["schema"] = {"const": SCHEMA_VERSION}
    device = schema["properties"]["device"]["properties"]
    for name in ("serial", "imeis", "meid"):
        device.pop(name)
    device["identifiers"] = {"type": "array", "items": _IDENTIFIER, "maxItems": 8}
    medium = schema["properties"]["media"]["items"]["properties"]
    medium.pop("serial")
    medium["serial_commitment"] = _COMMITMENT
    return schema


PAYLOAD_SCHEMA["properties"]["schema"] = {"const": LEGACY_SCHEMA_VERSION}
PAYLOAD_SCHEMA_V2: dict[str, Any] = _schema_v2()
SCHEMAS = {LEGACY_SCHEMA_VERSION: PAYLOAD_SCHEMA, SCHEMA_VERSION: PAYLOAD_SCHEMA_V2}


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
    schema = (
        SCHEMAS.get(str(payload.get("schema")), PAYLOAD_SCHEMA_V2)
        if isinstance(payload, Mapping)
        else PAYLOAD_SCHEMA_V2
    )
    validator = jsonschema.Draft202012Validator(schema)
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


# --- identifier commitments ------------------------------------------------------------


def commitment(salt_hex: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of "kind:value" keyed with the certificate's secret salt."""
    return hmac.new(bytes.fromhex(salt_hex), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _committed(salt_hex: str, kind: str, value: str) -> dict[str, str]:
    return {"commitment": commitment(salt_hex, kind, value), "last4": value[-4:]}


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def commit_identifiers(draft: Mapping[str, Any], salt_hex: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a draft payload with identifiers in clear into the payload to sign (salted
    commitments only) and the opening (salt and clear values) that the platform keeps for
    the provider, the seller, the buyer of a completed order and staff."""
    salt_hex = salt_hex or new_salt()
    payload = copy.deepcopy(dict(draft))
    device = dict(payload.get("device") or {})
    opened_device: dict[str, Any] = {}
    identifiers = []
    if device.get("serial"):
        opened_device["serial"] = str(device["serial"])
        identifiers.append({"kind": "serial", **_committed(salt_hex, "serial", opened_device["serial"])})
    if device.get("imeis"):
        opened_device["imeis"] = [str(imei) for imei in device["imeis"]]
        identifiers += [{"kind": "imei", **_committed(salt_hex, "imei", imei)} for imei in opened_device["imeis"]]
    if device.get("meid"):
        opened_device["meid"] = str(device["meid"])
        identifiers.append({"kind": "meid", **_committed(salt_hex, "meid", opened_device["meid"])})
    for name in ("serial", "imeis", "meid"):
        device.pop(name, None)
    if identifiers:
        device["identifiers"] = identifiers
    payload["device"] = device
    opened_media: list[dict[str, str]] = []
    media = []
    for medium in payload.get("media") or []:
        row = dict(medium)
        serial = row.pop("serial", "") or ""
        opened_media.append({"serial": str(serial)} if serial else {})
        if serial:
            row["serial_commitment"] = _committed(salt_hex, "medium_serial", str(serial))
        media.append(row)
    payload["media"] = media
    payload["schema"] = SCHEMA_VERSION
    return payload, {"salt": salt_hex, "device": opened_device, "media": opened_media}


def opening_problems(payload: Mapping[str, Any], opening: Mapping[str, Any]) -> list[str]:
    """Whether the opening (salt and clear identifiers) is the one the payload committed to."""
    try:
        salt_hex = str(opening["salt"])
        if len(bytes.fromhex(salt_hex)) < 16:
            return ["the salt is shorter than 128 bits"]
    except (KeyError, ValueError, TypeError):
        return ["the opening has no valid salt"]
    device = payload.get("device") or {}
    opened = opening.get("device") or {}
    expected = [
        (kind, value)
        for kind, values in (
            ("serial", [opened.get("serial")] if opened.get("serial") else []),
            ("imei", list(opened.get("imeis") or [])),
            ("meid", [opened.get("meid")] if opened.get("meid") else []),
        )
        for value in values
    ]
    committed = [(i.get("kind"), i.get("commitment")) for i in device.get("identifiers") or []]
    problems = []
    if sorted(committed) != sorted((kind, commitment(salt_hex, kind, str(value))) for kind, value in expected):
        problems.append("the device identifiers do not match the certificate's commitments")
    opened_media = list(opening.get("media") or [])
    for index, medium in enumerate(payload.get("media") or []):
        serial = (opened_media[index] if index < len(opened_media) else {}).get("serial")
        sealed = medium.get("serial_commitment")
        if bool(serial) != bool(sealed) or (
            sealed and sealed.get("commitment") != commitment(salt_hex, "medium_serial", str(serial))
        ):
            problems.append(f"the serial number of medium {index + 1} does not match its commitment")
    return problems


def open_identifiers(payload: Mapping[str, Any], opening: Mapping[str, Any] | None) -> dict[str, Any]:
    """The payload with identifiers in clear (version 1 shape), for those allowed to see
    them; without an opening, the payload with its last four characters only."""
    shown = copy.deepcopy(dict(payload))
    device = dict(shown.get("device") or {})
    identifiers = device.pop("identifiers", None)
    if identifiers is None:
        return shown  # version 1 or a draft: already in clear
    opened = (opening or {}).get("device") or {}
    by_kind: dict[str, list[str]] = {}
    for item in identifiers:
        by_kind.setdefault(item["kind"], []).append(item.get("last4", ""))
    if "serial" in by_kind:
        device["serial"] = opened.get("serial") or by_kind["serial"][0]
    if "imei" in by_kind:
        device["imeis"] = list(opened.get("imeis") or by_kind["imei"])
    if "meid" in by_kind:
        device["meid"] = opened.get("meid") or by_kind["meid"][0]
    shown["device"] = device
    opened_media = list((opening or {}).get("media") or [])
    media = []
    for index, medium in enumerate(shown.get("media") or []):
        row = dict(medium)
        sealed = row.pop("serial_commitment", None)
        if sealed:
            clear = (opened_media[index] if index < len(opened_media) else {}).get("serial")
            row["serial"] = clear or sealed.get("last4", "")
        media.append(row)
    shown["media"] = media
    return shown


def identifier_matches(payload: Mapping[str, Any], salt_hex: str, kind: str, value: str) -> bool:
    """Does this identifier, read off the device in hand, match the certificate?"""
    wanted = commitment(salt_hex, kind, value)
    if kind == "medium_serial":
        return any((m.get("serial_commitment") or {}).get("commitment") == wanted for m in payload.get("media") or [])
    return any(
        i.get("kind") == kind and i.get("commitment") == wanted
        for i in (payload.get("device") or {}).get("identifiers") or []
    )
