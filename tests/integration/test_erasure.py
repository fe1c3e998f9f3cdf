"""Erasure certificates end to end through the services: import, sign, accept, log,
bind, gate, review, revoke, off-platform signatures."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import DatabaseError, transaction
from django.utils import timezone, translation

from marketplace.errors import Conflict, MFARequired, PermissionDenied, ValidationFailed
from marketplace.models import ListingStatus, Notification, OrganisationKind, Role
from marketplace.services.listings import PublicationBlocked, listing_publish
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.listings import add_photos, make_listing
from tests.unit.test_wipe_cert import SAMPLE_LOG
from tests.wipe import phone_opening, phone_payload
from wipe_cert.keys import public_b64
from wipe_cert.models import CertificateStatus, ErasureCertificate, LogCheckpoint, LogEntry, TechnicianCredential
from wipe_cert.payload import SCHEMA_VERSION
from wipe_cert.services import (
    certificate_bind,
    certificate_bundle,
    certificate_draft_update,
    certificate_import,
    certificate_review,
    certificate_revoke,
    certificate_sign,
    certificate_upload_signed,
    certificate_verify,
    checkpoint_publish,
    provider_key_create,
    provider_key_register,
    signing_key_revoke,
)
from wipe_cert.signing import sign

pytestmark = pytest.mark.django_db
ERASURE_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]
LAPTOP = {
    "device_type": "laptop",
    "brand": "Lenovo",
    "model_name": "ThinkPad X1 Carbon Gen 9",
    "imei": "",
    "serial_number": "PF2ABCDE",
    # The sample log is of a 16 MiB loop device; this listing states no capacity.
    "storage_capacity_gb": None,
}


@pytest.fixture(autouse=True)
def _erasure_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = ERASURE_GATES


@pytest.fixture
def provider():
    org = OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER, verified_at=timezone.now())
    owner = MembershipFactory(organisation=org, role=Role.OWNER).user
    provider_key_create(actor=owner, provider_id=org.pk)
    org.owner = owner
    return org


def make_technician(provider, *, with_totp=True, credential=True):
    user = UserFactory(with_totp=with_totp)
    MembershipFactory(user=user, organisation=provider, role=Role.TECHNICIAN)
    if credential:
        today = timezone.localdate()
        TechnicianCredential.objects.create(
            user=user,
            provider=provider,
            number=f"QC-{user.pk}",
            issuer="中国电子工业标准化技术协会",
            valid_from=today - dt.timedelta(days=10),
            valid_to=today + dt.timedelta(days=300),
            verified_at=timezone.now(),
        )
    return user


def laptop_listing(serial="PF2ABCDE"):
    listing = make_listing(
        seller=UserFactory(), category="electronics", title="ThinkPad X1", **{**LAPTOP, "serial_number": serial}
    )
    add_photos(listing)
    return listing


def import_and_sign(provider, technician, listing, *, serial="PF2ABCDE", data=None):
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=data or SAMPLE_LOG.read_bytes(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": serial},
        listing_id=listing.pk if listing else None,
    )
    return certificate_sign(technician=technician, certificate_id=certificate.pk)


def fresh_log():
    """The sample log is from 2026-11-22; make it end after the listing's intake."""
    # Logs have whole seconds; end a little after the listing's intake.
    now = timezone.localtime() + dt.timedelta(seconds=2)
    stamp = now.strftime("%Y/%m/%d %H:%M:%S").encode()
    return SAMPLE_LOG.read_bytes().replace(b"2026/11/22 07:35:26", stamp).replace(b"2026/11/22 07:35:24", stamp)


def test_the_sample_log_imports_signs_gets_accepted_logged_and_bound_and_the_laptop_publishes(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    assert {r.code for r in exc.value.reasons} == {"certificate_missing"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE

    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    assert certificate.status == CertificateStatus.ACCEPTED, certificate.acceptance
    medium = certificate.payload["media"][0]
    assert (medium["method_name"], medium["passes"], medium["verification"]["method"]) == ("DoD Short", 3, "last_pass")
    assert certificate.source_sha256 == certificate.payload["source_report"]["sha256"]
    assert LogEntry.objects.filter(certificate=certificate).exists()
    assert certificate.listing == listing
    assert certificate_verify(certificate).valid, certificate_verify(certificate).problems
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_an_erasure_done_before_intake_does_not_count(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing)  # the sample log ends on 2026-11-22
    assert certificate.status == CertificateStatus.ACCEPTED
    assert certificate.listing is None  # it could not be bound
    with pytest.raises(ValidationFailed) as exc:
        certificate_bind(actor=listing.seller_user, certificate_id=certificate.pk, listing_id=listing.pk)
    assert exc.value.code == "erased_before_intake"


def test_another_devices_certificate_is_refused_with_a_clear_reason(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, None, serial="OTHER999", data=fresh_log())
    assert certificate.status == CertificateStatus.ACCEPTED
    with pytest.raises(ValidationFailed) as exc, translation.override("en"):
        certificate_bind(actor=listing.seller_user, certificate_id=certificate.pk, listing_id=listing.pk)
    assert exc.value.code == "identifier_mismatch"
    assert "another device" in exc.value.message


def test_a_certificate_binds_to_one_live_listing_only(provider):
    technician = make_technician(provider)
    first = laptop_listing()
    certificate = import_and_sign(provider, technician, first, data=fresh_log())
    second = laptop_listing()  # the same serial listed again
    with pytest.raises(ValidationFailed) as exc:
        certificate_bind(actor=second.seller_user, certificate_id=certificate.pk, listing_id=second.pk)
    assert exc.value.code == "bound_elsewhere"


def test_technicians_need_2fa_and_a_credential(provider):
    listing = laptop_listing()
    for technician, error in (
        (make_technician(provider, with_totp=False), MFARequired),
        (make_technician(provider, credential=False), PermissionDenied),
    ):
        with pytest.raises(error):
            import_and_sign(provider, technician, listing)
    assert not ErasureCertificate.objects.exists()


def test_an_unreadable_report_creates_nothing(provider):
    technician = make_technician(provider)
    with pytest.raises(ValidationFailed) as exc:
        certificate_import(
            technician=technician,
            provider_id=provider.pk,
            report_format="nvme_sanitize_log",
            data=b"this is not json",
            filename="x.json",
        )
    assert exc.value.code == "report_unreadable"
    assert not ErasureCertificate.objects.exists()


def test_fields_read_from_the_report_cannot_be_typed_over(provider):
    technician = make_technician(provider)
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=SAMPLE_LOG.read_bytes(),
        filename="nwipe.log",
    )
    with pytest.raises(ValidationFailed):
        certificate_draft_update(technician=technician, certificate_id=certificate.pk, media=[{"passes": 7}])
    updated = certificate_draft_update(
        technician=technician, certificate_id=certificate.pk, media=[{"model": "Loopback device", "serial": "DISK1"}]
    )
    assert updated.payload["media"][0]["serial"] == "DISK1"


def test_flash_overwrite_waits_for_review_and_staff_decide(provider):
    technician = make_technician(provider)
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        media_type="SSD",
        device={"type": "laptop", "maker": "HP", "model": "EliteBook", "serial": "HP1"},
    )
    certificate = certificate_sign(technician=technician, certificate_id=certificate.pk)
    assert certificate.status == CertificateStatus.PENDING_REVIEW
    assert "flash_overwrite_clear_only" in {r["code"] for r in certificate.acceptance["reasons"]}
    with pytest.raises(ValidationFailed):
        certificate_review(staff=UserFactory(is_staff=True), certificate_id=certificate.pk, approve=True, note=" ")
    certificate = certificate_review(
        staff=UserFactory(is_staff=True), certificate_id=certificate.pk, approve=True, note="ATA secure erase confirmed"
    )
    assert certificate.status == CertificateStatus.ACCEPTED


def test_a_bare_factory_reset_is_rejected(provider):
    technician = make_technician(provider)
    owner = provider.owner
    # A provider signing off-platform uploads the envelope.
    private = Ed25519PrivateKey.generate()
    now = timezone.now()
    provider_key_register(
        actor=owner,
        provider_id=provider.pk,
        key_id="offline-1",
        public_key=public_b64(private),
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=30),
    )
    payload = phone_payload(
        certificate_id=str(uuid.uuid4()),
        issued_at=timezone.now().isoformat(),
        provider={"name": provider.name, "uscc": provider.uscc, "key_id": "offline-1"},
    )
    payload["media"][0] |= {"technique": "factory_reset", "tool_recorded": False}
    certificate = certificate_upload_signed(
        actor=technician,
        provider_id=provider.pk,
        envelope={
            "payload": payload,
            "key_id": "offline-1",
            "signature": sign(private, payload),
            "opening": phone_opening(),
        },
    )
    assert certificate.status == CertificateStatus.REJECTED
    assert "factory_reset_without_record" in {r["code"] for r in certificate.acceptance["reasons"]}
    assert not LogEntry.objects.filter(certificate=certificate).exists()


def test_off_platform_signatures_are_checked_against_the_registered_key(provider):
    technician = make_technician(provider)
    private = Ed25519PrivateKey.generate()
    now = timezone.now()
    provider_key_register(
        actor=provider.owner,
        provider_id=provider.pk,
        key_id="offline-2",
        public_key=public_b64(private),
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=30),
    )
    payload = phone_payload(
        certificate_id=str(uuid.uuid4()),
        issued_at=timezone.now().isoformat(),
        provider={"name": provider.name, "uscc": provider.uscc, "key_id": "offline-2"},
    )
    signature = sign(private, payload)
    tampered = copy.deepcopy(payload)
    tampered["device"]["model"] = "iPhone 15 Pro"
    with pytest.raises(ValidationFailed) as exc:
        certificate_upload_signed(
            actor=technician,
            provider_id=provider.pk,
            envelope={"payload": tampered, "key_id": "offline-2", "signature": signature, "opening": phone_opening()},
        )
    assert exc.value.code == "bad_signature"
    forged = sign(Ed25519PrivateKey.generate(), payload)
    with pytest.raises(ValidationFailed):
        certificate_upload_signed(
            actor=technician,
            provider_id=provider.pk,
            envelope={"payload": payload, "key_id": "offline-2", "signature": forged, "opening": phone_opening()},
        )
    reordered = json.loads(json.dumps(dict(reversed(list(payload.items())))))
    certificate = certificate_upload_signed(
        actor=technician,
        provider_id=provider.pk,
        envelope={"payload": reordered, "key_id": "offline-2", "signature": signature, "opening": phone_opening()},
    )
    assert certificate.status == CertificateStatus.ACCEPTED
    assert certificate.payload["schema"] == SCHEMA_VERSION


def test_revoking_unpublishes_the_listing_tells_the_seller_and_signals_credit(
    provider, django_capture_on_commit_callbacks
):
    from wipe_cert.services import certificate_revoked

    received = []
    certificate_revoked.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test-revoked")
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(actor=technician, certificate_id=certificate.pk, reason="Wrong drive was wiped")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert Notification.objects.filter(user=listing.seller_user, kind="certificate_revoked").exists()
    assert received and received[0]["provider_id"] == provider.pk
    assert certificate_bundle(ErasureCertificate.objects.get(pk=certificate.pk))["status"] == "revoked"
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    certificate_revoked.disconnect(dispatch_uid="test-revoked")


def test_a_revoked_key_makes_its_certificates_invalid(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    signing_key_revoke(actor=provider.owner, key_id=certificate.provider_key.key_id, reason="key leaked")
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    # Every certificate the key signed is revoked with it.
    assert {r.code for r in exc.value.reasons} == {"certificate_not_accepted"}
    assert not certificate_verify(ErasureCertificate.objects.get(pk=certificate.pk)).valid


def test_a_payload_changed_in_the_database_no_longer_verifies(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    payload = copy.deepcopy(certificate.payload)
    payload["media"][0]["passes"] = 35
    ErasureCertificate.objects.filter(pk=certificate.pk).update(payload=payload)
    with pytest.raises(PublicationBlocked) as exc:
        listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    assert "certificate_not_verifiable" in {r.code for r in exc.value.reasons}


def test_the_log_is_append_only_in_the_database(provider):
    technician = make_technician(provider)
    import_and_sign(provider, technician, None, serial="X1", data=fresh_log())
    checkpoint_publish()
    entry = LogEntry.objects.get(kind="certificate")
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(leaf_hash="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk)._raw_delete(LogEntry.objects.db)
    with pytest.raises(DatabaseError), transaction.atomic():
        LogCheckpoint.objects.all().update(root_hash="0" * 64)
    with pytest.raises(PermissionError):
        entry.certificate.delete()
    assert LogEntry.objects.get(kind="certificate").leaf_hash == entry.leaf_hash


def test_checkpoints_are_signed_and_only_published_when_the_log_grew(provider):
    technician = make_technician(provider)
    import_and_sign(provider, technician, None, serial="A1", data=fresh_log())
    first = checkpoint_publish()
    # The provider key's registration, then the certificate.
    assert first is not None and first.tree_size == 2
    assert checkpoint_publish() is None
    import_and_sign(provider, technician, None, serial="A2", data=fresh_log())
    assert checkpoint_publish().tree_size == 3


def test_conflicting_states_are_refused(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, None, serial="Z1", data=fresh_log())
    with pytest.raises(Conflict):
        certificate_sign(technician=technician, certificate_id=certificate.pk)
    with pytest.raises(PermissionDenied):
        certificate_revoke(actor=UserFactory(), certificate_id=certificate.pk, reason="no")


def test_the_beat_task_publishes_a_checkpoint(provider, settings):
    from config.celery import app
    from wipe_cert.tasks import checkpoint_publish_task

    assert "wipe_cert.tasks.checkpoint_publish_task" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "wipe_cert.tasks.checkpoint_publish_task" in app.tasks
    technician = make_technician(provider)
    import_and_sign(provider, technician, None, serial="B1", data=fresh_log())
    assert checkpoint_publish_task.delay().get() == 2
    assert LogCheckpoint.objects.count() == 1
