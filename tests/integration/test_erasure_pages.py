"""Erasure-certificate pages: the technicians' import/complete/sign/revoke pages, the
public /verify/<id>/ page, the PDF with its QR code, the signed bundle, the public keys,
and the "Data erasure" menu of the Wagtail admin."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.credit.services import credit_adjust, credit_recompute
from marketplace.models import Notification, OrganisationKind, Role
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration import test_erasure
from tests.integration.test_erasure import (
    fresh_log,
    import_and_sign,
    laptop_listing,
    make_technician,
)
from tests.unit.test_wipe_cert import SAMPLE_LOG
from wipe_cert.keys import public_b64
from wipe_cert.models import CertificateStatus, ErasureCertificate, SigningKey, TechnicianCredential
from wipe_cert.pdf import qr_png
from wipe_cert.services import certificate_import, certificate_revoke, certificate_sign
from wipe_cert.signing import key_fingerprint
from wipe_cert.verify import main as verify_main

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db
SERIAL = "PF2ABCDE"
MASKED_SERIAL = "•••• BCDE"


@pytest.fixture(autouse=True)
def _erasure_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def text_of(response) -> str:
    """The page's visible text, roughly: tags removed, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def import_post(provider, data: bytes, **extra) -> dict:
    return {
        "provider": str(provider.pk),
        "file": SimpleUploadedFile("nwipe.log", data, content_type="text/plain"),
        "format": "nwipe_log",
        "media_type": "",
        "device_type": "laptop",
        "maker": "Lenovo",
        "model": "ThinkPad X1 Carbon Gen 9",
        "serial": SERIAL,
        **extra,
    }


# --- Technicians' pages ------------------------------------------------------------------------


def test_a_technician_imports_the_sample_log_and_sees_what_was_read(provider):
    technician = make_technician(provider)
    client = client_for(technician)
    form_page = client.get(reverse("erasure_import"))
    assert form_page.status_code == 200
    assert "nwipe / ShredOS log file" in text_of(form_page)

    response = client.post(reverse("erasure_import"), import_post(provider, SAMPLE_LOG.read_bytes()))

    certificate = ErasureCertificate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("erasure_detail", args=(certificate.pk,))
    page = client.get(response["Location"])
    text = text_of(page)
    assert "Read from the report" in text
    assert re.search(r"Method\s+DoD Short", text)
    assert re.search(r"Passes\s+3\b", text)
    assert re.search(r"Verification\s+last pass: passed", text)
    assert re.search(r"Tool\s+nwipe 0\.33", text)
    assert "Not in the report" in text
    assert "HDD is assumed" in text
    assert "Sign the certificate" in text
    # What the report recorded is shown, not offered for typing over.
    assert 'name="medium-0-started_at"' in page.content.decode()
    assert re.search(r'name="medium-0-started_at"[^>]*disabled', page.content.decode())


def test_an_unreadable_file_shows_the_error_and_creates_nothing(provider):
    client = client_for(make_technician(provider))
    response = client.post(reverse("erasure_import"), import_post(provider, b"{not json", format="nvme_sanitize_log"))
    assert response.status_code == 200
    assert "could not be read as nvme_sanitize_log" in text_of(response)
    assert not ErasureCertificate.objects.exists()


def test_without_two_factor_authentication_the_page_says_so(provider):
    client = client_for(make_technician(provider, with_totp=False))
    response = client.post(reverse("erasure_import"), import_post(provider, SAMPLE_LOG.read_bytes()))
    assert response.status_code == 200
    assert "two-factor authentication" in text_of(response)
    assert not ErasureCertificate.objects.exists()


def test_people_who_are_not_technicians_cannot_import(provider):
    response = client_for(UserFactory()).get(reverse("erasure_import"))
    assert response.status_code == 403
    assert "Only technicians of a registered erasure provider" in text_of(response)
    assert client_for().get(reverse("erasure_import")).status_code == 302  # to the login page


def test_the_technician_completes_the_draft_then_signs_it(provider):
    technician = make_technician(provider)
    client = client_for(technician)
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
    )
    detail = reverse("erasure_detail", args=(certificate.pk,))

    response = client.post(
        reverse("erasure_complete", args=(certificate.pk,)),
        {
            "device_type": "laptop",
            "maker": "Lenovo",
            "model": "ThinkPad T14",
            "serial": "pf2-xyz9",
            "mdm": "off",
            "removable_media_removed": "on",
            "medium-0-type": "HDD",
            "medium-0-serial": "WD-123456",
            "medium-0-passes": "35",  # read from the report: a disabled field ignores this
        },
    )

    assert response.status_code == 302, text_of(response)[:3000]
    certificate.refresh_from_db()
    assert certificate.payload["device"] == {
        "type": "laptop",
        "maker": "Lenovo",
        "model": "ThinkPad T14",
        "serial": "PF2XYZ9",
    }
    assert certificate.payload["media"][0]["serial"] == "WD-123456"
    assert certificate.payload["media"][0]["passes"] == 3
    assert certificate.payload["locks"]["mdm"] == "off"
    assert certificate.payload["locks"]["removable_media_removed"] is True

    signed = client.post(reverse("erasure_sign", args=(certificate.pk,)), follow=True)

    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.ACCEPTED
    assert signed.redirect_chain[-1][0] == detail
    assert any("The certificate is valid" in message for message in messages_of(signed))
    text = text_of(signed)
    assert "Valid" in text
    assert certificate.payload_sha256 in text
    assert reverse("erasure_verify", args=(certificate.pk,)) in signed.content.decode()


def test_the_manual_form_creates_a_draft(provider):
    technician = make_technician(provider)
    response = client_for(technician).post(
        reverse("erasure_new"),
        {
            "provider": str(provider.pk),
            "device_type": "desktop",
            "maker": "Dell",
            "model": "OptiPlex 7010",
            "serial": "DL7010X",
            "medium_type": "NVMe",
            "technique": "sanitize",
            "nist_level": "purge",
            "verification_method": "tool_status",
            "verification_result": "passed",
            "result": "erased",
            "tool_name": "nvme-cli",
            "tool_recorded": "on",
            "started_at": "2026-11-20T09:00",
            "ended_at": "2026-11-20T09:20",
        },
    )
    certificate = ErasureCertificate.objects.get()
    assert response.status_code == 302
    assert certificate.payload["media"][0]["technique"] == "sanitize"
    assert certificate.payload["media"][0]["ended_at"].startswith("2026-11-20T09:20:00+08:00")
    assert certificate_sign(technician=technician, certificate_id=certificate.pk).status == CertificateStatus.ACCEPTED


def test_signing_an_incomplete_draft_shows_what_is_missing(provider):
    technician = make_technician(provider)
    certificate, _ = certificate_import(
        technician=technician, provider_id=provider.pk, report_format="nwipe_log", data=fresh_log(), filename="x.log"
    )  # no device maker/model yet
    response = client_for(technician).post(reverse("erasure_sign", args=(certificate.pk,)), follow=True)
    assert any("incomplete" in message for message in messages_of(response))
    assert any("maker" in message for message in messages_of(response))
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.DRAFT


def test_technician_pages_are_for_the_providers_members_only(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    stranger = client_for(make_technician(OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER)))
    assert stranger.get(reverse("erasure_detail", args=(certificate.pk,))).status_code == 404
    assert stranger.post(reverse("erasure_revoke", args=(certificate.pk,)), {"reason": "x"}).status_code == 404
    listing = client_for(technician).get(reverse("erasure_list"))
    assert "Lenovo ThinkPad X1 Carbon Gen 9" in text_of(listing)
    assert "Lenovo" not in text_of(stranger.get(reverse("erasure_list")))


def test_revoking_from_the_page_needs_a_reason(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    client = client_for(technician)
    url = reverse("erasure_revoke", args=(certificate.pk,))

    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 200
    assert "This field is required" in text_of(refused)
    assert ErasureCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.ACCEPTED

    response = client.post(url, {"reason": "Wrong drive wiped"})
    assert response.status_code == 302
    assert ErasureCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.REVOKED
    assert Notification.objects.filter(user=listing.seller_user, kind="certificate_revoked").exists()


# --- The public verification page ------------------------------------------------------------------


def test_the_verify_page_shows_valid_with_masked_identifiers(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())

    response = client_for().get(f"/verify/{certificate.pk}/")

    assert response.status_code == 200
    text = text_of(response)
    html = response.content.decode()
    assert 'data-status="valid"' in html
    assert re.search(r"<p class=\"cert-verdict-label\">\s*Valid\s*</p>", html)
    assert MASKED_SERIAL in text
    assert SERIAL not in html
    assert provider.name in text and provider.uscc in text
    assert "Overwrite" in text and "DoD Short" in text and "3 passes" in text and "last pass: passed" in text
    assert f"Index {certificate.log_entry.index} in a log of" in text
    assert certificate.payload_sha256 in text
    assert f"/api/v1/erasure-certificates/{certificate.pk}/verification" in html
    assert f"/verify/{certificate.pk}/certificate.pdf" in html
    assert "python -m wipe_cert.verify certificate.json --keys erasure-keys.json" in text
    assert f"/verify/{certificate.pk}/bundle.json" in html  # public: identifiers are commitments in it
    assert key_fingerprint(certificate.platform_key.public_key) in text
    assert "<script>" not in html and "style=" not in html

    seller_page = client_for(listing.seller_user).get(f"/verify/{certificate.pk}/").content.decode()
    # The seller sees the full identifiers, to compare with the device.
    assert SERIAL in seller_page


def test_the_qr_target_without_a_trailing_slash_redirects(provider):
    certificate = import_and_sign(provider, make_technician(provider), None, data=fresh_log())
    response = client_for().get(f"/verify/{certificate.pk}")
    assert response.status_code == 301
    assert response["Location"] == f"/verify/{certificate.pk}/"


def test_a_revoked_certificate_shows_revoked(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    certificate_revoke(actor=technician, certificate_id=certificate.pk, reason="Disk swapped after erasure")

    response = client_for().get(f"/verify/{certificate.pk}/")

    html = response.content.decode()
    assert 'data-status="revoked"' in html
    assert re.search(r"<p class=\"cert-verdict-label\">\s*Revoked\s*</p>", html)
    assert "Disk swapped after erasure" in text_of(response)


def test_drafts_and_unknown_ids_have_no_verify_page(provider):
    technician = make_technician(provider)
    draft, _ = certificate_import(
        technician=technician, provider_id=provider.pk, report_format="nwipe_log", data=fresh_log(), filename="x"
    )
    for pk in (draft.pk, uuid.uuid4()):
        assert client_for().get(f"/verify/{pk}/").status_code == 404
        assert client_for().get(f"/verify/{pk}/certificate.pdf").status_code == 404


# --- PDF, bundle, keys ----------------------------------------------------------------------------


def test_the_pdf_has_the_fingerprint_the_verify_url_and_a_qr_code(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, laptop_listing(), data=fresh_log())

    response = client_for().get(f"/verify/{certificate.pk}/certificate.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert certificate.payload_sha256.encode() in pdf
    assert f"http://testserver/verify/{certificate.pk}/".encode() in pdf
    assert b"/Subtype /Image" in pdf  # the QR code
    assert b"STSong-Light" in pdf  # Chinese provider names can be printed
    assert SERIAL.encode() not in pdf
    assert b"**** BCDE" in pdf  # the last four characters are


def test_the_qr_code_is_a_png_of_the_url():
    png = qr_png("https://xunhuan.example/verify/123/")
    assert png.startswith(b"\x89PNG")
    assert qr_png("https://xunhuan.example/verify/124/") != png


def test_the_signed_bundle_downloads_for_the_seller_and_verifies_offline(provider, tmp_path, capsys):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    url = f"/verify/{certificate.pk}/bundle.json"

    for stranger in (client_for(), client_for(UserFactory())):
        public = stranger.get(url)
        assert public.status_code == 200
        assert SERIAL.encode() not in public.content
        assert "opening" not in json.loads(public.content)

    response = client_for(listing.seller_user).get(url)

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    bundle_file = tmp_path / "certificate.json"
    bundle_file.write_bytes(response.content)
    assert json.loads(response.content)["opening"]["device"]["serial"] == SERIAL
    keys_file = tmp_path / "erasure-keys.json"
    keys_file.write_bytes(client_for().get("/.well-known/erasure-keys.json").content)
    assert verify_main([str(bundle_file), "--keys", str(keys_file), "--identifier", f"serial={SERIAL}"]) == 0
    assert "VALID" in capsys.readouterr().out


def test_the_well_known_keys_list_every_public_key(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, None, data=fresh_log())

    response = client_for().get("/.well-known/erasure-keys.json")

    assert response.status_code == 200
    keys = {key["key_id"]: key for key in response.json()["keys"]}
    assert certificate.provider_key.key_id in keys
    assert certificate.platform_key.key_id in keys
    assert keys[certificate.provider_key.key_id]["public_key"] == certificate.provider_key.public_key
    assert keys[certificate.provider_key.key_id]["owner_uscc"] == provider.uscc
    assert keys[certificate.platform_key.key_id]["owner"] == "platform"
    assert "private" not in response.content.decode()


# --- The Wagtail admin ------------------------------------------------------------------------------


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, with_totp=True)


@pytest.fixture
def admin(staff):
    return client_for(staff)


def pending_certificate(provider) -> ErasureCertificate:
    technician = make_technician(provider)
    certificate, _ = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        media_type="SSD",
        device={"type": "laptop", "maker": "HP", "model": "EliteBook", "serial": "HP12345"},
    )
    certificate = certificate_sign(technician=technician, certificate_id=certificate.pk)
    assert certificate.status == CertificateStatus.PENDING_REVIEW
    return certificate


def test_the_review_queue_lists_certificates_waiting_for_review(admin, provider):
    certificate = pending_certificate(provider)
    accepted = import_and_sign(provider, make_technician(provider), None, serial="OK1", data=fresh_log())

    response = admin.get(reverse("erasure-review:index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert str(certificate.pk)[:8] in page
    assert str(accepted.pk)[:8] not in page
    assert reverse("erasure-review:approve", args=(certificate.pk,)) in page
    assert "Data erasure" in admin.get(reverse("wagtailadmin_home")).content.decode()


@pytest.mark.parametrize(("action", "status"), [("approve", "accepted"), ("reject", "rejected")])
def test_approving_or_rejecting_needs_a_note(admin, provider, staff, action, status):
    certificate = pending_certificate(provider)
    url = reverse(f"erasure-review:{action}", args=(certificate.pk,))
    form = admin.get(url)
    assert form.status_code == 200
    assert "flash" in form.content.decode()  # the rule that sent it to review

    refused = admin.post(url, {"note": ""})

    assert refused.status_code == 200
    assert ErasureCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.PENDING_REVIEW

    response = admin.post(url, {"note": "Checked the controller's secure-erase log"})

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == status
    assert certificate.review_note == "Checked the controller's secure-erase log"
    assert certificate.reviewed_by == staff
    if status == "accepted":
        assert certificate.log_entry is not None


def test_non_staff_cannot_use_the_erasure_admin(provider):
    certificate = pending_certificate(provider)
    technician = make_technician(provider)
    client = client_for(technician)
    for url in (
        reverse("erasure-review:index"),
        reverse("erasure-review:approve", args=(certificate.pk,)),
        reverse("erasure-keys:create"),
    ):
        response = client.get(url)
        assert response.status_code in (302, 403)
    response = client.post(reverse("erasure-review:approve", args=(certificate.pk,)), {"note": "looks fine"})
    assert response.status_code in (302, 403)
    assert ErasureCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.PENDING_REVIEW


def test_staff_revoke_a_certificate_with_a_reason(admin, provider):
    certificate = import_and_sign(provider, make_technician(provider), None, data=fresh_log())
    url = reverse("erasure-certificates:revoke", args=(certificate.pk,))
    index = admin.get(reverse("erasure-certificates:index"))
    assert url in index.content.decode()
    assert admin.get(reverse("erasure-certificates:inspect", args=(certificate.pk,))).status_code == 200

    assert admin.post(url, {"reason": ""}).status_code == 200
    assert ErasureCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.ACCEPTED
    assert admin.post(url, {"reason": "Provider's licence withdrawn"}).status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED
    assert certificate.revocation_reason == "Provider's licence withdrawn"


def test_staff_create_register_and_revoke_signing_keys(admin, provider):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert admin.get(reverse("erasure-keys:index")).status_code == 200
    before = SigningKey.objects.filter(organisation=provider).count()
    response = admin.post(reverse("erasure-keys:create"), {"provider": provider.pk, "valid_days": 30})
    assert response.status_code == 302
    created = SigningKey.objects.filter(organisation=provider).order_by("-pk").first()
    assert SigningKey.objects.filter(organisation=provider).count() == before + 1
    assert created.private_key_encrypted

    now = timezone.localtime()
    public = public_b64(Ed25519PrivateKey.generate())
    bad = admin.post(
        reverse("erasure-keys:register"),
        {
            "provider": provider.pk,
            "key_id": "offline-admin",
            "public_key": "not base64!",
            "valid_from": now.strftime("%Y-%m-%d %H:%M"),
            "valid_to": (now + dt.timedelta(days=90)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert bad.status_code == 200
    assert "not a base64 Ed25519 public key" in bad.content.decode()
    registered = admin.post(
        reverse("erasure-keys:register"),
        {
            "provider": provider.pk,
            "key_id": "offline-admin",
            "public_key": public,
            "valid_from": now.strftime("%Y-%m-%d %H:%M"),
            "valid_to": (now + dt.timedelta(days=90)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert registered.status_code == 302, registered.content.decode()[:2000]
    key = SigningKey.objects.get(key_id="offline-admin")
    assert key.public_key == public and not key.private_key_encrypted

    revoke = reverse("erasure-keys:revoke", args=(key.pk,))
    assert admin.post(revoke, {"reason": ""}).status_code == 200
    assert admin.post(revoke, {"reason": "Key leaked"}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revocation_reason == "Key leaked"


def test_staff_add_and_verify_technician_credentials(admin, provider):
    technician = UserFactory(with_totp=True)
    MembershipFactory(user=technician, organisation=provider, role=Role.TECHNICIAN)
    outsider = UserFactory()
    today = timezone.localdate()
    form = {
        "provider": provider.pk,
        "number": "QC-2027-77",
        "issuer": "中国电子工业标准化技术协会",
        "valid_from": today.isoformat(),
        "valid_to": (today + dt.timedelta(days=365)).isoformat(),
    }

    refused = admin.post(reverse("technician-credentials:add"), {**form, "user_email": outsider.email})
    assert refused.status_code == 200
    assert "is not a technician of" in refused.content.decode()

    added = admin.post(reverse("technician-credentials:add"), {**form, "user_email": technician.email})
    assert added.status_code == 302
    credential = TechnicianCredential.objects.get(number="QC-2027-77")
    assert credential.verified_at is None
    index = admin.get(reverse("technician-credentials:index")).content.decode()
    assert "QC-2027-77" in index and "Not verified" in index

    verify = reverse("technician-credentials:verify", args=(credential.pk,))
    assert admin.post(verify).status_code == 302
    credential.refresh_from_db()
    assert credential.verified_at is not None


def test_the_transparency_log_and_checkpoints_are_listed(admin, provider):
    certificate = import_and_sign(provider, make_technician(provider), None, data=fresh_log())
    client_for().get(f"/verify/{certificate.pk}/")  # publishes the covering checkpoint
    log = admin.get(reverse("erasure-log:index"))
    assert log.status_code == 200
    assert certificate.log_entry.leaf_hash in log.content.decode()
    checkpoints = admin.get(reverse("erasure-checkpoints:index"))
    assert checkpoints.status_code == 200
    assert certificate.platform_key.key_id in checkpoints.content.decode()


def test_providers_need_staff_to_be_verified_before_keys(admin):
    unverified = OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER)
    response = admin.post(reverse("erasure-keys:create"), {"provider": unverified.pk, "valid_days": 30})
    assert response.status_code == 200
    assert "not been verified by staff" in response.content.decode()
    assert not SigningKey.objects.filter(organisation=unverified).exists()


# --- Listing pages: badge, panel, attaching a certificate ---------------------------------------


@pytest.fixture
def erasure_extensions(settings):
    """Only the erasure badge and panel: other apps' extensions are theirs to test."""
    settings.MARKETPLACE_LISTING_BADGES = ["wipe_cert.badges.erasure_badges"]
    settings.MARKETPLACE_LISTING_PANELS = ["wipe_cert.badges.erasure_panel"]


def test_the_seller_attaches_a_certificate_on_the_manage_page(provider, erasure_extensions):
    technician = make_technician(provider)
    listing = laptop_listing()
    other_device = import_and_sign(provider, technician, None, serial="OTHER999", data=fresh_log())
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    seller = client_for(listing.seller_user)
    manage = seller.get(reverse("listing_manage", args=(listing.pk,)))
    assert "Attach a certificate" in text_of(manage)
    url = reverse("erasure_bind", args=(listing.pk,))

    refused = seller.post(url, {"certificate_id": str(other_device.pk)}, follow=True)
    assert any("another device" in message for message in messages_of(refused))
    assert ErasureCertificate.objects.get(pk=other_device.pk).listing_id is None

    response = seller.post(url, {"certificate_id": str(certificate.pk)}, follow=True)
    assert any("attached" in message for message in messages_of(response))
    assert ErasureCertificate.objects.get(pk=certificate.pk).listing_id == listing.pk
    assert f"/verify/{certificate.pk}/" in response.content.decode()
    assert client_for(UserFactory()).post(url, {"certificate_id": str(certificate.pk)}).status_code == 404


def test_a_published_laptop_shows_the_verified_erasure_badge(provider, erasure_extensions):
    from marketplace.services.listings import listing_publish

    listing = laptop_listing()
    certificate = import_and_sign(provider, make_technician(provider), listing, data=fresh_log())
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)

    page = client_for().get(reverse("listing_detail", args=(listing.pk,)))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Data erased · verified" in text_of(page)
    assert f"/verify/{certificate.pk}/" in html
    assert SERIAL not in html


def test_the_verify_page_shows_a_top_tier_technicians_badge_and_no_badge_for_others(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, laptop_listing(), data=fresh_log())
    url = f"/verify/{certificate.pk}/"
    assert "data-technician-badge" not in client_for().get(url).content.decode()

    credit_adjust(
        moderator=UserFactory(is_staff=True),
        user_id=technician.pk,
        role="technician",
        direction="up",
        size=20,
        reason="t",
    )
    credit_recompute(user_id=technician.pk, role="technician")  # what the queued task does
    html = client_for().get(url).content.decode()
    assert 'data-technician-badge="excellent"' in html
    assert "Top-rated technician" in html
    assert reverse("credit_profile", args=(technician.pk,)) in html


def test_the_pdf_text_keeps_its_dots_and_its_chinese(provider, settings):
    """STSong-Light has no "·" (U+00B7): poppler drew a box between the technician's name
    and credential. The text read back from the PDF has the dot and the Chinese."""
    import shutil
    import subprocess

    from marketplace.documents import cid_text

    assert cid_text("王 · QC-1 • x") == "王 \u30fb QC-1 \u30fb x"
    if shutil.which("pdftotext") is None or not Path("/usr/share/poppler/cMap/Adobe-GB1").is_dir():
        pytest.skip("pdftotext (poppler-utils) with the Chinese CID maps (poppler-data) is not installed")
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, laptop_listing(), data=fresh_log())
    response = client_for().get(f"/verify/{certificate.pk}/certificate.pdf", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "数据清除证书" in text and provider.name in text
    # "name · credential": poppler reads the font's middle dot back as U+00B7.
    assert f"· QC-{technician.pk}" in text, text
