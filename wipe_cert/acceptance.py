"""Whether an erasure certificate's record is good enough: pure rules, per storage medium
and for the whole device, after GB 46864—2025 and NIST SP 800-88 Rev. 1.

- magnetic disks (HDD): overwritten with at least 3 passes including at least one
  random pass, with verification (of the last pass or of all passes); or a sanitize
  command; or an enhanced ATA secure erase (NIST Purge, SP 800-88 Rev. 1 Table A-8; the
  normal erase only reaches Clear and fails like a single overwrite); or destroyed;
- SSD / NVMe: block erase, cryptographic erase, sanitize or an enhanced secure erase,
  with a success status; an overwrite or a normal secure erase only reaches NIST
  "Clear" on flash (wear levelling, spare blocks) → staff review;
- eMMC / UFS / SD (flash): cryptographic erase, sanitize or an enhanced secure erase
  with a success status; an overwrite or a normal secure erase → staff review;
- phones and tablets: a cryptographic erase or factory reset of an encrypted device,
  recorded by a tool, with activation lock, FRP and MDM off and removable media
  removed; a bare factory reset without a tool record fails;
- everywhere: any verification failure, pass or verification error, or hidden area
  not cleared fails.

Input is the certificate payload (a dict valid under wipe_cert.payload's schema)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAGNETIC = frozenset({"HDD"})
SOLID_STATE = frozenset({"SSD", "NVMe"})
FLASH = frozenset({"eMMC", "UFS", "SD"})
MOBILE_DEVICE_TYPES = frozenset({"phone", "tablet", "wearable"})
MIN_MAGNETIC_PASSES = 3


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    REVIEW = "review"  # clear level only: staff must look
    FAIL = "fail"


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: Outcome
    message: str
    medium: int | None = None  # index into payload["media"], None for device-level reasons


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    per_medium: tuple[Outcome, ...] = field(default_factory=tuple)

    @property
    def codes(self) -> set[str]:
        return {reason.code for reason in self.reasons}

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "per_medium": [str(o) for o in self.per_medium],
            "reasons": [
                {"code": r.code, "outcome": str(r.outcome), "message": r.message, "medium": r.medium}
                for r in self.reasons
            ],
        }


def _worst(outcomes: Sequence[Outcome]) -> Outcome:
    if Outcome.FAIL in outcomes:
        return Outcome.FAIL
    if Outcome.REVIEW in outcomes:
        return Outcome.REVIEW
    return Outcome.PASS


def _common_failures(medium: Mapping[str, Any], index: int) -> list[Reason]:
    reasons = []
    verification = medium.get("verification") or {}
    errors = medium.get("errors") or {}
    if verification.get("result") == "failed":
        reasons.append(Reason("verification_failed", Outcome.FAIL, "verification found data left on the medium", index))
    if int(errors.get("pass", 0)) > 0:
        reasons.append(Reason("pass_errors", Outcome.FAIL, f"{errors['pass']} write errors during the passes", index))
    if int(errors.get("verification", 0)) > 0:
        reasons.append(
            Reason("verification_errors", Outcome.FAIL, f"{errors['verification']} errors during verification", index)
        )
    if (medium.get("hidden_areas") or {}).get("cleared") is False:
        reasons.append(
            Reason("hidden_area_not_cleared", Outcome.FAIL, "a hidden area (HPA/DCO) was not cleared", index)
        )
    if medium.get("result") == "failed":
        reasons.append(Reason("medium_failed", Outcome.FAIL, "the tool reported the erasure as failed", index))
    return reasons


def _verified(medium: Mapping[str, Any]) -> bool:
    verification = medium.get("verification") or {}
    return verification.get("method", "none") != "none" and verification.get("result") == "passed"


def _succeeded(medium: Mapping[str, Any]) -> bool:
    return medium.get("status") == "success" or medium.get("result") == "erased"


def _magnetic_secure_erase(medium: Mapping[str, Any], index: int) -> Reason:
    """ATA SECURITY ERASE UNIT on a hard disk: the enhanced erase overwrites every user
    sector including reallocated ones (Purge); the normal erase is one firmware overwrite
    of the addressable sectors (Clear), short of the magnetic-disk rule."""
    if medium.get("nist_level") != "purge":
        return Reason(
            "secure_erase_clear_only",
            Outcome.FAIL,
            "a normal secure erase reaches only NIST Clear on a hard disk; use the enhanced erase or an overwrite",
            index,
        )
    if not _succeeded(medium):
        return Reason("purge_not_confirmed", Outcome.FAIL, "secure_erase without a success status", index)
    return Reason("enhanced_secure_erase_ok", Outcome.PASS, "enhanced secure erase completed (NIST Purge)", index)


def decide_medium(medium: Mapping[str, Any], index: int = 0) -> tuple[Outcome, list[Reason]]:
    """The outcome for one storage medium and why."""
    reasons = _common_failures(medium, index)
    media_type = medium.get("type", "")
    technique = medium.get("technique", "")
    if technique == "destruction":
        reasons.append(Reason("destroyed", Outcome.PASS, "physically destroyed (NIST Destroy)", index))
    elif media_type in MAGNETIC:
        if technique == "sanitize" and _succeeded(medium):
            reasons.append(Reason("sanitize_ok", Outcome.PASS, "sanitize command completed (NIST Purge)", index))
        elif technique == "secure_erase":
            reasons.append(_magnetic_secure_erase(medium, index))
        elif technique == "overwrite" and "passes" not in medium:
            reasons.append(
                Reason(
                    "passes_not_recorded",
                    Outcome.REVIEW,
                    "the report does not record the method or passes; staff must check the tool's log",
                    index,
                )
            )
        elif technique == "overwrite":
            passes = int(medium.get("passes", 0))
            random_passes = int(medium.get("random_passes", 0))
            if passes < MIN_MAGNETIC_PASSES:
                reasons.append(
                    Reason("too_few_passes", Outcome.FAIL, f"{passes} overwrite passes; at least 3 are required", index)
                )
            if random_passes < 1:
                reasons.append(Reason("no_random_pass", Outcome.FAIL, "no pass wrote random data", index))
            if not _verified(medium):
                reasons.append(Reason("not_verified", Outcome.FAIL, "the overwrite was not verified", index))
            if passes >= MIN_MAGNETIC_PASSES and random_passes >= 1 and _verified(medium):
                reasons.append(
                    Reason("overwrite_ok", Outcome.PASS, f"{passes} passes incl. random, verified (NIST Clear+)", index)
                )
        else:
            reasons.append(
                Reason("technique_unsuitable", Outcome.FAIL, f"{technique or 'no technique'} on a hard disk", index)
            )
    elif media_type in SOLID_STATE | FLASH:
        if technique in {"block_erase", "crypto_erase", "sanitize", "secure_erase"}:
            if not _succeeded(medium):
                reasons.append(
                    Reason("purge_not_confirmed", Outcome.FAIL, f"{technique} without a success status", index)
                )
            elif technique == "secure_erase" and medium.get("nist_level") != "purge":
                reasons.append(
                    Reason(
                        "secure_erase_clear_only",
                        Outcome.REVIEW,
                        "a normal secure erase of flash storage reaches only NIST Clear; staff review",
                        index,
                    )
                )
            else:
                reasons.append(
                    Reason("purge_ok", Outcome.PASS, f"{technique} completed successfully (NIST Purge)", index)
                )
        elif technique == "overwrite":
            reasons.append(
                Reason(
                    "flash_overwrite_clear_only",
                    Outcome.REVIEW,
                    "an overwrite of flash storage reaches only NIST Clear (spare blocks remain); staff review",
                    index,
                )
            )
        elif technique == "factory_reset" and media_type in FLASH:
            if medium.get("tool_recorded"):
                reasons.append(
                    Reason("factory_reset_recorded", Outcome.PASS, "factory reset recorded by a tool", index)
                )
            else:
                reasons.append(
                    Reason("factory_reset_without_record", Outcome.FAIL, "a factory reset with no tool record", index)
                )
        else:
            reasons.append(
                Reason("technique_unsuitable", Outcome.FAIL, f"{technique or 'no technique'} on flash storage", index)
            )
    else:
        reasons.append(Reason("unknown_media_type", Outcome.FAIL, f"unknown medium type {media_type!r}", index))
    return _worst([r.outcome for r in reasons]), reasons


LOCK_LABELS = {"activation_lock": "activation lock", "frp": "factory reset protection (FRP)", "mdm": "MDM"}


def decide_device(payload: Mapping[str, Any]) -> list[Reason]:
    """Device-level rules (phones and tablets). Activation lock (Apple) and FRP (Android)
    exist on one platform each: neither may be on, and the device's own one must be
    recorded off; MDM must be off."""
    device = payload.get("device") or {}
    if device.get("type") not in MOBILE_DEVICE_TYPES:
        return []
    reasons: list[Reason] = []
    locks = payload.get("locks") or {}
    for key, label in LOCK_LABELS.items():
        if locks.get(key) == "on":
            reasons.append(Reason(f"{key}_not_off", Outcome.FAIL, f"{label} is still on"))
    if locks.get("mdm") != "off":
        reasons.append(Reason("mdm_not_off", Outcome.FAIL, "MDM is not recorded as off"))
    if "off" not in (locks.get("activation_lock"), locks.get("frp")):
        reasons.append(
            Reason("device_lock_not_checked", Outcome.FAIL, "neither activation lock nor FRP is recorded as off")
        )
    if locks.get("removable_media_removed") is not True:
        reasons.append(
            Reason("removable_media_present", Outcome.FAIL, "removable media (SD/SIM) not recorded as removed")
        )
    techniques = {m.get("technique") for m in payload.get("media", [])}
    recorded = all(m.get("tool_recorded") for m in payload.get("media", []))
    if techniques & {"crypto_erase", "factory_reset"}:
        if not recorded:
            reasons.append(
                Reason("factory_reset_without_record", Outcome.FAIL, "a bare factory reset without a tool record")
            )
        elif "factory_reset" in techniques and payload.get("device_encrypted") is not True:
            reasons.append(
                Reason(
                    "reset_of_unencrypted_device",
                    Outcome.FAIL,
                    "a factory reset erases data only on an encrypted device",
                )
            )
    return reasons


def decide(payload: Mapping[str, Any]) -> Decision:
    """The acceptance decision for a whole certificate payload."""
    media = list(payload.get("media") or [])
    reasons: list[Reason] = []
    per_medium: list[Outcome] = []
    if not media:
        reasons.append(Reason("no_media", Outcome.FAIL, "the certificate lists no storage medium"))
    for index, medium in enumerate(media):
        outcome, medium_reasons = decide_medium(medium, index)
        per_medium.append(outcome)
        reasons.extend(medium_reasons)
    reasons.extend(decide_device(payload))
    for exception in payload.get("exceptions") or []:
        reasons.append(Reason(f"exception_{exception}", Outcome.FAIL, f"the tool reported an exception: {exception}"))
    if payload.get("overall_result") == "fail":
        reasons.append(Reason("reported_failed", Outcome.FAIL, "the certificate itself reports a failure"))
    return Decision(outcome=_worst([r.outcome for r in reasons]), reasons=tuple(reasons), per_medium=tuple(per_medium))
