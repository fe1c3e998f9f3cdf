"""Offline verification takes its trust from outside the bundle: a keys document or a
pinned platform key fingerprint. Forged bundles, re-signed with an attacker's keys and
carrying their own log, are refused with reasons that say so; revocations known to a
current keys document are reported."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.wipe import TEST_SALT, Keys, keys_document, laptop_opening, laptop_payload, make_bundle
from wipe_cert.payload import commitment, fingerprint, identifier_matches
from wipe_cert.signing import (
    CERTIFICATE_REVOKED,
    KEY_REVOKED,
    anchors_from,
    signed_statement,
    verify_bundle,
)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "wipe_cert.verify"]
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}  # no Django settings: it must not need them


def forged_bundle(genuine: Keys) -> dict:
    """What a reviewer built: the serial changed, 35 passes claimed, everything re-signed
    with two freshly made keys, with its own one-entry log."""
    attacker = Keys()
    payload = laptop_payload()
    payload["device"]["identifiers"][0]["last4"] = "9999"
    payload["media"][0]["passes"] = 35
    return make_bundle(payload, attacker, others=0)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False)


def test_a_forged_bundle_with_attacker_keys_and_its_own_log_is_invalid_with_reasons():
    genuine = Keys()
    forged = forged_bundle(genuine)
    for anchors in (anchors_from(keys_document(genuine)), anchors_from(None, [genuine.fingerprint()])):
        check = verify_bundle(forged, anchors)
        assert not check.valid
        text = " | ".join(check.problems)
        assert "not a trusted platform key" in text
        assert "never registered by the platform" in text or "re-signed with another key" in text
        assert "carries its own log" in text


def test_keys_the_bundle_carries_are_never_trusted_on_their_own():
    genuine = Keys()
    bundle = make_bundle(laptop_payload(), genuine)
    # With no anchor there is nothing to trust: the bundle cannot vouch for itself.
    assert not verify_bundle(bundle, anchors_from(None, [])).valid
    assert "no trust anchor" in verify_bundle(bundle, anchors_from(None, [])).problems[0]
    # A pinned fingerprint of another platform key refuses it.
    assert not verify_bundle(bundle, anchors_from(None, [Keys().fingerprint()])).valid
    # A provider key inside the bundle that is not the registered one is called out.
    swapped = copy.deepcopy(bundle)
    swapped["keys"]["provider"]["public_key"] = Keys().anchors().platform_keys["platform-1"]
    check = verify_bundle(swapped, anchors_from(keys_document(genuine)))
    assert any("re-signed with another key" in p for p in check.problems)


def test_a_provider_key_registered_by_someone_else_is_refused():
    genuine = Keys()
    bundle = make_bundle(laptop_payload(), genuine)
    # The attacker registers their own key in a statement signed by their own "platform".
    attacker = Keys()
    bundle["keys"]["provider"]["registration"] = {
        **attacker.registration(),
        "log": bundle["keys"]["provider"]["registration"]["log"],
    }
    check = verify_bundle(bundle, anchors_from(None, [genuine.fingerprint()]))
    assert any("never registered by the platform" in p for p in check.problems)


def test_reordered_keys_and_whitespace_still_verify_with_either_anchor(tmp_path):
    genuine = Keys()
    bundle = make_bundle(laptop_payload(), genuine)
    shuffled = json.loads(json.dumps(bundle, sort_keys=True))
    shuffled["payload"] = dict(reversed(list(shuffled["payload"].items())))
    (tmp_path / "cert.json").write_text(json.dumps(shuffled, indent=7, ensure_ascii=False))
    (tmp_path / "keys.json").write_text(json.dumps(keys_document(genuine)))
    by_keys = run_cli("cert.json", "--keys", "keys.json", cwd=tmp_path)
    assert by_keys.returncode == 0, by_keys.stdout + by_keys.stderr
    assert by_keys.stdout.strip().endswith(f"VALID: certificate {bundle['payload']['certificate_id']}")
    pinned = run_cli("cert.json", "--trust", "sha256:" + genuine.fingerprint().upper(), cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr


def test_the_cli_refuses_the_forgery_and_explains(tmp_path):
    genuine = Keys()
    (tmp_path / "forged.json").write_text(json.dumps(forged_bundle(genuine)))
    (tmp_path / "keys.json").write_text(json.dumps(keys_document(genuine)))
    result = run_cli("forged.json", "--keys", "keys.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "re-signed by someone else" in result.stdout
    assert "carries its own log" in result.stdout
    assert "INVALID" in result.stdout.splitlines()[-1]


def test_a_current_keys_document_reports_a_revoked_key_and_a_revoked_certificate(tmp_path):
    genuine = Keys()
    payload = laptop_payload()
    bundle = make_bundle(payload, genuine)  # downloaded before the revocations
    key_revoked = signed_statement(
        genuine.platform,
        "platform-1",
        {
            "type": KEY_REVOKED,
            "key_id": "provider-2026",
            "owner_uscc": "91310000MA1K00003F",
            "revoked_at": "2026-11-25T10:00:00+08:00",
            "reason": "key leaked",
        },
    )
    check = verify_bundle(bundle, anchors_from(keys_document(genuine, [key_revoked])))
    assert not check.valid
    assert "the provider's key provider-2026 was revoked on 2026-11-25 (key leaked)" in check.problems
    cert_revoked = signed_statement(
        genuine.platform,
        "platform-1",
        {
            "type": CERTIFICATE_REVOKED,
            "certificate_id": payload["certificate_id"],
            "revoked_at": "2026-11-26T10:00:00+08:00",
            "reason": "verification pass skipped",
        },
    )
    (tmp_path / "cert.json").write_text(json.dumps(bundle))
    (tmp_path / "keys.json").write_text(json.dumps(keys_document(genuine, [cert_revoked])))
    result = run_cli("cert.json", "--keys", "keys.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "the certificate was revoked on 2026-11-26 because verification pass skipped" in result.stdout
    # The old keys document (from before the revocation) does not know of it.
    (tmp_path / "old-keys.json").write_text(json.dumps(keys_document(genuine)))
    assert run_cli("cert.json", "--keys", "old-keys.json", cwd=tmp_path).returncode == 0


def test_a_revocation_signed_by_an_attacker_in_the_keys_document_is_ignored_and_reported():
    genuine = Keys()
    bundle = make_bundle(laptop_payload(), genuine)
    fake = signed_statement(
        Ed25519PrivateKey.generate(),
        "platform-1",
        {
            "type": CERTIFICATE_REVOKED,
            "certificate_id": bundle["payload"]["certificate_id"],
            "revoked_at": "x",
            "reason": "y",
        },
    )
    check = verify_bundle(bundle, anchors_from(keys_document(genuine, [fake])))
    assert check.revocation is None
    assert "a statement in the keys document is not signed by a trusted platform key" in check.problems


def test_usage_errors_help_and_exit_codes(tmp_path):
    genuine = Keys()
    (tmp_path / "cert.json").write_text(json.dumps(make_bundle(laptop_payload(), genuine)))
    helped = run_cli("--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert "--keys" in helped.stdout and "--trust" in helped.stdout and "exit status" in helped.stdout
    no_anchor = run_cli("cert.json", cwd=tmp_path)
    assert no_anchor.returncode == 2
    assert "no trust anchor" in no_anchor.stderr
    missing = run_cli("absent.json", "--trust", genuine.fingerprint(), cwd=tmp_path)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    bad_pin = run_cli("cert.json", "--trust", "not-a-fingerprint", cwd=tmp_path)
    assert bad_pin.returncode == 2
    (tmp_path / "garbage.json").write_text("{not json")
    assert run_cli("garbage.json", "--trust", genuine.fingerprint(), cwd=tmp_path).returncode == 2


def test_the_buyer_checks_the_device_in_hand_with_the_opening(tmp_path):
    genuine = Keys()
    payload = laptop_payload()
    opening = laptop_opening()
    bundle = {**make_bundle(payload, genuine), "opening": opening}
    assert verify_bundle(bundle, genuine.anchors()).valid
    (tmp_path / "cert.json").write_text(json.dumps(bundle))
    right = run_cli("cert.json", "--trust", genuine.fingerprint(), "--identifier", "serial=PF2ABCDE", cwd=tmp_path)
    assert right.returncode == 0, right.stdout
    assert "matches the certificate" in right.stdout
    wrong = run_cli("cert.json", "--trust", genuine.fingerprint(), "--identifier", "serial=PF2ABCDF", cwd=tmp_path)
    assert wrong.returncode == 1
    # An opening for other identifiers does not fit the commitments.
    lying = {**bundle, "opening": {**opening, "device": {"serial": "PF2XXXXX"}}}
    assert any("do not match" in p for p in verify_bundle(lying, genuine.anchors()).problems)


def test_commitments_need_the_secret_salt():
    payload = laptop_payload()
    serial = payload["device"]["identifiers"][0]
    assert serial["kind"] == "serial" and serial["last4"] == "BCDE"
    assert "PF2ABCDE" not in json.dumps(payload)
    assert identifier_matches(payload, TEST_SALT, "serial", "PF2ABCDE")
    assert not identifier_matches(payload, "00" * 32, "serial", "PF2ABCDE")
    assert serial["commitment"] == commitment(TEST_SALT, "serial", "PF2ABCDE")
    assert fingerprint(payload) != fingerprint(laptop_payload(device={"type": "laptop", "maker": "L", "model": "X"}))
