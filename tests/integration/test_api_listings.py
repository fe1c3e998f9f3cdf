"""The listings JSON API (/api/v1/listings…): its paths, listing JSON and error shapes are
a public contract."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image
from vininfo import Vin

from marketplace.models import Listing, ListingPhoto, ListingReport, ListingStatus, Role
from marketplace.services.listings import listing_publish
from tests.consignment import accepted_agreement
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# The core gates only: apps that plug in more gates (grading, erasure) test them themselves.
CORE_GATES = [
    "marketplace.gates.PhotosPresentGate",
    "marketplace.gates.SellerEmailVerifiedGate",
    "marketplace.gates.ProhibitedItemGate",
    "marketplace.gates.StolenGoodsGate",
]

VIN_VALUES = {
    **{letter: value for value, letter in enumerate("ABCDEFGH", start=1)},
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def with_vin_check_digit(vin: str) -> str:
    """Put the ISO 3779 check digit in position 9."""
    total = sum((int(c) if c.isdigit() else VIN_VALUES[c]) * w for c, w in zip(vin, VIN_WEIGHTS, strict=True))
    digit = "X" if total % 11 == 10 else str(total % 11)
    return vin[:8] + digit + vin[9:]


VIN = with_vin_check_digit("LSVAU2180N2183294")
WRONG_VIN = VIN[:8] + ("0" if VIN[8] != "0" else "1") + VIN[9:]
IMEI = "352099001761481"

PAYLOADS: dict[str, dict[str, Any]] = {
    "books": {
        "category": "books",
        "title": "红楼梦 全四册",
        "price": 4500,
        "currency": "CNY",
        "city": "上海市",
        "district": "徐汇区",
        "delivery_pickup": True,
        "attributes": {"isbn": "978-7-02-000220-7", "book_title": "红楼梦", "authors": ["曹雪芹", "高鹗"]},
    },
    "electronics": {
        "category": "electronics",
        "title": "iPhone 13 128GB 午夜色",
        "price": 268000,
        "city": "上海市",
        "district": "浦东新区",
        "delivery_ship": True,
        "attributes": {
            "device_type": "phone",
            "brand": "Apple",
            "model_name": "iPhone 13",
            "storage_capacity_gb": 128,
            "serial_number": "F2LXK0ABCD12",
            "imei": IMEI,
        },
    },
    "furniture": {
        "category": "furniture",
        "title": "三人布艺沙发",
        "price": 80000,
        "city": "上海市",
        "district": "闵行区",
        "attributes": {
            "furniture_type": "sofa",
            "material": "布艺 / 实木框架",
            "width_cm": 210,
            "depth_cm": 90,
            "height_cm": 85,
            "weight_kg": 45.5,
            "upholstered": True,
        },
    },
    "vehicles": {
        "category": "vehicles",
        "title": "大众朗逸 2022款 1.5L 自动",
        "price": 8_500_000,
        "city": "上海市",
        "district": "嘉定区",
        "attributes": {
            "vin": VIN,
            "make": "大众",
            "model_name": "朗逸",
            "first_registration": "2022-05-10",
            "mileage_km": 32000,
            "emission_standard": "cn6b",
            "fuel": "petrol",
            "transmission": "automatic",
        },
    },
}


@pytest.fixture(autouse=True)
def core_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES


@pytest.fixture
def seller():
    return UserFactory(display_name="书虫小王")


@pytest.fixture
def seller_client(seller):
    client = Client()
    client.force_login(seller)
    return client


@pytest.fixture
def other_client():
    client = Client()
    client.force_login(UserFactory())
    return client


def payload(category: str, **changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(PAYLOADS[category]))
    attributes = changes.pop("attributes", {})
    data.update(changes)
    data["attributes"].update(attributes)
    return data


def post_json(client: Client, path: str, data: Any, **extra: Any):
    return client.post(path, data=json.dumps(data), content_type="application/json", **extra)


def patch_json(client: Client, path: str, data: Any, **extra: Any):
    return client.patch(path, data=json.dumps(data), content_type="application/json", **extra)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body


def jpeg(width: int = 640, height: int = 480, name: str = "photo.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 90, 40)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def create(client: Client, category: str = "books", **changes: Any) -> dict[str, Any]:
    response = post_json(client, "/api/v1/listings", payload(category, **changes))
    assert response.status_code == 201, response.content
    return response.json()


def upload(client: Client, listing_id: int, *files: SimpleUploadedFile):
    return client.post(f"/api/v1/listings/{listing_id}/photos", {"file": list(files)})


def published(client: Client, category: str = "books", **changes: Any) -> dict[str, Any]:
    listing = create(client, category, **changes)
    assert upload(client, listing["id"], jpeg()).status_code == 201
    response = client.post(f"/api/v1/listings/{listing['id']}/publish")
    assert response.status_code == 200, response.content
    return response.json()


# --- Creating -----------------------------------------------------------------------


@pytest.mark.parametrize("category", ["books", "electronics", "furniture", "vehicles"])
def test_create_a_draft_in_each_category(seller_client, seller, category):
    response = post_json(seller_client, "/api/v1/listings", PAYLOADS[category])

    assert response.status_code == 201, response.content
    body = response.json()
    sent = PAYLOADS[category]
    assert body["status"] == "draft"
    assert body["category"] == category
    assert (body["title"], body["price"], body["currency"]) == (sent["title"], sent["price"], "CNY")
    assert (body["city"], body["district"]) == (sent["city"], sent["district"])
    assert body["seller"] == {"kind": "user", "id": seller.pk, "name": "书虫小王"}
    assert seller.email not in response.content.decode()
    assert body["url"] == f"/listings/{body['id']}/"
    assert body["photos"] == []
    assert [(reason["gate"], reason["code"]) for reason in body["blocking"]] == [("photos_present", "photos_missing")]
    listing = Listing.objects.get(pk=body["id"])
    assert listing.seller_user == seller
    assert listing.attributes is not None


def test_created_attributes_come_back_normalised(seller_client):
    books = create(seller_client, "books")
    assert books["attributes"]["isbn"] == "9787020002207"
    assert books["attributes"]["authors"] == ["曹雪芹", "高鹗"]
    assert books["delivery"] == {"ship": False, "pickup": True, "event": False}

    phone = create(seller_client, "electronics", attributes={"imei": "35-209900-176148-1"})
    assert phone["attributes"]["imei"] == IMEI  # the seller sees the full identifier
    assert phone["attributes"]["serial_number"] == "F2LXK0ABCD12"

    car = create(seller_client, "vehicles", attributes={"vin": VIN.lower()})
    assert car["attributes"]["vin"] == VIN
    assert car["attributes"]["first_registration"] == "2022-05-10"

    sofa = create(seller_client, "furniture")
    assert sofa["attributes"]["weight_kg"] == 45.5
    assert sofa["attributes"]["width_cm"] == 210


def test_the_test_vin_is_valid():
    assert Vin(VIN).verify_checksum()
    assert not Vin(WRONG_VIN).verify_checksum()


@pytest.mark.parametrize(
    ("category", "field", "value"),
    [
        ("books", "isbn", "978-7-02-000220-8"),
        ("electronics", "imei", "352099001761482"),
        ("vehicles", "vin", WRONG_VIN),
    ],
)
def test_an_invalid_identifier_is_422_on_its_field_and_creates_nothing(seller_client, category, field, value):
    response = post_json(seller_client, "/api/v1/listings", payload(category, attributes={field: value}))

    body = assert_error(response, 422, "validation_error")
    assert list(body["details"]["fields"]) == [f"attributes.{field}"]
    assert body["details"]["fields"][f"attributes.{field}"][0]
    assert not Listing.objects.exists()


@pytest.mark.parametrize("price", [0, 5_000_001])
def test_price_zero_or_above_the_category_ceiling_is_422_on_price(seller_client, price):
    response = post_json(seller_client, "/api/v1/listings", payload("books", price=price))

    body = assert_error(response, 422, "validation_error")
    assert "price" in body["details"]["fields"]
    assert not Listing.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"price": "4500"},
        {"price": 45.5},
        {"delivery_pickup": "yes"},
        {"title": None},
        {"attributes": ["978-7-02-000220-7"]},
        {"prise": 4500},
    ],
)
def test_a_wrong_json_type_or_unknown_field_is_422_in_the_error_shape(seller_client, changes):
    data = {**PAYLOADS["books"], **changes}

    assert_error(post_json(seller_client, "/api/v1/listings", data), 422, "validation_error")
    assert not Listing.objects.exists()


def test_a_missing_field_and_an_unknown_category_are_422(seller_client):
    data = {k: v for k, v in PAYLOADS["books"].items() if k != "title"}
    assert_error(post_json(seller_client, "/api/v1/listings", data), 422, "validation_error")

    body = assert_error(
        post_json(seller_client, "/api/v1/listings", {**PAYLOADS["books"], "category": "boats"}),
        422,
        "validation_error",
    )
    assert "category" in body["details"]["fields"]
    assert not Listing.objects.exists()


def test_an_unknown_attribute_is_422_rather_than_ignored(seller_client):
    response = post_json(seller_client, "/api/v1/listings", payload("books", attributes={"colour": "red"}))

    body = assert_error(response, 422, "validation_error")
    assert "attributes.colour" in body["details"]["fields"]
    assert not Listing.objects.exists()


def test_a_shop_lists_an_item_on_consignment(seller_client, seller, other_client):
    membership = MembershipFactory(user=seller, role=Role.STAFF)
    consignor = UserFactory()
    stranger = UserFactory()

    # Naming someone who has not accepted the shop's agreement gets the same answer as an
    # address without an account: the API tells a shop nothing about who has one.
    refusals = [
        post_json(
            seller_client,
            "/api/v1/listings",
            payload("furniture", seller_organisation_id=membership.organisation_id, consignor_email=email),
            HTTP_ACCEPT_LANGUAGE="en",
        )
        for email in (consignor.email, stranger.email, "nobody@example.org")
    ]
    bodies = [assert_error(refusal, 422, "validation_error") for refusal in refusals]
    assert bodies[0] == bodies[1] == bodies[2]
    assert "no accepted consignment agreement" in bodies[0]["details"]["fields"]["consignor_email"][0]
    assert not Listing.objects.exists()

    accepted_agreement(shop=membership.organisation, staff=seller, consignor=consignor)
    response = post_json(
        seller_client,
        "/api/v1/listings",
        payload("furniture", seller_organisation_id=membership.organisation_id, consignor_email=consignor.email),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["seller"] == {
        "kind": "organisation",
        "id": membership.organisation_id,
        "name": membership.organisation.name,
    }
    assert consignor.email not in response.content.decode()
    listing = Listing.objects.get(pk=body["id"])
    assert (listing.seller_organisation_id, listing.consignor, listing.seller_user) == (
        membership.organisation_id,
        consignor,
        None,
    )
    # Someone not on the shop's staff cannot list for it, and learns nothing about the consignor's account.
    outsider = post_json(
        other_client,
        "/api/v1/listings",
        payload("furniture", seller_organisation_id=membership.organisation_id, consignor_email="nobody@example.org"),
    )
    assert_error(outsider, 403, "permission_denied")
    # A private seller takes nothing on consignment.
    private = post_json(seller_client, "/api/v1/listings", payload("furniture", consignor_email=consignor.email))
    assert "consignor_email" in assert_error(private, 422, "validation_error")["details"]["fields"]
    assert Listing.objects.count() == 1


# --- Photos and publishing -----------------------------------------------------------


def test_publication_is_blocked_without_photos(seller_client):
    listing = create(seller_client)

    response = seller_client.post(f"/api/v1/listings/{listing['id']}/publish")

    body = assert_error(response, 409, "publication_blocked")
    [reason] = body["details"]["blocking"]
    assert set(reason) == {"gate", "code", "message"}
    assert (reason["gate"], reason["code"]) == ("photos_present", "photos_missing")
    assert reason["message"]
    assert seller_client.get(f"/api/v1/listings/{listing['id']}").json()["status"] == "draft"


def test_upload_a_photo_get_its_renditions_and_publish(seller_client, django_capture_on_commit_callbacks, settings):
    listing = create(seller_client)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(seller_client, listing["id"], jpeg(1200, 900))

    assert response.status_code == 201, response.content
    [photo] = response.json()
    assert (photo["width"], photo["height"], photo["is_cover"], photo["position"]) == (1200, 900, True, 0)
    detail = seller_client.get(f"/api/v1/listings/{listing['id']}")
    [shown] = detail.json()["photos"]
    assert set(shown["renditions"]) == {"320", "960", "1920"}
    for url in shown["renditions"].values():
        assert url.startswith(settings.MEDIA_URL)
        assert url.endswith(".webp")
        assert default_storage.exists(url.removeprefix(settings.MEDIA_URL))
    assert "listing-originals" not in detail.content.decode()
    assert detail.json()["blocking"] == []

    published_listing = seller_client.post(f"/api/v1/listings/{listing['id']}/publish")

    assert published_listing.status_code == 200, published_listing.content
    assert published_listing.json()["status"] == "published"
    assert published_listing.json()["published_at"]
    assert Client().get(f"/api/v1/listings/{listing['id']}").json()["status"] == "published"


def bomb_png() -> SimpleUploadedFile:
    """A few kilobytes that decode to 49 megapixels."""
    out = io.BytesIO()
    Image.new("1", (7000, 7000)).save(out, format="PNG")
    return SimpleUploadedFile("bomb.png", out.getvalue(), content_type="image/png")


@pytest.mark.parametrize(
    ("make_files", "reason"),
    [
        (lambda: [SimpleUploadedFile("notes.jpg", b"just some text, not a photo", content_type="image/jpeg")], None),
        (bomb_png, "too_many_pixels"),
        (lambda: [jpeg(), SimpleUploadedFile("second.jpg", b"GIF89a nope", content_type="image/jpeg")], None),
    ],
    ids=["text-renamed-jpg", "decompression-bomb", "one-bad-among-good"],
)
def test_a_rejected_photo_saves_nothing(seller_client, make_files, reason):
    listing = create(seller_client)
    files = make_files()
    files = files if isinstance(files, list) else [files]

    body = assert_error(upload(seller_client, listing["id"], *files), 422, "photo_rejected")

    assert "file" in body["details"]["fields"]
    if reason:
        assert body["details"]["reason"] == reason
    assert not ListingPhoto.objects.exists()


def test_an_oversized_photo_is_rejected(seller_client, settings):
    listing = create(seller_client)
    settings.MARKETPLACE_PHOTO_MAX_BYTES = 1024

    body = assert_error(upload(seller_client, listing["id"], jpeg(1600, 1200)), 422, "photo_rejected")

    assert body["details"]["reason"] == "too_large"
    assert not ListingPhoto.objects.exists()


def test_upload_without_a_file_is_422(seller_client):
    listing = create(seller_client)
    assert_error(seller_client.post(f"/api/v1/listings/{listing['id']}/photos", {}), 422, "photo_rejected")


# --- Who may see and change what ----------------------------------------------------


def test_others_see_a_public_listing_with_masked_identifiers_and_cannot_change_it(seller_client, other_client):
    listing = published(seller_client, "electronics")
    path = f"/api/v1/listings/{listing['id']}"

    for viewer in (other_client, Client()):
        response = viewer.get(path)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["attributes"]["imei"] == "•••• 1481"
        assert body["attributes"]["serial_number"] == "•••• CD12"
        assert body["attributes"]["brand"] == "Apple"
        assert IMEI not in response.content.decode()
        assert body["blocking"] is None
    assert seller_client.get(path).json()["attributes"]["imei"] == IMEI

    assert_error(patch_json(other_client, path, {"price": 1}), 403, "permission_denied")
    assert_error(other_client.delete(path), 403, "permission_denied")
    assert_error(other_client.post(f"{path}/withdraw"), 403, "permission_denied")
    assert_error(upload(other_client, listing["id"], jpeg()), 403, "permission_denied")
    assert_error(patch_json(Client(), path, {"price": 1}), 401, "unauthenticated")
    assert_error(Client().delete(path), 401, "unauthenticated")
    assert Listing.objects.get(pk=listing["id"]).price == PAYLOADS["electronics"]["price"]


def test_a_vin_is_masked_for_other_people(seller_client, other_client):
    listing = create(seller_client, "vehicles")
    for _ in range(3):
        assert upload(seller_client, listing["id"], jpeg()).status_code == 201
    assert seller_client.post(f"/api/v1/listings/{listing['id']}/publish").status_code == 200

    body = other_client.get(f"/api/v1/listings/{listing['id']}").json()

    assert body["attributes"]["vin"] == f"•••• {VIN[-4:]}"
    assert body["attributes"]["make"] == "大众"


def test_a_draft_is_not_found_for_anyone_but_its_managers(seller_client, other_client):
    listing = create(seller_client)
    path = f"/api/v1/listings/{listing['id']}"

    assert_error(other_client.get(path), 404, "not_found")
    assert_error(Client().get(path), 404, "not_found")
    assert_error(patch_json(other_client, path, {"price": 1}), 404, "not_found")
    assert_error(other_client.delete(path), 404, "not_found")
    assert_error(Client().get("/api/v1/listings/999999"), 404, "not_found")
    assert seller_client.get(path).status_code == 200
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert staff.get(path).json()["id"] == listing["id"]


def test_a_forged_session_token_is_refused_even_on_public_reads(seller_client):
    listing = published(seller_client)
    response = Client().get(f"/api/v1/listings/{listing['id']}", HTTP_X_SESSION_TOKEN="forged")
    assert_error(response, 401, "unauthenticated")


def test_anonymous_writes_need_authentication():
    assert_error(post_json(Client(), "/api/v1/listings", PAYLOADS["books"]), 401, "unauthenticated")
    assert_error(Client().get("/api/v1/listings"), 401, "unauthenticated")
    assert not Listing.objects.exists()


# --- Editing, deleting, withdrawing --------------------------------------------------


def test_patch_changes_only_the_given_fields(seller_client):
    listing = create(seller_client)
    path = f"/api/v1/listings/{listing['id']}"

    response = patch_json(seller_client, path, {"price": 3900, "attributes": {"publisher": "人民文学出版社"}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["price"] == 3900
    assert body["title"] == PAYLOADS["books"]["title"]
    assert body["district"] == "徐汇区"
    assert body["attributes"]["publisher"] == "人民文学出版社"
    assert body["attributes"]["isbn"] == "9787020002207"
    assert body["attributes"]["authors"] == ["曹雪芹", "高鹗"]
    assert seller_client.get(path).json()["price"] == 3900


def test_an_invalid_patch_changes_nothing(seller_client):
    listing = create(seller_client)
    path = f"/api/v1/listings/{listing['id']}"

    bad_isbn = patch_json(seller_client, path, {"title": "新标题", "attributes": {"isbn": "12345"}})
    assert "attributes.isbn" in assert_error(bad_isbn, 422, "validation_error")["details"]["fields"]
    assert_error(patch_json(seller_client, path, {"price": "cheap"}), 422, "validation_error")
    unknown = patch_json(seller_client, path, {"attributes": {"vin": VIN}})
    assert "attributes.vin" in assert_error(unknown, 422, "validation_error")["details"]["fields"]
    assert_error(patch_json(seller_client, path, {"category": "vehicles"}), 422, "validation_error")

    body = seller_client.get(path).json()
    assert (body["title"], body["category"], body["attributes"]["isbn"]) == (
        PAYLOADS["books"]["title"],
        "books",
        "9787020002207",
    )


def test_a_published_listing_is_not_editable(seller_client):
    listing = published(seller_client)
    response = patch_json(seller_client, f"/api/v1/listings/{listing['id']}", {"price": 100})
    assert_error(response, 409, "listing_not_editable")


def test_delete_a_draft(seller_client):
    listing = create(seller_client)
    path = f"/api/v1/listings/{listing['id']}"

    response = seller_client.delete(path)

    assert response.status_code == 204
    assert response.content == b""
    assert_error(seller_client.get(path), 404, "not_found")
    assert not Listing.objects.exists()


def test_withdraw_then_delete_is_refused(seller_client):
    listing = published(seller_client)
    path = f"/api/v1/listings/{listing['id']}"

    response = seller_client.post(f"{path}/withdraw")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    assert_error(Client().get(path), 404, "not_found")
    assert_error(seller_client.delete(path), 409, "listing_not_deletable")
    assert Listing.objects.get(pk=listing["id"]).status == ListingStatus.WITHDRAWN


# --- Reports ------------------------------------------------------------------------


def test_report_a_listing_once(seller_client, other_client):
    listing = published(seller_client)
    path = f"/api/v1/listings/{listing['id']}/reports"

    response = post_json(other_client, path, {"reason": "counterfeit", "details": "盗版印刷，纸张很差"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open"
    report = ListingReport.objects.get(pk=body["id"])
    assert (report.reason, report.listing_id) == ("counterfeit", listing["id"])
    assert_error(post_json(other_client, path, {"reason": "fraud"}), 409, "already_reported")
    assert_error(post_json(other_client, path, {"reason": "ugly"}), 422, "validation_error")
    assert_error(post_json(Client(), path, {"reason": "fraud"}), 401, "unauthenticated")
    assert ListingReport.objects.count() == 1


def test_a_draft_cannot_be_reported(seller_client, other_client):
    listing = create(seller_client)
    response = post_json(other_client, f"/api/v1/listings/{listing['id']}/reports", {"reason": "fraud"})
    assert_error(response, 404, "not_found")


# --- Headless app tokens ------------------------------------------------------------


def test_a_script_creates_and_edits_a_listing_with_a_headless_session_token():
    cache.clear()
    user = UserFactory()
    login = post_json(Client(), "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert login.status_code == 200, login.content
    token = login.json()["meta"]["session_token"]
    script = Client()  # no cookies: the token alone authenticates

    created = post_json(script, "/api/v1/listings", PAYLOADS["books"], HTTP_X_SESSION_TOKEN=token)

    assert created.status_code == 201, created.content
    assert created.json()["seller"]["id"] == user.pk
    path = f"/api/v1/listings/{created.json()['id']}"
    edited = patch_json(script, path, {"description": "九成新，无笔记"}, HTTP_X_SESSION_TOKEN=token)
    assert edited.status_code == 200, edited.content
    assert script.get(path, HTTP_X_SESSION_TOKEN=token).json()["description"] == "九成新，无笔记"
    assert_error(script.get(path), 404, "not_found")  # without the token it is someone else's draft


# --- Fixed query counts and the list of my listings ---------------------------------


def add_photos(listing_id: int, count: int) -> None:
    start = ListingPhoto.objects.filter(listing_id=listing_id).count()
    for index in range(start, start + count):
        ListingPhoto.objects.create(
            listing_id=listing_id,
            original=f"listing-originals/{listing_id}-{index}.jpg",
            sha256=f"{index:064d}",
            width=800,
            height=600,
            position=index,
            is_cover=index == 0,
            renditions={"320": f"listings/{listing_id}/{index}-320.webp"},
        )


def count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


def test_reading_a_listing_runs_a_fixed_number_of_queries(seller_client, seller):
    listing = create(seller_client)
    path = f"/api/v1/listings/{listing['id']}"
    add_photos(listing["id"], 1)
    listing_publish(actor=seller, listing_id=listing["id"])
    visitor = Client()

    as_manager, as_visitor = count_queries(seller_client, path), count_queries(visitor, path)
    add_photos(listing["id"], 6)

    assert count_queries(seller_client, path) == as_manager
    assert count_queries(visitor, path) == as_visitor
    assert len(visitor.get(path).json()["photos"]) == 7


def test_my_listings_are_paginated_with_a_fixed_number_of_queries(seller_client, other_client):
    create(other_client)  # someone else's: never listed
    first = create(seller_client, "electronics")
    add_photos(first["id"], 2)
    queries_for_one = count_queries(seller_client, "/api/v1/listings")
    for category in ("books", "furniture", "vehicles"):
        add_photos(create(seller_client, category)["id"], 3)

    assert count_queries(seller_client, "/api/v1/listings") == queries_for_one
    page = seller_client.get("/api/v1/listings", {"limit": 3}).json()
    assert page["count"] == 4
    assert len(page["items"]) == 3
    assert {item["category"] for item in page["items"]} == {"books", "furniture", "vehicles"}
    rest = seller_client.get("/api/v1/listings", {"limit": 3, "offset": 3}).json()
    assert [item["id"] for item in rest["items"]] == [first["id"]]
    assert rest["items"][0]["blocking"] == []
    assert rest["items"][0]["attributes"]["imei"] == IMEI  # my own listing: identifiers in full
    assert_error(seller_client.get("/api/v1/listings", {"limit": 0}), 422, "validation_error")


def test_the_openapi_document_lists_the_listing_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/listings"]) == {"get", "post"}
    assert set(paths["/api/v1/listings/{listing_id}"]) == {"get", "patch", "delete"}
    for action in ("photos", "publish", "withdraw", "reports"):
        assert "post" in paths[f"/api/v1/listings/{{listing_id}}/{action}"]
