"""Demo data for erasure certificates: the demo provider's key, the demo technician's
credential and certificates for the demo phone, tablet and console, so they can be sold.
The ThinkPad is left waiting for its certificate: import the sample nwipe log for it."""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

from django.utils import timezone

from marketplace.models import Listing, Organisation, OrganisationKind, User
from wipe_cert.models import CertificateStatus, ErasureCertificate, SigningKey, TechnicianCredential
from wipe_cert.services import certificate_draft_create, certificate_sign, provider_key_create

# The devices that get a certificate, by listing title.
CERTIFIED_TITLES = ("iPhone 13 128GB 蓝色", "华为 MatePad 11 平板 128GB WiFi版", "任天堂 Switch OLED 白色 双手柄")


def _medium(media_type: str, technique: str, tool: str) -> dict[str, Any]:
    now = timezone.now()
    return {
        "type": media_type,
        "nist_level": "purge",
        "technique": technique,
        "status": "success",
        "result": "erased",
        "tool": {"name": tool, "version": "7.2"},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed"},
        # The erasure ends now: after the item's intake, as a certificate must.
        "started_at": (now - dt.timedelta(minutes=10)).isoformat(),
        "ended_at": now.isoformat(),
    }


def _certify(listing: Listing, technician: User, provider: Organisation) -> bool:
    if ErasureCertificate.objects.filter(listing=listing, status=CertificateStatus.ACCEPTED).exists():
        return False
    if ErasureCertificate.objects.filter(imported__listing_id=listing.pk).exists():
        return False  # made by an earlier run, even if it could not be bound
    attributes = listing.attributes
    mobile = getattr(attributes, "device_type", "") in {"phone", "tablet"}
    device = {
        "type": getattr(attributes, "device_type", "other"),
        "maker": getattr(attributes, "brand", ""),
        "model": getattr(attributes, "model_name", ""),
        "serial": getattr(attributes, "serial_number", ""),
    }
    locks = (
        {"activation_lock": "n/a", "frp": "off", "mdm": "off", "removable_media_removed": True, "sim_removed": True}
        if mobile
        else {"activation_lock": "n/a", "frp": "n/a", "mdm": "off", "removable_media_removed": True}
    )
    draft = certificate_draft_create(
        technician=technician,
        provider_id=provider.pk,
        device=device,
        media=[_medium("UFS" if mobile else "eMMC", "crypto_erase", "Blancco Mobile Diagnostics & Erasure")],
        locks=locks,
        device_encrypted=True,
        listing_id=listing.pk,
    )
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)
    return certificate.listing_id == listing.pk


def seed_erasure_demo(stdout: TextIO) -> None:
    provider = Organisation.objects.filter(kind=OrganisationKind.ERASURE_PROVIDER).order_by("pk").first()
    technician = User.objects.filter(email="tech@example.com").first()
    admin = User.objects.filter(email="admin@example.com").first()
    if provider is None or technician is None or admin is None:
        return
    now = timezone.now()
    if (
        not SigningKey.objects.filter(organisation=provider, revoked_at__isnull=True, valid_to__gt=now)
        .exclude(private_key_encrypted="")
        .exists()
    ):
        provider_key_create(actor=admin, provider_id=provider.pk)
    TechnicianCredential.objects.get_or_create(
        issuer="中国电子工业标准化技术协会",
        number="QC-GB46864-0001",
        defaults={
            "user": technician,
            "provider": provider,
            "valid_from": timezone.localdate() - dt.timedelta(days=30),
            "valid_to": timezone.localdate() + dt.timedelta(days=700),
            "verified_at": now,
        },
    )
    certified = 0
    for listing in Listing.objects.filter(title__in=CERTIFIED_TITLES):
        if _certify(listing, technician, provider):
            certified += 1
    stdout.write(f"Erasure demo: {certified} new certificates; tech@example.com can import samples/nwipe logs.\n")
