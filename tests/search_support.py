"""Test helpers for search: listings published through the services, with a certified
grade and an accepted erasure certificate where a facet needs them."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from stdnum import luhn

from grading.services import appraisal_claim, appraisal_submit, self_assessment_submit
from marketplace.models import Listing, OrganisationKind, Role, User
from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration.test_erasure import make_technician
from tests.integration.test_grading import make_appraiser
from tests.listings import ATTRIBUTES, add_photos
from tests.unit.test_grading_rules import BOOK, GOOD_PHONE
from tests.wipe import TEST_SALT, clear_phone_payload
from wipe_cert.keys import public_b64
from wipe_cert.payload import commit_identifiers
from wipe_cert.services import certificate_bind, certificate_upload_signed, provider_key_register
from wipe_cert.signing import sign

ALL_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate", "wipe_cert.gates.ErasureVerifiedGate"]
_numbers = itertools.count(100)


def unique_imei() -> str:
    base = f"35209900{next(_numbers):06d}"
    return base + luhn.calc_check_digit(base)


def draft(
    *,
    seller: User | None = None,
    category: str = "electronics",
    title: str = "二手手机",
    price: int = 100_000,
    lat: float | None = None,
    lon: float | None = None,
    city: str = "上海市",
    district: str = "徐汇区",
    **attributes: Any,
) -> Listing:
    seller = seller or UserFactory()
    data: dict[str, Any] = {
        "title": title,
        "price": price,
        "currency": "CNY",
        "city": city,
        "district": district,
        "delivery_pickup": True,
    }
    if lat is not None and lon is not None:
        data |= {"latitude": lat, "longitude": lon}
    defaults = dict(ATTRIBUTES[category])
    if category == "electronics":
        defaults |= {"imei": unique_imei(), "serial_number": f"SN{uuid.uuid4().hex[:10].upper()}"}
    listing = listing_create(actor=seller, category=category, data=data, attributes={**defaults, **attributes})
    add_photos(listing)
    return listing


def publish(listing: Listing) -> Listing:
    seller = listing.seller_user or listing.created_by
    assert seller is not None
    return listing_publish(actor=seller, listing_id=listing.pk)


def certified_phone_grade(listing: Listing, *, battery: int = 86) -> None:
    """Queue the phone for appraisal (a refused publication does that) and have a
    certified appraiser grade it: battery 86% → grade A."""
    with pytest.raises(PublicationBlocked):
        publish(listing)
    appraiser = make_appraiser()
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers={**GOOD_PHONE, "battery_health": battery})


def self_graded_book(listing: Listing) -> None:
    seller = listing.seller_user
    assert seller is not None
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)


def erasure_certificate(listing: Listing) -> None:
    """An erasure provider signs a crypto-erase certificate for the phone's IMEI; the
    seller attaches it to the listing."""
    provider = OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER, verified_at=timezone.now())
    owner = MembershipFactory(organisation=provider, role=Role.OWNER).user
    technician = make_technician(provider)
    private = Ed25519PrivateKey.generate()
    key_id = f"search-tests-{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    provider_key_register(
        actor=owner,
        provider_id=provider.pk,
        key_id=key_id,
        public_key=public_b64(private),
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=30),
    )
    erased = now + dt.timedelta(seconds=1)
    draft = clear_phone_payload(
        certificate_id=str(uuid.uuid4()),
        issued_at=(erased + dt.timedelta(seconds=1)).isoformat(),
        provider={"name": provider.name, "uscc": provider.uscc, "key_id": key_id},
    )
    draft["device"]["imeis"] = [listing.electronics.imei]
    draft["media"][0] |= {"started_at": now.isoformat(), "ended_at": erased.isoformat()}
    payload, opening = commit_identifiers(draft, TEST_SALT)
    certificate = certificate_upload_signed(
        actor=technician,
        provider_id=provider.pk,
        envelope={"payload": payload, "key_id": key_id, "signature": sign(private, payload), "opening": opening},
    )
    assert certificate.status == "accepted", certificate.acceptance
    seller = listing.seller_user
    assert seller is not None
    certificate_bind(actor=seller, certificate_id=certificate.pk, listing_id=listing.pk)


def graded_erased_phone(**kwargs: Any) -> Listing:
    """A published phone with a certified grade A and a verified erasure certificate
    (needs settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES)."""
    listing = draft(**kwargs)
    certified_phone_grade(listing)
    erasure_certificate(listing)
    return publish(listing)


@pytest.fixture(scope="session")
def osmem():
    """A real osmem-server process (in-memory, OpenSearch-compatible) on 127.0.0.1."""
    from osmem_server import OsmemServer

    server = OsmemServer.start(addr="127.0.0.1:0", japanese=False)
    yield server
    server.close()


@pytest.fixture
def elasticsearch_settings(settings, osmem):
    """Search configured for Elasticsearch, on an empty clone of the session's osmem-server."""
    clone = osmem.clone()
    settings.SEARCH_BACKEND = {
        "BACKEND": "",
        "URL": clone.url,
        "OPTIONS": {"PLAIN_JSON": True, "INDEX_PREFIX": "test-", "TIMEOUT": 2},
    }
    yield clone
    clone.close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
