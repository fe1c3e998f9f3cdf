"""How a certificate is shown to people: masked identifiers for everyone but the provider,
the seller and staff, labels for statuses and techniques, and the values an import read
from the tool's report. Shared by the pages, the PDF and the API."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.models import DeviceType
from wipe_cert.models import ErasureCertificate
from wipe_cert.payload import MEDIUM, open_identifiers
from wipe_cert.services import public_status
from wipe_cert.signing import BundleCheck

MASK = "••••"
MEDIA_TYPES: tuple[str, ...] = tuple(cast(dict[str, Any], MEDIUM)["properties"]["type"]["enum"])

# Public statuses (wipe_cert.services.public_status) plus "invalid": accepted, but the
# stored record no longer verifies.
STATUS_LABELS: dict[str, Any] = {
    "valid": _("Valid"),
    "revoked": _("Revoked"),
    "superseded": _("Superseded"),
    "rejected": _("Rejected"),
    "pending_review": _("Pending review"),
    "draft": _("Draft (not signed)"),
    "invalid": _("Does not verify"),
}
STATUS_EXPLANATIONS: dict[str, Any] = {
    "valid": _("The erasure was recorded by the tool, signed by the provider, accepted and logged by the platform."),
    "revoked": _("The provider or the platform withdrew this certificate; the device must be erased again."),
    "superseded": _("A newer certificate replaces this one."),
    "rejected": _("The recorded erasure does not meet the platform's rules; the device may not be sold with it."),
    "pending_review": _("The erasure reaches only the NIST “Clear” level; staff are reviewing it."),
    "draft": _("The technician has not signed this certificate yet."),
    "invalid": _("The signed record does not match its signatures or the transparency log. Do not rely on it."),
}
TECHNIQUE_LABELS: dict[str, Any] = {
    "overwrite": _("Overwrite"),
    "block_erase": _("Block erase"),
    "crypto_erase": _("Cryptographic erase"),
    "sanitize": _("Sanitize command"),
    "secure_erase": _("Secure erase"),
    "factory_reset": _("Factory reset"),
    "destruction": _("Physical destruction"),
}
VERIFICATION_LABELS: dict[str, Any] = {
    "none": _("none"),
    "last_pass": _("last pass"),
    "all_passes": _("all passes"),
    "sample": _("sample"),
    "tool_status": _("tool status"),
}
VERIFICATION_RESULT_LABELS: dict[str, Any] = {
    "passed": _("passed"),
    "failed": _("failed"),
    "not_run": _("not run"),
}
NIST_LABELS: dict[str, Any] = {"clear": _("Clear"), "purge": _("Purge"), "destroy": _("Destroy")}
LOCK_LABELS: dict[str, Any] = {
    "activation_lock": _("Activation lock"),
    "frp": _("Factory reset protection (FRP)"),
    "mdm": _("Mobile device management (MDM)"),
    "removable_media_removed": _("Removable media removed"),
    "sim_removed": _("SIM removed"),
    "esim_erased": _("eSIM erased"),
}


def plain_payload(certificate: ErasureCertificate) -> dict[str, Any]:
    """The payload with identifiers in clear (from the certificate's opening), for display
    code that then shows them in full or masked as the reader may see them. The signed
    payload itself carries only salted commitments."""
    return open_identifiers(certificate.payload or {}, certificate.identifier_opening or None)


def mask_identifier(value: str | None) -> str:
    """The last four characters only."""
    if not value:
        return ""
    return MASK if len(value) <= 4 else f"{MASK} {value[-4:]}"


def device_display(device: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    shown = dict(device)
    if full:
        return shown
    if "serial" in shown:
        shown["serial"] = mask_identifier(str(shown["serial"]))
    if "imeis" in shown:
        shown["imeis"] = [mask_identifier(str(imei)) for imei in shown["imeis"] or []]
    if "meid" in shown:
        shown["meid"] = mask_identifier(str(shown["meid"]))
    return shown


def media_display(media: Sequence[Mapping[str, Any]], *, full: bool) -> list[dict[str, Any]]:
    shown = []
    for medium in media:
        row = dict(medium)
        if not full and "serial" in row:
            row["serial"] = mask_identifier(str(row["serial"]))
        shown.append(row)
    return shown


def read_values(certificate: ErasureCertificate) -> dict[str, Any]:
    """What an import read from the tool's report, as {"media.0.passes": 3, …}: the fields
    the report recorded, with the values now in the draft (they cannot be typed over)."""
    names = list((certificate.imported or {}).get("read_fields") or [])
    values: dict[str, Any] = {}
    for index, medium in enumerate(certificate.payload.get("media") or []):
        for name in names:
            if name in medium and medium[name] not in (None, ""):
                values[f"media.{index}.{name}"] = medium[name]
    return values


def missing_fields(certificate: ErasureCertificate) -> list[str]:
    """What the imported report lacks, in the reader's language (stored as msgids)."""
    return [gettext(item) for item in (certificate.imported or {}).get("missing") or []]


def device_type_label(value: str) -> str:
    """The device type's name (`laptop` → "Laptop"), for pages; the API keeps the key."""
    return str(DeviceType(value).label) if value in DeviceType.values else value


def source_format_label(value: str) -> str:
    """The report format's name (`nwipe_log` → "nwipe / ShredOS log file")."""
    return str(REPORT_FORMAT_LABELS.get(value, value))


# The offline verifier (wipe_cert.signing, no Django) reports in plain English; the page
# shows its lines in the reader's language. A line without a pattern here is shown as is.
CHECK_LINES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"provider key (?P<key>\S+) is registered by the platform to (?P<owner>.*)$"),
        _("the platform registered the provider key %(key)s to %(owner)s"),
    ),
    (re.compile(r"payload matches the certificate schema$"), _("the record matches the certificate schema")),
    (re.compile(r"the platform key is trusted$"), _("the platform key is trusted")),
    (re.compile(r"provider signature is valid$"), _("the provider's signature is valid")),
    (re.compile(r"provider key was valid when signing$"), _("the provider key was valid when it signed")),
    (re.compile(r"platform countersignature is valid$"), _("the platform's countersignature is valid")),
    (
        re.compile(r"included in the transparency log \(entry (?P<index>\d+) of (?P<size>\d+)\)$"),
        _("included in the transparency log (entry %(index)s of %(size)s)"),
    ),
    (
        re.compile(r"the provider key's registration is in the log \(entry (?P<index>\d+)\)$"),
        _("the provider key's registration is in the log (entry %(index)s)"),
    ),
    (
        re.compile(r"the device identifiers match the certificate's commitments$"),
        _("the device identifiers match the certificate's commitments"),
    ),
    (
        re.compile(r"the certificate is not in the transparency log at the checkpoint given$"),
        _("the certificate is not in the transparency log at the checkpoint given"),
    ),
    (
        re.compile(r"provider signature does not match the payload"),
        _("the provider's signature does not match the record (changed after signing, or another key)"),
    ),
    (
        re.compile(r"the platform marked this certificate (?P<status>\w+)$"),
        _("the platform marked this certificate as %(status)s"),
    ),
]


def check_line_display(line: str) -> str:
    for pattern, text in CHECK_LINES:
        match = pattern.match(line)
        if match:
            return str(text) % match.groupdict() if match.groupdict() else str(text)
    return line


def display_status(certificate: ErasureCertificate, check: BundleCheck | None = None) -> str:
    """The status to show: the platform's, except that an accepted certificate whose
    record no longer verifies is shown as "invalid"."""
    status = public_status(certificate)
    if status == "valid" and check is not None and not check.valid:
        return "invalid"
    return status


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def medium_rows(media: Sequence[Mapping[str, Any]], *, full: bool) -> list[dict[str, Any]]:
    """Each medium as the pages and the PDF show it: labels and parsed times."""
    rows = []
    for medium in media_display(media, full=full):
        verification = medium.get("verification") or {}
        tool = medium.get("tool") or {}
        rows.append(
            {
                **medium,
                "technique_label": TECHNIQUE_LABELS.get(medium.get("technique", ""), medium.get("technique", "")),
                "nist_label": NIST_LABELS.get(medium.get("nist_level", ""), medium.get("nist_level", "")),
                "verification_method_label": VERIFICATION_LABELS.get(
                    verification.get("method", ""), verification.get("method", "")
                ),
                "verification_result_label": VERIFICATION_RESULT_LABELS.get(
                    verification.get("result", ""), verification.get("result", "")
                ),
                "tool_label": " ".join(str(part) for part in (tool.get("name"), tool.get("version")) if part),
                "started": parse_time(medium.get("started_at")),
                "ended": parse_time(medium.get("ended_at")),
            }
        )
    return rows


def lock_rows(locks: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    return [(LOCK_LABELS.get(key, key), value) for key, value in locks.items()]


READ_FIELD_LABELS: dict[str, Any] = {
    "method_name": _("Method"),
    "passes": _("Passes"),
    "random_passes": _("Random-data passes"),
    "verification": _("Verification"),
    "blanking": _("Blanking (final zero pass)"),
    "errors": _("Errors"),
    "result": _("Result"),
    "model": _("Medium model"),
    "serial": _("Medium serial number"),
    "capacity_bytes": _("Capacity (bytes)"),
    "interface": _("Interface"),
    "tool": _("Tool"),
    "started_at": _("Started at"),
    "ended_at": _("Ended at"),
    "technique": _("Technique"),
    "status": _("Tool status"),
}
REPORT_FORMAT_LABELS: dict[str, Any] = {
    "nwipe_log": _("nwipe / ShredOS log file"),
    "nwipe_json": _("nwipe JSON report"),
    "nvme_sanitize_log": _("nvme-cli sanitize-log (JSON), optionally with id-ctrl"),
    "hdparm_security_erase": _("hdparm security-erase transcript"),
    "manual": _("entered by hand"),
}
RESULT_LABELS: dict[str, Any] = {"erased": _("erased"), "failed": _("failed")}
ERROR_LABELS: dict[str, Any] = {"pass": _("pass"), "verification": _("verification"), "sync": _("sync")}


def format_value(name: str, value: Any) -> str:
    """A value read from a report, as a technician reads it."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if name == "verification" and isinstance(value, Mapping):
        method = VERIFICATION_LABELS.get(value.get("method", ""), value.get("method", ""))
        result = VERIFICATION_RESULT_LABELS.get(value.get("result", ""), value.get("result", ""))
        return f"{method}: {result}"
    if name == "errors" and isinstance(value, Mapping):
        return ", ".join(f"{ERROR_LABELS.get(key, key)} {count}" for key, count in value.items())
    if name == "tool" and isinstance(value, Mapping):
        return " ".join(str(part) for part in (value.get("name"), value.get("version")) if part)
    if name == "technique":
        return str(TECHNIQUE_LABELS.get(str(value), value))
    if name == "result":
        return str(RESULT_LABELS.get(str(value), value))
    if name == "capacity_bytes" and isinstance(value, int):
        return f"{value:,}"
    if name in ("started_at", "ended_at") and (moment := parse_time(value)) is not None:
        return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    return str(value)


def read_rows(certificate: ErasureCertificate) -> list[dict[str, Any]]:
    """The values read from the report, one row per medium and field, for the pages."""
    rows = []
    for key, value in read_values(certificate).items():
        _media, index, name = key.split(".", 2)
        rows.append(
            {
                "key": key,
                "medium": int(index) + 1,
                "name": name,
                "label": READ_FIELD_LABELS.get(name, name),
                "value": format_value(name, value),
            }
        )
    return rows
