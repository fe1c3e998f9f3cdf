"""Erasure certificates without a database: acceptance rules, importers, Merkle log,
signatures and offline verification."""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tests.wipe import HDD_MEDIUM, Keys, laptop_payload, make_bundle, phone_payload
from wipe_cert import merkle
from wipe_cert.acceptance import Outcome, decide, decide_medium
from wipe_cert.importers import ReportIncomplete, ReportUnreadable, import_report
from wipe_cert.payload import PayloadInvalid, canonical, fingerprint, validate_payload
from wipe_cert.signing import verify_bundle

ROOT = Path(__file__).resolve().parents[2]
# A real ShredOS/nwipe 0.33 log (from shared/samples/nwipe), kept with the tests so they run anywhere.
SAMPLE_LOG = ROOT / "tests" / "fixtures" / "nwipe-0.33-dodshort-verify-last.log"


def medium(**changes):
    return {**copy.deepcopy(HDD_MEDIUM), **changes}


# --- acceptance ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "outcome", "code"),
    [
        ({}, Outcome.PASS, "overwrite_ok"),
        ({"passes": 2}, Outcome.FAIL, "too_few_passes"),
        ({"random_passes": 0}, Outcome.FAIL, "no_random_pass"),
        ({"verification": {"method": "none", "result": "not_run"}}, Outcome.FAIL, "not_verified"),
        ({"verification": {"method": "last_pass", "result": "failed"}}, Outcome.FAIL, "verification_failed"),
        ({"errors": {"pass": 3, "verification": 0, "sync": 0}}, Outcome.FAIL, "pass_errors"),
        ({"hidden_areas": {"checked": True, "cleared": False}}, Outcome.FAIL, "hidden_area_not_cleared"),
        ({"technique": "sanitize", "status": "success"}, Outcome.PASS, "sanitize_ok"),
        ({"technique": "destruction"}, Outcome.PASS, "destroyed"),
    ],
)
def test_magnetic_disks(changes, outcome, code):
    result, reasons = decide_medium(medium(**changes))
    assert result == outcome
    assert code in {r.code for r in reasons}


@pytest.mark.parametrize(
    ("changes", "outcome", "code"),
    [
        ({"type": "NVMe", "technique": "sanitize", "status": "success"}, Outcome.PASS, "purge_ok"),
        ({"type": "SSD", "technique": "block_erase", "status": "success"}, Outcome.PASS, "purge_ok"),
        (
            {"type": "SSD", "technique": "crypto_erase", "status": "failed", "result": "failed"},
            Outcome.FAIL,
            "purge_not_confirmed",
        ),
        ({"type": "SSD", "technique": "overwrite"}, Outcome.REVIEW, "flash_overwrite_clear_only"),
        ({"type": "SD", "technique": "overwrite", "passes": 1}, Outcome.REVIEW, "flash_overwrite_clear_only"),
    ],
)
def test_solid_state_and_flash(changes, outcome, code):
    result, reasons = decide_medium(medium(**changes))
    assert result == outcome
    assert code in {r.code for r in reasons}


def test_an_overwrite_without_recorded_passes_goes_to_review():
    record = medium()
    del record["passes"]
    assert decide_medium(record)[0] == Outcome.REVIEW


def test_a_recorded_crypto_erase_of_an_unlocked_phone_passes():
    assert decide(phone_payload()).outcome == Outcome.PASS


def test_a_bare_factory_reset_without_a_tool_record_is_rejected():
    payload = phone_payload()
    payload["media"][0] |= {"technique": "factory_reset", "tool_recorded": False}
    decision = decide(payload)
    assert decision.outcome == Outcome.FAIL
    assert "factory_reset_without_record" in decision.codes


@pytest.mark.parametrize("lock", ["activation_lock", "mdm"])
def test_phones_need_their_locks_off(lock):
    payload = phone_payload()
    payload["locks"][lock] = "on"
    assert f"{lock}_not_off" in decide(payload).codes


def test_phones_need_removable_media_removed_and_a_reset_needs_encryption():
    payload = phone_payload()
    payload["locks"]["removable_media_removed"] = False
    assert decide(payload).outcome == Outcome.FAIL
    payload = phone_payload(device_encrypted=False)
    payload["media"][0]["technique"] = "factory_reset"
    assert "reset_of_unencrypted_device" in decide(payload).codes


def test_the_whole_device_takes_the_worst_medium_and_reported_exceptions_fail():
    payload = laptop_payload(media=[medium(), medium(type="SSD", technique="overwrite")])
    decision = decide(payload)
    assert (decision.outcome, decision.per_medium) == (Outcome.REVIEW, (Outcome.PASS, Outcome.REVIEW))
    assert decide(laptop_payload(exceptions=["hidden_area_not_cleared"])).outcome == Outcome.FAIL


# --- importers ---------------------------------------------------------------------------


def test_the_sample_nwipe_log_imports_to_a_passing_hdd_record():
    report = import_report("nwipe_log", SAMPLE_LOG.read_bytes())
    (record,) = report.media
    assert (record["method_name"], record["passes"], record["random_passes"]) == ("DoD Short", 3, 1)
    assert record["verification"] == {"method": "last_pass", "result": "passed"}
    assert record["blanking"] is True
    assert record["errors"] == {"pass": 0, "verification": 0, "sync": 0}
    assert (record["model"], record["capacity_bytes"], record["tool"]) == (
        "Loopback device",
        16_777_216,
        {"name": "nwipe", "version": "0.33"},
    )
    assert record["serial"] == "hex:20605d0a907f"  # the bytes nwipe printed, kept exactly (a newline among them)
    assert {"method_name", "passes", "verification", "blanking", "errors"} <= set(report.read_fields)
    assert decide_medium(record)[0] == Outcome.PASS
    assert len(report.sha256) == 64


def test_a_log_with_a_failed_verification_and_errors_fails():
    text = (
        SAMPLE_LOG.read_bytes()
        .replace(b"[SUCCESS] Verified", b"[FAILURE] Verification of")
        .replace(b"loop0 |           0 |                    0 |", b"loop0 |           2 |                    5 |")
    )
    (record,) = import_report("nwipe_log", text).media
    assert record["verification"]["result"] == "failed"
    assert record["errors"]["pass"] == 2
    assert decide_medium(record)[0] == Outcome.FAIL


def test_nwipe_json_report():
    report = {
        "report_metadata": {"generated_at": "2026-11-22_07-35-26", "software": "nwipe", "version": "0.39"},
        "organization": {"business_name": "净数据"},
        "device": {"name": "/dev/sda", "model": "ST1000DM010", "serial_no": "Z9A1B2C3", "size_bytes": 1000204886016},
        "wipe_result": {
            "status": "success",
            "rounds_requested": 1,
            "pass_errors": 0,
            "verify_errors": 0,
            "start_time": 1763768124,
            "end_time": 1763775324,
            "duration_seconds": 7200,
        },
    }
    with translation.override("en"):
        imported = import_report("nwipe_json", json.dumps(report).encode())
    (record,) = imported.media
    assert (record["serial"], record["capacity_bytes"], record["result"]) == ("Z9A1B2C3", 1000204886016, "erased")
    assert any("method" in m for m in imported.missing)
    assert decide_medium(record)[0] == Outcome.REVIEW  # no method recorded: staff check the log
    with_method = {**report, "wipe_result": {**report["wipe_result"], "method": "DoD Short", "verify": "last_pass"}}
    (record,) = import_report("nwipe_json", json.dumps(with_method).encode()).media
    # The method's name says nothing about the passes nwipe made: they stay for staff to check.
    assert record["method_name"] == "DoD Short"
    assert "passes" not in record
    assert decide_medium(record)[0] == Outcome.REVIEW


def nvme_log(status: int, sanact: int = 2, nested: bool = True) -> bytes:
    body = {
        "sprog": 65535,
        "sstat": {"global_erased": 1, "no_cmplted_passes": 1, "status": f"({status}) stub"},
        "cdw10_info": sanact,
        "time_over_write": 4294967295,
    }
    return json.dumps({"/dev/nvme0": body} if nested else body).encode()


@pytest.mark.parametrize(("status", "outcome"), [(1, Outcome.PASS), (4, Outcome.PASS), (3, Outcome.FAIL)])
def test_nvme_sanitize_log_status(status, outcome):
    (record,) = import_report("nvme_sanitize_log", nvme_log(status)).media
    assert record["technique"] == "block_erase"
    assert decide_medium(record)[0] == outcome


def test_an_nvme_sanitize_still_in_progress_is_not_imported():
    with pytest.raises(ReportIncomplete):
        import_report("nvme_sanitize_log", nvme_log(2))


def test_nvme_crypto_erase_and_the_old_flat_integer_format():
    flat = json.dumps({"sprog": 65535, "sstat": 0x101, "cdw10_info": 4}).encode()
    (record,) = import_report("nvme_sanitize_log", flat).media
    assert (record["technique"], record["status"]) == ("crypto_erase", "success")


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("nwipe_log", b"hello, this is not a log"),
        ("nwipe_log", b"\xff\xfe\x00garbage"),
        ("nwipe_json", b"{not json"),
        ("nwipe_json", b'{"report_metadata": {"software": "other"}}'),
        ("nvme_sanitize_log", b'{"smart": 1}'),
        ("nvme_sanitize_log", b""),
        ("badblocks", b"whatever"),
    ],
)
def test_unreadable_or_unsupported_files_are_refused(fmt, data):
    with pytest.raises(ReportUnreadable):
        import_report(fmt, data)


@given(st.binary(max_size=400))
def test_importers_never_crash_on_arbitrary_bytes(data):
    for fmt in ("nwipe_log", "nwipe_json", "nvme_sanitize_log"):
        with contextlib.suppress(ReportUnreadable):
            import_report(fmt, data)


# --- Merkle log --------------------------------------------------------------------------


def test_inclusion_proofs_verify_for_every_leaf_of_every_small_tree():
    for size in range(1, 18):
        leaves = [merkle.leaf_hash(bytes([i])) for i in range(size)]
        root_hash = merkle.root(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert merkle.verify_inclusion(index, size, leaves[index], proof, root_hash)
            assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"other"), proof, root_hash)
            if size > 1:
                assert not merkle.verify_inclusion((index + 1) % size, size, leaves[index], proof, root_hash)


def test_rfc6962_hashing_of_the_empty_tree_and_a_single_leaf():
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


# --- payload, signatures, bundles ----------------------------------------------------------


def test_the_payload_schema_accepts_good_payloads_and_names_problems():
    validate_payload(laptop_payload())
    validate_payload(phone_payload())
    broken = laptop_payload()
    broken["media"][0]["passes"] = "three"
    del broken["provider"]
    with pytest.raises(PayloadInvalid) as exc:
        validate_payload(broken)
    assert len(exc.value.problems) == 2


def test_key_order_and_whitespace_do_not_change_the_canonical_bytes():
    payload = laptop_payload()
    shuffled = json.loads(json.dumps(dict(reversed(list(payload.items()))), indent=7))
    assert canonical(shuffled) == canonical(payload)
    assert fingerprint(shuffled) == fingerprint(payload)


def test_a_bundle_verifies_and_survives_reformatting():
    keys = Keys()
    bundle = make_bundle(laptop_payload(), keys)
    assert verify_bundle(bundle, keys.anchors()).valid, verify_bundle(bundle, keys.anchors()).problems
    reformatted = json.loads(json.dumps(bundle, indent=3, sort_keys=True))
    assert verify_bundle(reformatted, keys.anchors()).valid


def leaf_paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*prefix, index))
    else:
        yield prefix


def test_changing_any_field_of_the_payload_breaks_verification():
    keys = Keys()
    bundle = make_bundle(laptop_payload(), keys)
    for path in leaf_paths(bundle["payload"]):
        tampered = copy.deepcopy(bundle)
        target = tampered["payload"]
        for key in path[:-1]:
            target = target[key]
        old = target[path[-1]]
        target[path[-1]] = (not old) if isinstance(old, bool) else (old + 1 if isinstance(old, int) else f"{old}x")
        assert not verify_bundle(tampered, keys.anchors()).valid, path


def test_an_expired_provider_key_makes_it_invalid_and_key_data_inside_the_bundle_counts_for_nothing():
    keys = Keys()
    # The bundle's own copy of the key data is not trusted: only the registration is.
    claims_revoked = make_bundle(laptop_payload(), keys, provider_key_extra={"valid_to": "2026-06-30T00:00:00+08:00"})
    assert verify_bundle(claims_revoked, keys.anchors()).valid
    payload = laptop_payload(issued_at="2027-02-01T12:00:00+08:00")
    expired = make_bundle(payload, keys)
    assert any("not valid when" in p for p in verify_bundle(expired, keys.anchors()).problems)


def test_a_signature_by_another_key_and_a_forged_log_proof_are_refused():
    keys, other = Keys(), Keys()
    bundle = make_bundle(laptop_payload(), keys)
    forged = copy.deepcopy(bundle)
    forged["provider_signature"] = make_bundle(laptop_payload(), other)["provider_signature"]
    assert not verify_bundle(forged, keys.anchors()).valid
    bad_proof = copy.deepcopy(bundle)
    bad_proof["log"]["proof"][0] = "00" * 32
    assert any("transparency log" in p for p in verify_bundle(bad_proof, keys.anchors()).problems)
    revoked_status = {**bundle, "status": "revoked"}
    assert not verify_bundle(revoked_status, keys.anchors()).valid


def test_offline_verification_command(tmp_path):
    keys = Keys()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_bundle(laptop_payload(), keys), indent=2))
    bad_bundle = make_bundle(laptop_payload(), keys)
    bad_bundle["payload"]["device"]["model"] = "SOMEONEELSE"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_bundle))
    run = [sys.executable, "-m", "wipe_cert.verify"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}  # no Django settings: it must not need them
    trust = ["--trust", keys.fingerprint()]
    ok = subprocess.run([*run, str(good), *trust], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout
    ko = subprocess.run([*run, str(bad), *trust], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert ko.returncode == 1
    assert "FAIL" in ko.stdout and "INVALID" in ko.stdout
