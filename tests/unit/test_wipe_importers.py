"""The erasure-report importers without a database: what each reads from a tool's
report, what it refuses, and how the acceptance rules judge what it read. The nwipe
logs are real nwipe 0.33 logs (tests/fixtures/nwipe); the nvme-cli and hdparm files
are documented samples (see the README.md beside them)."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tests.wipe import HDD_MEDIUM, laptop_payload
from wipe_cert.acceptance import Outcome, decide, decide_medium
from wipe_cert.importers import (
    IMPORTERS,
    NWIPE_ANONYMISED,
    NWIPE_NO_SERIAL,
    ReportIncomplete,
    ReportUnreadable,
    import_report,
    serial_text,
)
from wipe_cert.payload import validate_payload

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOGS = FIXTURES / "nwipe" / "logs"
SHREDOS = FIXTURES / "nwipe-0.33-dodshort-verify-last.log"  # serial printed as b" `]\n\x90\x7f"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def log(name: str) -> bytes:
    return (LOGS / name).read_bytes()


def nwipe(data: bytes) -> dict:
    (medium,) = import_report("nwipe_log", data).media
    return medium


def with_serial(data: bytes, serial: bytes) -> bytes:
    """The log with the serial nwipe printed (up to the next timestamped line) replaced."""
    for label in (rb"S/N=", rb"has serial number "):
        data = re.sub(
            rb"(" + label + rb").*?(\n\[\d{4}/)", lambda m: m.group(1) + serial + m.group(2), data, flags=re.S
        )
    return data


def device_of(data: bytes) -> bytes:
    """The device the log wiped (make_corpus.sh takes whichever loop device is free)."""
    found = re.search(rb"Invoking method '[^']*' on (/dev/\S+)", data)
    assert found
    return found.group(1)


def insert_after(data: bytes, marker: bytes, line: bytes) -> bytes:
    head, sep, tail = data.partition(marker)
    assert sep, marker
    end = tail.index(b"\n") + 1
    return head + sep + tail[:end] + line + b"\n" + tail[end:]


# --- serial numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (b"P_G\xf6\x7f", "hex:505f47f67f"),
        (b" `]\n\x90\x7f", "hex:20605d0a907f"),
        (b"  WD-WCC6Y0ABCDEF    ", "WD-WCC6Y0ABCDEF"),
        (b"S3Z2NB0K123456A", "S3Z2NB0K123456A"),
        (b"AB\x00CD", "hex:4142004344"),
        (b"", ""),
    ],
)
def test_printable_serials_stay_text_and_others_are_kept_exactly_as_hex(raw, kept):
    assert serial_text(raw) == kept
    if kept.startswith("hex:"):
        assert bytes.fromhex(kept.removeprefix("hex:")) == raw


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (b"P_G\xf6\x7f", "hex:505f47f67f"),
        (b"\x01\n\x02", "hex:010a02"),  # a newline inside: the serial runs over two lines
        (b"AB\nCDEFGHIJKLMNOPQRS", "hex:41420a434445464748494a4b4c4d4e4f50515253"),  # 20 bytes exactly
        (b"ZA1B2C3D", "ZA1B2C3D"),
    ],
)
def test_an_nwipe_serial_round_trips_whatever_its_bytes(raw, kept):
    data = with_serial(SHREDOS.read_bytes(), raw)
    report = import_report("nwipe_log", data)
    (medium,) = report.media
    assert medium["serial"] == kept
    # A serial that is text identifies the drive and is locked as read; bytes that are not
    # text are kept, but left for the technician to check against the drive's label.
    printable = not kept.startswith("hex:")
    assert report.device == ({"serial": kept} if printable else {})
    assert ("serial" in report.read_fields) is printable
    assert any(note.startswith("serial") for note in report.missing) is not printable
    # the lines after the serial are read as usual
    assert (medium["passes"], medium["capacity_bytes"], medium["result"]) == (3, 16_777_216, "erased")


def test_the_shredos_sample_keeps_its_binary_serial():
    assert nwipe(SHREDOS.read_bytes())["serial"] == "hex:20605d0a907f"


@pytest.mark.parametrize("shown", [b"XXXXXXXXXXXXXXX", b"???????????????", b"(S/N: unknown)"])
def test_an_anonymised_or_unknown_serial_is_no_serial(shown):
    report = import_report("nwipe_log", with_serial(log("dodshort-verify-last-blank.log"), shown))
    assert "serial" not in report.media[0]
    assert report.device == {}
    assert any(note.startswith("serial") for note in report.missing)


# --- nwipe logs: what the tool did -------------------------------------------------------------


def test_identity_comes_from_the_found_and_geometry_lines():
    data = log("dodshort-verify-last-blank.log")
    data = data.replace(b"Loopback device,   4 MB", b"ATA WDC WD10EZEX-08W,   1 TB").replace(
        b"sect/blk/dev 512/4096/4194304", b"sect/blk/dev 512/4096/1000204886016"
    )
    medium = nwipe(data)
    assert (medium["model"], medium["interface"], medium["capacity_bytes"]) == (
        "ATA WDC WD10EZEX-08W",
        "VIRT",
        1_000_204_886_016,
    )


def test_passes_are_counted_from_the_log_not_from_the_method_name():
    # A one-pass zero fill whose method is renamed: still one pass, no random pass.
    renamed = log("zero-verify-last-blank.log").replace(b"Fill With Zeros", b"DoD 5220.22-M")
    medium = nwipe(renamed)
    assert (medium["method_name"], medium["passes"], medium["random_passes"]) == ("DoD 5220.22-M", 1, 0)
    # A DoD Short run whose PRNG line is gone wrote no pass the log shows as random.
    without_prng = log("dodshort-verify-last-blank.log").replace(b"prng stream is active", b"(line removed)")
    assert nwipe(without_prng)["random_passes"] == 0


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("dod522022m-verify-all-noblank.log", "all_passes"),  # per-pass verification, no blanking
        ("dod522022m-verify-last-noblank.log", "last_pass"),  # the last pass read back
        ("ops2-verify-all-blank.log", "all_passes"),  # OPS-II never blanks; its final pattern is verified
        ("ops2-verify-last-noblank.log", "last_pass"),
        ("dodshort-verify-last-blank.log", "last_pass"),  # the blank read back
        ("is5enh-verify-off-blank.log", "last_pass"),  # IS5 Enhanced always reads back its random pass
        ("gutmann-verify-off-blank.log", "none"),
    ],
)
def test_every_verification_nwipe_performs_is_read(name, method):
    medium = nwipe(log(name))
    assert medium["verification"]["method"] == method
    verified = method != "none"
    assert decide_medium(medium)[0] == (Outcome.PASS if verified else Outcome.FAIL)


def test_the_reviewers_logs_are_accepted():
    """DoD 5220.22-M with per-pass verification and no blanking, and RCMP TSSIT OPS-II
    with verify-all, were refused as "verification found data left"."""
    for name in ("dod522022m-verify-all-noblank.log", "ops2-verify-all-noblank.log"):
        payload = laptop_payload(media=[nwipe(log(name))])
        validate_payload(payload)
        assert decide(payload).outcome == Outcome.PASS, name


def test_verified_pass_lines_do_not_hide_the_errors_nwipe_counted():
    # nwipe logs "Verified pass" whatever it read; its Error Summary counts the mismatches.
    data = log("verify-errors-dodshort-verify-all-noblank.log")
    assert data.count(b"Verified pass") == 3
    medium = nwipe(data)
    assert medium["verification"] == {"method": "all_passes", "result": "failed"}
    assert medium["errors"]["verification"] > 0
    assert medium["result"] == "failed"


def test_error_counts_failure_lines_and_error_lines_fail_the_medium():
    clean = log("dodshort-verify-last-blank.log")
    assert nwipe(clean)["result"] == "erased"
    device = device_of(clean)
    name = device.rsplit(b"/", 1)[1]
    counted = re.sub(rb"(" + name + rb" \|\s+)0( \|\s+)0( \|\s+)0", rb"\g<1>0\g<2>0\g<3>3", clean)
    assert counted != clean
    assert nwipe(counted)["errors"] == {"pass": 0, "verification": 0, "sync": 3}
    assert nwipe(counted)["result"] == "failed"
    named = insert_after(
        clean, b"Starting pass 2/3", b"[2026/12/04 18:51:36]   fatal: Unable to write to '" + device + b"'."
    )
    assert nwipe(named)["result"] == "failed"
    unnamed = insert_after(
        clean, b"Starting pass 2/3", b"[2026/12/04 18:51:36]   error: nwipe_static_pass: write: I/O error"
    )
    assert nwipe(unnamed)["result"] == "failed"
    failure = insert_after(
        clean, b"Blanked device", b"[2026/12/04 18:51:36]  notice: [FAILURE] " + device + b" whatever"
    )
    assert nwipe(failure)["result"] == "failed"
    other_device = insert_after(
        clean, b"Starting pass 2/3", b"[2026/12/04 18:51:36]   error: Unable to open '/dev/sdz'."
    )
    assert nwipe(other_device)["result"] == "erased"


def test_real_io_errors_fail_the_medium():
    for name in ("write-error-readonly-dodshort.log", "sync-errors-full-backing-dodshort.log"):
        medium = nwipe(log(name))
        assert medium["result"] == "failed"
        assert decide_medium(medium)[0] == Outcome.FAIL


def test_two_devices_wiped_at_once_are_two_media_in_nwipe_s_order():
    report = import_report("nwipe_log", log("two-devices-dod522022m-verify-all-noblank.log"))
    assert [m["capacity_bytes"] for m in report.media] == [4_194_304, 16_777_216]
    assert [(m["passes"], m["random_passes"]) for m in report.media] == [(7, 2), (7, 2)]


def test_the_last_of_two_runs_in_one_log_is_the_report():
    medium = nwipe(log("two-runs-appended.log"))
    assert (medium["method_name"], medium["passes"]) == ("DoD Short", 3)


def test_a_log_saved_with_windows_line_ends_reads_the_same():
    data = log("gutmann-verify-last-blank.log")
    assert nwipe(data.replace(b"\n", b"\r\n")) == nwipe(data)


def test_times_are_those_of_the_wipe_in_china_time():
    medium = nwipe(SHREDOS.read_bytes())
    assert (medium["started_at"], medium["ended_at"]) == ("2026-11-22T07:35:24+08:00", "2026-11-22T07:35:24+08:00")


# --- nwipe logs: complete or not ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["dodshort-verify-last-blank.log", "ops2-verify-all-noblank.log", "two-runs-appended.log"]
)
def test_every_cut_of_a_complete_log_before_its_final_line_is_refused_as_incomplete(name):
    lines = log(name).split(b"\n")
    final = max(i for i, line in enumerate(lines) if b"Nwipe successfully completed" in line)
    for cut in range(1, final):
        if name == "two-runs-appended.log" and b"Nwipe successfully completed" in b"\n".join(lines[:cut]):
            continue  # cut inside the second run, after a complete first one: checked below
        with pytest.raises(ReportIncomplete) as refused:
            import_report("nwipe_log", b"\n".join(lines[:cut]))
        assert refused.value.code == "report_incomplete"


def test_a_complete_run_followed_by_an_unfinished_one_is_refused():
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_log", log("appended-second-run-truncated.log"))
    first, second, _end = log("two-runs-appended.log").split(b"details.\n")
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_log", first + b"details.\n" + b"\n".join(second.split(b"\n")[:30]))


@pytest.mark.parametrize(
    "name", ["interrupted-sigTERM-gutmann.log", "interrupted-sigKILL-gutmann.log", "running-snapshot-gutmann.log"]
)
def test_interrupted_and_running_wipes_are_refused(name):
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_log", log(name))


def test_a_device_without_its_summary_rows_or_still_running_is_refused():
    clean = log("dodshort-verify-last-blank.log")
    name = device_of(clean).rsplit(b"/", 1)[1]
    no_status_row = re.sub(rb"\n +" + name + rb" \| Erased \|[^\n]*", b"", clean)
    assert no_status_row != clean
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_log", no_status_row)
    insane = clean.replace(b"| Erased |", b"|INSANITY|")
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_log", insane)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is not a log",
        b"\xff\xfe\x00garbage",
    ],
)
def test_files_that_are_not_nwipe_logs_are_unreadable_not_incomplete(data):
    with pytest.raises(ReportUnreadable) as refused:
        import_report("nwipe_log", data)
    assert refused.value.code == "report_unreadable"


# --- nwipe JSON reports -------------------------------------------------------------------------

LEGACY_JSON: dict[str, Any] = {
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
SCHEMA_V1_JSON: dict[str, Any] = {
    "report_schema": "org.nwipe.report.v1",
    "report_type": "disk_erase_report",
    "report_metadata": {"generated_at": 1763775324, "software": "nwipe", "version": "0.40"},
    "device": {
        "name": "/dev/nvme0n1",
        "model": "XUNHUAN SAMPLE NVME SSD 1TB",
        "serial_number": "XH24A0000000123",
        "size_bytes": 1000204886016,
        "type": "NVME",
    },
    "wipe": {
        "successful": True,
        "status": "success",
        "status_text": "ERASED",
        "method": "DoD 5220.22-M",
        "prng": "AES-CTR",
        "verify": "last",
        "rounds_requested": 1,
        "rounds_completed": 1,
        "start_time": 1763768124,
        "end_time": 1763775324,
        "errors": {"pass": 0, "verify": 0, "round": 0, "fsyncdata": 0},
    },
}


def test_an_nwipe_json_report_never_gets_passes_from_its_method_name():
    report = import_report("nwipe_json", json.dumps(SCHEMA_V1_JSON).encode())
    (medium,) = report.media
    assert medium["method_name"] == "DoD 5220.22-M"
    assert "passes" not in medium and "random_passes" not in medium and "blanking" not in medium
    assert any(note.startswith("passes") for note in report.missing)
    assert medium["verification"] == {"method": "last_pass", "result": "passed"}
    assert (medium["type"], medium["serial"], medium["capacity_bytes"]) == ("NVMe", "XH24A0000000123", 1000204886016)
    assert (medium["started_at"], medium["ended_at"]) == ("2025-11-21T23:35:24+00:00", "2025-11-22T01:35:24+00:00")
    # An overwrite of NVMe flash is Clear only, and the passes must be checked by staff either way.
    assert decide_medium(medium)[0] == Outcome.REVIEW
    assert decide_medium({**medium, "type": "HDD"})[1][0].code == "passes_not_recorded"


def test_the_legacy_nwipe_json_layout_and_its_errors():
    (medium,) = import_report("nwipe_json", json.dumps(LEGACY_JSON).encode()).media
    assert (medium["serial"], medium["result"], medium["verification"]["method"]) == ("Z9A1B2C3", "erased", "none")
    failing = copy.deepcopy(SCHEMA_V1_JSON)
    failing["wipe"]["errors"]["verify"] = 12
    (medium,) = import_report("nwipe_json", json.dumps(failing).encode()).media
    assert (medium["result"], medium["verification"]["result"]) == ("failed", "failed")
    assert decide_medium(medium)[0] == Outcome.FAIL


def test_an_aborted_nwipe_json_report_is_incomplete_and_odd_shapes_are_unreadable():
    aborted = copy.deepcopy(SCHEMA_V1_JSON)
    aborted["wipe"] |= {"status": "failure", "status_text": "UABORTED"}
    with pytest.raises(ReportIncomplete):
        import_report("nwipe_json", json.dumps(aborted).encode())
    for odd in ({"report_metadata": "nwipe"}, {"report_metadata": {"software": "nwipe"}, "wipe": [1]}, [1, 2]):
        with pytest.raises(ReportUnreadable):
            import_report("nwipe_json", json.dumps(odd).encode())


# --- nvme-cli --------------------------------------------------------------------------------------

NVME = FIXTURES / "nvme"


def nvme(name: str) -> tuple[dict, list[str]]:
    report = import_report("nvme_sanitize_log", (NVME / name).read_bytes())
    return report.media[0], report.missing


@pytest.mark.parametrize(
    ("name", "technique", "outcome"),
    [
        ("sanitize-log-block-erase.json", "block_erase", Outcome.PASS),
        ("sanitize-log-crypto-erase-no-dealloc.json", "crypto_erase", Outcome.PASS),
        ("sanitize-log-overwrite-3-passes.json", "sanitize", Outcome.PASS),
        ("sanitize-log-failed.json", "block_erase", Outcome.FAIL),
    ],
)
def test_nvme_sanitize_logs(name, technique, outcome):
    medium, missing = nvme(name)
    assert (medium["type"], medium["technique"], medium["nist_level"]) == ("NVMe", technique, "purge")
    assert decide_medium(medium)[0] == outcome
    assert any(note.startswith("model, serial and capacity") for note in missing)


def test_an_nvme_overwrite_records_its_completed_passes_and_the_erases_record_none():
    assert nvme("sanitize-log-overwrite-3-passes.json")[0]["passes"] == 3
    assert "passes" not in nvme("sanitize-log-block-erase.json")[0]


def test_an_nvme_sanitize_in_progress_is_incomplete_and_one_never_run_is_unreadable():
    with pytest.raises(ReportIncomplete):
        nvme("sanitize-log-in-progress.json")
    with pytest.raises(ReportUnreadable) as never:
        nvme("sanitize-log-never.json")
    assert never.value.code == "report_unreadable"


@pytest.mark.parametrize(
    "data",
    [
        (NVME / "id-ctrl-and-sanitize-log.json").read_bytes(),
        (NVME / "id-ctrl-then-sanitize-log.txt").read_bytes(),
        json.dumps(
            [
                json.loads((NVME / "sanitize-log-block-erase.json").read_text()),
                json.loads((NVME / "id-ctrl.json").read_text()),
            ]
        ).encode(),
    ],
    ids=["object", "appended", "array"],
)
def test_nvme_id_ctrl_gives_model_serial_and_capacity(data):
    report = import_report("nvme_sanitize_log", data)
    (medium,) = report.media
    assert (medium["model"], medium["serial"], medium["capacity_bytes"]) == (
        "XUNHUAN SAMPLE NVME SSD 1TB",
        "XH24A0000000123",
        1_000_204_886_016,
    )
    assert {"model", "serial", "capacity_bytes"} <= set(report.read_fields)
    assert not any(note.startswith("model") for note in report.missing)
    assert report.device["serial"] == "XH24A0000000123"


def test_nvme_id_ctrl_as_older_nvme_cli_prints_it_and_a_binary_serial():
    id_ctrl = json.loads((NVME / "id-ctrl.json").read_text())
    id_ctrl |= {"tnvmcap": "512110190592", "sn": "XH\u00f6\u007f"}  # nvme-cli 2.4 printed 128-bit values as strings
    log_page = json.loads((NVME / "sanitize-log-block-erase.json").read_text())
    data = json.dumps({"id_ctrl": id_ctrl, "sanitize_log": log_page}).encode()
    (medium,) = import_report("nvme_sanitize_log", data).media
    assert (medium["capacity_bytes"], medium["serial"]) == (512_110_190_592, "hex:5848f67f")


def test_the_oldest_flat_sanitize_status_word():
    flat = json.dumps({"sprog": 65535, "sstat": 0x101, "cdw10_info": 4}).encode()
    (medium,) = import_report("nvme_sanitize_log", flat).media
    assert (medium["technique"], medium["status"]) == ("crypto_erase", "success")
    with pytest.raises(ReportIncomplete):
        import_report("nvme_sanitize_log", json.dumps({"sprog": 100, "sstat": 0x2, "cdw10_info": 2}).encode())


# --- hdparm ATA Security Erase -------------------------------------------------------------------

HDPARM = FIXTURES / "hdparm"


def hdparm(name: str) -> tuple[dict, list[str]]:
    report = import_report("hdparm_security_erase", (HDPARM / name).read_bytes())
    return report.media[0], report.missing


@pytest.mark.parametrize(
    ("name", "media_type", "level", "outcome", "code"),
    [
        ("ssd-enhanced-erase.txt", "SSD", "purge", Outcome.PASS, "purge_ok"),
        ("ssd-normal-erase.txt", "SSD", "clear", Outcome.REVIEW, "secure_erase_clear_only"),
        ("hdd-enhanced-erase.txt", "HDD", "purge", Outcome.PASS, "enhanced_secure_erase_ok"),
        ("hdd-normal-erase.txt", "HDD", "clear", Outcome.FAIL, "secure_erase_clear_only"),
        ("ssd-erase-io-error.txt", "SSD", "purge", Outcome.FAIL, "purge_not_confirmed"),
    ],
)
def test_hdparm_secure_erase_transcripts(name, media_type, level, outcome, code):
    medium, _missing = hdparm(name)
    assert (medium["type"], medium["technique"], medium["nist_level"]) == (media_type, "secure_erase", level)
    result, reasons = decide_medium(medium)
    assert result == outcome
    assert code in {reason.code for reason in reasons}


def test_hdparm_reads_the_drive_s_identity_after_the_erase():
    medium, missing = hdparm("ssd-enhanced-erase.txt")
    assert (medium["model"], medium["serial"], medium["capacity_bytes"]) == (
        "XUNHUAN SAMPLE SATA SSD 512GB",
        "XH2305A00042",
        1_000_215_216 * 512,
    )
    assert (medium["status"], medium["result"], medium["interface"]) == ("success", "erased", "SATA")
    assert any(note.startswith("start and end times") for note in missing)


def test_hdparm_failures_and_missing_evidence():
    medium, _ = hdparm("ssd-erase-io-error.txt")
    assert (medium["status"], medium["result"]) == ("failed", "failed")
    with pytest.raises(ReportIncomplete):
        hdparm("ssd-erase-without-identify-after.txt")
    text = (HDPARM / "ssd-enhanced-erase.txt").read_bytes()
    still_set = text.replace(b"\tnot\tenabled\n\tnot\tlocked", b"\t\tenabled\n\tnot\tlocked")
    assert import_report("hdparm_security_erase", still_set).media[0]["result"] == "failed"
    no_enhanced = text.replace(b"\t\tsupported: enhanced erase", b"\tnot\tsupported: enhanced erase")
    assert import_report("hdparm_security_erase", no_enhanced).media[0]["result"] == "failed"
    other_drive = text.replace(b"# hdparm -I /dev/sdb\n", b"# hdparm -I /dev/sdc\n")
    with pytest.raises(ReportIncomplete):
        import_report("hdparm_security_erase", other_drive)
    with pytest.raises(ReportUnreadable):
        import_report("hdparm_security_erase", b"root@rescue:~# hdparm -I /dev/sdb\n\n/dev/sdb:\n")


# --- the acceptance rules for what the importers produce -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "outcome", "code"),
    [
        (
            {"technique": "secure_erase", "nist_level": "purge", "status": "success"},
            Outcome.PASS,
            "enhanced_secure_erase_ok",
        ),
        (
            {"technique": "secure_erase", "nist_level": "clear", "status": "success"},
            Outcome.FAIL,
            "secure_erase_clear_only",
        ),
        (
            {"technique": "secure_erase", "nist_level": "purge", "status": "failed", "result": "failed"},
            Outcome.FAIL,
            "purge_not_confirmed",
        ),
        (
            {"type": "SSD", "technique": "secure_erase", "nist_level": "clear", "status": "success"},
            Outcome.REVIEW,
            "secure_erase_clear_only",
        ),
        (
            {"type": "SSD", "technique": "secure_erase", "nist_level": "purge", "status": "success"},
            Outcome.PASS,
            "purge_ok",
        ),
        ({"verification": {"method": "all_passes", "result": "passed"}}, Outcome.PASS, "overwrite_ok"),
        ({"verification": {"method": "all_passes", "result": "failed"}}, Outcome.FAIL, "verification_failed"),
    ],
)
def test_acceptance_of_secure_erase_and_of_each_verification(changes, outcome, code):
    result, reasons = decide_medium({**copy.deepcopy(HDD_MEDIUM), **changes})
    assert result == outcome
    assert code in {reason.code for reason in reasons}


@given(st.binary(max_size=600))
def test_the_new_importers_never_crash_on_arbitrary_bytes(data):
    for report_format in IMPORTERS:
        with contextlib.suppress(ReportUnreadable):
            import_report(report_format, data)


@given(
    st.binary(min_size=1, max_size=20).filter(
        lambda raw: (
            raw.strip() not in {b"", *NWIPE_ANONYMISED, *NWIPE_NO_SERIAL}
            and b"\n[" not in raw
            and b"S/N=" not in raw
            and b"serial number" not in raw
        )
    )
)
def test_any_serial_nwipe_can_print_survives_the_import(raw):
    medium = nwipe(with_serial(SHREDOS.read_bytes(), raw))
    expected = serial_text(raw)
    assert medium.get("serial", "") == expected
    assert medium["passes"] == 3
