"""Ed25519 signatures over RFC 8785 canonical JSON, and the self-contained bundle that
anyone can verify offline. Pure: cryptography + rfc8785, no Django."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wipe_cert import merkle
from wipe_cert.payload import PayloadInvalid, fingerprint, validate_payload

BUNDLE_FORMAT = "xunhuan.erasure-certificate-bundle/1"
LOG_ID = "xunhuan-erasure-log"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    return b64(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(private_key: Ed25519PrivateKey, document: Mapping[str, Any]) -> str:
    return b64(private_key.sign(bytes(rfc8785.dumps(document))))


def verify_signature(public_key_b64_text: str, document: Mapping[str, Any], signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(public_key_b64_text))
        key.verify(unb64(signature_b64), bytes(rfc8785.dumps(document)))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def log_leaf(*, certificate_id: str, payload_sha256: str, provider_signature: str, accepted_at: str) -> dict[str, str]:
    """What the transparency log records for an accepted certificate."""
    return {
        "certificate_id": certificate_id,
        "payload_sha256": payload_sha256,
        "provider_signature": provider_signature,
        "accepted_at": accepted_at,
    }


def leaf_hash_of(leaf: Mapping[str, Any]) -> bytes:
    return merkle.leaf_hash(bytes(rfc8785.dumps(leaf)))


def checkpoint_body(*, tree_size: int, root_hash: str, timestamp: str) -> dict[str, Any]:
    return {"log_id": LOG_ID, "tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp}


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class BundleCheck:
    """The result of verifying a bundle: valid only when every check passed."""

    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def ok(self, what: str) -> None:
        self.checks.append(what)

    def fail(self, what: str) -> None:
        self.problems.append(what)


def verify_bundle(bundle: Mapping[str, Any]) -> BundleCheck:
    """Verify a downloaded certificate with nothing but the bundle itself: payload schema,
    provider signature with a key valid when signing and never revoked, the platform's
    countersignature, and the inclusion proof against a signed log checkpoint."""
    check = BundleCheck()
    if bundle.get("format") != BUNDLE_FORMAT:
        check.fail("not an erasure-certificate bundle")
        return check
    payload = bundle.get("payload") or {}
    try:
        validate_payload(payload)
        check.ok("payload matches the certificate schema")
    except PayloadInvalid as exc:
        check.fail(f"payload does not match the schema: {exc.problems[0]}")
        return check
    keys = bundle.get("keys") or {}
    provider_key = keys.get("provider") or {}
    platform_key = keys.get("platform") or {}
    provider_sig = bundle.get("provider_signature") or {}
    if (
        provider_key.get("key_id") != payload["provider"]["key_id"]
        or provider_sig.get("key_id") != payload["provider"]["key_id"]
    ):
        check.fail("the provider key does not match the key named in the payload")
    elif verify_signature(provider_key.get("public_key", ""), payload, provider_sig.get("signature", "")):
        check.ok("provider signature is valid")
    else:
        check.fail("provider signature does not match the payload (tampered or wrong key)")
    issued = parse_time(payload["issued_at"])
    if provider_key.get("revoked_at"):
        check.fail(f"the provider key was revoked at {provider_key['revoked_at']}")
    valid_from, valid_to = provider_key.get("valid_from"), provider_key.get("valid_to")
    if (valid_from and issued < parse_time(valid_from)) or (valid_to and issued > parse_time(valid_to)):
        check.fail("the provider key was not valid when the certificate was signed")
    else:
        check.ok("provider key was valid when signing")

    counter = bundle.get("platform_countersignature") or {}
    signed = counter.get("signed") or {}
    if signed.get("payload_sha256") != fingerprint(payload) or signed.get("provider_signature") != provider_sig.get(
        "signature"
    ):
        check.fail("the countersignature is for another payload")
    elif counter.get("key_id") == platform_key.get("key_id") and verify_signature(
        platform_key.get("public_key", ""), signed, counter.get("signature", "")
    ):
        check.ok("platform countersignature is valid")
    else:
        check.fail("platform countersignature is not valid")

    log = bundle.get("log") or {}
    checkpoint = log.get("checkpoint") or {}
    leaf = log_leaf(
        certificate_id=payload["certificate_id"],
        payload_sha256=fingerprint(payload),
        provider_signature=provider_sig.get("signature", ""),
        accepted_at=str(signed.get("accepted_at", "")),
    )
    try:
        proof = [bytes.fromhex(p) for p in log.get("proof", [])]
        root_hash = bytes.fromhex(checkpoint.get("root_hash", ""))
        included = merkle.verify_inclusion(
            int(log.get("index", -1)), int(checkpoint.get("tree_size", 0)), leaf_hash_of(leaf), proof, root_hash
        )
    except ValueError:
        included = False
    body = checkpoint_body(
        tree_size=int(checkpoint.get("tree_size", 0)),
        root_hash=str(checkpoint.get("root_hash", "")),
        timestamp=str(checkpoint.get("timestamp", "")),
    )
    if not included:
        check.fail("the certificate is not in the transparency log at the checkpoint given")
    elif checkpoint.get("key_id") != platform_key.get("key_id") or not verify_signature(
        platform_key.get("public_key", ""), body, checkpoint.get("signature", "")
    ):
        check.fail("the log checkpoint is not signed by the platform")
    else:
        check.ok(f"included in the transparency log (entry {log['index']} of {checkpoint['tree_size']})")
    if bundle.get("status") and bundle["status"] != "valid":
        check.fail(f"the platform marked this certificate {bundle['status']}")
    return check
