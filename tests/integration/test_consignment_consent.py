"""Consent for consignment (issue 15): a shop names a consignor only through an agreement
the consignor accepted; nothing a shop sees reveals whether an address has an account;
the consignor can decline or end; account deletion explains what still ties the person;
staff can release a consignor."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from marketplace.consignment.models import AgreementStatus, ConsignmentAgreement, ConsignmentItem, ItemStatus
from marketplace.consignment.services import agreement_invite, agreement_release, intake_batch_create
from marketplace.errors import NotFound, PermissionDenied
from marketplace.models import Listing, ListingStatus, Notification
from marketplace.services.listings import listing_create
from tests.factories import PASSWORD, UserFactory
from tests.integration.test_consignment_pages import AGREEMENT_FORM
from tests.integration.test_consignment_services import book_line, make_agreement, make_shop
from tests.listings import ATTRIBUTES, COMMON

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def invite(client, shop, email):
    return client.post(
        f"/consignment/shop/{shop.pk}/agreements/new/", {**AGREEMENT_FORM, "consignor_email": email}, follow=True
    )


def sell_form(shop, email):
    return {
        "description": "",
        "price_yuan": "45",
        "currency": "CNY",
        "city": "上海市",
        "district": "徐汇区",
        "delivery_pickup": "on",
        "attributes-isbn": "9787020002207",
        "attributes-book_title": "红楼梦",
        "attributes-language": "zh",
        "seller-sell_as": str(shop.pk),
        "seller-consignor_email": email,
    }


def consignor_error(response) -> str:
    match = re.search(
        r'<ul class="errorlist" id="id_seller-consignor_email_error">(.*?)</ul>', response.content.decode()
    )
    return match.group(1) if match else ""


def test_invite_accept_then_list_with_the_consignor(en_client, settings):
    shop, staff = make_shop(name="循环寄卖店")
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    consignor = UserFactory(email="lin@example.org")
    en_client.force_login(staff)

    page = invite(en_client, shop, "Lin@Example.org")
    assert "Invitation sent to Lin@Example.org" in text(page)
    agreement = ConsignmentAgreement.objects.get()
    assert agreement.status == AgreementStatus.INVITED
    # The consignor is told in the site and by e-mail.
    assert Notification.objects.filter(user=consignor, kind="consignment_invitation").exists()
    assert [m.to for m in mail.outbox] == [["lin@example.org"]]

    # Not accepted yet: the shop cannot name them on a listing.
    response = en_client.post("/sell/books/", sell_form(shop, consignor.email))
    assert "no accepted consignment agreement" in consignor_error(response)
    assert not Listing.objects.exists()

    en_client.force_login(consignor)
    response = en_client.post(f"/consignment/mine/invitations/{agreement.pk}/accept/", follow=True)
    assert "You accepted the agreement" in text(response)
    assert Notification.objects.filter(user=staff, subject__contains="accepted").exists()

    en_client.force_login(staff)
    response = en_client.post("/sell/books/", sell_form(shop, consignor.email))
    assert response.status_code == 302, consignor_error(response)
    listing = Listing.objects.get()
    assert (listing.seller_organisation, listing.consignor) == (shop, consignor)


def test_naming_a_consignor_without_an_agreement_is_refused_like_an_unknown_address(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    registered = UserFactory(email="registered@example.org")
    other_shop, other_staff = make_shop()
    elsewhere = make_agreement(other_shop, other_staff).consignor  # accepted, but with another shop
    en_client.force_login(staff)

    errors = {
        email: consignor_error(en_client.post("/sell/books/", sell_form(shop, email)))
        for email in ("nobody@example.org", registered.email, elsewhere.email)
    }
    assert len(set(errors.values())) == 1
    assert "no accepted consignment agreement" in errors["nobody@example.org"]
    assert not Listing.objects.filter(seller_organisation=shop).exists()

    # The service refuses too, whoever calls it.
    with pytest.raises(Exception, match="no accepted consignment agreement"):
        listing_create(
            actor=staff,
            category="books",
            data={**COMMON, "title": "寄卖 红楼梦"},
            attributes=dict(ATTRIBUTES["books"]),
            seller_organisation=shop,
            consignor=registered,
        )


def _normalised(response, agreement_ids) -> str:
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="…"', body)
    for pk in agreement_ids:
        body = body.replace(f"/consignment/agreements/{pk}/", "/consignment/agreements/N/")
    return body


def test_the_invitation_response_is_the_same_with_or_without_an_account(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    email = "maybe@example.org"
    en_client.force_login(staff)

    first = en_client.post(f"/consignment/shop/{shop.pk}/agreements/new/", {**AGREEMENT_FORM, "consignor_email": email})
    first_page = en_client.get(first["Location"])
    without_account = ConsignmentAgreement.objects.get()
    en_client.post(f"/consignment/agreements/{without_account.pk}/end/", follow=True)  # withdrawn: send again

    UserFactory(email=email)
    second = en_client.post(
        f"/consignment/shop/{shop.pk}/agreements/new/", {**AGREEMENT_FORM, "consignor_email": email}
    )
    second_page = en_client.get(second["Location"])
    with_account = ConsignmentAgreement.objects.exclude(pk=without_account.pk).get()

    ids = (without_account.pk, with_account.pk)
    assert first.status_code == second.status_code == 302
    assert first["Location"].replace(str(without_account.pk), "N") == second["Location"].replace(
        str(with_account.pk), "N"
    )
    assert first_page.status_code == second_page.status_code == 200
    assert _normalised(first_page, ids) == _normalised(second_page, ids)
    # Both were e-mailed; only the wording differs (sign up first, or log in).
    assert [m.to for m in mail.outbox] == [[email], [email]]
    assert "/accounts/signup/" in mail.outbox[0].body
    assert "/consignment/mine/" in mail.outbox[1].body


def test_an_invitation_to_an_address_without_an_account_is_accepted_after_signing_up(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    agreement = agreement_invite(actor=staff, shop=shop, email="new@example.org", tiers=[make_tier()])
    newcomer = UserFactory(email="new@example.org")
    en_client.force_login(newcomer)
    assert "invites you to consign items" in text(en_client.get("/consignment/mine/"))
    en_client.post(f"/consignment/mine/invitations/{agreement.pk}/accept/")
    agreement.refresh_from_db()
    assert (agreement.status, agreement.consignor) == (AgreementStatus.ACCEPTED, newcomer)
    # Someone else cannot answer it.
    intruder = UserFactory()
    en_client.force_login(intruder)
    assert en_client.post(f"/consignment/mine/invitations/{agreement.pk}/decline/").status_code == 404


def make_tier():
    from marketplace.consignment.rules import Tier

    return Tier(None, 6000)


def test_the_consignor_declines(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    consignor = UserFactory()
    agreement = agreement_invite(actor=staff, shop=shop, email=consignor.email, tiers=[make_tier()])
    en_client.force_login(consignor)
    response = en_client.post(f"/consignment/mine/invitations/{agreement.pk}/decline/", follow=True)
    assert "You declined the invitation" in text(response)
    assert "invites you to consign items" not in text(response)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.DECLINED
    # Accepting afterwards is no longer possible.
    assert en_client.post(f"/consignment/mine/invitations/{agreement.pk}/accept/").status_code == 404
    en_client.force_login(staff)
    response = en_client.post("/sell/books/", sell_form(shop, consignor.email))
    assert "no accepted consignment agreement" in consignor_error(response)


def test_the_consignor_ends_an_agreement_once_no_item_is_on_sale(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    agreement = make_agreement(shop, staff)
    consignor = agreement.consignor
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(title="三体 全三册")])
    en_client.force_login(consignor)

    response = en_client.post(f"/consignment/mine/agreements/{agreement.pk}/end/", follow=True)
    page = text(response)
    assert "still has these items of yours on sale or reserved: “三体 全三册”" in page
    assert "Ask the shop to return them" in page
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACCEPTED

    item = batch.items.get()
    Listing.objects.filter(pk=item.listing_id).update(status=ListingStatus.WITHDRAWN)
    response = en_client.post(f"/consignment/mine/agreements/{agreement.pk}/end/", follow=True)
    assert "Your agreement has ended" in text(response)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ENDED
    assert Notification.objects.filter(user=staff, subject__contains="ended").exists()
    # Another user cannot end someone else's agreement.
    en_client.force_login(UserFactory())
    assert en_client.post(f"/consignment/mine/agreements/{agreement.pk}/end/").status_code == 404


def test_the_deletion_page_explains_what_ties_the_person_and_how_to_end_it(en_client):
    shop, staff = make_shop(name="循环寄卖店")
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    agreement = make_agreement(shop, staff)
    consignor = agreement.consignor
    intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(title="围城 典藏版")])
    en_client.force_login(consignor)

    page = text(en_client.get(_delete_url()))
    assert "循环寄卖店 is still selling or holding these items for you: “围城 典藏版”" in page
    assert "Ask the shop to return them to you or withdraw them" in page
    assert "end your agreement with the shop on your consignment page" in page
    assert "our staff can release you from the agreement" in page

    response = en_client.post(_delete_url(), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 400
    consignor.refresh_from_db()
    assert consignor.is_active


def _delete_url() -> str:
    from django.urls import reverse

    return reverse("privacy_delete")


def test_deleting_an_account_without_items_ends_its_agreements(en_client):
    shop, staff = make_shop()
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    agreement = make_agreement(shop, staff)
    consignor = agreement.consignor
    consignor.set_password(PASSWORD)
    consignor.save()
    en_client.force_login(consignor)
    response = en_client.post(_delete_url(), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ENDED


def test_staff_release_a_consignor_in_the_admin(client, settings):
    shop, staff = make_shop(name="循环寄卖店")
    staff.preferred_language = "en"  # notifications are written in the reader's language
    staff.save(update_fields=["preferred_language"])
    agreement = make_agreement(shop, staff)
    consignor = agreement.consignor
    batch = intake_batch_create(
        actor=staff, agreement_id=agreement.pk, lines=[book_line(title="书 1"), book_line(title="书 2")]
    )
    moderator = UserFactory(is_staff=True, is_superuser=True, with_totp=True)
    with pytest.raises(PermissionDenied):
        agreement_release(staff=staff, agreement_id=agreement.pk, reason="no")
    with pytest.raises(NotFound):
        agreement_release(staff=moderator, agreement_id=0, reason="no")

    client.force_login(moderator)
    client.cookies["django_language"] = "en"
    page = client.get("/cms-admin/consignment/agreements/")
    assert page.status_code == 200, page.content[:300]
    assert consignor.email in page.content.decode()
    # A reason is required.
    client.post("/cms-admin/consignment/agreements/", {"agreement_id": agreement.pk, "reason": ""})
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACCEPTED

    response = client.post(
        "/cms-admin/consignment/agreements/",
        {"agreement_id": agreement.pk, "reason": "The shop has not answered the consignor for a month."},
        follow=True,
    )
    assert response.status_code == 200
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ENDED
    assert agreement.ended_by == moderator
    listings = Listing.objects.filter(pk__in=batch.items.values("listing_id"))
    assert set(listings.values_list("status", flat=True)) == {ListingStatus.WITHDRAWN}
    assert set(ConsignmentItem.objects.filter(batch=batch).values_list("status", flat=True)) == {ItemStatus.RETURNED}
    shop_note = Notification.objects.get(user=staff, kind="consignment_released")
    assert "has not answered the consignor" in shop_note.body and "书 1" in shop_note.body
    assert Notification.objects.filter(user=consignor, kind="consignment_released").exists()
    # Nothing ties the consignor any more: the deletion page has no blocker from the shop.
    client.force_login(consignor)
    assert "is still selling or holding" not in client.get(_delete_url()).content.decode()
    # The shop can no longer name them on a listing.
    client.force_login(staff)
    response = client.post("/sell/books/", sell_form(shop, consignor.email))
    assert "no accepted consignment agreement" in consignor_error(response)


def test_people_who_are_not_staff_do_not_reach_the_release_screen(client):
    _shop, staff = make_shop()
    client.force_login(staff)
    assert client.get("/cms-admin/consignment/agreements/").status_code in (302, 403)
