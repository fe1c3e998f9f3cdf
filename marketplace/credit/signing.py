"""Signed credit reports (信用信息共享): RFC 8785 canonical JSON signed with Ed25519, the
same scheme as the erasure certificates. Pure: cryptography + rfc8785, no Django, so
`python -m marketplace.credit.verify` runs anywhere.

A report carries the public key it was signed with, but that key proves nothing on its
own: anyone can alter a report and re-sign it with a key of their own. Trust comes from
outside the file — the platform's keys document (/.well-known/credit-keys.json) or a
pinned key fingerprint — and the key inside the report is used only when it matches one."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REPORT_FORMAT = "xunhuan.credit-report/1"
ALGORITHM = "Ed25519"
FINGERPRINT_PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")


class TrustAnchorError(ValueError):
    """A keys document, fingerprint or key given as a trust anchor that cannot be used."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    return b64(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id_of(public_b64: str) -> str:
    return "credit-" + hashlib.sha256(public_b64.encode("ascii")).hexdigest()[:12]


def raw_public_key(public_b64: str) -> bytes:
    """The raw 32-byte Ed25519 key from its base64 form; ValueError when it is not one."""
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the public key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return raw


def fingerprint_of(public_b64: str) -> str:
    """Lowercase hex SHA-256 of the raw 32-byte public key: what users pin with --trust."""
    return hashlib.sha256(raw_public_key(public_b64)).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """Accept a fingerprint as published or as people copy it: an optional "sha256:"
    prefix, any case, ":" separators between byte pairs."""
    value = text.strip().lower()
    if value.startswith(FINGERPRINT_PREFIX):
        value = value[len(FINGERPRINT_PREFIX) :]
    value = value.replace(":", "")
    if len(value) != 64 or not set(value) <= _HEX:
        raise TrustAnchorError(
            f"{text!r} is not a key fingerprint: expected 64 hexadecimal digits (SHA-256), "
            'optionally prefixed with "sha256:"'
        )
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    # A timestamp written without an offset is read as UTC, the zone the platform publishes in.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp as UTC, or None when it is absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _utc(dt.datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def format_timestamp(value: dt.datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def sign_report(private_key: Ed25519PrivateKey, report: Mapping[str, Any]) -> dict[str, Any]:
    public = public_key_b64(private_key)
    return {
        "format": REPORT_FORMAT,
        "report": dict(report),
        "key": {"key_id": key_id_of(public), "algorithm": ALGORITHM, "public_key": public},
        "signature": b64(private_key.sign(bytes(rfc8785.dumps(report)))),
    }


def published_key_entry(public_b64: str, *, revoked_at: dt.datetime | None = None) -> dict[str, Any]:
    """One key as the keys document publishes it (and as `keys_from_document` reads it)."""
    return {
        "key_id": key_id_of(public_b64),
        "algorithm": ALGORITHM,
        "public_key": public_b64,
        "fingerprint": fingerprint_of(public_b64),
        "revoked_at": format_timestamp(revoked_at) if revoked_at else None,
    }


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key: str
    fingerprint: str
    revoked_at: dt.datetime | None = None


def keys_from_document(document: Any) -> tuple[PublishedKey, ...]:
    """Read a keys document as served at /.well-known/credit-keys.json:
    {"keys": [{"key_id", "algorithm", "public_key", "fingerprint", "revoked_at"}, ...]}.
    Raises TrustAnchorError for anything else, including a fingerprint that does not
    belong to its key (a document that contradicts itself is not a trust anchor)."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise TrustAnchorError('not a credit keys document: expected {"keys": [...]} with at least one key')
    keys = []
    for position, entry in enumerate(entries, start=1):
        where = f"key {position} of the keys document"
        if not isinstance(entry, Mapping):
            raise TrustAnchorError(f"{where} is not an object")
        if entry.get("algorithm", ALGORITHM) != ALGORITHM:
            raise TrustAnchorError(f"{where} is not an {ALGORITHM} key")
        public = entry.get("public_key")
        try:
            fingerprint = fingerprint_of(public if isinstance(public, str) else "")
        except ValueError as exc:
            raise TrustAnchorError(f"{where}: {exc}") from exc
        stated = entry.get("fingerprint")
        try:
            matches = stated is None or normalise_fingerprint(str(stated)) == fingerprint
        except TrustAnchorError as exc:
            raise TrustAnchorError(f"{where}: {exc}") from exc
        if not matches:
            raise TrustAnchorError(f"{where}: its fingerprint does not belong to its public key")
        revoked_raw = entry.get("revoked_at")
        revoked_at = parse_timestamp(revoked_raw)
        if revoked_raw is not None and revoked_at is None:
            raise TrustAnchorError(f"{where}: revoked_at {revoked_raw!r} is not an ISO 8601 timestamp")
        keys.append(
            PublishedKey(
                key_id=key_id_of(str(public)), public_key=str(public), fingerprint=fingerprint, revoked_at=revoked_at
            )
        )
    return tuple(keys)


@dataclass(frozen=True)
class TrustAnchors:
    """What the verifier trusts, all obtained outside the report: keys from the platform's
    keys document (with their revocation dates) and pinned fingerprints."""

    keys: tuple[PublishedKey, ...] = ()
    pinned: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        documents: Iterable[Any] = (),
        fingerprints: Iterable[str] = (),
        public_keys: Iterable[str] = (),
    ) -> TrustAnchors:
        keys = tuple(key for document in documents for key in keys_from_document(document))
        pinned = {normalise_fingerprint(text) for text in fingerprints}
        for public in public_keys:
            try:
                pinned.add(fingerprint_of(public.strip()))
            except ValueError as exc:
                raise TrustAnchorError(f"--key is not an Ed25519 public key: {exc}") from exc
        return cls(keys=keys, pinned=frozenset(pinned))

    def __bool__(self) -> bool:
        return bool(self.keys or self.pinned)


@dataclass
class ReportCheck:
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def verify_report(bundle: Mapping[str, Any], *, trust: TrustAnchors) -> ReportCheck:
    """Check that the report was signed by one of the platform's keys named in `trust`,
    that it is unchanged since, and that the key was not revoked when it was signed."""
    check = ReportCheck()
    if not isinstance(bundle, Mapping) or bundle.get("format") != REPORT_FORMAT:
        check.problems.append("not a Xunhuan credit report")
        return check
    if not trust:
        check.problems.append("no trust anchor: the platform's keys document or key fingerprint is needed")
        return check
    key = bundle.get("key")
    if not isinstance(key, Mapping):
        key = {}
    public = key.get("public_key")
    try:
        if key.get("algorithm") != ALGORITHM:
            raise ValueError(f"the key is not an {ALGORITHM} key")
        fingerprint = fingerprint_of(public if isinstance(public, str) else "")
    except ValueError as exc:
        check.problems.append(f"the report does not carry a usable signing key ({exc})")
        return check
    key_id = key_id_of(str(public))
    published = [k for k in trust.keys if k.fingerprint == fingerprint]
    if not published and fingerprint not in trust.pinned:
        check.problems.append(
            f"the report is signed with key {key_id} (fingerprint {FINGERPRINT_PREFIX}{fingerprint}), "
            "which is not the platform's credit-report key: it is neither in the keys document nor the "
            "pinned fingerprint, so the report was re-signed by someone else or issued elsewhere"
        )
        return check
    where = "in the platform's keys document" if published else "matches the pinned fingerprint"
    check.checks.append(f"signing key {key_id} is the platform's ({where})")

    try:
        Ed25519PublicKey.from_public_bytes(raw_public_key(str(public))).verify(
            base64.b64decode(str(bundle.get("signature", "")), validate=True),
            bytes(rfc8785.dumps(bundle.get("report"))),
        )
        check.checks.append("signature is valid: the report is unchanged since it was signed")
    except (InvalidSignature, ValueError, TypeError, rfc8785.CanonicalizationError):
        check.problems.append("the signature does not match the report: it was changed after it was signed")

    revocations = [k.revoked_at for k in published if k.revoked_at is not None]
    if revocations:
        revoked_at = min(revocations)
        report = bundle.get("report")
        issued_at = parse_timestamp(report.get("issued_at") if isinstance(report, Mapping) else None)
        revoked_text = format_timestamp(revoked_at)
        if issued_at is None:
            check.problems.append(
                f"the platform revoked key {key_id} on {revoked_text} and the report has no readable "
                "issue date, so it cannot be shown to predate the revocation"
            )
        elif issued_at >= revoked_at:
            check.problems.append(
                f"the platform revoked key {key_id} on {revoked_text}; this report was signed after that "
                f"(issued {format_timestamp(issued_at)})"
            )
        else:
            check.checks.append(f"issued {format_timestamp(issued_at)}, before the key was revoked")
            check.warnings.append(
                f"key {key_id} was revoked on {revoked_text}; the report's issue date is earlier, but "
                "whoever held the key then could have written any date"
            )
    return check
