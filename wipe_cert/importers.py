"""Read erasure tools' own reports into draft certificate media: bytes in, data out.

Formats (IMPORTERS): nwipe / ShredOS log files, nwipe JSON reports, nvme-cli
`sanitize-log` JSON (optionally with `id-ctrl`), and hdparm ATA Security Erase
transcripts. What a report records is read from the lines or fields that record it and
listed in `read_fields`; nothing is inferred from a method's name. What a format does
not contain is listed in `missing` for the technician to add. A report that stops
before the tool says it finished raises `ReportIncomplete`; one that is not of the
format, or records no erasure, raises `ReportUnreadable`.

nwipe logs — checked against nwipe 0.33's source (src/nwipe.c, src/logging.c,
src/method.c, src/pass.c, src/device.c) and logs of every method it offers:

* Complete means: the log holds nwipe's final line, "Nwipe successfully completed." or
  "Nwipe exited with errors" (main() logs it after the summary tables); no later run
  in the same file (nwipe appends to its log) shows a device being wiped after it; and
  every device the run wiped ("Invoking method … on DEV") has a row in the Error
  Summary table and in the Drive Status table, with status "Erased" or "-FAILED-".
  A log cut short, a run killed or still running (no final line), a run aborted by a
  signal ("Nwipe was aborted by the user", status UABORTED) and a device whose thread
  was still running (INSANITY) are refused as incomplete.
* passes: the "Finished pass i/n, round r/R, on DEV" lines, plus RCMP TSSIT OPS-II's
  final random pattern ("Writing final random pattern to 'DEV'." and its full "N bytes
  written to DEV"). The blanking pass is `blanking`, not a pass.
* random_passes: passes during whose writing nwipe logged "prng stream is active"
  (pass.c, at the first block of every PRNG pass). That line names no device; when
  several devices are wiped at once it goes to the one whose write began last and has
  not yet finished writing.
* blanking: "[SUCCESS] Blanked device DEV" or "[FAILURE] DEV may not be blanked" (both
  follow a written blank pass).
* verification: a pass is read back on "Verified pass i of n, round r of R, on 'DEV'."
  (--verify=all, --verify=last with --noblank, and HMG IS5 Enhanced's random pass),
  OPS-II's final pattern on "[SUCCESS] Verified FRP on 'DEV' matches", the blank on
  "[SUCCESS] Verified that DEV is empty." / "[FAILURE] DEV Verification errors, not
  empty", and the verify-only methods on their "[SUCCESS] Verified that DEV is …" /
  "[FAILURE] DEV …" lines. The method is `all_passes` when every pass and the blank
  were read back, `last_pass` when the final pattern was (the method's last pass or
  OPS-II's final pattern, or the blank written over them; the verify-only methods read
  the medium as it is), else `none`. nwipe logs "Verified pass" whatever it found, so
  the result is `passed` only when the Verifications Errors column is 0 and no
  verification [FAILURE] line names the device.
* errors and result: the Error Summary row; "erased" only when the Drive Status says
  Erased, every count is 0 and no [FAILURE], error or fatal line names the device (an
  error or fatal line naming no device counts against every device whose wipe had
  started).
* identity: model and bus from "Found DEV, BUS, MODEL, SIZE, S/N=SERIAL", capacity from
  "DEV, sect/blk/dev S/B/BYTES". nwipe prints at most 20 raw bytes of serial (the ATA
  IDENTIFY field, or smartctl's, cut to 20) and does not escape them, so a serial
  containing a newline runs onto the next line: it ends at the line break followed by
  the next timestamped line, or that would make it longer than 20 bytes. With --quiet
  nwipe prints XXXXXXXXXXXXXXX or ??????????????? instead: no serial is read.
* times: nwipe logs local time without a zone; it is recorded as UTC+8 (China).

Serial numbers everywhere: printable ASCII is kept as text without its padding; anything
else is kept exactly, as "hex:" and the bytes in lowercase hexadecimal. Such bytes are
what tools print for devices that report no serial (nwipe 0.33 prints its uninitialised
buffer for loop devices), so a hex serial is not locked as read and is not taken as the
device's serial: the technician checks it against the drive's label."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _


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


# --- serial numbers ------------------------------------------------------------------------

SERIAL_FIELD_BYTES = 20  # ATA IDENTIFY words 10-19; nwipe's device_serial_no[21]
NWIPE_ANONYMISED = frozenset({b"XXXXXXXXXXXXXXX", b"???????????????"})  # --quiet
NWIPE_NO_SERIAL = frozenset({b"(S/N: unknown)"})  # a USB bridge without pass-through
PRINTABLE_ASCII = frozenset(range(0x20, 0x7F))


def serial_text(raw: bytes) -> str:
    """A serial number as the device gave it: printable ASCII as text without padding,
    anything else exactly, as "hex:" and its bytes."""
    if all(byte in PRINTABLE_ASCII for byte in raw):
        return raw.decode("ascii").strip()
    return "hex:" + raw.hex()


def _serial_from_json(value: Any) -> str:
    text = str(value or "")
    raw = text.encode("latin-1") if all(ord(ch) < 256 for ch in text) else text.encode("utf-8")
    return serial_text(raw)


def _serial_evidence(serials: list[str]) -> tuple[list[str], list[str], dict[str, Any]]:
    """read_fields, missing notes and device fields for the media's serials. A serial that
    is not text is kept, but not locked as read: devices without a serial (virtual disks,
    some USB bridges) make tools print whatever bytes were in their buffer, so the
    technician checks it against the drive's label and may correct it."""
    binary = [serial for serial in serials if serial.startswith("hex:")]
    read = ["serial"] if serials and not binary else []
    missing = (
        [_("serial (the tool printed bytes that are not text; they are kept as hex: check the drive's label)")]
        if binary
        else []
    )
    device = {"serial": serials[0]} if serials and not serials[0].startswith("hex:") else {}
    return read, missing, device


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- nwipe logs ----------------------------------------------------------------------------

TIMESTAMP = re.compile(rb"\[\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\] ")
SERIAL_START = re.compile(rb", S/N=| has serial number ")
ENTRY = re.compile(
    r"\[(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\] +"
    r"(?P<level>debug|info|notice|warning|error|fatal|sanity): ?(?P<msg>.*)",
    re.DOTALL,
)
DEV = r"(?P<dev>/dev/[^\s',]+)"
NWIPE_EVENTS: list[tuple[str, re.Pattern[str]]] = [
    ("found", re.compile(rf"^Found {DEV}, ?(?P<bus>[^,]*), (?P<model>.*), +\d+ [KMGTP]?B, S/N=(?P<serial>.*)$", re.S)),
    ("serial", re.compile(rf"^{DEV} has serial number (?P<serial>.*)$", re.S)),
    ("geometry", re.compile(rf"^{DEV}, (?:sect/blk/dev|log/phy/dev) \d+/\d+/(?P<bytes>\d+)")),
    ("invoke", re.compile(rf"^Invoking method '(?P<method>.*)' on {DEV}")),
    ("pass_start", re.compile(rf"^Starting pass (?P<n>\d+)/\d+, round (?P<r>\d+)/\d+, on {DEV}")),
    ("pass_verified", re.compile(rf"^Verified pass (?P<n>\d+) of \d+, round (?P<r>\d+) of \d+, on '{DEV}'")),
    ("pass_end", re.compile(rf"^Finished pass (?P<n>\d+)/\d+, round (?P<r>\d+)/\d+, on {DEV}")),
    ("final_start", re.compile(rf"^Writing final random pattern to '{DEV}'")),
    ("final_verified", re.compile(rf"^\[SUCCESS\] Verified FRP on '{DEV}' matches")),
    ("blank_start", re.compile(rf"^Blanking device {DEV}")),
    ("blank_verified", re.compile(rf"^\[SUCCESS\] Verified that {DEV} is empty")),
    ("blank_unverified", re.compile(rf"^\[FAILURE\] {DEV} Verification errors, not empty")),
    ("blanked", re.compile(rf"^\[SUCCESS\] Blanked device {DEV}")),
    ("blanked", re.compile(rf"^\[FAILURE\] {DEV} may not be blanked")),
    ("check_ok", re.compile(rf"^\[SUCCESS\] Verified that {DEV} is (?:Zeroed|full of ones)")),
    ("check_failed", re.compile(rf"^\[FAILURE\] {DEV} (?:has not been Zeroed|is not full of ones)")),
    ("written", re.compile(rf"^(?P<bytes>\d+) bytes written to {DEV}")),
    ("prng", re.compile(r"^prng stream is active")),
    ("option", re.compile(r"^ {2}(?P<name>[a-z]+) *= *(?P<value>.*)$")),
]
COMPLETED = re.compile(r"^Nwipe (?:successfully completed|exited with errors, check)")
ABORTED = re.compile(r"^Nwipe was aborted by the user")
WIPING = re.compile(r"^(?:Invoking method|Starting (?:round|pass)|Blanking device|Verifying|Writing final)")
ANY_DEV = re.compile(DEV)
ERROR_LEVELS = frozenset({"error", "fatal", "sanity"})
AFTER_RUN = re.compile(r"^(?:Nwipe exited with errors on device|Status: )")
ERROR_ROW = re.compile(r"^[! ]?\s*(?P<dev>\S+) \|\s*(?P<pass>\d+) \|\s*(?P<verify>\d+) \|\s*(?P<sync>\d+)\s*$")
STATUS_ROW = re.compile(r"^[! ]?\s*(?P<dev>\S+) \|(?P<status>[^|]{8})\|")
SUMMARY_DEVICE_CHARS = 9  # nwipe_strip_path() keeps the last 9 characters


@dataclass
class _Pass:
    round: int
    number: int  # 0 for OPS-II's final pattern
    random: bool = False
    write_logged: bool = False  # its "N bytes written" line has come
    written: bool = False  # all of the device was written
    verified: bool = False


@dataclass
class _Disk:
    """One device as the log tells it."""

    path: str
    bus: str = ""
    model: str = ""
    serial: bytes | None = None
    capacity: int | None = None
    method: str = ""
    started: str = ""
    last: str = ""
    passes: list[_Pass] = field(default_factory=list)
    writing: _Pass | None = None  # the pass whose "bytes written" line has not come yet
    final: _Pass | None = None
    blank: bool = False
    blank_read: bool | None = None  # None: the blank was not read back
    check: bool | None = None  # the verify-only methods' read of the medium
    failures: list[str] = field(default_factory=list)
    errors: dict[str, int] | None = None
    status: str | None = None

    @property
    def writes(self) -> list[_Pass]:
        return self.passes + ([self.final] if self.final and self.final.written else [])


def _nwipe_records(data: bytes) -> list[str]:
    """The log's lines, a serial that runs over several lines joined into its line, as
    text that maps one character to one byte (latin-1), so serial bytes survive."""
    lines = data.split(b"\n")
    if data.count(b"\r\n") * 2 > data.count(b"\n"):
        lines = [line.removesuffix(b"\r") for line in lines]
    records: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        start = SERIAL_START.search(line) if TIMESTAMP.match(line) else None
        if start:
            serial = line[start.end() :]
            while (
                index < len(lines)
                and not TIMESTAMP.match(lines[index])
                and len(serial) + 1 + len(lines[index]) <= SERIAL_FIELD_BYTES
            ):
                serial += b"\n" + lines[index]
                index += 1
            line = line[: start.end()] + serial
        records.append(line.decode("latin-1"))
    return records


def _entries(records: list[str]) -> Iterator[tuple[int, str, str, str]]:
    for index, record in enumerate(records):
        entry = ENTRY.match(record)
        if entry:
            yield index, entry["ts"], entry["level"], entry["msg"]


def _last_run(records: list[str]) -> list[str]:
    """The records of the last run in the file, refused unless nwipe finished it."""
    ends = [
        (index, msg)
        for index, _ts, level, msg in _entries(records)
        if level == "info" and (COMPLETED.match(msg) or ABORTED.match(msg))
    ]
    if not ends:
        raise ReportIncomplete(
            _("The nwipe log stops before nwipe's completion summary (cut short, interrupted or still running).")
        )
    last, message = ends[-1]
    if any(WIPING.match(msg) for index, _ts, _level, msg in _entries(records) if index > last):
        raise ReportIncomplete(_("The last nwipe run in the log did not finish."))
    if ABORTED.match(message):
        raise ReportIncomplete(_("The wipe was aborted before it finished."))
    first = ends[-2][0] + 1 if len(ends) > 1 else 0
    return records[first : last + 1]


class _NwipeRun:
    """Follows one nwipe run line by line, device by device."""

    def __init__(self) -> None:
        self.disks: dict[str, _Disk] = {}
        self.options: dict[str, str] = {}
        self.wiped: list[str] = []
        self.found: list[str] = []  # nwipe's device list, the order of its summary tables

    def disk(self, path: str) -> _Disk:
        return self.disks.setdefault(path, _Disk(path=path))

    def read(self, records: list[str]) -> None:
        section = ""
        for record in records:
            entry = ENTRY.match(record)
            if entry:
                if not section:
                    self.entry(entry["ts"], entry["level"], entry["msg"])
                continue
            if "Error Summary" in record:
                section = "errors"
            elif "Drive Status" in record:
                section = "status"
            elif section:
                self.summary_row(section, record)

    def entry(self, ts: str, level: str, msg: str) -> None:
        for kind, pattern in NWIPE_EVENTS:
            match = pattern.match(msg)
            if match:
                self.event(kind, match, ts)
                break
        named = ANY_DEV.search(msg)
        if level in ERROR_LEVELS or msg.startswith("[FAILURE]"):
            for path in [named["dev"]] if named else self.wiped:
                self.disk(path).failures.append(msg.strip())
        if named and named["dev"] in self.wiped and AFTER_RUN.match(msg) is None:
            self.disks[named["dev"]].last = ts

    def event(self, kind: str, match: re.Match[str], ts: str) -> None:
        if kind == "option":
            self.options[match["name"]] = match["value"].strip()
            return
        if kind == "prng":
            writing = [
                disk.writing
                for disk in self.disks.values()
                if disk.writing and not disk.writing.write_logged and not disk.writing.random
            ]
            if writing:
                writing[-1].random = True
            return
        disk = self.disk(match["dev"])
        if kind in {"found", "serial"}:
            if disk.serial is None or kind == "found":
                disk.serial = match["serial"].encode("latin-1")
            if kind == "found":
                disk.bus, disk.model = match["bus"].strip(), match["model"].strip()
                if disk.path not in self.found:
                    self.found.append(disk.path)
        elif kind == "geometry":
            disk.capacity = int(match["bytes"])
        elif kind == "invoke":
            disk.method, disk.started = match["method"], ts
            if disk.path not in self.wiped:
                self.wiped.append(disk.path)
        elif kind == "pass_start":
            disk.writing = _Pass(round=int(match["r"]), number=int(match["n"]))
            self.disks[disk.path] = self.disks.pop(disk.path)  # latest writer last, for "prng"
        elif kind == "final_start":
            disk.final = disk.writing = _Pass(round=0, number=0)
            self.disks[disk.path] = self.disks.pop(disk.path)
        elif kind == "blank_start":
            disk.writing = None
        elif kind == "written":
            if disk.writing is not None:
                disk.writing.write_logged = True
                disk.writing.written = disk.capacity is None or int(match["bytes"]) >= disk.capacity
                if disk.writing is disk.final:
                    disk.writing = None
        elif kind == "pass_verified":
            current = disk.writing
            if current and (current.round, current.number) == (int(match["r"]), int(match["n"])):
                current.verified = True
        elif kind == "pass_end":
            current = disk.writing
            if current and (current.round, current.number) == (int(match["r"]), int(match["n"])):
                disk.passes.append(current)
            disk.writing = None
        elif kind == "final_verified" and disk.final is not None:
            disk.final.verified = True
        elif kind in {"blank_verified", "blank_unverified"}:
            disk.blank_read = kind == "blank_verified"
        elif kind == "blanked":
            disk.blank = True
        elif kind in {"check_ok", "check_failed"}:
            disk.check = kind == "check_ok"

    def summary_row(self, section: str, record: str) -> None:
        pattern = ERROR_ROW if section == "errors" else STATUS_ROW
        row = pattern.match(record)
        if not row:
            return
        for path in self.wiped:
            if path.rsplit("/", 1)[-1][-SUMMARY_DEVICE_CHARS:] == row["dev"]:
                disk = self.disks[path]
                if section == "errors":
                    disk.errors = {
                        "pass": int(row["pass"]),
                        "verification": int(row["verify"]),
                        "sync": int(row["sync"]),
                    }
                else:
                    disk.status = row["status"].strip()


def _nwipe_verification(disk: _Disk) -> dict[str, str]:
    writes = disk.writes
    read_back = [p.verified for p in writes] + ([disk.blank_read is not None] if disk.blank else [])
    if not writes and disk.check is not None:
        method = "last_pass"
    elif writes and all(read_back):
        method = "all_passes"
    elif (disk.blank and disk.blank_read is not None) or (writes and writes[-1].verified):
        method = "last_pass"
    else:
        method = "none"
    errors = (disk.errors or {}).get("verification", 0)
    found_different = errors > 0 or disk.blank_read is False or disk.check is False
    if method == "none":
        return {"method": method, "result": "failed" if found_different else "not_run"}
    return {"method": method, "result": "failed" if found_different else "passed"}


def _nwipe_medium(disk: _Disk, version: str, fallback_method: str) -> dict[str, Any]:
    errors = disk.errors or {"pass": 0, "verification": 0, "sync": 0}
    erased = disk.status == "Erased" and not any(errors.values()) and not disk.failures
    writes = disk.writes
    medium: dict[str, Any] = {
        "type": "NVMe" if disk.bus.upper() == "NVME" else "HDD",
        "model": disk.model,
        "interface": disk.bus,
        "nist_level": "clear",
        "technique": "overwrite",
        "method_name": disk.method or fallback_method,
        "passes": len(writes),
        "random_passes": sum(1 for p in writes if p.random),
        "blanking": disk.blank,
        "result": "erased" if erased else "failed",
        "tool": {"name": "nwipe", "version": version},
        "tool_recorded": True,
        "verification": _nwipe_verification(disk),
        "errors": errors,
        "started_at": _nwipe_time(disk.started),
        "ended_at": _nwipe_time(disk.last or disk.started),
    }
    if disk.serial is not None and disk.serial.strip() not in NWIPE_ANONYMISED | NWIPE_NO_SERIAL:
        serial = serial_text(disk.serial)
        if serial:
            medium["serial"] = serial
    if disk.capacity is not None:
        medium["capacity_bytes"] = disk.capacity
    return medium


def _nwipe_time(timestamp: str) -> str:
    try:
        return dt.datetime.strptime(timestamp + " +0800", "%Y/%m/%d %H:%M:%S %z").isoformat()
    except ValueError as exc:
        raise ReportUnreadable(_("The nwipe log has an impossible time: %(time)s.") % {"time": timestamp}) from exc


def import_nwipe_log(data: bytes) -> ImportedReport:
    records = _nwipe_records(data)
    if not any(_entries(records)):
        raise ReportUnreadable(_("This is not an nwipe log: it has no timestamped nwipe lines."))
    run = _NwipeRun()
    run.read(_last_run(records))
    wiped = sorted(run.wiped, key=lambda path: run.found.index(path) if path in run.found else len(run.found))
    if not wiped:
        raise ReportUnreadable(_("The nwipe log records no wipe of any device."))
    for path in wiped:
        disk = run.disks[path]
        if disk.errors is None or disk.status is None:
            raise ReportIncomplete(_("nwipe's summary tables have no row for %(device)s.") % {"device": path})
        if disk.status not in {"Erased", "-FAILED-"}:
            raise ReportIncomplete(
                _("The wipe of %(device)s did not finish (status %(status)s).")
                % {"device": path, "status": disk.status}
            )
    banner = re.search(r"nwipe ([\d.]+)", run.options.get("banner", ""))
    media = [
        _nwipe_medium(run.disks[path], banner.group(1) if banner else "", run.options.get("method", ""))
        for path in wiped
    ]
    read = ["method_name", "passes", "random_passes", "verification", "blanking", "errors", "result"]
    read += ["model", "interface", "tool", "started_at", "ended_at"]
    missing = []
    if all(m["type"] == "HDD" for m in media):
        missing.append(
            _("type (nwipe does not say whether a drive is magnetic: HDD is assumed, change it for flash media)")
        )
    else:
        read.append("type")
    serial_read, serial_missing, device = _serial_evidence([m["serial"] for m in media if "serial" in m])
    read += serial_read if all("serial" in m for m in media) else []
    missing += serial_missing
    if not all("serial" in m for m in media):
        quiet = any((run.disks[p].serial or b"").strip() in NWIPE_ANONYMISED for p in wiped)
        missing.append(
            _("serial (nwipe ran with --quiet and hid it)") if quiet else _("serial (the log holds no serial number)")
        )
    if all("capacity_bytes" in m for m in media):
        read.append("capacity_bytes")
    else:
        missing.append(_("capacity (the log has no device geometry line)"))
    return ImportedReport(
        format="nwipe_log",
        sha256=_checksum(data),
        media=media,
        device=device if "serial" in media[0] else {},
        read_fields=read,
        missing=missing,
    )


# --- nwipe JSON reports --------------------------------------------------------------------

VERIFY_NAMES = {"last": "last_pass", "last_pass": "last_pass", "all": "all_passes", "all_passes": "all_passes"}


def _json_documents(data: bytes, what: str) -> list[Any]:
    """One JSON document, or several written one after the other into the same file."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ReportUnreadable(_("This is not a %(what)s: the file is not JSON.") % {"what": what}) from exc
    decoder = json.JSONDecoder()
    documents, position = [], 0
    try:
        while position < len(text):
            document, position = decoder.raw_decode(text, position)
            documents.append(document)
            while position < len(text) and text[position].isspace():
                position += 1
    except ValueError as exc:
        raise ReportUnreadable(_("This is not a %(what)s: the file is not JSON.") % {"what": what}) from exc
    if not documents:
        raise ReportUnreadable(_("This is not a %(what)s: the file is not JSON.") % {"what": what})
    return documents


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _integer(value: Any) -> int | None:
    """A count or size as a JSON number or, as some nvme-cli versions print them, a string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _epoch(value: Any) -> str | None:
    seconds = _integer(value)
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()


def import_nwipe_json(data: bytes) -> ImportedReport:
    """nwipe's JSON report, in either layout it has had: "wipe_result" (2026-01) or
    "wipe" with "errors" (report_schema org.nwipe.report.v1). Neither records the passes
    nwipe made nor the blanking: those stay missing (import the log for them)."""
    report = _object(_json_documents(data, "nwipe JSON report")[0])
    metadata = _object(report.get("report_metadata"))
    if metadata.get("software") != "nwipe":
        raise ReportUnreadable(_("This is not an nwipe JSON report (report_metadata.software is not nwipe)."))
    device = _object(report.get("device"))
    result = _object(report.get("wipe") or report.get("wipe_result"))
    if "status" not in result:
        raise ReportUnreadable(_("The nwipe JSON report has no wipe status."))
    if "ABORT" in str(result.get("status_text", "")).upper():
        raise ReportIncomplete(_("The wipe was aborted before it finished."))
    counts = _object(result.get("errors"))
    errors = {
        "pass": _integer(counts.get("pass", result.get("pass_errors"))) or 0,
        "verification": _integer(counts.get("verify", result.get("verify_errors"))) or 0,
        "sync": _integer(counts.get("fsyncdata", result.get("fsyncdata_errors"))) or 0,
    }
    verify = VERIFY_NAMES.get(str(result.get("verify", "")).lower(), "none")
    if verify == "none":
        verification = {"method": "none", "result": "failed" if errors["verification"] else "not_run"}
    else:
        verification = {"method": verify, "result": "failed" if errors["verification"] else "passed"}
    success = result["status"] == "success" and not any(errors.values())
    medium: dict[str, Any] = {
        "type": "NVMe" if str(device.get("type", "")).strip().upper() == "NVME" else "HDD",
        "model": str(device.get("model", "")).strip(),
        "nist_level": "clear",
        "technique": "overwrite",
        "result": "erased" if success else "failed",
        "tool": {"name": "nwipe", "version": str(metadata.get("version", ""))},
        "tool_recorded": True,
        "verification": verification,
        "errors": errors,
    }
    read = ["model", "result", "errors", "tool"]
    missing = [_("passes and random passes (an nwipe JSON report does not record them; import nwipe's log)")]
    missing.append(_("blanking (an nwipe JSON report does not record it; import nwipe's log)"))
    serial = _serial_from_json(device.get("serial_number", device.get("serial_no")))
    device_fields: dict[str, Any] = {}
    if serial and serial not in {"unknown_serial", "Unknown"}:
        medium["serial"] = serial
        serial_read, serial_missing, device_fields = _serial_evidence([serial])
        read += serial_read
        missing += serial_missing
    else:
        missing.append(_("serial (the report holds no serial number)"))
    capacity = _integer(device.get("size_bytes"))
    if capacity:
        medium["capacity_bytes"] = capacity
        read.append("capacity_bytes")
    if result.get("method"):
        medium["method_name"] = str(result["method"])
        read.append("method_name")
    else:
        missing.insert(0, _("method (this nwipe version does not write it to its JSON report)"))
    if "verify" in result:
        read.append("verification")
    else:
        missing.append(_("verification (the report does not say whether nwipe verified)"))
    for key, name in (("started_at", "start_time"), ("ended_at", "end_time")):
        moment = _epoch(result.get(name))
        if moment:
            medium[key] = moment
            read.append(key)
    if "started_at" not in medium or "ended_at" not in medium:
        missing.append(_("start and end times"))
    if medium["type"] == "HDD":
        missing.append(
            _("type (nwipe does not say whether a drive is magnetic: HDD is assumed, change it for flash media)")
        )
    return ImportedReport(
        format="nwipe_json",
        sha256=_checksum(data),
        media=[medium],
        device=device_fields,
        read_fields=read,
        missing=missing,
    )


# --- nvme-cli ------------------------------------------------------------------------------

# Sanitize Action (SANACT, CDW10 bits 2:0) of the most recent sanitize: technique and name.
SANACT = {
    2: ("block_erase", "Sanitize Block Erase"),
    3: ("sanitize", "Sanitize Overwrite"),
    4: ("crypto_erase", "Sanitize Crypto Erase"),
}
# Sanitize Operation Status (SSTAT bits 2:0), as nvme_sstat_status_to_string() names them.
SSTAT_NEVER, SSTAT_SUCCESS, SSTAT_IN_PROGRESS, SSTAT_FAILED, SSTAT_SUCCESS_NO_DEALLOC = 0, 1, 2, 3, 4


def _nvme_parts(documents: list[Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str]:
    """The id-ctrl object, the sanitize log and its device name, from the shapes accepted:
    a bare sanitize-log ({"/dev/nvme0": {...}} or the log itself), {"id_ctrl": ...,
    "sanitize_log": ...}, an array of the two outputs, or the two outputs one after the
    other in one file."""
    pieces: list[Any] = []
    for document in documents:
        if isinstance(document, list):
            pieces.extend(document)
        elif isinstance(document, dict) and ("id_ctrl" in document or "sanitize_log" in document):
            pieces.extend([document.get("id_ctrl"), document.get("sanitize_log")])
        else:
            pieces.append(document)
    id_ctrl, log, name = None, None, ""
    for piece in pieces:
        if not isinstance(piece, dict):
            continue
        if "sn" in piece and "mn" in piece:
            id_ctrl = piece
        elif "sstat" in piece:
            log = piece
        else:
            nested = next(((k, v) for k, v in piece.items() if isinstance(v, dict) and "sstat" in v), None)
            if nested:
                name, log = nested
    return id_ctrl, log, name


def _sanitize_status(log: dict[str, Any]) -> tuple[int, int, bool]:
    """(operation status, completed passes, global data erased) from either printer:
    nvme-cli 2.x prints an object with "(N) text" strings, 1.x the raw SSTAT word."""
    sstat = log["sstat"]
    if isinstance(sstat, dict):
        match = re.match(r"\((\d+)\)", str(sstat.get("status", "")))
        if not match:
            raise ReportUnreadable(_("The sanitize status cannot be read."))
        passes = _integer(sstat.get("no_cmplted_passes")) or 0
        return int(match.group(1)), passes, bool(_integer(sstat.get("global_erased")))
    word = _integer(sstat)
    if word is None:
        raise ReportUnreadable(_("The sanitize status cannot be read."))
    return word & 0x7, (word >> 3) & 0x1F, bool(word & 0x100)


def import_nvme_sanitize_log(data: bytes) -> ImportedReport:
    id_ctrl, log, device_name = _nvme_parts(_json_documents(data, "nvme sanitize-log"))
    if log is None:
        raise ReportUnreadable(_("This is not an nvme sanitize-log: it has no sstat field."))
    status, passes, global_erased = _sanitize_status(log)
    if status == SSTAT_IN_PROGRESS:
        raise ReportIncomplete(_("The sanitize is still in progress: save the log once it has finished."))
    if status == SSTAT_NEVER:
        raise ReportUnreadable(_("The sanitize log says this controller has never been sanitized."))
    if status not in {SSTAT_SUCCESS, SSTAT_FAILED, SSTAT_SUCCESS_NO_DEALLOC}:
        raise ReportUnreadable(_("The sanitize status cannot be read."))
    sanact = (_integer(log.get("cdw10_info")) or 0) & 0x7
    technique, method = SANACT.get(sanact, ("sanitize", f"Sanitize action {sanact}"))
    success = status in {SSTAT_SUCCESS, SSTAT_SUCCESS_NO_DEALLOC}
    medium: dict[str, Any] = {
        "type": "NVMe",
        "interface": "NVMe",
        "nist_level": "purge",
        "technique": technique,
        "method_name": method,
        "status": "success" if success else "failed",
        "result": "erased" if success else "failed",
        "tool": {"name": "nvme-cli", "version": ""},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed" if success else "failed"},
    }
    read = ["type", "interface", "technique", "method_name", "status", "result", "verification"]
    if technique == "sanitize":  # the completed-passes count means something for overwrite only
        medium["passes"] = passes
        read.append("passes")
    missing = [_("start and end times (the sanitize log does not record them)"), _("tool version")]
    if id_ctrl is None:
        missing.insert(0, _("model, serial and capacity (add nvme id-ctrl's JSON output to the file)"))
    else:
        medium["model"] = str(id_ctrl.get("mn", "")).strip()
        serial = _serial_from_json(id_ctrl.get("sn"))
        if serial:
            medium["serial"] = serial
        capacity = _integer(id_ctrl.get("tnvmcap"))
        if capacity:
            medium["capacity_bytes"] = capacity
        read += [name for name in ("model", "capacity_bytes") if medium.get(name)]
        if not capacity:
            missing.insert(0, _("capacity (the controller reports no total NVM capacity)"))
    serial_read, serial_missing, device = _serial_evidence([medium["serial"]] if medium.get("serial") else [])
    read += serial_read
    missing += serial_missing
    device |= {"path": device_name, "global_data_erased": global_erased}
    return ImportedReport(
        format="nvme_sanitize_log",
        sha256=_checksum(data),
        media=[medium],
        device=device,
        read_fields=read,
        missing=missing,
    )


# --- hdparm ATA Security Erase ---------------------------------------------------------------

HDPARM_COMMAND = re.compile(r"^(?:.*?[#$%>]\s*)?(?:sudo\s+)?(?:time\s+)?(?:\S*/)?hdparm\s+(?P<args>--?\w.*)$")
SHELL_PROMPT = re.compile(r"^[^\s#$%>]*[#$%]\s+\S")
HDPARM_ERASE = re.compile(r"--security-erase(?P<enhanced>-enhanced)?\s+(?:\S+\s+)?(?P<dev>/dev/\S+)")
HDPARM_IDENTIFY = re.compile(r"(?:^|\s)-I\s+(?:.*\s)?(?P<dev>/dev/\S+)")
HDPARM_QUIET_LINE = re.compile(
    r"^\s*(?:$|security_password[:=]|/dev/\S+:$|Issuing SECURITY_ERASE command|(?:real|user|sys)\s+\d)"
)
SECURITY_FLAGS = ("supported", "enabled", "locked", "frozen", "expired: security count", "supported: enhanced erase")


def _hdparm_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The transcript as (hdparm arguments, output lines) for each hdparm command in it."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        command = HDPARM_COMMAND.match(line)
        if command:
            blocks.append((command["args"], []))
        elif SHELL_PROMPT.match(line) and blocks:
            blocks.append(("", []))  # another command: what follows is not hdparm's output
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def _hdparm_identity(lines: list[str]) -> dict[str, Any]:
    identity: dict[str, Any] = {"security": {}}
    in_security = False
    for line in lines:
        stripped = line.strip()
        key, _sep, value = stripped.partition(":")
        if key in {"Model Number", "Serial Number", "Nominal Media Rotation Rate", "Transport"}:
            identity[key] = value.strip()
        elif re.match(r"^LBA(48)?\s+user addressable sectors$", key):
            identity[key.split()[0]] = _integer(value)
        elif re.match(r"^Logical(?:/Physical)?\s+Sector size$", key):
            size = re.match(r"\s*(\d+)", value)
            identity["sector"] = int(size.group(1)) if size else None
        if stripped.startswith("Security:"):
            in_security = True
            continue
        if in_security:
            if line[:1] not in {"\t", " "}:
                in_security = False
                continue
            flag = re.match(r"^\s*(not\s+)?(?P<flag>.+?)\s*$", line)
            if flag and flag["flag"] in SECURITY_FLAGS:
                identity["security"][flag["flag"]] = not flag.group(1)
            erase_time = re.search(r"(\d+)min for (ENHANCED )?SECURITY ERASE UNIT", line)
            if erase_time:
                identity["security"]["erase_minutes"] = int(erase_time.group(1))
    return identity


def import_hdparm_security_erase(data: bytes) -> ImportedReport:
    """A technician's saved transcript of
        hdparm --user-master u --security-set-pass PASS /dev/X
        hdparm --user-master u --security-erase[-enhanced] PASS /dev/X
        hdparm -I /dev/X
    The erase is proved by hdparm's "Issuing SECURITY_ERASE command" with no error after
    it, and by the `hdparm -I` that follows: a completed erase clears the user password,
    so the Security section says "not enabled" and "not locked".

    NIST SP 800-88 Rev. 1 defines the normal erase as covering LBA 0 to the native max
    address with zeros or ones (Clear), and the enhanced erase as overwriting all user
    data including reallocated sectors (listed among the Purge techniques for ATA hard
    disks, Table A-8). So: enhanced → "purge", normal → "clear", on hard disks and SSDs
    alike; the drive type comes from "Nominal Media Rotation Rate"."""
    text = data.decode("latin-1")  # hdparm prints ASCII; this keeps any other byte as it is
    blocks = _hdparm_blocks(text)
    erases = [(index, match) for index, (args, _lines) in enumerate(blocks) if (match := HDPARM_ERASE.search(args))]
    if not erases:
        raise ReportUnreadable(_("This is not an hdparm secure-erase transcript: it has no --security-erase command."))
    erase_index, erase = erases[-1]
    path, enhanced = erase["dev"], bool(erase["enhanced"])
    output = blocks[erase_index][1]
    if not any("Issuing SECURITY_ERASE command" in line for line in output):
        raise ReportUnreadable(_("hdparm did not issue the SECURITY ERASE command (see its output)."))
    complaints = [line.strip() for line in output if not HDPARM_QUIET_LINE.match(line)]
    identify_after = [
        lines
        for index, (args, lines) in enumerate(blocks)
        if index > erase_index and (match := HDPARM_IDENTIFY.search(args)) and match["dev"] == path
    ]
    if not identify_after:
        raise ReportIncomplete(
            _("The transcript does not show the drive after the erase: add the output of hdparm -I %(device)s.")
            % {"device": path}
        )
    identity = _hdparm_identity(identify_after[-1])
    security = identity["security"]
    if not security:
        raise ReportIncomplete(_("The hdparm -I output after the erase has no Security section."))
    cleared = security.get("enabled") is False and security.get("locked") is False
    supported = not enhanced or security.get("supported: enhanced erase") is True
    success = not complaints and cleared and supported
    rotation = identity.get("Nominal Media Rotation Rate", "")
    media_type = "SSD" if "Solid State" in rotation else "HDD"
    medium: dict[str, Any] = {
        "type": media_type,
        "model": identity.get("Model Number", ""),
        "interface": "SATA" if "SATA" in identity.get("Transport", "") else "ATA",
        "nist_level": "purge" if enhanced else "clear",
        "technique": "secure_erase",
        "method_name": "ATA SECURITY ERASE UNIT (enhanced)" if enhanced else "ATA SECURITY ERASE UNIT",
        "status": "success" if success else "failed",
        "result": "erased" if success else "failed",
        "tool": {"name": "hdparm", "version": ""},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed" if success else "failed"},
    }
    read = ["technique", "nist_level", "method_name", "status", "result", "verification", "model", "interface"]
    missing = [_("start and end times (an hdparm transcript does not record them)"), _("tool version")]
    if rotation:
        read.append("type")
    else:
        missing.append(_("type (hdparm -I shows no rotation rate: HDD is assumed)"))
    serial = serial_text(identity.get("Serial Number", "").encode("latin-1"))
    if serial:
        medium["serial"] = serial
    serial_read, serial_missing, device = _serial_evidence([serial] if serial else [])
    read += serial_read
    missing += serial_missing
    sectors = identity.get("LBA48") or identity.get("LBA")
    if sectors and identity.get("sector"):
        medium["capacity_bytes"] = sectors * identity["sector"]
        read.append("capacity_bytes")
    else:
        missing.append(_("capacity (hdparm -I shows no addressable sectors)"))
    return ImportedReport(
        format="hdparm_security_erase",
        sha256=_checksum(data),
        media=[medium],
        device=device,
        read_fields=read,
        missing=missing,
    )


IMPORTERS: dict[str, Callable[[bytes], ImportedReport]] = {
    "nwipe_log": import_nwipe_log,
    "nwipe_json": import_nwipe_json,
    "nvme_sanitize_log": import_nvme_sanitize_log,
    "hdparm_security_erase": import_hdparm_security_erase,
}


def import_report(report_format: str, data: bytes) -> ImportedReport:
    importer = IMPORTERS.get(report_format)
    if importer is None:
        raise ReportUnreadable(_("Unsupported report format %(format)r.") % {"format": report_format})
    if not data.strip():
        raise ReportUnreadable(_("The file is empty."))
    return importer(data)
