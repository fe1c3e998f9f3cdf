"""Demo data for erasure certificates: the demo provider's key, the demo technician's
credential and signed certificates for the demo phones, tablet, console and the ThinkPad
X1 (an NVMe sanitize done after its intake, whatever today's date), so they can be sold.
The ThinkPad T480 is left waiting for its certificate: tech@example.com imports the sample
nwipe log kept with the tests (tests/fixtures/nwipe-0.33-dodshort-verify-last.log, a run
of 2026-11-22) for it — the laptop was taken in before that run — and the seller
publishes it the same day."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, TextIO

from django.utils import timezone

from marketplace.models import Listing, ListingStatus, Organisation, OrganisationKind, User
from marketplace.services.listings import PublicationBlocked, listing_publish
from wipe_cert.models import CertificateStatus, ErasureCertificate, SigningKey, TechnicianCredential
from wipe_cert.services import certificate_draft_create, certificate_sign, provider_key_create

# The devices that get a certificate, by listing title.
CERTIFIED_TITLES = (
    "iPhone 13 128GB 蓝色",
    "iPhone 12 mini 128GB 白色 手机",
    "华为 MatePad 11 平板 128GB WiFi版",
    "任天堂 Switch OLED 白色 双手柄",
    "ThinkPad X1 Carbon Gen 9 i7 16GB 512GB",
)
# The laptop the shipped sample log is imported for, and when it was taken in: before the
# sample's run (2026-11-22 07:35 China time).
SAMPLE_LAPTOP_TITLE = "ThinkPad T480 i5 旧笔记本 硬盘自备"
SAMPLE_LAPTOP_INTAKE = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _medium(media_type: str, technique: str, tool: str, capacity_gb: int | None = None) -> dict[str, Any]:
    now = timezone.now()
    sized = {"capacity_bytes": capacity_gb * 1_000_000_000} if capacity_gb else {}
    return {
        **sized,
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
    laptop = getattr(attributes, "device_type", "") in {"laptop", "desktop"}
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
        media=[
            _medium("NVMe", "sanitize", "nvme-cli", getattr(attributes, "storage_capacity_gb", None))
            if laptop
            else _medium(
                "UFS" if mobile else "eMMC",
                "crypto_erase",
                "Blancco Mobile Diagnostics & Erasure",
                getattr(attributes, "storage_capacity_gb", None),
            )
        ],
        locks=locks,
        device_encrypted=True,
        listing_id=listing.pk,
    )
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)
    return certificate.listing_id == listing.pk


def _publish(listing: Listing) -> None:
    """A listing that was only waiting for its certificate goes on sale."""
    listing.refresh_from_db()
    if listing.status not in (ListingStatus.PENDING_ERASURE, ListingStatus.READY):
        return
    seller = listing.seller_user or listing.created_by
    if seller is None:
        return
    with contextlib.suppress(PublicationBlocked):
        listing_publish(actor=seller, listing_id=listing.pk)


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
            _publish(listing)
    # The T480 came in before the sample log's run, so that log can vouch for it.
    Listing.objects.filter(title=SAMPLE_LAPTOP_TITLE, intake_at__gt=SAMPLE_LAPTOP_INTAKE).update(
        intake_at=SAMPLE_LAPTOP_INTAKE
    )
    stdout.write(f"Erasure demo: {certified} new certificates.\n")
