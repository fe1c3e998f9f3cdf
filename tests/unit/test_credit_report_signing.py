"""Signed credit reports verify offline against trust anchors from outside the file (the
platform's keys document or a pinned fingerprint); any change, a foreign key or a revoked
key is caught (no database)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marketplace.credit.signing import (
    TrustAnchors,
    fingerprint_of,
    public_key_b64,
    published_key_entry,
    sign_report,
    verify_report,
)
from marketplace.credit.verify import main

ROOT = Path(__file__).resolve().parents[2]
REPORT = {
    "issuer": "Xunhuan 循环",
    "subject": {"id": 7, "name": "卖家老李"},
    "issued_at": "2026-11-25T08:00:00Z",
    "period": {"from": "2025-01-02", "to": "2026-11-25"},
    "roles": [{"role": "seller", "score": 912, "tier": "excellent", "counts": {"order_completed": 50}}],
}


@pytest.fixture
def platform_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def keys_document(*keys: Ed25519PrivateKey, revoked_at=None) -> dict:
    return {"keys": [published_key_entry(public_key_b64(k), revoked_at=revoked_at) for k in keys]}


def write(path: Path, data, **dump_options) -> str:
    path.write_text(json.dumps(data, **{"ensure_ascii": False, **dump_options}), encoding="utf-8")
    return str(path)


def fingerprint_by_hand(key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(base64.b64decode(public_key_b64(key))).hexdigest()


def test_the_fingerprint_is_the_sha256_of_the_raw_32_byte_key(platform_key):
    assert fingerprint_of(public_key_b64(platform_key)) == fingerprint_by_hand(platform_key)
    assert published_key_entry(public_key_b64(platform_key))["fingerprint"] == fingerprint_by_hand(platform_key)


def test_a_report_verifies_only_against_a_trust_anchor_and_not_after_tampering(platform_key):
    bundle = sign_report(platform_key, REPORT)
    trust = TrustAnchors.build(documents=[keys_document(platform_key)])
    assert verify_report(bundle, trust=trust).valid
    no_anchor = verify_report(bundle, trust=TrustAnchors())
    assert not no_anchor.valid and "no trust anchor" in no_anchor.problems[0]

    tampered = json.loads(json.dumps(bundle))
    tampered["report"]["roles"][0]["score"] = 999
    check = verify_report(tampered, trust=trust)
    assert not check.valid and "changed after it was signed" in check.problems[0]


def test_the_cli_accepts_a_report_with_the_saved_keys_document(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))
    keys = write(tmp_path / "credit-keys.json", keys_document(platform_key))
    assert main([report, "--keys", keys]) == 0
    out = capsys.readouterr().out
    assert "VALID: credit report for user 7" in out and "keys document" in out


def test_the_cli_accepts_a_pinned_fingerprint_in_the_forms_people_copy_it(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))
    plain = fingerprint_by_hand(platform_key)
    with_colons = ":".join(plain[i : i + 2] for i in range(0, 64, 2)).upper()
    for pinned in (plain, f"sha256:{plain}", f" SHA256:{with_colons} "):
        assert main([report, "--trust", pinned]) == 0, pinned
    assert main([report, "--key", public_key_b64(platform_key)]) == 0  # --key pins the key itself
    assert main([report, "--trust", plain[:-1] + ("0" if plain[-1] != "0" else "1")]) == 1
    assert main([report, "--trust", "sha256:not-hex"]) == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err


def test_a_report_altered_and_re_signed_with_another_key_is_not_the_platforms(tmp_path, platform_key, capsys):
    attacker = Ed25519PrivateKey.generate()
    forged = sign_report(platform_key, REPORT)
    forged["report"]["roles"][0]["tier"] = "excellent-plus"
    forged = sign_report(attacker, forged["report"])  # a self-consistent signature by the wrong key
    report = write(tmp_path / "forged.json", forged)
    keys = write(tmp_path / "credit-keys.json", keys_document(platform_key))
    for anchor in (["--keys", keys], ["--trust", fingerprint_by_hand(platform_key)]):
        assert main([report, *anchor]) == 1
        out = capsys.readouterr().out
        assert "not the platform's credit-report key" in out
        assert fingerprint_by_hand(attacker) in out
        assert "changed after it was signed" not in out and "INVALID" in out


def test_without_a_trust_anchor_the_cli_refuses_and_says_where_to_get_one(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))
    assert main([report]) == 2
    captured = capsys.readouterr()
    assert "VALID" not in captured.out
    assert "/.well-known/credit-keys.json" in captured.err and "--keys" in captured.err
    assert "--trust" in captured.err


def test_unreadable_files_give_no_verdict(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))
    keys = write(tmp_path / "credit-keys.json", keys_document(platform_key))
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert main([str(tmp_path / "junk.json"), "--keys", keys]) == 2
    assert "cannot read the report" in capsys.readouterr().err
    assert main([report, "--keys", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the keys document" in capsys.readouterr().err
    assert main([report, "--keys", write(tmp_path / "not-keys.json", {"key": "x"})]) == 2
    assert "not a credit keys document" in capsys.readouterr().err
    assert main([write(tmp_path / "other.json", {"hello": 1}), "--keys", keys]) == 1
    assert "not a Xunhuan credit report" in capsys.readouterr().out


def test_a_keys_document_whose_fingerprint_contradicts_its_key_is_refused(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))
    document = keys_document(platform_key)
    document["keys"][0]["fingerprint"] = fingerprint_by_hand(Ed25519PrivateKey.generate())
    assert main([report, "--keys", write(tmp_path / "credit-keys.json", document)]) == 2
    assert "does not belong to its public key" in capsys.readouterr().err


def test_key_order_and_whitespace_in_the_files_do_not_matter(tmp_path, platform_key):
    bundle = sign_report(platform_key, REPORT)
    # Written the way another tool might: keys sorted, indented, non-ASCII escaped.
    report = write(tmp_path / "report.json", bundle, sort_keys=True, indent=4, ensure_ascii=True)
    reordered = {"keys": [dict(reversed(list(entry.items()))) for entry in keys_document(platform_key)["keys"]]}
    keys = tmp_path / "credit-keys.json"
    keys.write_text("\n  " + json.dumps(reordered, indent="\t") + "\n\n", encoding="utf-8")
    assert json.loads((tmp_path / "report.json").read_text()) == bundle
    assert main([report, "--keys", str(keys)]) == 0


def test_a_revoked_key_invalidates_reports_signed_after_its_revocation(tmp_path, platform_key, capsys):
    report = write(tmp_path / "report.json", sign_report(platform_key, REPORT))  # issued 2026-11-25 08:00Z
    before = write(
        tmp_path / "before.json", keys_document(platform_key, revoked_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    )
    assert main([report, "--keys", before]) == 1
    out = capsys.readouterr().out
    assert "revoked key" in out and "2026-06-01T00:00:00Z" in out and "INVALID" in out

    at_issue = keys_document(platform_key, revoked_at=dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC))
    assert main([report, "--keys", write(tmp_path / "at.json", at_issue)]) == 1
    capsys.readouterr()

    after = write(
        tmp_path / "after.json", keys_document(platform_key, revoked_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    )
    assert main([report, "--keys", after]) == 0
    assert "WARN" in capsys.readouterr().out  # valid, but the revocation is mentioned

    # A fingerprint pinned alongside the keys document does not override the revocation.
    assert main([report, "--keys", before, "--trust", fingerprint_by_hand(platform_key)]) == 1


def test_python_dash_m_help_prints_usage_and_exit_codes():
    result = subprocess.run(
        [sys.executable, "-m", "marketplace.credit.verify", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m marketplace.credit.verify")
    for text in ("--keys FILE", "--trust FINGERPRINT", "Exit status", "0  VALID", "1  INVALID", "2  NO VERDICT"):
        assert text in result.stdout
    assert "cannot read" not in result.stdout + result.stderr  # --help was not taken for a file name


def test_python_dash_m_runs_the_verifier(tmp_path, platform_key):
    path = write(tmp_path / "r.json", sign_report(platform_key, REPORT))
    keys = write(tmp_path / "credit-keys.json", keys_document(platform_key))
    command = [sys.executable, "-m", "marketplace.credit.verify", path]
    valid = subprocess.run([*command, "--keys", keys], cwd=ROOT, capture_output=True, text=True)
    assert valid.returncode == 0 and "VALID" in valid.stdout
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "No trust anchor" in refused.stderr
