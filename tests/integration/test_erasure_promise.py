"""The erasure promise as a buyer, a city and an attacker meet it: revocation bites on
every surface at once and reaches offline verifiers; the device in the report must be
the device in the listing; nothing an anonymous visitor can fetch lets them recover an
IMEI; the demo shows a laptop cleared for sale."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.errors import ValidationFailed
from marketplace.models import ListingStatus, Notification, Order, OrderStatus
from marketplace.services.listings import PublicationBlocked, listing_publish
from marketplace.services.orders import order_place
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration import test_erasure
from tests.integration.test_erasure import fresh_log, import_and_sign, laptop_listing, make_technician
from tests.listings import add_photos, make_listing
from wipe_cert.models import CertificateStatus, ErasureCertificate, LogEntry
from wipe_cert.payload import fingerprint
from wipe_cert.services import (
    binding_problems,
    certificate_bind,
    certificate_draft_create,
    certificate_import,
    certificate_sign,
)
from wipe_cert.signing import anchors_from, verify_bundle
from wipe_cert.verify import main as verify_main

provider = test_erasure.provider
pytestmark = pytest.mark.django_db
IMEI = "352099001761481"  # TAC 35209900: an iPhone 13
ERASURE_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]


@pytest.fixture(autouse=True)
def _erasure_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = ERASURE_GATES


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def phone_listing(imei: str = IMEI):
    listing = make_listing(
        seller=UserFactory(),
        category="electronics",
        title="iPhone 13 128GB",
        device_type="phone",
        brand="Apple",
        model_name="iPhone 13",
        imei=imei,
        serial_number="",
        storage_capacity_gb=128,
    )
    add_photos(listing)
    return listing


def certify_phone(provider, technician, listing, *, imei: str = IMEI, capacity: int = 128_000_000_000):
    draft = certificate_draft_create(
        technician=technician,
        provider_id=provider.pk,
        device={"type": "phone", "maker": "Apple", "model": "iPhone 13", "imeis": [imei]},
        media=[
            {
                "type": "UFS",
                "capacity_bytes": capacity,
                "nist_level": "purge",
                "technique": "crypto_erase",
                "status": "success",
                "result": "erased",
                "tool": {"name": "Blancco Mobile", "version": "7.2"},
                "tool_recorded": True,
                "verification": {"method": "tool_status", "result": "passed"},
                "started_at": fresh_iso(-60),
                "ended_at": fresh_iso(0),
            }
        ],
        locks={"activation_lock": "off", "frp": "n/a", "mdm": "off", "removable_media_removed": True},
        device_encrypted=True,
        listing_id=listing.pk,
    )
    return certificate_sign(technician=technician, certificate_id=draft.pk)


def fresh_iso(seconds: int) -> str:
    return (timezone.now() + dt.timedelta(seconds=seconds)).isoformat()


def published_phone(provider, technician):
    listing = phone_listing()
    # Intake first, erasure after: the certificate's times are "now".
    certificate = certify_phone(provider, technician, listing)
    assert certificate.status == CertificateStatus.ACCEPTED, certificate.acceptance
    certificate.refresh_from_db()
    assert certificate.listing_id == listing.pk
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    return listing, certificate


# --- revocation ---------------------------------------------------------------------------


def test_revoking_a_provider_key_bites_everywhere_at_once(provider, tmp_path, django_capture_on_commit_callbacks):
    technician = make_technician(provider)
    listing, certificate = published_phone(provider, technician)
    reserved_listing, reserved_certificate = published_phone_with_other_imei(provider, technician)
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=reserved_listing.pk, delivery_method="pickup", payment_method="cash")
    old_bundle = client_for().get(f"/verify/{certificate.pk}/bundle.json").json()
    staff = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff).post(
            f"/api/v1/erasure-keys/{certificate.provider_key.key_id}/revoke",
            data=json.dumps({"reason": "private key leaked"}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["revoked_at"]

    # Every certificate the key signed is revoked, with the key as the reason.
    for item in (certificate, reserved_certificate):
        item.refresh_from_db()
        assert item.status == CertificateStatus.REVOKED and item.revoked_with_key
    api = client_for().get(f"/api/v1/erasure-certificates/{certificate.pk}").json()
    assert api["public_status"] == "revoked"
    assert "signing key was revoked on" in api["revocation"] and "private key leaked" in api["revocation"]
    # Listings leave sale and search; the unshipped order is held for a moderator.
    listing.refresh_from_db()
    reserved_listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    assert reserved_listing.status == ListingStatus.PENDING_ERASURE
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert Notification.objects.filter(user=buyer).exists()
    assert Notification.objects.filter(user=listing.seller_user, kind="certificate_revoked").exists()
    assert client_for().get(f"/listings/{listing.pk}/").status_code == 404
    search = client_for().get("/api/v1/search", {"q": "iPhone"}).json()
    assert listing.pk not in {hit["id"] for hit in search["results"]}
    # The verify page and the PDF say why.
    page = client_for().get(f"/verify/{certificate.pk}/").content.decode()
    assert 'data-status="revoked"' in page
    assert "signing key was revoked on" in page and "private key leaked" in page
    pdf = client_for().get(f"/verify/{certificate.pk}/certificate.pdf").content
    assert pdf_text_has(pdf, "leaked")  # the reason (lines may wrap between words)
    # The revocation is in the log; an offline verifier with a fresh keys document reports
    # it for the bundle downloaded before.
    assert LogEntry.objects.filter(kind="key_revoked", subject=certificate.provider_key.key_id).exists()
    (tmp_path / "cert.json").write_text(json.dumps(old_bundle))
    keys = client_for().get("/.well-known/erasure-keys.json").json()
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    assert verify_main([str(tmp_path / "cert.json"), "--keys", str(tmp_path / "keys.json")]) == 1
    check = verify_bundle(old_bundle, anchors_from(keys))
    assert any(f"provider's key {certificate.provider_key.key_id} was revoked on" in p for p in check.problems)


def pdf_text_has(pdf: bytes, text: str) -> bool:
    """ReportLab writes text in the CJK font as UCS-2 literal strings ("\\000l\\000e…")."""
    return text.encode() in pdf or "".join(f"\\000{char}" for char in text).encode() in pdf


def published_phone_with_other_imei(provider, technician):
    listing = phone_listing(imei="490154203237518")
    certificate = certify_phone(provider, technician, listing, imei="490154203237518")
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    return listing, certificate


def test_only_staff_or_the_providers_owner_revoke_keys_through_the_api(provider):
    technician = make_technician(provider)
    _listing, certificate = published_phone(provider, technician)
    url = f"/api/v1/erasure-keys/{certificate.provider_key.key_id}/revoke"
    body = json.dumps({"reason": "test"})
    assert client_for().post(url, data=body, content_type="application/json").status_code == 401
    assert client_for(UserFactory()).post(url, data=body, content_type="application/json").status_code == 403
    assert client_for(technician).post(url, data=body, content_type="application/json").status_code == 403
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.ACCEPTED


def test_revoking_one_certificate_is_logged_and_reported_offline(provider, django_capture_on_commit_callbacks):
    technician = make_technician(provider)
    listing, certificate = published_phone(provider, technician)
    before = client_for().get(f"/verify/{certificate.pk}/bundle.json").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(technician).post(
            f"/api/v1/erasure-certificates/{certificate.pk}/revoke",
            data=json.dumps({"reason": "the verification pass was skipped"}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert "because: the verification pass was skipped" in response.json()["revocation"]
    keys = client_for().get("/.well-known/erasure-keys.json").json()
    check = verify_bundle(before, anchors_from(keys))
    assert "the certificate was revoked on" in " ".join(check.problems)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    # A bundle downloaded now carries the platform-signed revocation itself.
    after = client_for().get(f"/verify/{certificate.pk}/bundle.json").json()
    assert after["revocations"][0]["statement"]["reason"] == "the verification pass was skipped"


def test_the_keys_document_is_the_trust_anchor_and_the_platform_verifies_with_it(provider):
    technician = make_technician(provider)
    _listing, certificate = published_phone(provider, technician)
    keys = client_for().get("/.well-known/erasure-keys.json").json()
    assert keys["format"] == "xunhuan.erasure-keys/2"
    platform = keys["platform_keys"][0]
    assert platform["fingerprint"] == hashlib.sha256(base64.b64decode(platform["public_key"])).hexdigest()
    registered = [s for s in keys["statements"] if s["statement"]["type"].endswith("key-registration/1")]
    assert certificate.provider_key.key_id in {s["statement"]["key_id"] for s in registered}
    bundle = client_for().get(f"/verify/{certificate.pk}/bundle.json").json()
    assert verify_bundle(bundle, anchors_from(keys)).valid
    assert verify_bundle(bundle, anchors_from(None, [keys["platform_keys"][0]["fingerprint"]])).valid
    assert client_for().get("/api/v1/erasure-keys").json()["platform_keys"] == keys["platform_keys"]


# --- the device in the report is the device in the listing -------------------------------------


def test_a_report_of_a_16_mib_disk_cannot_vouch_for_a_512_gb_laptop(provider):
    technician = make_technician(provider)
    listing = make_listing(
        seller=UserFactory(),
        category="electronics",
        title="ThinkPad X1",
        device_type="laptop",
        brand="Lenovo",
        model_name="ThinkPad X1 Carbon Gen 9",
        imei="",
        serial_number="PF2ABCDE",
        storage_capacity_gb=512,
    )
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    assert certificate.status == CertificateStatus.ACCEPTED
    with pytest.raises(ValidationFailed) as exc:
        certificate_bind(actor=listing.seller_user, certificate_id=certificate.pk, listing_id=listing.pk)
    codes = {p["code"] for p in exc.value.details["problems"]}
    assert "capacity_mismatch" in codes


def test_a_report_of_another_model_is_refused(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    draft, _report = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Dell", "model": "Latitude 7490", "serial": "PF2ABCDE"},
    )
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)
    with pytest.raises(ValidationFailed) as exc:
        certificate_bind(actor=listing.seller_user, certificate_id=certificate.pk, listing_id=listing.pk)
    assert exc.value.code == "model_mismatch"
    assert "Latitude 7490" in exc.value.message


def test_a_phone_within_the_capacity_tolerance_binds_and_one_outside_does_not(provider):
    technician = make_technician(provider)
    listing = phone_listing()
    close = certify_phone(provider, technician, listing, capacity=137_438_953_472)  # 128 GiB for "128 GB"
    close.refresh_from_db()
    assert close.listing_id == listing.pk
    other = phone_listing(imei="490154203237518")
    far = certify_phone(provider, technician, other, imei="490154203237518", capacity=64_000_000_000)
    far.refresh_from_db()
    assert far.listing_id is None
    assert "capacity_mismatch" in {code for code, _m in binding_problems(far, other)}


def test_a_binary_serial_is_kept_exactly_through_signing(provider):
    technician = make_technician(provider)
    draft, _report = certificate_import(
        technician=technician,
        provider_id=provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1", "serial": "hex:505F47F67F"},
    )
    assert draft.payload["device"]["serial"] == "hex:505f47f67f"
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)
    assert certificate.identifier_opening["device"]["serial"] == "hex:505f47f67f"
    staff_view = client_for(UserFactory(is_staff=True)).get(f"/api/v1/erasure-certificates/{certificate.pk}").json()
    assert staff_view["device"]["serial"] == "hex:505f47f67f"


# --- identifiers nobody can brute-force --------------------------------------------------------


def _luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def _candidates(tac: str, last4: str) -> list[str]:
    """Every IMEI with this TAC that ends as shown: 1 000 serial prefixes, Luhn-checked."""
    return [f"{tac}{prefix:03d}{last4}" for prefix in range(1000) if _luhn_ok(f"{tac}{prefix:03d}{last4}")]


def _anonymous_material(certificate, listing) -> str:
    client = client_for()
    parts = [
        client.get(f"/verify/{certificate.pk}/").content.decode(),
        client.get(f"/api/v1/erasure-certificates/{certificate.pk}").content.decode(),
        client.get(f"/api/v1/erasure-certificates/{certificate.pk}/verification").content.decode(),
        client.get(f"/verify/{certificate.pk}/bundle.json").content.decode(),
        client.get("/.well-known/erasure-keys.json").content.decode(),
        client.get(f"/listings/{listing.pk}/").content.decode(),
        client.get(f"/api/v1/listings/{listing.pk}").content.decode(),
        client.get(f"/verify/{certificate.pk}/certificate.pdf").content.decode("latin-1"),
    ]
    return "\n".join(parts)


def test_the_brute_force_that_worked_finds_nothing_in_what_anonymous_can_fetch(provider):
    technician = make_technician(provider)
    listing, certificate = published_phone(provider, technician)
    material = _anonymous_material(certificate, listing)
    digests = set(re.findall(r"[0-9a-f]{64}", material))
    bundle = client_for().get(f"/verify/{certificate.pk}/bundle.json").json()
    public_payload = bundle["payload"]
    shown = "•••• " + IMEI[-4:]
    assert shown in material  # the masked form is what a visitor sees
    candidates = _candidates(IMEI[:8], IMEI[-4:])
    assert IMEI in candidates  # the search space holds the answer

    def found(candidate: str) -> bool:
        if candidate in material:
            return True
        guesses = [
            hashlib.sha256(candidate.encode()).hexdigest(),
            hashlib.sha256(f"imei:{candidate}".encode()).hexdigest(),
        ]
        # Rebuild the payload with the guess in clear, as the reviewer did.
        rebuilt = json.loads(json.dumps(public_payload))
        device = rebuilt["device"]
        device.pop("identifiers", None)
        device["imeis"] = [candidate]
        guesses.append(fingerprint(rebuilt))
        rebuilt["schema"] = "xunhuan.erasure-certificate/1"
        guesses.append(fingerprint(rebuilt))
        return any(guess in digests for guess in guesses)

    assert [c for c in candidates if found(c)] == []
    # The same search against the pre-commitment design would have found it: the test can fail.
    old_style = json.loads(json.dumps(public_payload))
    old_style["device"].pop("identifiers")
    old_style["device"]["imeis"] = [IMEI]
    leaked = {fingerprint(old_style)}

    def found_old(candidate: str) -> bool:
        rebuilt = json.loads(json.dumps(old_style))
        rebuilt["device"]["imeis"] = [candidate]
        return fingerprint(rebuilt) in leaked

    assert [c for c in candidates if found_old(c)] == [IMEI]
    # Nor does the secret salt leak.
    assert certificate.identifier_opening["salt"] not in material
    assert len(bytes.fromhex(certificate.identifier_opening["salt"])) >= 16


def test_the_buyer_of_a_completed_order_can_check_the_device_in_hand(provider, tmp_path):
    technician = make_technician(provider)
    listing, certificate = published_phone(provider, technician)
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    url = f"/verify/{certificate.pk}/bundle.json"
    assert "opening" not in client_for(buyer).get(url).json()  # not before the order is completed
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    bundle = client_for(buyer).get(url).json()
    assert bundle["opening"]["device"]["imeis"] == [IMEI]
    (tmp_path / "cert.json").write_text(json.dumps(bundle))
    (tmp_path / "keys.json").write_bytes(client_for().get("/.well-known/erasure-keys.json").content)
    args = [str(tmp_path / "cert.json"), "--keys", str(tmp_path / "keys.json")]
    assert verify_main([*args, "--identifier", f"imei={IMEI}"]) == 0
    assert verify_main([*args, "--identifier", "imei=490154203237518"]) == 1
    page = client_for(buyer).get(f"/verify/{certificate.pk}/").content.decode()
    assert IMEI in page


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_has_a_laptop_cleared_for_sale_and_one_the_sample_log_clears_the_same_day(settings):
    from django.core.management import call_command

    from config.settings import base
    from marketplace.models import Listing, User
    from tests.unit.test_wipe_cert import SAMPLE_LOG
    from wipe_cert.demo import SAMPLE_LAPTOP_TITLE
    from wipe_cert.services import certificate_import

    settings.MARKETPLACE_PUBLICATION_GATES = base.MARKETPLACE_PUBLICATION_GATES  # the project's own gates
    call_command("seed_demo")
    cleared = Listing.objects.get(title="ThinkPad X1 Carbon Gen 9 i7 16GB 512GB")
    assert cleared.status == ListingStatus.PUBLISHED
    certificate = ErasureCertificate.objects.get(listing=cleared, status=CertificateStatus.ACCEPTED)
    ended = max(m["ended_at"] for m in certificate.payload["media"])
    assert dt.datetime.fromisoformat(ended) >= cleared.intake_at

    waiting = Listing.objects.get(title=SAMPLE_LAPTOP_TITLE)
    assert waiting.status == ListingStatus.PENDING_ERASURE
    technician = User.objects.get(email="tech@example.com")
    draft, _report = certificate_import(
        technician=technician,
        provider_id=certificate.provider_id,
        report_format="nwipe_log",
        data=SAMPLE_LOG.read_bytes(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad T480", "serial": "PF1T480Q"},
        listing_id=waiting.pk,
    )
    signed = certificate_sign(technician=technician, certificate_id=draft.pk)
    assert signed.status == CertificateStatus.ACCEPTED, signed.acceptance
    signed.refresh_from_db()
    assert signed.listing_id == waiting.pk
    try:
        listing_publish(actor=waiting.seller_user, listing_id=waiting.pk)
    except PublicationBlocked as exc:
        pytest.fail(f"blocked: {[(r.code, str(r.message)) for r in exc.reasons]}")
    waiting.refresh_from_db()
    assert waiting.status == ListingStatus.PUBLISHED
