"""Every kind of evidence reaches the credit record through the domain events the other
apps send after commit: disputes decided either way (and the appraisal they overturn),
revoked erasure certificates, stall no-shows, verified e-mail addresses."""

from __future__ import annotations

import io

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from PIL import Image

from grading.models import Appraisal
from marketplace.credit.models import CreditEvent
from marketplace.models import Membership, Role
from marketplace.services.orders import (
    DisputeOutcome,
    dispute_open,
    dispute_resolve,
    order_handover_confirm,
    order_place,
)
from marketplace.services.payments import payment_authorise
from marketplace.signals import stall_no_show
from tests.factories import UserFactory
from tests.search_support import ALL_GATES, graded_erased_phone
from tests.support.localstripe import card_token
from wipe_cert.models import ErasureCertificate
from wipe_cert.services import certificate_revoke

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


def kinds(user) -> dict[str, str]:
    return dict(CreditEvent.objects.filter(subject=user).values_list("kind", "role"))


def disputed_phone(settings, localstripe_url, kind: str):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    phone = graded_erased_phone(title="华为手机 Mate 40")
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=phone.pk, delivery_method="pickup", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    order_handover_confirm(seller=phone.seller_user, order_id=order.pk, code=order.handshake_code)
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(photo, format="JPEG")
    dispute = dispute_open(
        buyer=buyer,
        order_id=order.pk,
        kind=kind,
        description="电池健康只有 70%，不是 A 级。",
        files=[(io.BytesIO(photo.getvalue()), len(photo.getvalue()), "battery.jpg")],
    )
    return phone, buyer, dispute


def test_an_upheld_not_as_graded_dispute_counts_against_the_seller_and_the_appraiser(
    settings, stripe_settings, localstripe_url
):
    phone, buyer, dispute = disputed_phone(settings, localstripe_url, "not_as_graded")
    appraiser = Appraisal.objects.get(listing=phone, kind="certified").appraiser

    dispute_resolve(
        moderator=UserFactory(is_staff=True), dispute_id=dispute.pk, outcome=DisputeOutcome.REFUND_FULL, note="70 %"
    )

    assert kinds(phone.seller_user)["dispute_upheld"] == "seller"
    assert kinds(appraiser) == {"appraisal_overturned": "appraiser"}
    assert "false_claim" not in kinds(buyer)


def test_a_rejected_dispute_is_a_false_claim_of_the_buyer(settings, stripe_settings, localstripe_url):
    phone, buyer, dispute = disputed_phone(settings, localstripe_url, "not_as_described")

    dispute_resolve(
        moderator=UserFactory(is_staff=True), dispute_id=dispute.pk, outcome=DisputeOutcome.REJECT, note="As shown."
    )

    assert kinds(buyer)["false_claim"] == "buyer"
    assert "dispute_upheld" not in kinds(phone.seller_user)


def test_a_revoked_certificate_counts_against_the_technician_and_the_provider(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    phone = graded_erased_phone(title="小米手机 13")
    certificate = ErasureCertificate.objects.get(listing=phone)

    certificate_revoke(actor=certificate.technician, certificate_id=certificate.pk, reason="wrong device")

    assert kinds(certificate.technician) == {"certificate_revoked": "technician"}
    owner = Membership.objects.get(organisation=certificate.provider, role=Role.OWNER).user
    assert kinds(owner) == {"certificate_revoked": "erasure_provider"}


def test_a_stall_no_show_and_a_verified_address_are_recorded_once():
    vendor = UserFactory()
    for _ in range(2):  # a signal delivered twice records one event
        stall_no_show.send(sender=None, user_id=vendor.pk, event_page_id=1, application_id=42)
    address = EmailAddress.objects.get(user=vendor, email=vendor.email)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    events = list(CreditEvent.objects.filter(subject=vendor).values_list("kind", "role"))
    assert events.count(("stall_no_show", "seller")) == 1
    assert {("verification", "buyer"), ("verification", "seller")} <= set(events)
