"""Signed credit reports verify offline; any change to them is caught (no database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marketplace.credit.signing import public_key_b64, sign_report, verify_report
from marketplace.credit.verify import main

ROOT = Path(__file__).resolve().parents[2]
REPORT = {
    "issuer": "Xunhuan 循环",
    "subject": {"id": 7, "name": "卖家老李"},
    "issued_at": "2026-11-25T08:00:00Z",
    "period": {"from": "2025-01-02", "to": "2026-11-25"},
    "roles": [{"role": "seller", "score": 912, "tier": "excellent", "counts": {"order_completed": 50}}],
}


def test_a_signed_report_verifies_and_a_tampered_one_does_not():
    key = Ed25519PrivateKey.generate()
    bundle = sign_report(key, REPORT)
    assert verify_report(bundle).valid
    assert verify_report(bundle, trusted_public_key=public_key_b64(key)).valid
    tampered = json.loads(json.dumps(bundle))
    tampered["report"]["roles"][0]["score"] = 999
    assert not verify_report(tampered).valid
    other = sign_report(Ed25519PrivateKey.generate(), REPORT)
    check = verify_report(other, trusted_public_key=public_key_b64(key))
    assert not check.valid and "published key" in check.problems[0]


def test_the_cli_exits_non_zero_with_a_message_on_tampering(tmp_path, capsys):
    key = Ed25519PrivateKey.generate()
    good = tmp_path / "report.json"
    good.write_text(json.dumps(sign_report(key, REPORT), ensure_ascii=False), encoding="utf-8")
    assert main([str(good), "--key", public_key_b64(key)]) == 0
    assert "VALID" in capsys.readouterr().out
    data = json.loads(good.read_text(encoding="utf-8"))
    data["report"]["roles"][0]["tier"] = "excellent-plus"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "INVALID" in out
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert main([str(tmp_path / "junk.json")]) == 1


def test_python_dash_m_runs_the_verifier(tmp_path):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "r.json"
    data = sign_report(key, REPORT)
    data["report"]["subject"]["id"] = 8
    path.write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "marketplace.credit.verify", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "INVALID" in result.stdout
