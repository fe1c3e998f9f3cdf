"""Signed credit reports (信用信息共享): RFC 8785 canonical JSON signed with Ed25519, the
same scheme as the erasure certificates. Pure: cryptography + rfc8785, no Django, so
`python -m marketplace.credit.verify` runs anywhere."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REPORT_FORMAT = "xunhuan.credit-report/1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    return b64(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id_of(public_b64: str) -> str:
    return "credit-" + hashlib.sha256(public_b64.encode("ascii")).hexdigest()[:12]


def sign_report(private_key: Ed25519PrivateKey, report: Mapping[str, Any]) -> dict[str, Any]:
    public = public_key_b64(private_key)
    return {
        "format": REPORT_FORMAT,
        "report": dict(report),
        "key": {"key_id": key_id_of(public), "algorithm": "Ed25519", "public_key": public},
        "signature": b64(private_key.sign(bytes(rfc8785.dumps(report)))),
    }


@dataclass
class ReportCheck:
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def verify_report(bundle: Mapping[str, Any], *, trusted_public_key: str | None = None) -> ReportCheck:
    """Check the signature over the report; with `trusted_public_key` (the platform's
    published key) also check the report was signed by that key."""
    check = ReportCheck()
    if not isinstance(bundle, Mapping) or bundle.get("format") != REPORT_FORMAT:
        check.problems.append("not a Xunhuan credit report")
        return check
    key = bundle.get("key") or {}
    public = str(key.get("public_key", ""))
    if trusted_public_key is not None and public != trusted_public_key:
        check.problems.append("the report is not signed with the platform's published key")
    try:
        verifier = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
        verifier.verify(
            base64.b64decode(str(bundle.get("signature", "")), validate=True),
            bytes(rfc8785.dumps(bundle.get("report"))),
        )
        check.checks.append(f"signature is valid (key {key.get('key_id', '?')})")
    except (InvalidSignature, ValueError, TypeError, rfc8785.CanonicalizationError):
        check.problems.append("the signature does not match the report (tampered or wrong key)")
    return check
