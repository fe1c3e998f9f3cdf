"""Ed25519 signatures over RFC 8785 canonical JSON, and the self-contained bundle that
anyone can verify offline. Pure: cryptography + rfc8785, no Django."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wipe_cert import merkle
from wipe_cert.payload import LEGACY_SCHEMA_VERSION, PayloadInvalid, fingerprint, opening_problems, validate_payload

BUNDLE_FORMAT = "xunhuan.erasure-certificate-bundle/1"
KEYS_FORMAT = "xunhuan.erasure-keys/2"
LOG_ID = "xunhuan-erasure-log"
# Statements the platform signs and appends to the transparency log.
KEY_REGISTERED = "xunhuan.provider-key-registration/1"
KEY_REVOKED = "xunhuan.provider-key-revocation/1"
CERTIFICATE_REVOKED = "xunhuan.certificate-revocation/1"


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


def key_fingerprint(public_key_b64_text: str) -> str:
    """SHA-256 of the raw 32-byte Ed25519 public key, lowercase hex: what a verifier pins."""
    return hashlib.sha256(unb64(public_key_b64_text)).hexdigest()


def normalise_fingerprint(text: str) -> str:
    cleaned = text.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(cleaned) != 64 or any(ch not in "0123456789abcdef" for ch in cleaned):
        raise ValueError(f"{text!r} is not a SHA-256 key fingerprint (64 hex digits)")
    return cleaned


def signed_statement(private_key: Ed25519PrivateKey, key_id: str, statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement signed by a platform key; the whole of it is a transparency-log leaf."""
    return {"statement": dict(statement), "key_id": key_id, "signature": sign(private_key, statement)}


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
    revocation: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return not self.problems

    def ok(self, what: str) -> None:
        self.checks.append(what)

    def fail(self, what: str) -> None:
        self.problems.append(what)


@dataclass
class TrustAnchors:
    """What a verifier trusts, all from outside the bundle: platform keys (from a keys
    document saved from /.well-known/erasure-keys.json, or the platform's own database)
    and/or pinned platform key fingerprints, plus the platform-signed statements about
    provider keys and certificates that the keys document carries."""

    platform_keys: dict[str, str] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_revocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    certificate_revocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.platform_keys or self.pinned)

    def platform_key(self, key_id: str, offered_public_key: str = "") -> str | None:
        """The public key of a trusted platform key, or None. A key the bundle offers is
        used only when its fingerprint is pinned."""
        if key_id and key_id in self.platform_keys:
            return self.platform_keys[key_id]
        if offered_public_key and self.pinned:
            try:
                if key_fingerprint(offered_public_key) in self.pinned:
                    return offered_public_key
            except ValueError:
                return None
        return None

    def statement(self, signed: Any, kind: str, offered_public_key: str = "") -> dict[str, Any] | None:
        """The statement if a trusted platform key signed it, else None."""
        if not isinstance(signed, Mapping):
            return None
        statement = signed.get("statement")
        if not isinstance(statement, Mapping) or statement.get("type") != kind:
            return None
        public = self.platform_key(str(signed.get("key_id", "")), offered_public_key)
        if public is None or not verify_signature(public, statement, str(signed.get("signature", ""))):
            return None
        return dict(statement)

    def add_statements(self, signed_statements: Any, offered_public_keys: Mapping[str, str] | None = None) -> None:
        for signed in signed_statements if isinstance(signed_statements, list) else []:
            offered = (offered_public_keys or {}).get(str((signed or {}).get("key_id", "")), "")
            kind = ((signed or {}).get("statement") or {}).get("type") if isinstance(signed, Mapping) else None
            statement = self.statement(signed, str(kind), offered) if kind else None
            if statement is None:
                self.problems.append("a statement in the keys document is not signed by a trusted platform key")
            elif kind == KEY_REGISTERED:
                self.registrations[str(statement["key_id"])] = statement
            elif kind == KEY_REVOKED:
                self.key_revocations[str(statement["key_id"])] = statement
            elif kind == CERTIFICATE_REVOKED:
                self.certificate_revocations[str(statement["certificate_id"])] = statement


def anchors_from(
    keys_document: Mapping[str, Any] | None = None, pins: list[str] | tuple[str, ...] = ()
) -> TrustAnchors:
    """Trust anchors from a keys document and/or pinned fingerprints. With both, only the
    document's platform keys whose fingerprint is pinned are trusted."""
    anchors = TrustAnchors(pinned={normalise_fingerprint(pin) for pin in pins})
    if keys_document is None:
        return anchors
    if keys_document.get("format") != KEYS_FORMAT:
        anchors.problems.append(f"the keys document is not a {KEYS_FORMAT} document")
        return anchors
    for key in keys_document.get("platform_keys") or []:
        public = str(key.get("public_key", ""))
        try:
            fingerprint_ = key_fingerprint(public)
        except ValueError:
            continue
        if not anchors.pinned or fingerprint_ in anchors.pinned:
            anchors.platform_keys[str(key.get("key_id", ""))] = public
    if anchors.pinned and not anchors.platform_keys:
        anchors.problems.append("no platform key in the keys document has the pinned fingerprint")
    anchors.add_statements(keys_document.get("statements"))
    return anchors


def _when(value: Any) -> str:
    moment = parse_time(str(value)) if value else None
    return moment.date().isoformat() if moment else "?"


def revocation_problem(statement: Mapping[str, Any]) -> str:
    if statement.get("type") == KEY_REVOKED:
        return (
            f"the provider's key {statement.get('key_id')} was revoked on {_when(statement.get('revoked_at'))}"
            f" ({statement.get('reason', '')})"
        )
    return f"the certificate was revoked on {_when(statement.get('revoked_at'))} because {statement.get('reason', '')}"


def _check_provider_key(
    bundle: Mapping[str, Any], payload: Mapping[str, Any], anchors: TrustAnchors, check: BundleCheck, offered: str
) -> tuple[dict[str, Any] | None, tuple[int, list[bytes]] | None]:
    """The provider key as the platform registered it, and where its registration sits in
    the log when the bundle (not the keys document) supplied it."""
    key_id = str(payload["provider"]["key_id"])
    registration = anchors.registrations.get(key_id)
    proof = None
    if registration is None:
        supplied = ((bundle.get("keys") or {}).get("provider") or {}).get("registration")
        registration = anchors.statement(supplied, KEY_REGISTERED, offered)
        if registration is not None:
            try:
                log = (supplied or {}).get("log") or {}
                proof = (int(log["index"]), [bytes.fromhex(p) for p in log.get("proof", [])])
            except (KeyError, TypeError, ValueError):
                registration = None
    if registration is None or registration.get("key_id") != key_id:
        check.fail(
            f"the provider key {key_id} was never registered by the platform: the certificate was signed with an "
            "unknown key"
        )
        return None, None
    if registration.get("owner_uscc") != payload["provider"].get("uscc"):
        check.fail("the provider key is registered to another provider")
        return None, None
    check.ok(f"provider key {key_id} is registered by the platform to {registration.get('owner_name', '')}")
    return registration, proof


def verify_bundle(bundle: Mapping[str, Any], anchors: TrustAnchors) -> BundleCheck:
    """Verify a downloaded certificate against trust anchors from outside it: payload
    schema, the platform key (known or pinned), the provider key's platform-signed
    registration, the provider signature, the countersignature, inclusion in the log at a
    checkpoint signed by a trusted platform key, and revocations known to the anchors or
    carried as platform-signed statements. Keys the bundle carries count for nothing
    unless an anchor vouches for them."""
    check = BundleCheck()
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        check.fail("not an erasure-certificate bundle")
        return check
    if anchors.empty:
        check.fail("no trust anchor: give the platform's keys document or its pinned key fingerprint")
        return check
    for problem in anchors.problems:
        check.fail(problem)
    payload = bundle.get("payload") or {}
    try:
        validate_payload(payload)
        check.ok("payload matches the certificate schema")
    except PayloadInvalid as exc:
        check.fail(f"payload does not match the schema: {exc.problems[0]}")
        return check
    keys = bundle.get("keys") or {}
    offered_platform = keys.get("platform") or {}
    counter = bundle.get("platform_countersignature") or {}
    log = bundle.get("log") or {}
    checkpoint = log.get("checkpoint") or {}
    offered = {str(offered_platform.get("key_id", "")): str(offered_platform.get("public_key", ""))}

    def platform_public(key_id: Any) -> str | None:
        return anchors.platform_key(str(key_id or ""), offered.get(str(key_id or ""), ""))

    trusted_platform = platform_public(offered_platform.get("key_id"))
    if trusted_platform is None or trusted_platform != offered_platform.get("public_key", trusted_platform):
        fingerprint_text = ""
        with contextlib.suppress(ValueError):
            fingerprint_text = f" (fingerprint {key_fingerprint(str(offered_platform.get('public_key', '')))})"
        check.fail(
            f"the platform key in the bundle{fingerprint_text} is not a trusted platform key: the bundle was "
            "re-signed by someone else"
        )
    else:
        check.ok("the platform key is trusted")

    registration, registration_proof = _check_provider_key(
        bundle, payload, anchors, check, offered.get(str(offered_platform.get("key_id", "")), "")
    )
    provider_sig = bundle.get("provider_signature") or {}
    offered_provider = str(((bundle.get("keys") or {}).get("provider") or {}).get("public_key") or "")
    if registration is not None and offered_provider and offered_provider != registration.get("public_key"):
        check.fail(
            f"the bundle's provider key is not the key the platform registered as {registration['key_id']}: the "
            "certificate was re-signed with another key"
        )
    if registration is not None:
        if provider_sig.get("key_id") != registration["key_id"]:
            check.fail("the provider signature names another key than the payload")
        elif verify_signature(str(registration.get("public_key", "")), payload, str(provider_sig.get("signature", ""))):
            check.ok("provider signature is valid")
        else:
            check.fail("provider signature does not match the payload (changed after signing, or another key)")
        issued = parse_time(payload["issued_at"])
        valid_from, valid_to = registration.get("valid_from"), registration.get("valid_to")
        if (valid_from and issued < parse_time(str(valid_from))) or (valid_to and issued > parse_time(str(valid_to))):
            check.fail("the provider key was not valid when the certificate was signed")
        else:
            check.ok("provider key was valid when signing")

    signed = counter.get("signed") or {}
    counter_key = platform_public(counter.get("key_id"))
    if signed.get("payload_sha256") != fingerprint(payload) or signed.get("provider_signature") != provider_sig.get(
        "signature"
    ):
        check.fail("the countersignature is for another payload")
    elif counter_key is not None and verify_signature(counter_key, signed, str(counter.get("signature", ""))):
        check.ok("platform countersignature is valid")
    else:
        check.fail("the platform countersignature is not by a trusted platform key")

    leaf = log_leaf(
        certificate_id=payload["certificate_id"],
        payload_sha256=fingerprint(payload),
        provider_signature=str(provider_sig.get("signature", "")),
        accepted_at=str(signed.get("accepted_at", "")),
    )
    tree_size = int(checkpoint.get("tree_size", 0) or 0)
    try:
        proof = [bytes.fromhex(p) for p in log.get("proof", [])]
        root_hash = bytes.fromhex(str(checkpoint.get("root_hash", "")))
        included = merkle.verify_inclusion(int(log.get("index", -1)), tree_size, leaf_hash_of(leaf), proof, root_hash)
    except (ValueError, TypeError):
        included, root_hash = False, b""
    body = checkpoint_body(
        tree_size=tree_size,
        root_hash=str(checkpoint.get("root_hash", "")),
        timestamp=str(checkpoint.get("timestamp", "")),
    )
    checkpoint_key = platform_public(checkpoint.get("key_id"))
    if checkpoint_key is None or not verify_signature(checkpoint_key, body, str(checkpoint.get("signature", ""))):
        check.fail("the log checkpoint is not signed by a trusted platform key: the bundle carries its own log")
    elif not included:
        check.fail("the certificate is not in the transparency log at the checkpoint given")
    else:
        check.ok(f"included in the transparency log (entry {log['index']} of {tree_size})")
        if registration_proof is not None:
            supplied = (keys.get("provider") or {}).get("registration") or {}
            index, path = registration_proof
            leaf_of_registration = {k: v for k, v in supplied.items() if k != "log"}
            if merkle.verify_inclusion(index, tree_size, leaf_hash_of(leaf_of_registration), path, root_hash):
                check.ok(f"the provider key's registration is in the log (entry {index})")
            else:
                check.fail("the provider key's registration is not in the transparency log")

    # Revocations: those the anchors know (a current keys document) and those the bundle
    # carries, if a trusted platform key signed them.
    revocations = []
    key_id = str(payload["provider"]["key_id"])
    if key_id in anchors.key_revocations:
        revocations.append(anchors.key_revocations[key_id])
    if payload["certificate_id"] in anchors.certificate_revocations:
        revocations.append(anchors.certificate_revocations[payload["certificate_id"]])
    for signed_statement_ in bundle.get("revocations") or []:
        kind = (
            ((signed_statement_ or {}).get("statement") or {}).get("type")
            if isinstance(signed_statement_, Mapping)
            else None
        )
        statement = (
            anchors.statement(
                signed_statement_, str(kind), offered.get(str((signed_statement_ or {}).get("key_id", "")), "")
            )
            if kind
            else None
        )
        if statement is not None and (
            statement.get("certificate_id") == payload["certificate_id"] or statement.get("key_id") == key_id
        ):
            revocations.append(statement)
    for statement in revocations:
        if statement.get("type") in (KEY_REVOKED, CERTIFICATE_REVOKED):
            check.revocation = check.revocation or statement
            problem = revocation_problem(statement)
            if problem not in check.problems:
                check.fail(problem)
    if bundle.get("status") and bundle["status"] not in ("valid",) and check.revocation is None:
        check.fail(f"the platform marked this certificate {bundle['status']}")
    opening = bundle.get("opening")
    if isinstance(opening, Mapping) and payload.get("schema") != LEGACY_SCHEMA_VERSION:
        wrong = opening_problems(payload, opening)
        for problem in wrong:
            check.fail(problem)
        if not wrong:
            check.ok("the device identifiers match the certificate's commitments")
    return check
