"""Test helpers for erasure certificates: payloads and bundles built the way the
platform builds them."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wipe_cert import merkle
from wipe_cert.payload import SCHEMA_VERSION, commit_identifiers, fingerprint
from wipe_cert.signing import (
    BUNDLE_FORMAT,
    KEY_REGISTERED,
    TrustAnchors,
    checkpoint_body,
    key_fingerprint,
    leaf_hash_of,
    log_leaf,
    public_key_b64,
    sign,
    signed_statement,
)

# A fixed salt so tests can rebuild a payload's commitments (the platform draws 256 random bits).
TEST_SALT = "5a" * 32

HDD_MEDIUM: dict[str, Any] = {
    "type": "HDD",
    "model": "WDC WD10EZEX",
    "serial": "WD-WCC6Y0ABCDEF",
    "capacity_bytes": 1_000_204_886_016,
    "interface": "SATA",
    "nist_level": "clear",
    "technique": "overwrite",
    "method_name": "DoD Short",
    "passes": 3,
    "random_passes": 1,
    "blanking": True,
    "result": "erased",
    "tool": {"name": "nwipe", "version": "0.33"},
    "tool_recorded": True,
    "verification": {"method": "last_pass", "result": "passed"},
    "errors": {"pass": 0, "verification": 0, "sync": 0},
    "started_at": "2026-11-20T09:00:00+08:00",
    "ended_at": "2026-11-20T11:30:00+08:00",
}


def laptop_payload(**changes: Any) -> dict[str, Any]:
    """A signed-form (version 2) payload: identifiers as salted commitments."""
    return commit_identifiers(clear_laptop_payload(**changes), TEST_SALT)[0]


def laptop_opening(**changes: Any) -> dict[str, Any]:
    return commit_identifiers(clear_laptop_payload(**changes), TEST_SALT)[1]


def clear_laptop_payload(**changes: Any) -> dict[str, Any]:
    """The payload with identifiers in clear, as a draft holds them."""
    payload = {
        "schema": SCHEMA_VERSION,
        "certificate_id": str(uuid.UUID(int=42)),
        "issued_at": "2026-11-20T12:00:00+08:00",
        "provider": {"name": "净数据清除服务有限公司", "uscc": "91310000MA1K00003F", "key_id": "provider-2026"},
        "technician": {"name": "赵技术员", "credential": "QC-2026-001"},
        "device": {"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": "PF2ABCDE"},
        "media": [copy.deepcopy(HDD_MEDIUM)],
        "locks": {"activation_lock": "n/a", "frp": "n/a", "mdm": "off", "removable_media_removed": True},
        "overall_result": "pass",
        "exceptions": [],
        "source_report": {"format": "nwipe_log", "sha256": "a" * 64},
    }
    payload.update(changes)
    return payload


def phone_payload(**changes: Any) -> dict[str, Any]:
    return commit_identifiers(clear_phone_payload(**changes), TEST_SALT)[0]


def phone_opening(**changes: Any) -> dict[str, Any]:
    return commit_identifiers(clear_phone_payload(**changes), TEST_SALT)[1]


def clear_phone_payload(**changes: Any) -> dict[str, Any]:
    medium = {
        "type": "UFS",
        "nist_level": "purge",
        "technique": "crypto_erase",
        "status": "success",
        "result": "erased",
        "tool": {"name": "Blancco Mobile", "version": "7.2"},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed"},
        "started_at": "2026-11-20T09:00:00+08:00",
        "ended_at": "2026-11-20T09:05:00+08:00",
    }
    defaults = {
        "device": {"type": "phone", "maker": "Apple", "model": "iPhone 13", "imeis": ["352099001761481"]},
        "device_encrypted": True,
        "media": [medium],
        "locks": {
            "activation_lock": "off",
            "frp": "n/a",
            "mdm": "off",
            "removable_media_removed": True,
            "sim_removed": True,
        },
    }
    return clear_laptop_payload(**{**defaults, **changes})


class Keys:
    def __init__(self) -> None:
        self.provider = Ed25519PrivateKey.generate()
        self.platform = Ed25519PrivateKey.generate()

    def anchors(self) -> TrustAnchors:
        """What a verifier holding the platform's keys document trusts."""
        return TrustAnchors(platform_keys={"platform-1": public_key_b64(self.platform)})

    def fingerprint(self) -> str:
        return key_fingerprint(public_key_b64(self.platform))

    def registration(self, key_id: str = "provider-2026", uscc: str = "91310000MA1K00003F") -> dict[str, Any]:
        return signed_statement(
            self.platform,
            "platform-1",
            {
                "type": KEY_REGISTERED,
                "key_id": key_id,
                "alg": "Ed25519",
                "public_key": public_key_b64(self.provider),
                "owner_name": "净数据清除服务有限公司",
                "owner_uscc": uscc,
                "valid_from": "2026-01-01T00:00:00+08:00",
                "valid_to": "2027-01-01T00:00:00+08:00",
                "registered_at": "2026-01-01T00:00:00+08:00",
            },
        )


def make_bundle(
    payload: dict[str, Any], keys: Keys, *, others: int = 4, provider_key_extra: dict | None = None
) -> dict:
    """A bundle with the provider key's registration first and the certificate at the end
    of a log of `others + 2` entries."""
    provider_signature = sign(keys.provider, payload)
    accepted_at = "2026-11-20T12:05:00+08:00"
    counter_signed = {
        "payload_sha256": fingerprint(payload),
        "provider_signature": provider_signature,
        "accepted_at": accepted_at,
    }
    registration = keys.registration()
    leaves = [leaf_hash_of(registration)] + [merkle.leaf_hash(f"other-{i}".encode()) for i in range(others)]
    leaf = log_leaf(
        certificate_id=payload["certificate_id"],
        payload_sha256=fingerprint(payload),
        provider_signature=provider_signature,
        accepted_at=accepted_at,
    )
    leaves.append(leaf_hash_of(leaf))
    index = len(leaves) - 1
    root_hash = merkle.root(leaves).hex()
    body = checkpoint_body(tree_size=len(leaves), root_hash=root_hash, timestamp="2026-11-20T13:00:00+08:00")
    return {
        "format": BUNDLE_FORMAT,
        "status": "valid",
        "payload": payload,
        "provider_signature": {"key_id": "provider-2026", "alg": "Ed25519", "signature": provider_signature},
        "platform_countersignature": {
            "key_id": "platform-1",
            "alg": "Ed25519",
            "signed": counter_signed,
            "signature": sign(keys.platform, counter_signed),
        },
        "keys": {
            "provider": {
                "key_id": "provider-2026",
                "public_key": public_key_b64(keys.provider),
                "valid_from": "2026-01-01T00:00:00+08:00",
                "valid_to": "2027-01-01T00:00:00+08:00",
                "revoked_at": None,
                "registration": {
                    **registration,
                    "log": {"index": 0, "proof": [p.hex() for p in merkle.inclusion_proof(0, leaves)]},
                },
                **(provider_key_extra or {}),
            },
            "platform": {"key_id": "platform-1", "public_key": public_key_b64(keys.platform)},
        },
        "log": {
            "index": index,
            "proof": [p.hex() for p in merkle.inclusion_proof(index, leaves)],
            "checkpoint": {**body, "key_id": "platform-1", "signature": sign(keys.platform, body)},
        },
    }


def keys_document(keys: Keys, statements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A keys document as /.well-known/erasure-keys.json serves it."""
    from wipe_cert.signing import KEYS_FORMAT, LOG_ID

    return {
        "format": KEYS_FORMAT,
        "log_id": LOG_ID,
        "platform_keys": [
            {
                "key_id": "platform-1",
                "public_key": public_key_b64(keys.platform),
                "fingerprint": keys.fingerprint(),
                "alg": "Ed25519",
            }
        ],
        "statements": [keys.registration(), *(statements or [])],
    }
