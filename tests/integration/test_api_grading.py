"""The grading JSON API (/api/v1/grading/…, self-assessment, the appraisal queue, claims,
signing, a listing's appraisal and valuation): paths, JSON and error codes are a public
contract."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from grading.models import Appraisal, AppraisalEvidence, AppraisalRequest, RuleSetVersion
from grading.services import ruleset_draft_save, ruleset_publish, self_assessment_submit
from marketplace.models import ListingStatus
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import listing_publish
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration.test_grading import make_appraiser, phone_listing, queue_it
from tests.listings import add_photos, make_listing
from tests.unit.test_grading_rules import BOOK, GOOD_PHONE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _grade_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post_json(client: Client, path: str, data: Any, **extra: Any):
    return client.post(path, data=json.dumps(data), content_type="application/json", **extra)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body


def jpeg(name: str = "evidence.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 60, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def published_book(seller, *, price: int = 4500):
    listing = make_listing(seller=seller, price=price)
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    listing_publish(actor=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    return listing


def sell_comparable_books(*prices: int) -> None:
    for price in prices:
        sold = make_listing(seller=UserFactory(), price=price)
        for status in ("ready", "published", "reserved", "sold"):
            listing_transition(listing=sold, to_status=status, actor=None)


# --- Rule sets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/grading/rulesets/books", "books"),
        ("/api/v1/grading/rulesets/furniture", "furniture"),
        ("/api/v1/grading/rulesets/vehicles", "vehicles"),
        ("/api/v1/grading/rulesets/electronics", "electronics-mobile"),
        ("/api/v1/grading/rulesets/electronics?device_type=laptop", "electronics-mobile"),
        ("/api/v1/grading/rulesets/electronics?device_type=camera", "electronics-general"),
    ],
)
def test_anyone_reads_the_published_rule_set_of_each_category(path, key):
    response = Client().get(path)

    assert response.status_code == 200, response.content
    body = response.json()
    stored = RuleSetVersion.objects.get(key=key, status="published")
    assert (body["key"], body["version"], body["content_hash"]) == (key, stored.version, stored.content_hash)
    assert body["category"] == stored.category
    assert body["device_types"] == stored.device_types
    assert body["document"] == stored.document
    assert body["published_at"]
    assert body["standards_url"] == f"/grading/standards/{key}/"
    first_item = body["document"]["sections"][0]["items"][0]
    assert set(first_item["label"]) == {"zh", "en"} and first_item["citation"]


def test_the_vehicle_rule_set_carries_its_bands_and_accident_gate():
    document = Client().get("/api/v1/grading/rulesets/vehicles").json()["document"]
    assert {band["grade"]: band["min_score"] for band in document["bands"]} == {
        "一级": 90,
        "二级": 60,
        "三级": 20,
        "四级": 0,
    }
    assert {gate["key"] for gate in document["gates"] if gate.get("grade") == "五级"} >= {"accident_car"}


def test_a_newly_published_version_is_served_with_its_own_hash():
    staff = UserFactory(is_staff=True)
    document = copy.deepcopy(RuleSetVersion.objects.get(key="books").document)
    document["version"] = "2027.1"
    draft = ruleset_draft_save(staff=staff, document=document)
    assert Client().get("/api/v1/grading/rulesets/books").json()["version"] == "2026.1"  # drafts are not served

    ruleset_publish(staff=staff, version_id=draft.pk)

    body = Client().get("/api/v1/grading/rulesets/books").json()
    draft.refresh_from_db()
    assert (body["version"], body["content_hash"]) == ("2027.1", draft.content_hash)
    assert body["content_hash"] != RuleSetVersion.objects.get(key="books", version="2026.1").content_hash


def test_an_unknown_category_is_404_and_an_unknown_device_type_422():
    assert_error(Client().get("/api/v1/grading/rulesets/toys"), 404, "not_found")
    body = assert_error(
        Client().get("/api/v1/grading/rulesets/electronics?device_type=toaster"), 422, "validation_error"
    )
    assert "device_type" in body["details"]["fields"]


# --- Self-assessment ----------------------------------------------------------------


def test_a_seller_self_assesses_a_book_and_gets_the_signed_result_in_their_language():
    seller = UserFactory(display_name="书虫小王")
    listing = make_listing(seller=seller)

    response = post_json(
        client_for(seller), f"/api/v1/listings/{listing.pk}/self-assessment", {"answers": {**BOOK, "ex_library": True}}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    books = RuleSetVersion.objects.get(key="books")
    assert (body["kind"], body["grade"], body["sellable"]) == ("self", "good", True)
    assert body["grade_label"] == {"zh": "好 Good", "en": "Good"}
    assert body["rule_set"] == {"key": "books", "version": books.version, "hash": books.content_hash}
    assert any("Ex-library" in line for line in body["explanation"])
    assert body["appraiser_name"] == "书虫小王" and body["institution"] is None
    assert body["digest_valid"] is True and body["current"] is True
    appraisal = Appraisal.objects.get(pk=body["id"])
    assert (appraisal.digest, appraisal.listing_id) == (body["digest"], listing.pk)

    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    chinese.force_login(seller)
    again = post_json(
        chinese, f"/api/v1/listings/{listing.pk}/self-assessment", {"answers": {**BOOK, "ex_library": True}}
    )
    assert any("馆藏退出书" in line for line in again.json()["explanation"])


def test_bad_answers_are_422_keyed_by_item_and_nothing_is_signed():
    seller = UserFactory()
    listing = make_listing(seller=seller)

    response = post_json(
        client_for(seller),
        f"/api/v1/listings/{listing.pk}/self-assessment",
        {"answers": {**BOOK, "condition": "mint", "no_such_item": True}},
    )

    body = assert_error(response, 422, "validation_error")
    assert set(body["details"]["answers"]) == {"condition", "no_such_item"}
    assert body["details"]["answers"]["condition"]["message"]
    assert not Appraisal.objects.exists()


def test_a_phone_cannot_be_self_assessed():
    listing = phone_listing()
    response = post_json(
        client_for(listing.seller_user), f"/api/v1/listings/{listing.pk}/self-assessment", {"answers": GOOD_PHONE}
    )
    assert_error(response, 403, "certified_required")
    assert not Appraisal.objects.exists()


def test_nobody_but_the_seller_can_self_assess_a_listing():
    listing = make_listing(seller=UserFactory())
    response = post_json(client_for(UserFactory()), f"/api/v1/listings/{listing.pk}/self-assessment", {"answers": BOOK})
    assert_error(response, 404, "not_found")
    assert not Appraisal.objects.exists()


def test_anonymous_writes_need_authentication():
    listing = phone_listing()
    queue_it(listing)
    anonymous = Client()
    assert_error(
        post_json(anonymous, f"/api/v1/listings/{listing.pk}/self-assessment", {"answers": BOOK}),
        401,
        "unauthenticated",
    )
    assert_error(anonymous.get("/api/v1/appraisals/queue"), 401, "unauthenticated")
    assert_error(anonymous.post(f"/api/v1/listings/{listing.pk}/appraisal/claim"), 401, "unauthenticated")
    assert_error(
        post_json(anonymous, f"/api/v1/listings/{listing.pk}/appraisals", {"answers": GOOD_PHONE}),
        401,
        "unauthenticated",
    )
    assert AppraisalRequest.objects.get(listing=listing).status == "open"
    assert not Appraisal.objects.exists()


# --- Queue, claim, sign -------------------------------------------------------------


def test_the_queue_lists_waiting_items_to_a_credentialed_appraiser():
    listing = phone_listing()
    queue_it(listing)

    response = client_for(make_appraiser()).get("/api/v1/appraisals/queue")

    assert response.status_code == 200, response.content
    [entry] = response.json()
    assert entry["listing_id"] == listing.pk
    assert (entry["title"], entry["category"], entry["device_type"]) == (listing.title, "electronics", "phone")
    assert (entry["city"], entry["url"]) == (listing.city, f"/listings/{listing.pk}/")
    assert entry["requested_at"]


def test_only_appraisers_with_two_factor_authentication_see_the_queue():
    listing = phone_listing()
    queue_it(listing)
    assert_error(client_for(UserFactory()).get("/api/v1/appraisals/queue"), 403, "permission_denied")
    no_2fa = client_for(make_appraiser(with_totp=False))
    assert_error(no_2fa.get("/api/v1/appraisals/queue"), 403, "mfa_required")
    assert_error(no_2fa.post(f"/api/v1/listings/{listing.pk}/appraisal/claim"), 403, "mfa_required")


def test_a_non_appraiser_cannot_claim():
    listing = phone_listing()
    queue_it(listing)
    assert_error(
        client_for(UserFactory()).post(f"/api/v1/listings/{listing.pk}/appraisal/claim"), 403, "permission_denied"
    )
    assert AppraisalRequest.objects.get(listing=listing).status == "open"


def test_two_appraisers_claim_and_the_second_gets_409():
    listing = phone_listing()
    queue_it(listing)
    first, second = make_appraiser(), make_appraiser()

    won = client_for(first).post(f"/api/v1/listings/{listing.pk}/appraisal/claim")
    lost = client_for(second).post(f"/api/v1/listings/{listing.pk}/appraisal/claim")

    assert won.status_code == 200, won.content
    assert won.json()["status"] == "claimed" and won.json()["claimed_at"]
    assert_error(lost, 409, "already_claimed")
    assert AppraisalRequest.objects.get(listing=listing).claimed_by == first
    assert client_for(second).get("/api/v1/appraisals/queue").json() == []


def test_claims_are_refused_on_conflicts_and_without_a_credential_for_the_category():
    own = make_appraiser()
    listing = phone_listing(seller=own)
    queue_it(listing)
    assert_error(client_for(own).post(f"/api/v1/listings/{listing.pk}/appraisal/claim"), 403, "conflict_of_interest")
    car_only = make_appraiser(categories=("vehicles",))
    assert_error(
        client_for(car_only).post(f"/api/v1/listings/{listing.pk}/appraisal/claim"), 403, "credential_required"
    )


def test_an_appraiser_claims_grades_and_signs_with_json_and_the_seller_can_publish():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    client = client_for(appraiser)
    assert client.post(f"/api/v1/listings/{listing.pk}/appraisal/claim").status_code == 200

    response = post_json(
        client, f"/api/v1/listings/{listing.pk}/appraisals", {"answers": {**GOOD_PHONE, "battery_health": 84}}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    mobile = RuleSetVersion.objects.get(key="electronics-mobile")
    assert (body["kind"], body["grade"], body["sellable"]) == ("certified", "B", True)
    assert body["rule_set"] == {"key": "electronics-mobile", "version": mobile.version, "hash": mobile.content_hash}
    assert body["appraiser_name"] == appraiser.public_name
    assert body["institution"] == appraiser.appraiser_credentials.get().organisation.name
    assert body["explanation"] and body["digest_valid"] is True
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED

    public = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/api/v1/listings/{listing.pk}/appraisal")
    assert public.status_code == 200, public.content
    shown = public.json()
    assert (shown["kind"], shown["grade"], shown["grade_label"]["en"]) == ("certified", "B", "B")
    assert shown["standards_url"] == "/grading/standards/electronics-mobile/"
    assert shown["digest"] == body["digest"] and shown["digest_valid"] is True
    assert shown["signed_at"] and shown["institution"] == body["institution"]


def test_a_phone_with_frp_on_is_signed_not_sellable():
    listing = phone_listing()
    queue_it(listing)
    client = client_for(make_appraiser())
    client.post(f"/api/v1/listings/{listing.pk}/appraisal/claim")

    body = post_json(
        client, f"/api/v1/listings/{listing.pk}/appraisals", {"answers": {**GOOD_PHONE, "frp_on": True}}
    ).json()

    assert (body["sellable"], body["grade"], body["grade_label"]) == (False, None, None)
    assert body["gate_failures"] == ["frp"]


def test_signing_with_evidence_photos_by_multipart():
    listing = phone_listing()
    queue_it(listing)
    client = client_for(make_appraiser())
    client.post(f"/api/v1/listings/{listing.pk}/appraisal/claim")
    answers = {**GOOD_PHONE, "screen_scratches": "light"}

    response = client.post(
        f"/api/v1/listings/{listing.pk}/appraisals",
        {
            "answers": json.dumps(answers),
            "evidence": [jpeg("scratch.jpg"), jpeg("back.jpg")],
            "evidence_item": ["screen_scratches", "body_marks:back:"],
        },
    )

    assert response.status_code == 201, response.content
    evidence = AppraisalEvidence.objects.filter(appraisal_id=response.json()["id"]).order_by("pk")
    assert [(e.item, e.position, e.defect) for e in evidence] == [
        ("screen_scratches", "", ""),
        ("body_marks", "back", ""),
    ]
    assert all(len(e.sha256) == 64 and e.photo.name for e in evidence)


def test_multipart_evidence_without_a_matching_description_is_422_and_signs_nothing():
    listing = phone_listing()
    queue_it(listing)
    client = client_for(make_appraiser())
    client.post(f"/api/v1/listings/{listing.pk}/appraisal/claim")

    response = client.post(
        f"/api/v1/listings/{listing.pk}/appraisals", {"answers": json.dumps(GOOD_PHONE), "evidence": [jpeg()]}
    )

    body = assert_error(response, 422, "validation_error")
    assert "evidence_item" in body["details"]["fields"]
    assert_error(
        client.post(f"/api/v1/listings/{listing.pk}/appraisals", {"answers": "not json"}), 422, "validation_error"
    )
    assert not Appraisal.objects.exists()


def test_signing_bad_answers_is_422_and_without_a_claim_403():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    client = client_for(appraiser)
    assert_error(
        post_json(client, f"/api/v1/listings/{listing.pk}/appraisals", {"answers": GOOD_PHONE}), 403, "not_claimed"
    )
    client.post(f"/api/v1/listings/{listing.pk}/appraisal/claim")
    body = assert_error(
        post_json(
            client, f"/api/v1/listings/{listing.pk}/appraisals", {"answers": {**GOOD_PHONE, "battery_health": "x"}}
        ),
        422,
        "validation_error",
    )
    assert set(body["details"]["answers"]) == {"battery_health"}
    assert not Appraisal.objects.exists()
    assert AppraisalRequest.objects.get(listing=listing).status == "claimed"


# --- A listing's appraisal and valuation --------------------------------------------


def test_an_ungraded_listing_has_no_appraisal_and_a_strangers_draft_is_hidden():
    seller = UserFactory()
    draft = make_listing(seller=seller)
    assert_error(client_for(seller).get(f"/api/v1/listings/{draft.pk}/appraisal"), 404, "not_graded")
    self_assessment_submit(actor=seller, listing_id=draft.pk, answers=BOOK)
    assert_error(client_for(UserFactory()).get(f"/api/v1/listings/{draft.pk}/appraisal"), 404, "not_found")
    assert client_for(seller).get(f"/api/v1/listings/{draft.pk}/appraisal").json()["kind"] == "self"


def test_anyone_sees_the_fair_band_of_a_public_listing_in_minor_units():
    sell_comparable_books(3000, 3500, 4000, 4200, 4100)
    listing = published_book(UserFactory(), price=4500)

    response = Client().get(f"/api/v1/listings/{listing.pk}/valuation")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "available": True,
        "low": 3400,
        "fair": 4000,
        "high": 4600,
        "base": 4000,
        "method": "comparables",
        "comparables_used": 5,
        "currency": "CNY",
        "asking_price": 4500,
        "position": "within",
    }


def test_an_asking_price_above_the_band_says_so():
    sell_comparable_books(3000, 3500, 4000, 4200, 4100)
    listing = published_book(UserFactory(), price=9900)
    body = Client().get(f"/api/v1/listings/{listing.pk}/valuation").json()
    assert (body["position"], body["high"], body["asking_price"]) == ("above", 4600, 9900)


def test_without_comparables_or_a_reference_price_no_band_is_available():
    listing = published_book(UserFactory())
    body = Client().get(f"/api/v1/listings/{listing.pk}/valuation").json()
    assert body["available"] is False
    assert (body["low"], body["fair"], body["high"], body["position"]) == (None, None, None, None)
    assert body["asking_price"] == 4500


def test_the_valuation_of_a_draft_is_only_for_its_seller():
    seller = UserFactory()
    draft = make_listing(seller=seller)
    assert_error(client_for(UserFactory()).get(f"/api/v1/listings/{draft.pk}/valuation"), 404, "not_found")
    assert_error(Client().get(f"/api/v1/listings/{draft.pk}/valuation"), 404, "not_found")
    assert client_for(seller).get(f"/api/v1/listings/{draft.pk}/valuation").status_code == 200


def test_the_openapi_document_lists_the_grading_endpoints():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/grading/rulesets/{category}",
        "/api/v1/listings/{listing_id}/self-assessment",
        "/api/v1/appraisals/queue",
        "/api/v1/listings/{listing_id}/appraisal/claim",
        "/api/v1/listings/{listing_id}/appraisals",
        "/api/v1/listings/{listing_id}/appraisal",
        "/api/v1/listings/{listing_id}/valuation",
    ):
        assert path in paths
    assert "multipart/form-data" in paths["/api/v1/listings/{listing_id}/appraisals"]["post"]["requestBody"]["content"]
