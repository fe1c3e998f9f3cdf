"""Forms of the technicians' erasure pages. They only parse what people type; the rules
(2FA, credential, what a report recorded, acceptance) live in wipe_cert.services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.models import DeviceType, Organisation
from wipe_cert.presentation import MEDIA_TYPES

MEDIA_TYPE_CHOICES = [(value, value) for value in MEDIA_TYPES]
REPORT_FORMAT_CHOICES = [
    ("nwipe_log", _("nwipe / ShredOS log file")),
    ("nwipe_json", _("nwipe JSON report")),
    ("nvme_sanitize_log", _("nvme-cli sanitize-log (JSON), optionally with id-ctrl")),
    ("hdparm_security_erase", _("hdparm security-erase transcript")),
]
LOCK_CHOICES = [("", _("not recorded")), ("off", _("off")), ("on", _("on")), ("n/a", _("not applicable"))]
YES_NO_UNKNOWN = [("", _("not recorded")), ("yes", _("yes")), ("no", _("no"))]
TECHNIQUE_CHOICES = [
    ("overwrite", _("Overwrite")),
    ("block_erase", _("Block erase")),
    ("crypto_erase", _("Cryptographic erase")),
    ("sanitize", _("Sanitize command")),
    ("secure_erase", _("Secure erase")),
    ("factory_reset", _("Factory reset")),
    ("destruction", _("Physical destruction")),
]
NIST_CHOICES = [("clear", _("Clear")), ("purge", _("Purge")), ("destroy", _("Destroy"))]
VERIFICATION_METHOD_CHOICES = [
    ("none", _("none")),
    ("last_pass", _("last pass")),
    ("all_passes", _("all passes")),
    ("sample", _("sample")),
    ("tool_status", _("tool status")),
]
VERIFICATION_RESULT_CHOICES = [("passed", _("passed")), ("failed", _("failed")), ("not_run", _("not run"))]
RESULT_CHOICES = [("erased", _("erased")), ("failed", _("failed"))]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _provider_field(providers: Sequence[Organisation]) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Erasure provider"),
        choices=[(str(provider.pk), f"{provider.name} ({provider.uscc})") for provider in providers],
        initial=str(providers[0].pk) if len(providers) == 1 else None,
    )


class DeviceFieldsMixin(forms.Form):
    device_type = forms.ChoiceField(label=_("Device type"), choices=[("", "—"), *DeviceType.choices])
    maker = forms.CharField(label=_("Maker"), max_length=200)
    model = forms.CharField(label=_("Model"), max_length=200)
    serial = forms.CharField(
        label=_("Device serial number"),
        max_length=200,
        required=False,
        help_text=_("As on the listing: the certificate is matched to the listing by serial number or IMEI."),
    )
    imei = forms.CharField(label=_("IMEI"), max_length=20, required=False)
    imei2 = forms.CharField(label=_("Second IMEI"), max_length=20, required=False)
    meid = forms.CharField(label=_("MEID"), max_length=20, required=False)

    def device(self) -> dict[str, Any]:
        data = self.cleaned_data
        device = {
            "type": data.get("device_type", ""),
            "maker": data.get("maker", ""),
            "model": data.get("model", ""),
            "serial": data.get("serial", ""),
            "meid": data.get("meid", ""),
        }
        imeis = [value for value in (data.get("imei"), data.get("imei2")) if value]
        if imeis:
            device["imeis"] = imeis
        return {key: value for key, value in device.items() if value}


class CertificateImportForm(DeviceFieldsMixin):
    provider = forms.ChoiceField()  # choices: the technician's providers, set in __init__
    file = forms.FileField(label=_("Tool report"), help_text=_("The log or report file exactly as the tool wrote it."))
    format = forms.ChoiceField(label=_("Report format"), choices=REPORT_FORMAT_CHOICES)
    media_type = forms.ChoiceField(
        label=_("Storage medium type"),
        choices=[("", _("as the report says")), *MEDIA_TYPE_CHOICES],
        required=False,
        help_text=_("nwipe does not record it and assumes a hard disk (HDD); choose SSD, eMMC… for flash."),
    )
    listing_id = forms.IntegerField(
        label=_("Listing number (optional)"),
        required=False,
        min_value=1,
        help_text=_("Once accepted, the certificate is attached to this listing if the serial number matches."),
    )

    field_order = ("provider", "file", "format", "media_type", "device_type", "maker", "model", "serial", "imei")

    def __init__(self, *args: Any, providers: Sequence[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"] = _provider_field(providers)
        self.order_fields(self.field_order)


class MediumCompleteForm(forms.Form):
    """What a technician may add to one imported medium: the fields the report left
    empty. Fields the report recorded are shown disabled (they cannot be typed over)."""

    type = forms.ChoiceField(label=_("Medium type"), choices=MEDIA_TYPE_CHOICES)
    model = forms.CharField(label=_("Medium model"), max_length=200, required=False)
    serial = forms.CharField(label=_("Medium serial number"), max_length=200, required=False)
    capacity_bytes = forms.IntegerField(label=_("Capacity (bytes)"), min_value=0, required=False)
    interface = forms.CharField(label=_("Interface"), max_length=40, required=False)
    started_at = forms.DateTimeField(label=_("Started at"), required=False, widget=DATETIME_WIDGET)
    ended_at = forms.DateTimeField(label=_("Ended at"), required=False, widget=DATETIME_WIDGET)

    def __init__(self, *args: Any, medium: Mapping[str, Any], read_only: set[str], **kwargs: Any) -> None:
        initial = {name: medium.get(name) for name in self.base_fields if medium.get(name) not in (None, "")}
        for name in ("started_at", "ended_at"):
            value = initial.get(name)
            if isinstance(value, str):
                try:
                    initial[name] = dt.datetime.fromisoformat(value)
                except ValueError:
                    initial.pop(name)
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.locked = sorted(name for name in self.fields if name in read_only and name in initial)
        for name in self.locked:
            self.fields[name].disabled = True
            self.fields[name].help_text = _("Read from the report.")

    def changes(self) -> dict[str, Any]:
        """The fields the technician filled in or changed."""
        changed: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name in self.locked or value in (None, "") or value == self.initial.get(name):
                continue
            changed[name] = value.isoformat() if isinstance(value, dt.datetime) else value
        return changed


class LocksFieldsMixin(forms.Form):
    device_encrypted = forms.ChoiceField(
        label=_("Device storage encrypted"),
        choices=YES_NO_UNKNOWN,
        required=False,
        help_text=_("A factory reset erases data only on an encrypted device."),
    )
    activation_lock = forms.ChoiceField(label=_("Activation lock"), choices=LOCK_CHOICES, required=False)
    frp = forms.ChoiceField(label=_("Factory reset protection (FRP)"), choices=LOCK_CHOICES, required=False)
    mdm = forms.ChoiceField(label=_("Mobile device management (MDM)"), choices=LOCK_CHOICES, required=False)
    removable_media_removed = forms.BooleanField(label=_("Removable media (SD card) removed"), required=False)
    sim_removed = forms.BooleanField(label=_("SIM card removed"), required=False)

    def locks(self) -> dict[str, Any]:
        data = self.cleaned_data
        locks: dict[str, Any] = {name: data[name] for name in ("activation_lock", "frp", "mdm") if data.get(name)}
        locks["removable_media_removed"] = bool(data.get("removable_media_removed"))
        locks["sim_removed"] = bool(data.get("sim_removed"))
        return locks

    def device_encrypted_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("device_encrypted") or "")


def locks_initial(payload: Mapping[str, Any]) -> dict[str, Any]:
    locks = payload.get("locks") or {}
    encrypted = payload.get("device_encrypted")
    return {
        **{name: locks.get(name, "") for name in ("activation_lock", "frp", "mdm")},
        "removable_media_removed": bool(locks.get("removable_media_removed")),
        "sim_removed": bool(locks.get("sim_removed")),
        "device_encrypted": "" if encrypted is None else ("yes" if encrypted else "no"),
    }


class DraftCompleteForm(DeviceFieldsMixin, LocksFieldsMixin):
    """The device and lock checks of a draft."""

    def __init__(self, *args: Any, payload: Mapping[str, Any], **kwargs: Any) -> None:
        device = payload.get("device") or {}
        imeis = list(device.get("imeis") or [])
        initial = {
            "device_type": device.get("type", ""),
            "maker": device.get("maker", ""),
            "model": device.get("model", ""),
            "serial": device.get("serial", ""),
            "imei": imeis[0] if imeis else "",
            "imei2": imeis[1] if len(imeis) > 1 else "",
            "meid": device.get("meid", ""),
            **locks_initial(payload),
        }
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)


class ManualCertificateForm(DeviceFieldsMixin, LocksFieldsMixin):
    """A certificate typed in without a tool report (one storage medium)."""

    provider = forms.ChoiceField()
    listing_id = forms.IntegerField(label=_("Listing number (optional)"), required=False, min_value=1)
    medium_type = forms.ChoiceField(label=_("Medium type"), choices=MEDIA_TYPE_CHOICES)
    medium_model = forms.CharField(label=_("Medium model"), max_length=200, required=False)
    medium_serial = forms.CharField(label=_("Medium serial number"), max_length=200, required=False)
    technique = forms.ChoiceField(label=_("Technique"), choices=TECHNIQUE_CHOICES)
    nist_level = forms.ChoiceField(label=_("NIST SP 800-88 level"), choices=NIST_CHOICES)
    method_name = forms.CharField(label=_("Method"), max_length=200, required=False)
    passes = forms.IntegerField(label=_("Passes"), min_value=0, max_value=100, required=False)
    random_passes = forms.IntegerField(label=_("Random-data passes"), min_value=0, max_value=100, required=False)
    verification_method = forms.ChoiceField(label=_("Verification"), choices=VERIFICATION_METHOD_CHOICES)
    verification_result = forms.ChoiceField(label=_("Verification result"), choices=VERIFICATION_RESULT_CHOICES)
    result = forms.ChoiceField(label=_("Result"), choices=RESULT_CHOICES)
    tool_name = forms.CharField(label=_("Tool"), max_length=200)
    tool_version = forms.CharField(label=_("Tool version"), max_length=200, required=False)
    tool_recorded = forms.BooleanField(label=_("The tool recorded the erasure"), required=False)
    started_at = forms.DateTimeField(label=_("Started at"), widget=DATETIME_WIDGET)
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=DATETIME_WIDGET)

    def __init__(self, *args: Any, providers: Sequence[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"] = _provider_field(providers)
        self.order_fields(["provider", "listing_id"])

    def medium(self) -> dict[str, Any]:
        data = self.cleaned_data
        medium: dict[str, Any] = {
            "type": data["medium_type"],
            "technique": data["technique"],
            "nist_level": data["nist_level"],
            "tool": {"name": data["tool_name"], **({"version": data["tool_version"]} if data["tool_version"] else {})},
            "tool_recorded": bool(data.get("tool_recorded")),
            "verification": {"method": data["verification_method"], "result": data["verification_result"]},
            "result": data["result"],
            "status": "success" if data["result"] == "erased" else "failed",
            "started_at": data["started_at"].isoformat(),
            "ended_at": data["ended_at"].isoformat(),
        }
        for source, target in (("medium_model", "model"), ("medium_serial", "serial"), ("method_name", "method_name")):
            if data.get(source):
                medium[target] = data[source]
        for name in ("passes", "random_passes"):
            if data.get(name) is not None:
                medium[name] = data[name]
        return medium


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The seller reads this; the listing goes off sale until a new certificate is attached."),
    )
