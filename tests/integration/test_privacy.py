"""Personal-information rights (PIPL): downloading one's data and deleting one's account."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.urls import reverse

from marketplace.models import ListingStatus, Notification, Offer, OfferStatus, Order, OrderStatus, User
from marketplace.services.ledger import ledger_reconcile
from marketplace.services.messages import message_send
from marketplace.services.offers import offer_make
from marketplace.services.orders import order_handover_confirm, order_place
from marketplace.services.privacy import account_delete, personal_data_export
from search.models import SavedSearch
from tests.factories import PASSWORD, UserFactory
from tests.listings import make_listing
from tests.orders import published_listing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def person():
    return UserFactory(display_name="小王", first_name="王", last_name="小", with_totp=True)


@pytest.fixture
def other():
    return UserFactory(display_name="老李")


def completed_cash_sale(*, seller: User, buyer: User, title: str) -> Order:
    listing = published_listing(seller=seller, title=title)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    return order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)


@pytest.fixture
def history(person, other):
    """The person bought one thing, sold one thing, offered, wrote, and saved a search."""
    bought = completed_cash_sale(seller=other, buyer=person, title="买来的书")
    sold = completed_cash_sale(seller=person, buyer=other, title="卖掉的书")
    draft = make_listing(seller=person, title="还没发布的书")
    on_sale = published_listing(seller=person, title="正在卖的书")
    wanted = published_listing(seller=other, title="想要的书")
    offer = offer_make(buyer=person, listing_id=wanted.pk, amount=4000, delivery_method="pickup", payment_method="cash")
    message_send(sender=person, listing_id=wanted.pk, body="还在吗？")
    message_send(sender=other, listing_id=wanted.pk, body="在的，老李的私事", buyer_id=person.pk)
    SavedSearch.objects.create(user=person, name="红楼梦", querystring="q=红楼梦")
    Notification.objects.create(user=person, kind="test", subject="你好", body="通知")
    return {"bought": bought, "sold": sold, "draft": draft, "on_sale": on_sale, "offer": offer, "wanted": wanted}


# --- Download -----------------------------------------------------------------------------


def test_the_profile_page_links_to_both_rights(client, person, english):
    client.force_login(person)
    body = client.get(reverse("profile")).content.decode()
    assert reverse("privacy") in body
    assert reverse("privacy_delete") in body


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name in ("privacy", "privacy_delete"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert client.post(reverse(name), {"password": PASSWORD, "confirm": "on"}).status_code == 302


def test_download_needs_the_password_again(client, person, english):
    client.force_login(person)
    response = client.post(reverse("privacy"), {"password": "not-my-password"})
    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert "The password is not correct." in response.content.decode()


def test_download_holds_the_persons_data_and_nobody_elses(client, person, other, history):
    client.force_login(person)
    response = client.post(reverse("privacy"), {"password": PASSWORD})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="xunhuan-personal-data-')
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)

    assert data["account"]["email"] == person.email
    assert data["account"]["display_name"] == "小王"
    assert data["two_factor_methods"] == ["totp"]
    assert [o["title"] for o in data["orders_as_buyer"]] == ["买来的书"]
    assert [o["title"] for o in data["orders_as_seller"]] == ["卖掉的书"]
    # The other party by their public name only.
    assert data["orders_as_buyer"][0]["seller"] == "老李"
    assert data["orders_as_seller"][0]["buyer"] == "老李"
    titles = {listing["title"] for listing in data["listings"]}
    assert {"卖掉的书", "还没发布的书", "正在卖的书"} <= titles
    assert "想要的书" not in titles
    assert [o["amount"] for o in data["offers"]] == [4000]
    assert [m["body"] for m in data["messages_sent"]] == ["还在吗？"]
    assert "你好" in [n["subject"] for n in data["notifications"]]
    # Records of other apps are found without the core knowing them.
    assert data["linked_records"]["search.SavedSearch"][0]["querystring"] == "q=红楼梦"

    text = response.content.decode()
    assert other.email not in text
    # What the other person wrote is theirs (the person keeps the notification they received).
    assert "老李的私事" not in json.dumps(data["messages_sent"], ensure_ascii=False)
    # Credentials never leave: no password hash, no TOTP secret, no hand-over codes.
    assert person.password not in text
    assert "handshake_code" not in text
    assert "idempotency_key" not in text


def test_the_export_names_other_people_only_as_you_or_not_at_all(person, other, history):
    from django.apps import apps

    data = personal_data_export(user=person)
    assert data["linked_records"]  # credit events, ratings… whatever the apps hold
    for label, rows in data["linked_records"].items():
        user_fields = [
            f.name for f in apps.get_model(label)._meta.concrete_fields if f.is_relation and f.related_model is User
        ]
        for row in rows:
            for name in user_fields:
                assert row.get(name, "you") == "you", (label, name)
    assert data["orders_as_buyer"][0]["buyer"] == "you"
    assert "seller_user" not in data["orders_as_buyer"][0]


# --- Deletion -----------------------------------------------------------------------------


def test_deletion_needs_the_password_and_the_confirmation(client, person, english):
    client.force_login(person)
    response = client.post(reverse("privacy_delete"), {"password": "wrong-password-1", "confirm": "on"})
    assert response.status_code == 400
    assert "The password is not correct." in response.content.decode()
    response = client.post(reverse("privacy_delete"), {"password": PASSWORD})
    assert response.status_code == 400
    person.refresh_from_db()
    assert person.is_active
    assert EmailAddress.objects.filter(user=person).exists()


def test_wrong_passwords_are_rate_limited(client, person, english):
    client.force_login(person)
    for _ in range(10):
        client.post(reverse("privacy_delete"), {"password": "wrong-password-1", "confirm": "on"})
    response = client.post(reverse("privacy_delete"), {"password": PASSWORD, "confirm": "on"})
    assert "Too many attempts" in response.content.decode()
    person.refresh_from_db()
    assert person.is_active


def test_open_orders_block_deletion_with_a_clear_message(client, person, other, english):
    listing = published_listing(seller=other)
    order = order_place(buyer=person, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    client.force_login(person)
    page = client.get(reverse("privacy_delete")).content.decode()
    assert f"#{order.pk}" in page
    assert "disabled" in page
    response = client.post(reverse("privacy_delete"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 400
    assert "You have orders that are not finished yet" in response.content.decode()
    person.refresh_from_db()
    assert person.is_active
    assert person.email.endswith("@example.org")


def test_staff_cannot_delete_themselves(person):
    person.is_staff = True
    person.save()
    from marketplace.errors import Conflict

    with pytest.raises(Conflict):
        account_delete(user=person, password=PASSWORD)


def test_deletion_detaches_the_person_and_keeps_what_the_law_requires(client, person, other, history, english):
    email = person.email
    client.force_login(person)
    response = client.post(reverse("privacy_delete"), {"password": PASSWORD, "confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Your account was deleted." in response.content.decode()
    # Logged out.
    assert client.get(reverse("profile")).status_code == 302

    person.refresh_from_db()
    assert person.email == f"deleted-{person.pk}@deleted.invalid"
    assert (person.display_name, person.first_name, person.last_name) == ("", "", "")
    assert not person.is_active
    assert not person.has_usable_password()
    assert not EmailAddress.objects.filter(user=person).exists()
    assert not EmailAddress.objects.filter(email=email).exists()
    assert not Authenticator.objects.filter(user=person).exists()
    assert not SavedSearch.objects.filter(user=person).exists()
    assert not Notification.objects.filter(user=person).exists()

    # Unsold listings are withdrawn; the sold one stays sold.
    for key, status in (("draft", ListingStatus.WITHDRAWN), ("on_sale", ListingStatus.WITHDRAWN)):
        history[key].refresh_from_db()
        assert history[key].status == status
    assert history["sold"].listing.__class__.objects.get(pk=history["sold"].listing_id).status == ListingStatus.SOLD
    assert Offer.objects.get(pk=history["offer"].pk).status == OfferStatus.WITHDRAWN

    # Orders are kept, still reconcile, and show the other party no name or address.
    assert Order.objects.filter(buyer=person, status=OrderStatus.COMPLETED).count() == 1
    assert Order.objects.filter(seller_user=person, status=OrderStatus.COMPLETED).count() == 1
    checked, problems = ledger_reconcile()
    assert checked >= 2
    assert problems == []
    client.force_login(other)
    order_page = client.get(reverse("order_detail", args=[history["sold"].pk])).content.decode()
    assert "小王" not in order_page
    assert email not in order_page


def test_a_deleted_person_cannot_log_in_again(client, person):
    email = person.email
    account_delete(user=person, password=PASSWORD)
    assert not client.login(email=email, password=PASSWORD)
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    # The e-mail address is free: the person may sign up afresh later.
    assert not User.objects.filter(email=email).exists()


def test_sessions_on_other_devices_end(client, other):
    person = other
    client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert client.get(reverse("profile")).status_code == 200
    account_delete(user=person, password=PASSWORD)
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
