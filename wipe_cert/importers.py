"""Read erasure tools' own reports into draft certificate media. Pure: bytes in, data out.

Supported: nwipe / ShredOS log files, nwipe JSON reports and nvme-cli `sanitize-log`
JSON. What the report says (method, passes, verification, blanking, errors, device
identity) is taken from it and listed in `read_fields`, so nobody types it again;
what a format does not contain is listed in `missing` for the technician to add."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ReportUnreadable(ValueError):
    """The file is not a report of the format claimed, or says nothing usable."""

    code = "report_unreadable"


class ReportIncomplete(ReportUnreadable):
    """The report stops before the tool's completion summary (truncated, interrupted or
    still running): it proves nothing, so nothing is imported."""

    code = "report_incomplete"


@dataclass
class ImportedReport:
    format: str
    sha256: str
    media: list[dict[str, Any]]
    device: dict[str, Any] = field(default_factory=dict)
    read_fields: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# nwipe methods: (passes per round, random passes per round), from nwipe's method.c.
NWIPE_METHODS: dict[str, tuple[int, int]] = {
    "dod short": (3, 1),
    "dod 5220.22m": (7, 1),
    "dod 5220.22-m": (7, 1),
    "gutmann wipe": (35, 8),
    "prng stream": (1, 1),
    "fill with zeros": (1, 0),
    "zero fill": (1, 0),
    "quick erase": (1, 0),
    "fill with ones": (1, 0),
    "one fill": (1, 0),
    "rcmp tssit ops-ii": (8, 1),
    "hmg is5 enhanced": (3, 1),
    "schneier wipe": (7, 5),
    "bmb21-2019": (6, 1),
    "verify only": (0, 0),
}
VERIFY_MODES = {"0": "none", "1": "last_pass", "2": "all_passes"}

LINE = re.compile(r"^\[(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\]\s+(?P<level>\w+):\s?(?P<msg>.*)$")
FOUND = re.compile(
    r"Found (?P<path>/dev/\S+), (?P<bus>[^,]+), (?P<model>[^,]*?),\s+(?P<size>[\d.]+ ?[KMGTP]?B), S/N=(?P<serial>.*)$"
)
GEOMETRY = re.compile(r"(?P<path>/dev/\S+), sect/blk/dev (?P<sect>\d+)/(?P<blk>\d+)/(?P<bytes>\d+)")
ERROR_ROW = re.compile(r"^\s*(?P<dev>\S+)\s*\|\s*(?P<pass>\d+)\s*\|\s*(?P<verify>\d+)\s*\|\s*(?P<sync>\d+)\s*$")
STATUS_ROW = re.compile(r"^\s*(?P<dev>\S+)\s*\|\s*(?P<status>[A-Za-z ]+?)\s*\|")


SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,63}$")


def _printable(text: str) -> str:
    """A serial number as the tool printed it, or "" when what it printed is not one:
    virtual and some USB devices report uninitialised bytes instead of a serial."""
    candidate = "".join(ch for ch in text if ch.isprintable() and ch != "\ufffd").strip().strip("`").strip()
    return candidate if SERIAL.match(candidate) else ""


def _iso(timestamp: str) -> str:
    # nwipe logs local time without a zone; record it as given, marked UTC+8 (China).
    moment = dt.datetime.strptime(timestamp, "%Y/%m/%d %H:%M:%S").replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment.isoformat()


def import_nwipe_log(data: bytes) -> ImportedReport:
    text = data.decode("utf-8", errors="replace")
    if "nwipe" not in text or not LINE.search(text.splitlines()[0] if text else ""):
        raise ReportUnreadable("not an nwipe log: no timestamped nwipe lines")
    options: dict[str, str] = {}
    devices: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    timestamps: list[str] = []
    current_pass: dict[str, int] = {}
    random_pass_seen: dict[str, set[int]] = {}
    prng_active = False
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        match = LINE.match(raw)
        if not match:
            continue
        timestamps.append(match["ts"])
        msg = match["msg"]
        option = re.match(r"^\s{1,3}(\w+)\s*=\s*(.+)$", msg)
        if option:
            options[option.group(1)] = option.group(2).strip()
            continue
        found = FOUND.search(msg)
        if found:
            serial = found["serial"]
            # A serial with junk bytes may run onto the next lines of the log.
            follow = index + 1
            while follow < len(lines) and not LINE.match(lines[follow]):
                serial += lines[follow]
                follow += 1
            path = found["path"]
            devices.setdefault(path, {"path": path})
            devices[path].update(bus=found["bus"].strip(), model=found["model"].strip(), serial=_printable(serial))
            if path not in order:
                order.append(path)
            continue
        geometry = GEOMETRY.search(msg)
        if geometry:
            devices.setdefault(geometry["path"], {"path": geometry["path"]})["capacity_bytes"] = int(geometry["bytes"])
            continue
        start = re.search(r"Starting pass (\d+)/(\d+), round (\d+)/(\d+), on (/dev/\S+)", msg)
        if start:
            current_pass[start.group(5)] = int(start.group(1)) + (int(start.group(3)) - 1) * int(start.group(2))
            prng_active = False
            continue
        if "prng stream is active" in msg:
            prng_active = True
            continue
        finished = re.search(r"Finished pass (\d+)/(\d+), round (\d+)/(\d+), on (/dev/\S+)", msg)
        if finished:
            path = finished.group(5)
            device = devices.setdefault(path, {"path": path})
            device["passes"] = device.get("passes", 0) + 1
            device["passes_per_round"] = int(finished.group(2))
            if prng_active:
                random_pass_seen.setdefault(path, set()).add(current_pass.get(path, 0))
            continue
        if re.search(r"\[SUCCESS\] Verified that (/dev/\S+) is empty", msg):
            path = re.search(r"(/dev/\S+) is empty", msg).group(1)  # type: ignore[union-attr]
            devices.setdefault(path, {"path": path})["verified"] = "passed"
        elif re.search(r"\[FAILURE\].*[Vv]erif", msg):
            path_match = re.search(r"(/dev/\S+)", msg)
            if path_match:
                devices.setdefault(path_match.group(1), {"path": path_match.group(1)})["verified"] = "failed"
        if re.search(r"\[SUCCESS\] Blanked device (/dev/\S+)", msg):
            path = re.search(r"Blanked device (/dev/\S+)", msg).group(1)  # type: ignore[union-attr]
            devices.setdefault(path, {"path": path})["blanking"] = True
    # The summary tables at the end.
    section = ""
    for raw in lines:
        if "Error Summary" in raw:
            section = "errors"
        elif "Drive Status" in raw:
            section = "status"
        row = ERROR_ROW.match(raw) if section == "errors" else None
        if row:
            for device in devices.values():
                if device["path"].endswith("/" + row["dev"]):
                    device["errors"] = {
                        "pass": int(row["pass"]),
                        "verification": int(row["verify"]),
                        "sync": int(row["sync"]),
                    }
        status = STATUS_ROW.match(raw) if section == "status" else None
        if status and status["dev"] not in {"!", "Device"}:
            for device in devices.values():
                if device["path"].endswith("/" + status["dev"]):
                    device["status_text"] = status["status"].strip()
    wiped = [path for path in order if devices[path].get("passes") or devices[path].get("status_text")]
    if not wiped or not timestamps:
        raise ReportUnreadable("the nwipe log records no wipe of any device")
    method = options.get("method", "")
    per_round, random_per_round = NWIPE_METHODS.get(method.lower(), (0, 0))
    rounds_match = re.match(r"\d+", options.get("rounds", "1"))
    rounds = int(rounds_match.group(0)) if rounds_match else 1
    verify_mode = VERIFY_MODES.get(options.get("verify", "0").split()[0], "none")
    tool_version = re.search(r"nwipe ([\d.]+)", options.get("banner", "")) or re.search(r"nwipe ([\d.]+)", text)
    media = []
    for path in wiped:
        device = devices[path]
        passes = int(device.get("passes", per_round * rounds))
        random_passes = len(random_pass_seen.get(path, set())) or random_per_round * rounds
        erased = device.get("status_text", "").lower() == "erased"
        media.append(
            {
                "type": "HDD",
                "model": device.get("model", ""),
                "serial": device.get("serial", ""),
                "capacity_bytes": int(device.get("capacity_bytes", 0)),
                "interface": device.get("bus", ""),
                "nist_level": "clear",
                "technique": "overwrite",
                "method_name": method,
                "passes": passes,
                "random_passes": random_passes,
                "blanking": bool(device.get("blanking", False)),
                "result": "erased" if erased else "failed",
                "tool": {"name": "nwipe", "version": tool_version.group(1) if tool_version else ""},
                "tool_recorded": True,
                "verification": {
                    "method": verify_mode,
                    "result": device.get("verified", "not_run" if verify_mode == "none" else "failed"),
                },
                "errors": device.get("errors", {"pass": 0, "verification": 0, "sync": 0}),
                "started_at": _iso(timestamps[0]),
                "ended_at": _iso(timestamps[-1]),
            }
        )
    return ImportedReport(
        format="nwipe_log",
        sha256=hashlib.sha256(data).hexdigest(),
        media=media,
        device={"serial": media[0]["serial"]} if media[0]["serial"] else {},
        read_fields=[
            "method_name",
            "passes",
            "random_passes",
            "verification",
            "blanking",
            "errors",
            "result",
            "model",
            "serial",
            "capacity_bytes",
            "interface",
            "tool",
            "started_at",
            "ended_at",
        ],
        missing=["type (HDD is assumed for nwipe; change it for flash media)"]
        + ([] if media[0]["serial"] else ["serial (the log holds no readable serial number)"]),
    )


def _load_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportUnreadable(f"not a {what}: the file is not JSON") from exc


def import_nwipe_json(data: bytes) -> ImportedReport:
    report = _load_json(data, "nwipe JSON report")
    if not isinstance(report, dict) or (report.get("report_metadata") or {}).get("software") != "nwipe":
        raise ReportUnreadable("not an nwipe JSON report (report_metadata.software is not nwipe)")
    device = report.get("device") or {}
    result = report.get("wipe_result") or {}
    if "status" not in result:
        raise ReportUnreadable("the nwipe JSON report has no wipe_result.status")
    method = str(result.get("method", ""))
    per_round, random_per_round = NWIPE_METHODS.get(method.lower(), (0, 0))
    rounds = int(result.get("rounds_requested", 1) or 1)
    verify_errors = int(result.get("verify_errors", 0))
    verify_mode = str(result.get("verify", "")) or "none"
    medium: dict[str, Any] = {
        "type": "HDD",
        "model": str(device.get("model", "")),
        "serial": _printable(str(device.get("serial_no", ""))),
        "capacity_bytes": int(device.get("size_bytes", 0) or 0),
        "nist_level": "clear",
        "technique": "overwrite",
        "result": "erased" if result["status"] == "success" else "failed",
        "tool": {"name": "nwipe", "version": str((report.get("report_metadata") or {}).get("version", ""))},
        "tool_recorded": True,
        "verification": {
            "method": verify_mode if verify_mode in {"last_pass", "all_passes"} else "none",
            "result": "failed"
            if verify_errors
            else ("passed" if verify_mode in {"last_pass", "all_passes"} else "not_run"),
        },
        "errors": {"pass": int(result.get("pass_errors", 0)), "verification": verify_errors, "sync": 0},
        "started_at": dt.datetime.fromtimestamp(int(result.get("start_time", 0)), tz=dt.UTC).isoformat(),
        "ended_at": dt.datetime.fromtimestamp(int(result.get("end_time", 0)), tz=dt.UTC).isoformat(),
    }
    read = ["model", "serial", "capacity_bytes", "result", "errors", "tool", "started_at", "ended_at"]
    missing = []
    if method:
        medium |= {"method_name": method, "passes": per_round * rounds, "random_passes": random_per_round * rounds}
        read += ["method_name", "passes", "random_passes"]
    else:
        missing.append("method and passes (this nwipe version does not write them to its JSON report; import the log)")
    if "blanking" in result:
        medium["blanking"] = bool(result["blanking"])
        read.append("blanking")
    return ImportedReport(
        format="nwipe_json",
        sha256=hashlib.sha256(data).hexdigest(),
        media=[medium],
        device={"serial": medium["serial"]} if medium["serial"] else {},
        read_fields=read,
        missing=missing,
    )


SANACT = {
    2: ("block_erase", "Sanitize Block Erase"),
    3: ("sanitize", "Sanitize Overwrite"),
    4: ("crypto_erase", "Sanitize Crypto Erase"),
}
SSTAT_SUCCESS = {1, 4}


def import_nvme_sanitize_log(data: bytes) -> ImportedReport:
    report = _load_json(data, "nvme sanitize-log")
    if not isinstance(report, dict):
        raise ReportUnreadable("not an nvme sanitize-log: expected a JSON object")
    log = (
        report
        if "sstat" in report
        else next((v for v in report.values() if isinstance(v, dict) and "sstat" in v), None)
    )
    if log is None:
        raise ReportUnreadable("not an nvme sanitize-log: no sstat field")
    sstat = log["sstat"]
    if isinstance(sstat, dict):
        match = re.match(r"\((\d+)\)", str(sstat.get("status", "")))
        if not match:
            raise ReportUnreadable("the sanitize status cannot be read")
        status = int(match.group(1))
        passes = int(sstat.get("no_cmplted_passes", 0))
        global_erased = bool(sstat.get("global_erased", 0))
    elif isinstance(sstat, int):
        status, passes, global_erased = sstat & 0x7, (sstat >> 3) & 0x1F, bool(sstat & 0x100)
    else:
        raise ReportUnreadable("the sanitize status cannot be read")
    sanact = int(log.get("cdw10_info", 0)) & 0x7
    technique, method = SANACT.get(sanact, ("sanitize", f"Sanitize action {sanact}"))
    device_name = next((k for k, v in report.items() if v is log), "")
    success = status in SSTAT_SUCCESS
    medium = {
        "type": "NVMe",
        "interface": "NVMe",
        "nist_level": "purge",
        "technique": technique,
        "method_name": method,
        "passes": passes,
        "status": "success" if success else "failed",
        "result": "erased" if success else "failed",
        "tool": {"name": "nvme-cli", "version": ""},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed" if success else "failed"},
        "errors": {"pass": 0, "verification": 0 if success else 1, "sync": 0},
    }
    return ImportedReport(
        format="nvme_sanitize_log",
        sha256=hashlib.sha256(data).hexdigest(),
        media=[medium],
        device={"path": device_name, "global_data_erased": global_erased},
        read_fields=["technique", "method_name", "passes", "status", "result", "verification"],
        missing=["model", "serial", "capacity_bytes", "started_at", "ended_at", "tool version"],
    )


IMPORTERS: dict[str, Callable[[bytes], ImportedReport]] = {
    "nwipe_log": import_nwipe_log,
    "nwipe_json": import_nwipe_json,
    "nvme_sanitize_log": import_nvme_sanitize_log,
}


def import_report(report_format: str, data: bytes) -> ImportedReport:
    importer = IMPORTERS.get(report_format)
    if importer is None:
        raise ReportUnreadable(f"unsupported report format {report_format!r}")
    if not data.strip():
        raise ReportUnreadable("the file is empty")
    return importer(data)
