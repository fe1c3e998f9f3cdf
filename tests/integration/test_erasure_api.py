"""The erasure-certificate JSON API (/api/v1/erasure-certificates…, the listing binding):
paths, certificate JSON, masking and error shapes are a public contract."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from marketplace.models import ListingStatus
from marketplace.services.listings import listing_publish
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration import test_erasure
from tests.integration.test_erasure import (
    fresh_log,
    import_and_sign,
    laptop_listing,
    make_technician,
)
from tests.unit.test_wipe_cert import SAMPLE_LOG
from tests.wipe import HDD_MEDIUM, phone_opening, phone_payload
from wipe_cert import merkle
from wipe_cert.keys import public_b64
from wipe_cert.models import CertificateStatus, ErasureCertificate
from wipe_cert.services import provider_key_register
from wipe_cert.signing import anchors_from, leaf_hash_of, log_leaf, sign, verify_bundle, verify_signature

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db
BASE = "/api/v1/erasure-certificates"
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


def import_form(provider, data: bytes, **extra) -> dict:
    return {
        "file": SimpleUploadedFile("nwipe.log", data, content_type="text/plain"),
        "format": "nwipe_log",
        "provider_id": str(provider.pk),
        "device_type": "laptop",
        "maker": "Lenovo",
        "model": "ThinkPad X1 Carbon Gen 9",
        "serial": SERIAL,
        **extra,
    }


def manual_body(provider, **changes) -> dict:
    body = {
        "provider_id": provider.pk,
        "device": {"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": SERIAL},
        "media": [copy.deepcopy(HDD_MEDIUM)],
        "locks": {"mdm": "off", "removable_media_removed": True},
    }
    body.update(changes)
    return body


def post_json(client: Client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


# --- Import ---------------------------------------------------------------------------


def test_the_sample_log_imports_through_the_api_with_what_was_read_then_signs_and_binds(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    data = fresh_log()
    client = client_for(technician)

    response = client.post(f"{BASE}/import", import_form(provider, data, listing_id=str(listing.pk)))

    assert response.status_code == 201, response.content
    body = response.json()
    read = body["read_fields"]
    assert read["media.0.method_name"] == "DoD Short"
    assert read["media.0.passes"] == 3
    assert read["media.0.random_passes"] == 1
    assert read["media.0.verification"] == {"method": "last_pass", "result": "passed"}
    assert read["media.0.blanking"] is True
    assert read["media.0.tool"] == {"name": "nwipe", "version": "0.33"}
    assert any(item.startswith("type") for item in body["missing"])
    certificate = body["certificate"]
    assert certificate["status"] == "draft"
    assert certificate["device"]["serial"] == SERIAL  # the technician sees it in full
    assert certificate["source_report"] == {"format": "nwipe_log", "sha256": hashlib.sha256(data).hexdigest()}
    assert certificate["imported"]["read_fields"] == read

    signed = client.post(f"{BASE}/{certificate['id']}/sign")

    assert signed.status_code == 200, signed.content
    result = signed.json()
    assert result["status"] == "accepted"
    assert result["public_status"] == "valid"
    assert result["acceptance"]["outcome"] == "pass"
    assert "overwrite_ok" in {reason["code"] for reason in result["acceptance"]["reasons"]}
    assert result["listing_id"] == listing.pk
    assert len(result["payload_sha256"]) == 64


def test_an_unreadable_report_is_refused_and_creates_nothing(provider):
    client = client_for(make_technician(provider))
    for fmt, data in (("nvme_sanitize_log", b"this is not json"), ("nwipe_log", b"hello\nworld\n")):
        form = import_form(provider, data, format=fmt)
        response = client.post(f"{BASE}/import", form)
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "report_unreadable"
        assert set(response.json()) == {"code", "message", "details"}
    response = client.post(f"{BASE}/import", import_form(provider, SAMPLE_LOG.read_bytes(), format="blancco_xml"))
    assert response.status_code == 422
    assert response.json()["code"] == "report_unreadable"
    assert not ErasureCertificate.objects.exists()


def test_import_needs_a_file_and_a_known_media_type(provider):
    client = client_for(make_technician(provider))
    form = import_form(provider, SAMPLE_LOG.read_bytes())
    del form["file"]
    response = client.post(f"{BASE}/import", form)
    assert response.status_code == 422
    assert "file" in response.json()["details"]["fields"]
    response = client.post(f"{BASE}/import", import_form(provider, SAMPLE_LOG.read_bytes(), media_type="floppy"))
    assert response.status_code == 422
    assert "media_type" in response.json()["details"]["fields"]
    assert not ErasureCertificate.objects.exists()


def test_technicians_without_two_factor_authentication_cannot_import(provider):
    client = client_for(make_technician(provider, with_totp=False))
    response = client.post(f"{BASE}/import", import_form(provider, SAMPLE_LOG.read_bytes()))
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
    assert not ErasureCertificate.objects.exists()


def test_anonymous_callers_cannot_import(provider):
    response = client_for().post(f"{BASE}/import", import_form(provider, SAMPLE_LOG.read_bytes()))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


# --- Create, update, sign -----------------------------------------------------------------


def test_a_typed_in_draft_is_created_completed_and_signed(provider):
    technician = make_technician(provider)
    client = client_for(technician)
    body = manual_body(provider)
    del body["media"][0]["passes"]  # forgotten at first

    created = post_json(client, BASE, body)

    assert created.status_code == 201, created.content
    draft = created.json()
    assert draft["status"] == "draft"
    assert draft["source_report"]["format"] == "manual"
    updated = client.patch(
        f"{BASE}/{draft['id']}", json.dumps({"media": [{"passes": 3}]}), content_type="application/json"
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["media"][0]["passes"] == 3

    signed = client.post(f"{BASE}/{draft['id']}/sign")
    assert signed.status_code == 200
    assert signed.json()["status"] == "accepted"


def test_fields_read_from_a_report_cannot_be_typed_over_through_the_api(provider):
    technician = make_technician(provider)
    client = client_for(technician)
    draft = client.post(f"{BASE}/import", import_form(provider, SAMPLE_LOG.read_bytes())).json()["certificate"]
    response = client.patch(
        f"{BASE}/{draft['id']}", json.dumps({"media": [{"passes": 35}]}), content_type="application/json"
    )
    assert response.status_code == 422
    assert "media.0.passes" in response.json()["details"]["fields"]
    assert ErasureCertificate.objects.get(pk=draft["id"]).payload["media"][0]["passes"] == 3


def test_signing_reports_rejection_and_review_with_reasons(provider):
    client = client_for(make_technician(provider))
    weak = copy.deepcopy(HDD_MEDIUM) | {"passes": 1, "random_passes": 0}
    rejected = post_json(client, BASE, manual_body(provider, media=[weak])).json()
    flash = copy.deepcopy(HDD_MEDIUM) | {"type": "SSD"}
    review = post_json(client, BASE, manual_body(provider, media=[flash])).json()

    assert client.post(f"{BASE}/{rejected['id']}/sign").json()["status"] == "rejected"
    signed = client.post(f"{BASE}/{review['id']}/sign").json()
    assert signed["status"] == "pending_review"
    assert "flash_overwrite_clear_only" in {reason["code"] for reason in signed["acceptance"]["reasons"]}
    rejected = client.get(f"{BASE}/{rejected['id']}").json()
    assert {"too_few_passes", "no_random_pass"} <= {reason["code"] for reason in rejected["acceptance"]["reasons"]}


def test_an_incomplete_draft_cannot_be_signed(provider):
    client = client_for(make_technician(provider))
    medium = copy.deepcopy(HDD_MEDIUM)
    del medium["ended_at"]
    draft = post_json(client, BASE, manual_body(provider, media=[medium])).json()
    response = client.post(f"{BASE}/{draft['id']}/sign")
    assert response.status_code == 422
    assert response.json()["code"] == "certificate_invalid"
    assert any("ended_at" in problem for problem in response.json()["details"]["problems"])


def test_strangers_cannot_sign_revoke_or_see_drafts(provider):
    technician = make_technician(provider)
    draft = post_json(client_for(technician), BASE, manual_body(provider)).json()
    stranger = client_for(UserFactory(with_totp=True))

    assert stranger.post(f"{BASE}/{draft['id']}/sign").status_code == 404
    assert stranger.get(f"{BASE}/{draft['id']}").status_code == 404
    assert client_for().get(f"{BASE}/{draft['id']}").status_code == 404
    assert ErasureCertificate.objects.get(pk=draft["id"]).status == CertificateStatus.DRAFT

    signed = client_for(technician).post(f"{BASE}/{draft['id']}/sign").json()
    response = post_json(stranger, f"{BASE}/{signed['id']}/revoke", {"reason": "I do not like it"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert ErasureCertificate.objects.get(pk=draft["id"]).status == CertificateStatus.ACCEPTED
    assert stranger.post(f"{BASE}/{uuid.uuid4()}/sign").status_code == 404


# --- Reading: who sees identifiers ------------------------------------------------------------


def test_full_identifiers_only_for_provider_seller_and_staff(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    path = f"{BASE}/{certificate.pk}"

    for viewer in (technician, listing.seller_user, UserFactory(is_staff=True)):
        body = client_for(viewer).get(path).json()
        assert body["device"]["serial"] == SERIAL
        assert body["identifiers_masked"] is False
        # The signed payload holds a salted commitment, never the serial itself.
        assert body["payload"]["device"]["identifiers"][0]["kind"] == "serial"
        assert SERIAL not in json.dumps(body["payload"])
        assert body["listing_id"] == listing.pk

    for client in (client_for(), client_for(UserFactory())):
        response = client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["device"]["serial"] == MASKED_SERIAL
        assert body["identifiers_masked"] is True
        assert body["payload"] is None
        assert body["listing_id"] is None
        assert body["status"] == "accepted"
        assert SERIAL not in response.content.decode()


def test_imeis_are_masked_too(provider):
    technician = make_technician(provider)
    private = Ed25519PrivateKey.generate()
    now = timezone.now()
    provider_key_register(
        actor=provider.owner,
        provider_id=provider.pk,
        key_id="offline-api-1",
        public_key=public_b64(private),
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=30),
    )
    payload = phone_payload(
        certificate_id=str(uuid.uuid4()),
        issued_at=now.isoformat(),
        provider={"name": provider.name, "uscc": provider.uscc, "key_id": "offline-api-1"},
    )
    body = {
        "provider_id": provider.pk,
        "payload": payload,
        "key_id": "offline-api-1",
        "signature": sign(private, payload),
        "opening": phone_opening(),
    }
    uploaded = post_json(client_for(technician), f"{BASE}/upload", body)
    assert uploaded.status_code == 201, uploaded.content
    public = client_for().get(f"{BASE}/{payload['certificate_id']}").json()
    assert public["device"]["imeis"] == ["•••• 1481"]


# --- Off-platform signatures -------------------------------------------------------------------


def test_an_off_platform_signature_is_checked_on_upload(provider):
    technician = make_technician(provider)
    private = Ed25519PrivateKey.generate()
    now = timezone.now()
    provider_key_register(
        actor=provider.owner,
        provider_id=provider.pk,
        key_id="offline-api-2",
        public_key=public_b64(private),
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=30),
    )
    payload = phone_payload(
        certificate_id=str(uuid.uuid4()),
        issued_at=now.isoformat(),
        provider={"name": provider.name, "uscc": provider.uscc, "key_id": "offline-api-2"},
    )
    signature = sign(private, payload)
    tampered = copy.deepcopy(payload)
    tampered["media"][0]["technique"] = "sanitize"
    client = client_for(technician)

    refused = post_json(
        client,
        f"{BASE}/upload",
        {
            "provider_id": provider.pk,
            "payload": tampered,
            "key_id": "offline-api-2",
            "signature": signature,
            "opening": phone_opening(),
        },
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "bad_signature"
    assert not ErasureCertificate.objects.exists()

    accepted = post_json(
        client,
        f"{BASE}/upload",
        {
            "provider_id": provider.pk,
            "payload": payload,
            "key_id": "offline-api-2",
            "signature": signature,
            "opening": phone_opening(),
        },
    )
    assert accepted.status_code == 201
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["id"] == payload["certificate_id"]

    outsider = post_json(
        client_for(UserFactory(with_totp=True)),
        f"{BASE}/upload",
        {
            "provider_id": provider.pk,
            "payload": payload,
            "key_id": "offline-api-2",
            "signature": signature,
            "opening": phone_opening(),
        },
    )
    assert outsider.status_code == 403


# --- Binding to listings ----------------------------------------------------------------------


def test_the_seller_binds_a_matching_certificate_and_publishes(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    seller = client_for(listing.seller_user)

    response = post_json(
        seller, f"/api/v1/listings/{listing.pk}/erasure-certificate", {"certificate_id": str(certificate.pk)}
    )

    assert response.status_code == 200, response.content
    assert response.json()["listing_id"] == listing.pk
    assert response.json()["device"]["serial"] == SERIAL  # the seller sees it
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED


@pytest.mark.parametrize(
    ("serial", "log", "code"),
    [
        ("OTHER999", "fresh", "identifier_mismatch"),
        (SERIAL, "sample", "erased_before_intake"),
    ],
)
def test_binding_problems_come_back_with_their_code(provider, serial, log, code):
    technician = make_technician(provider)
    listing = laptop_listing()
    data = fresh_log() if log == "fresh" else SAMPLE_LOG.read_bytes()
    certificate = import_and_sign(provider, technician, None, serial=serial, data=data)

    response = post_json(
        client_for(listing.seller_user),
        f"/api/v1/listings/{listing.pk}/erasure-certificate",
        {"certificate_id": str(certificate.pk)},
    )

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert code in {problem["code"] for problem in response.json()["details"]["problems"]}
    assert ErasureCertificate.objects.get(pk=certificate.pk).listing_id is None


def test_a_certificate_already_bound_elsewhere_is_refused(provider):
    technician = make_technician(provider)
    first = laptop_listing()
    certificate = import_and_sign(provider, technician, first, data=fresh_log())
    second = laptop_listing()
    response = post_json(
        client_for(second.seller_user),
        f"/api/v1/listings/{second.pk}/erasure-certificate",
        {"certificate_id": str(certificate.pk)},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bound_elsewhere"


def test_nobody_binds_to_another_users_listing(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    response = post_json(
        client_for(UserFactory()),
        f"/api/v1/listings/{listing.pk}/erasure-certificate",
        {"certificate_id": str(certificate.pk)},
    )
    assert response.status_code == 404
    assert ErasureCertificate.objects.get(pk=certificate.pk).listing_id is None


# --- Revocation ---------------------------------------------------------------------------------


def test_the_provider_revokes_with_a_reason_and_the_listing_goes_off_sale(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    client = client_for(technician)
    path = f"{BASE}/{certificate.pk}/revoke"

    assert post_json(client, path, {"reason": ""}).status_code == 422
    response = post_json(client, path, {"reason": "The wrong drive was wiped"})

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["public_status"] == "revoked"
    assert response.json()["revocation_reason"] == "The wrong drive was wiped"
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_ERASURE
    public = client_for().get(f"{BASE}/{certificate.pk}/verification").json()
    assert public["status"] == "revoked"
    assert public["verification"]["valid"] is False


# --- Public verification ----------------------------------------------------------------------


def test_anonymous_verification_is_masked_but_lets_anyone_check_the_log(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())

    response = client_for().get(f"{BASE}/{certificate.pk}/verification")

    assert response.status_code == 200
    assert SERIAL not in response.content.decode()
    body = response.json()
    assert body["status"] == "valid"
    assert body["verification"]["valid"] is True
    assert body["verification"]["problems"] == []
    # Anyone gets the bundle (identifiers as commitments), nobody but the parties its opening.
    assert "opening" not in body["bundle"]
    assert SERIAL not in json.dumps(body["bundle"])
    assert verify_bundle(body["bundle"], anchors_from(client_for().get("/.well-known/erasure-keys.json").json())).valid
    assert body["display"]["device"]["serial"] == MASKED_SERIAL
    assert body["display"]["media"][0]["method_name"] == "DoD Short"
    assert body["display"]["media"][0]["passes"] == 3
    assert body["display"]["provider"] == {"name": provider.name, "uscc": provider.uscc}
    # Without the payload, the log proof and the signatures still check out.
    log, counter = body["log"], body["platform_countersignature"]
    leaf = log_leaf(
        certificate_id=str(certificate.pk),
        payload_sha256=body["payload_sha256"],
        provider_signature=body["provider_signature"]["signature"],
        accepted_at=counter["signed"]["accepted_at"],
    )
    checkpoint = log["checkpoint"]
    assert merkle.verify_inclusion(
        log["index"],
        checkpoint["tree_size"],
        leaf_hash_of(leaf),
        [bytes.fromhex(p) for p in log["proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    assert verify_signature(body["keys"]["platform"]["public_key"], counter["signed"], counter["signature"])


def test_the_seller_gets_the_full_bundle_that_verifies_offline(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())

    body = client_for(listing.seller_user).get(f"{BASE}/{certificate.pk}/verification").json()

    assert body["bundle"]["opening"]["device"]["serial"] == SERIAL
    keys = client_for().get("/.well-known/erasure-keys.json").json()
    check = verify_bundle(body["bundle"], anchors_from(keys))
    assert check.valid, check.problems
    assert "the device identifiers match the certificate's commitments" in check.checks
    assert body["display"]["device"]["serial"] == MASKED_SERIAL


def test_a_tampered_record_shows_as_invalid(provider):
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, None, data=fresh_log())
    payload = copy.deepcopy(certificate.payload)
    payload["media"][0]["passes"] = 35
    ErasureCertificate.objects.filter(pk=certificate.pk).update(payload=payload)
    body = client_for().get(f"{BASE}/{certificate.pk}/verification").json()
    assert body["status"] == "invalid"
    assert body["verification"]["valid"] is False
    assert body["verification"]["problems"]


def test_drafts_have_no_verification(provider):
    technician = make_technician(provider)
    draft = post_json(client_for(technician), BASE, manual_body(provider)).json()
    assert client_for().get(f"{BASE}/{draft['id']}/verification").status_code == 404
    response = client_for(technician).get(f"{BASE}/{draft['id']}/verification")
    assert response.status_code == 404
    assert response.json()["code"] == "not_signed"


def test_the_openapi_document_lists_the_erasure_endpoints():
    paths = client_for().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/erasure-certificates",
        "/api/v1/erasure-certificates/import",
        "/api/v1/erasure-certificates/upload",
        "/api/v1/erasure-certificates/{certificate_id}",
        "/api/v1/erasure-certificates/{certificate_id}/sign",
        "/api/v1/erasure-certificates/{certificate_id}/revoke",
        "/api/v1/erasure-certificates/{certificate_id}/verification",
        "/api/v1/listings/{listing_id}/erasure-certificate",
    ):
        assert path in paths
