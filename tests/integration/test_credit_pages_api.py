"""Credit pages, API, sharing and the moderators' admin: what users and partners see."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from django.test import Client
from wagtail.models import Page

from marketplace.credit.models import CreditConsent, CreditEvent, PartnerToken
from marketplace.credit.report import published_keys
from marketplace.credit.services import credit_adjust, credit_event_record, partner_token_create, rating_submit
from marketplace.credit.signing import TrustAnchors, verify_report
from marketplace.models import OrderStatus
from marketplace.services.orders import order_handover_confirm, order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def post_json(client: Client, path: str, data=None, **extra):
    return client.post(path, data=json.dumps(data or {}), content_type="application/json", **extra)


@pytest.fixture
def seller():
    return UserFactory(display_name="Seller Li")


@pytest.fixture
def buyer():
    return UserFactory(display_name="Buyer Zhang")


@pytest.fixture
def order(seller, buyer):
    listing = published_listing(seller=seller, price=8800)
    placed = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    done = order_handover_confirm(seller=seller, order_id=placed.pk, code=placed.handshake_code)
    assert done.status == OrderStatus.COMPLETED
    return done


# --- Rating pages ------------------------------------------------------------------------------


def test_the_order_page_links_to_rating_and_the_rating_page_keeps_it_sealed(seller, buyer, order):
    page = client_for(buyer).get(f"/orders/{order.pk}/")
    assert page.status_code == 200
    assert f"/orders/{order.pk}/rate/".encode() in page.content

    response = client_for(buyer).post(
        f"/orders/{order.pk}/rate/", {"stars": 5, "as_described": 5, "communication": 4, "speed": 5}
    )
    assert response.status_code == 302
    seller_view = client_for(seller).get(f"/orders/{order.pk}/rate/")
    assert b"data-sealed" in seller_view.content
    assert b"data-their-rating" not in seller_view.content

    client_for(seller).post(f"/orders/{order.pk}/rate/", {"stars": 4, "communication": 4, "speed": 4})
    seller_view = client_for(seller).get(f"/orders/{order.pk}/rate/")
    assert b"data-their-rating" in seller_view.content


def test_a_lowered_rating_is_refused_on_the_page_with_a_clear_message(buyer, order):
    client = client_for(buyer)
    client.post(f"/orders/{order.pk}/rate/", {"stars": 4, "as_described": 4, "communication": 4, "speed": 4})
    response = client.post(
        f"/orders/{order.pk}/rate/", {"stars": 2, "as_described": 4, "communication": 4, "speed": 4}, follow=True
    )
    assert b"never lowered" in response.content


def test_strangers_cannot_see_or_rate_an_order(order):
    stranger = client_for(UserFactory())
    assert stranger.get(f"/orders/{order.pk}/rate/").status_code == 404
    response = post_json(
        stranger, f"/api/v1/orders/{order.pk}/ratings", {"stars": 5, "as_described": 5, "communication": 5, "speed": 5}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- API ------------------------------------------------------------------------------------------


def test_rating_through_the_api_and_lowering_is_422(buyer, seller, order):
    client = client_for(buyer)
    response = post_json(
        client, f"/api/v1/orders/{order.pk}/ratings", {"stars": 4, "as_described": 4, "communication": 4, "speed": 4}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["mine"]["stars"] == 4 and body["theirs"] is None
    seller_side = client_for(seller).get(f"/api/v1/orders/{order.pk}/ratings").json()
    assert seller_side["theirs"] is None and seller_side["theirs_sealed"] is True

    lowered = post_json(
        client, f"/api/v1/orders/{order.pk}/ratings", {"stars": 3, "as_described": 4, "communication": 4, "speed": 4}
    )
    assert lowered.status_code == 422
    assert lowered.json()["code"] == "rating_lowered"
    bad = post_json(client, f"/api/v1/orders/{order.pk}/ratings", {"stars": 9, "communication": 4, "speed": 4})
    assert bad.status_code == 422


def test_public_credit_shows_tiers_and_counts_and_me_credit_the_breakdown(seller, buyer, order):
    rating_submit(user=buyer, order_id=order.pk, stars=5, as_described=5, communication=5, speed=5)
    rating_submit(user=seller, order_id=order.pk, stars=5, communication=5, speed=5)
    public = client_for().get(f"/api/v1/users/{seller.pk}/credit")
    assert public.status_code == 200
    body = public.json()
    assert body["completed_sales"] == 1 and body["ratings_received"] == 1
    assert "contributions" not in body and "score" not in json.dumps(body["tiers"])

    mine = client_for(seller).get("/api/v1/me/credit?role=seller")
    assert mine.status_code == 200
    data = mine.json()
    assert data["score"] > 0 and data["contributions"]
    assert {c["kind"] for c in data["contributions"]} <= {"order_completed", "rating", "verification"}
    assert client_for().get("/api/v1/me/credit").status_code == 401


def test_partner_api_needs_a_token_and_the_users_consent_which_can_be_withdrawn(seller):
    staff = UserFactory(is_staff=True)
    _token, raw = partner_token_create(staff=staff, name="Other platform")
    assert PartnerToken.objects.get().token_hash != raw  # only the hash is kept
    partner = Client()
    url = f"/api/v1/partner/users/{seller.pk}/credit-report"
    assert partner.get(url).status_code == 401
    assert partner.get(url, HTTP_X_PARTNER_TOKEN="xhp_wrong").status_code == 401
    assert partner.get(url, HTTP_X_PARTNER_TOKEN=raw).status_code == 403

    owner = client_for(seller)
    assert owner.post("/api/v1/me/credit/consent").json() == {"sharing_consent": True}
    response = partner.get(url, HTTP_X_PARTNER_TOKEN=raw)
    assert response.status_code == 200
    bundle = response.json()
    assert verify_report(bundle, trust=TrustAnchors.build(documents=[published_keys()])).valid
    text = json.dumps(bundle, ensure_ascii=False)
    assert seller.email not in text  # no contact details in a shared report

    owner.delete("/api/v1/me/credit/consent")
    assert partner.get(url, HTTP_X_PARTNER_TOKEN=raw).status_code == 403
    assert CreditConsent.objects.get(user=seller).withdrawn_at is not None


# --- Pages: breakdown, profile, report ---------------------------------------------------------------


def test_the_breakdown_page_explains_the_score_and_shows_moderator_reasons(seller, django_assert_max_num_queries):
    staff = UserFactory(is_staff=True)
    credit_event_record(subject_id=seller.pk, role="seller", kind="late_shipment", negative=1.0)
    credit_adjust(moderator=staff, user_id=seller.pk, role="seller", direction="down", size=2, reason="rude messages")
    client = client_for(seller)
    response = client.get("/my/credit/?role=seller")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Why is my score" in content
    assert "rude messages" in content
    assert "Ship within the deadline" in content  # what would improve it
    for i in range(10):
        credit_event_record(subject_id=seller.pk, role="seller", kind="order_completed", positive=1.0, reason=str(i))
    with django_assert_max_num_queries(25) as few:
        client.get("/my/credit/?role=seller")
    for i in range(30):
        credit_event_record(subject_id=seller.pk, role="seller", kind="order_completed", positive=1.0, reason=f"x{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/my/credit/?role=seller")


def test_the_public_profile_shows_tier_counts_not_events(seller, order, django_assert_max_num_queries):
    credit_event_record(subject_id=seller.pk, role="seller", kind="late_shipment", negative=1.0, reason="secret note")
    with django_assert_max_num_queries(12):
        response = client_for().get(f"/users/{seller.pk}/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-credit-tier="seller"' in content
    assert "secret note" not in content and "Late shipment" not in content


def test_the_report_download_is_signed_and_verifies(seller, tmp_path):
    from marketplace.credit.verify import main

    response = client_for(seller).get("/my/credit/report.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    path = tmp_path / "report.json"
    path.write_bytes(response.content)
    keys = tmp_path / "credit-keys.json"
    keys.write_bytes(client_for().get("/.well-known/credit-keys.json").content)
    assert main([str(path), "--keys", str(keys)]) == 0
    key = json.loads(keys.read_text())["keys"][0]["public_key"]
    assert main([str(path), "--key", key]) == 0
    assert main([str(path)]) == 2  # the key inside the report alone is not trusted
    assert client_for().get("/my/credit/report.json").status_code == 302  # login required


def test_the_published_keys_carry_their_fingerprint_shown_where_the_report_is_downloaded(seller, tmp_path):
    from marketplace.credit.verify import main

    document = client_for().get("/.well-known/credit-keys.json").json()
    assert client_for().get("/api/v1/credit/keys").json() == document
    assert document["keys"]
    for key in document["keys"]:
        raw = base64.b64decode(key["public_key"])
        assert len(raw) == 32
        assert key["fingerprint"] == hashlib.sha256(raw).hexdigest()
        assert key["revoked_at"] is None

    page = client_for(seller).get("/my/credit/").content.decode()
    shown = re.search(r"data-credit-key-fingerprint>sha256:([0-9a-f]{64})<", page)
    assert shown and shown.group(1) == document["keys"][0]["fingerprint"]
    assert f"--trust sha256:{shown.group(1)}" in page

    report = tmp_path / "report.json"
    report.write_bytes(client_for(seller).get("/my/credit/report.json").content)
    assert main([str(report), "--trust", f"sha256:{shown.group(1)}"]) == 0


def test_an_appeal_from_the_breakdown_page_reaches_the_moderators(seller):
    event = credit_event_record(subject_id=seller.pk, role="seller", kind="stall_no_show", negative=1.0)
    response = client_for(seller).post(
        "/my/credit/appeal/", {"role": "seller", "event_id": event.pk, "text": "I was there"}, follow=True
    )
    assert b"sent to the moderators" in response.content
    assert event.appeals.count() == 1


# --- Admin ----------------------------------------------------------------------------------------------


@pytest.fixture
def admin():
    return client_for(UserFactory(is_staff=True, is_superuser=True, with_totp=True))


def test_a_moderator_adjusts_with_a_reason_in_the_admin(admin, seller):
    url = f"/cms-admin/credit/users/{seller.pk}/"
    assert admin.get("/cms-admin/credit/?q=" + seller.email).status_code == 200
    assert admin.get(url).status_code == 200
    missing = admin.post(url, {"role": "seller", "direction": "down", "size": "2", "reason": ""})
    assert missing.status_code == 422
    assert not CreditEvent.objects.filter(subject=seller).exists()
    done = admin.post(url, {"role": "seller", "direction": "down", "size": "2", "reason": "fake photos"})
    assert done.status_code == 302
    event = CreditEvent.objects.get(subject=seller, kind="adjustment")
    assert event.reason == "fake photos"
    admin.post(f"/cms-admin/credit/events/{event.pk}/reverse/", {"reason": "photos were real"})
    assert CreditEvent.objects.filter(reverses=event).exists()
    for page in ("/cms-admin/credit/appeals/", "/cms-admin/credit/rings/", "/cms-admin/credit/partner-tokens/"):
        assert admin.get(page).status_code == 200


def test_non_staff_cannot_open_the_credit_admin(seller):
    client = client_for(seller)
    response = client.get("/cms-admin/credit/")
    assert response.status_code in (302, 403)


# --- The policy page ----------------------------------------------------------------------------------------


def test_the_policy_page_renders_the_running_parameters(settings):
    from cms.models import CreditPolicyPage, HomePage
    from marketplace.credit.scoring import POLICY

    home = HomePage.objects.first() or Page.objects.get(depth=1).add_child(instance=HomePage(title="Home", slug="home"))
    page = home.add_child(instance=CreditPolicyPage(title="Credit policy", slug="credit-policy"))
    response = client_for().get(page.url)
    assert response.status_code == 200
    content = response.content.decode()
    assert f"{POLICY.half_life_days:.0f} days" in content
    for tier in POLICY.tiers:
        assert f'data-tier="{tier.key}"' in content
    assert "Dispute upheld against you" in content


def test_a_top_tier_seller_gets_the_badge_from_the_policy_table_on_listing_and_search_pages(seller):
    from marketplace.credit.selectors import seller_tiers_for_users

    listing = published_listing(seller=seller, title="九成新 书架")
    other = published_listing(seller=UserFactory(), title="八成新 书架")
    client = client_for()
    assert "Top-rated seller" not in client.get(f"/listings/{listing.pk}/").content.decode()

    for n in range(20):  # the top tier needs 20 completed orders (policy table)
        credit_event_record(subject_id=seller.pk, role="seller", kind="order_completed", positive=1.0, reason=f"o{n}")
    for n in range(3):
        credit_event_record(
            subject_id=seller.pk, role="seller", kind="adjustment", positive=1.0, weight=40.0, reason=f"test {n}"
        )
    assert seller_tiers_for_users([seller.pk])[seller.pk] == "excellent"

    assert "Top-rated seller" in client.get(f"/listings/{listing.pk}/").content.decode()
    assert "Top-rated seller" not in client.get(f"/listings/{other.pk}/").content.decode()
    results = client.get("/search/", {"q": "书架"}).content.decode()
    assert "九成新 书架" in results and "八成新 书架" in results
    assert results.count("Top-rated seller") == 1
