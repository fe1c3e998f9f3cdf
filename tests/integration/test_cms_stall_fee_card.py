"""Paying a flea-market stall fee by card through Stripe (the session's localstripe): the
pay button on the market page, the card page, declines, the webhook (each event and each
intent applied once), privacy of applications, and refunds on cancellation."""

from __future__ import annotations

import json
import time

import pytest

from cms.models import FleaMarketPage, StallApplication, StallFeePayment, StallFeePaymentStatus
from cms.services.flea import (
    stall_application_approve,
    stall_application_cancel,
    stall_apply,
    stall_fee_card_pay,
    stall_fee_record_offline,
)
from marketplace.errors import Conflict, NotFound
from marketplace.models import Notification, StripeEvent
from marketplace.payments.stripe_gateway import CardDeclined
from marketplace.services.fee_payments import fee_intent_start
from tests.cms import make_market, organiser_org
from tests.factories import UserFactory
from tests.support.localstripe import (
    CARD_DECLINED_ON_ATTACH,
    CARD_DECLINED_ON_CHARGE,
    CARD_OK,
    card_token,
    charge,
    confirm_at_stripe,
    payment_intent,
    sign,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]

PAY_BUTTON = "Pay the stall fee by card"
WEBHOOK = "/payments/stripe/webhook/"


@pytest.fixture
def market_setup():
    org, organiser = organiser_org()
    market = make_market(org, capacity=2, price=3000)
    return market, organiser, market.dates.get(), market.stall_types.get(name="Standard stall")


@pytest.fixture
def approved(market_setup):
    """An applicant (reading English) with an approved, unpaid ¥30.00 stall."""
    _market, organiser, market_date, stall_type = market_setup
    applicant = UserFactory(preferred_language="en")
    application = stall_apply(user=applicant, market_date_id=market_date.pk, stall_type_id=stall_type.pk)
    return stall_application_approve(organiser=organiser, application_id=application.pk)


def pay_url(application: StallApplication) -> str:
    return f"{application.market_date.market.url}applications/{application.pk}/pay/"


def as_user(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def webhook_event(event_type: str, obj: dict, event_id: str) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()), "data": {"object": obj}}
    ).encode()


def post_webhook(client, payload: bytes):
    return client.post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload))


def paid_notifications(user) -> int:
    return Notification.objects.filter(user=user, subject__startswith="Stall fee paid").count()


@pytest.mark.usefixtures("stripe_settings")
def test_an_approved_applicant_pays_by_card_and_the_organiser_sees_it_paid(
    client, market_setup, approved, localstripe_url, django_assert_max_num_queries
):
    market, organiser, market_date, _ = market_setup
    as_user(client, approved.applicant)

    page = client.get(market.url).content.decode()
    assert PAY_BUTTON in page and pay_url(approved) in page

    with django_assert_max_num_queries(16):  # Wagtail routing included
        form = client.get(pay_url(approved))
    assert form.status_code == 200
    assert "data-stripe-form" in form.content.decode() and "¥30.00" in form.content.decode()
    csp = form.headers["Content-Security-Policy"]
    assert localstripe_url in csp  # Stripe.js may load on this page only
    assert localstripe_url not in client.get(market.url).headers["Content-Security-Policy"]

    response = client.post(pay_url(approved), {"stripe_token": card_token(localstripe_url, CARD_OK)}, follow=True)

    assert "Stall fee paid" in response.content.decode()
    approved.refresh_from_db()
    assert approved.is_paid and approved.payment_method == "card"
    intent = payment_intent(localstripe_url, approved.payment_reference)
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 3000, "cny")
    assert intent["metadata"] == {"purpose": "stall_fee", "reference": str(approved.pk)}
    assert paid_notifications(approved.applicant) == 1
    assert "fee paid by card" in response.content.decode() and PAY_BUTTON not in response.content.decode()

    as_user(client, organiser)
    vendors = client.get(f"/cms-admin/community/markets/dates/{market_date.pk}/vendors/").content.decode()
    assert f"yes (Card: {approved.payment_reference})" in vendors


@pytest.mark.usefixtures("stripe_settings")
def test_a_declined_card_says_so_and_leaves_the_fee_unpaid(client, approved, localstripe_url):
    as_user(client, approved.applicant)

    response = client.post(
        pay_url(approved), {"stripe_token": card_token(localstripe_url, CARD_DECLINED_ON_CHARGE)}, follow=True
    )

    assert "Your card was declined. Nothing was charged" in response.content.decode()
    assert "data-stripe-form" in response.content.decode()  # back on the form, to try another card
    approved.refresh_from_db()
    assert not approved.is_paid and approved.payment_method == "" and approved.payment_reference == ""
    assert paid_notifications(approved.applicant) == 0
    failed = StallFeePayment.objects.get(application=approved)
    assert failed.status == StallFeePaymentStatus.FAILED
    assert payment_intent(localstripe_url, failed.intent_id)["status"] == "requires_payment_method"

    with pytest.raises(CardDeclined):
        stall_fee_card_pay(
            user=approved.applicant,
            application_id=approved.pk,
            token=card_token(localstripe_url, CARD_DECLINED_ON_ATTACH),
        )
    approved.refresh_from_db()
    assert not approved.is_paid

    # Another card works, on a fresh intent.
    paid, intent = stall_fee_card_pay(
        user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url)
    )
    assert paid.is_paid and intent.id != failed.intent_id


@pytest.mark.usefixtures("stripe_settings")
def test_a_replayed_webhook_or_a_second_confirmation_marks_the_fee_paid_once(client, approved, localstripe_url):
    paid, intent = stall_fee_card_pay(
        user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url)
    )
    paid_at = paid.paid_at
    succeeded = payment_intent(localstripe_url, intent.id)

    first = post_webhook(client, webhook_event("payment_intent.succeeded", succeeded, "evt_fee_1"))
    replay = post_webhook(client, webhook_event("payment_intent.succeeded", succeeded, "evt_fee_1"))
    another = post_webhook(client, webhook_event("payment_intent.succeeded", succeeded, "evt_fee_2"))

    assert first.json() == {"received": True, "duplicate": False}
    assert replay.json() == {"received": True, "duplicate": True}
    assert another.json() == {"received": True, "duplicate": False}
    with pytest.raises(Conflict, match="already recorded as paid"):
        stall_fee_card_pay(user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url))

    approved.refresh_from_db()
    assert approved.paid_at == paid_at and approved.payment_reference == intent.id
    assert paid_notifications(approved.applicant) == 1
    assert list(StallFeePayment.objects.values_list("status", flat=True)) == [StallFeePaymentStatus.SUCCEEDED]
    assert charge(localstripe_url, succeeded["latest_charge"]["id"])["amount_refunded"] == 0
    assert StripeEvent.objects.count() == 2


@pytest.mark.usefixtures("stripe_settings")
def test_a_fee_confirmed_in_the_browser_is_recorded_from_the_webhook_alone(client, approved, localstripe_url):
    intent = fee_intent_start(
        purpose="stall_fee", reference=str(approved.pk), amount=approved.fee, currency="CNY", idempotency_key="k1"
    )
    StallFeePayment.objects.create(application=approved, intent_id=intent.id, amount=approved.fee, idempotency_key="k1")
    succeeded = confirm_at_stripe(localstripe_url, intent.id)

    assert post_webhook(client, webhook_event("payment_intent.succeeded", succeeded, "evt_browser")).status_code == 200

    approved.refresh_from_db()
    assert approved.is_paid and approved.payment_method == "card" and approved.payment_reference == intent.id


@pytest.mark.usefixtures("stripe_settings")
def test_a_card_payment_for_a_stall_that_no_longer_needs_it_is_refunded(client, approved, localstripe_url):
    """Paid offline (or cancelled) while the card payment was under way: the card money goes back."""
    intent = fee_intent_start(
        purpose="stall_fee", reference=str(approved.pk), amount=approved.fee, currency="CNY", idempotency_key="k2"
    )
    StallFeePayment.objects.create(application=approved, intent_id=intent.id, amount=approved.fee, idempotency_key="k2")
    organiser = approved.market_date.market.organisation.memberships.get().user
    stall_fee_record_offline(organiser=organiser, application_id=approved.pk, reference="Cash 9")
    succeeded = confirm_at_stripe(localstripe_url, intent.id)

    post_webhook(client, webhook_event("payment_intent.succeeded", succeeded, "evt_late"))

    approved.refresh_from_db()
    assert (approved.payment_method, approved.payment_reference) == ("offline", "Cash 9")
    assert StallFeePayment.objects.get().status == StallFeePaymentStatus.REFUNDED
    assert charge(localstripe_url, succeeded["latest_charge"]["id"])["amount_refunded"] == 3000


def test_without_a_stripe_key_only_offline_payment_is_offered(client, settings, market_setup, approved):
    settings.STRIPE_SECRET_KEY = ""
    market = market_setup[0]
    as_user(client, approved.applicant)

    page = client.get(market.url).content.decode()
    assert PAY_BUTTON not in page and "fee to pay to the organiser" in page
    form = client.get(pay_url(approved))
    assert "data-stripe-form" not in form.content.decode()
    assert "pay the fee to the organiser" in form.content.decode()
    assert "Content-Security-Policy" in form.headers and "stripe" not in form.headers["Content-Security-Policy"]

    response = client.post(pay_url(approved), {"stripe_token": "tok_anything"}, follow=True)
    assert "Card payment is not available here" in response.content.decode()
    approved.refresh_from_db()
    assert not approved.is_paid and not StallFeePayment.objects.exists()


@pytest.mark.usefixtures("stripe_settings")
def test_nobody_else_can_see_or_pay_an_application(client, market_setup, approved, localstripe_url):
    _market, organiser, _date, _type = market_setup
    url = pay_url(approved)

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    for intruder in (UserFactory(), organiser):
        as_user(client, intruder)
        assert client.get(url).status_code == 404
        assert client.post(url, {"stripe_token": card_token(localstripe_url)}).status_code == 404
        assert client.post(f"{url}refresh/").status_code == 404
        with pytest.raises(NotFound):
            stall_fee_card_pay(user=intruder, application_id=approved.pk, token=card_token(localstripe_url))
    approved.refresh_from_db()
    assert not approved.is_paid and not StallFeePayment.objects.exists()


@pytest.mark.usefixtures("stripe_settings")
def test_an_unapproved_application_cannot_be_paid(market_setup, localstripe_url):
    _market, _organiser, market_date, stall_type = market_setup
    applicant = UserFactory()
    pending = stall_apply(user=applicant, market_date_id=market_date.pk, stall_type_id=stall_type.pk)
    with pytest.raises(Conflict, match="approved"):
        stall_fee_card_pay(user=applicant, application_id=pending.pk, token=card_token(localstripe_url))
    assert not StallFeePayment.objects.exists()


@pytest.mark.usefixtures("stripe_settings")
def test_cancelling_before_applications_close_refunds_the_card(client, market_setup, approved, localstripe_url):
    market = market_setup[0]
    _paid, intent = stall_fee_card_pay(
        user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url)
    )
    as_user(client, approved.applicant)

    response = client.post(f"{market.url}applications/{approved.pk}/cancel/", follow=True)

    html = response.content.decode()
    assert "before applications for this date closed, so the ¥30.00 you paid by card is refunded" in html
    assert "¥30.00 refunded to your card" in html
    fee_payment = StallFeePayment.objects.get()
    assert fee_payment.status == StallFeePaymentStatus.REFUNDED and fee_payment.refund_id
    charge_id = payment_intent(localstripe_url, intent.id)["latest_charge"]["id"]
    assert charge(localstripe_url, charge_id)["amount_refunded"] == 3000
    assert Notification.objects.filter(user=approved.applicant, subject__startswith="Stall fee refunded").count() == 1


@pytest.mark.usefixtures("stripe_settings")
def test_cancelling_after_applications_closed_keeps_the_fee_and_says_so(
    client, market_setup, approved, localstripe_url
):
    market = market_setup[0]
    _paid, intent = stall_fee_card_pay(
        user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url)
    )
    FleaMarketPage.objects.filter(pk=market.pk).update(application_deadline_days=30)  # the date is 10 days away
    as_user(client, approved.applicant)

    response = client.post(f"{market.url}applications/{approved.pk}/cancel/", follow=True)

    assert "Applications for this date have closed, so the stall fee is not refunded." in response.content.decode()
    assert StallFeePayment.objects.get().status == StallFeePaymentStatus.SUCCEEDED
    charge_id = payment_intent(localstripe_url, intent.id)["latest_charge"]["id"]
    assert charge(localstripe_url, charge_id)["amount_refunded"] == 0


@pytest.mark.usefixtures("stripe_settings")
def test_the_organiser_cancelling_a_paid_stall_refunds_the_card(market_setup, approved, localstripe_url):
    _market, organiser, _date, _type = market_setup
    FleaMarketPage.objects.filter(pk=_market.pk).update(application_deadline_days=30)
    _paid, intent = stall_fee_card_pay(
        user=approved.applicant, application_id=approved.pk, token=card_token(localstripe_url)
    )

    stall_application_cancel(actor=organiser, application_id=approved.pk, reason="Stall area flooded")

    assert StallFeePayment.objects.get().status == StallFeePaymentStatus.REFUNDED
    charge_id = payment_intent(localstripe_url, intent.id)["latest_charge"]["id"]
    assert charge(localstripe_url, charge_id)["amount_refunded"] == 3000


@pytest.mark.usefixtures("stripe_settings")
def test_the_market_page_runs_the_same_queries_however_many_fees_were_paid_or_refunded(client, localstripe_url):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    org, organiser = organiser_org()
    today = timezone.localdate()
    market = make_market(org, dates=[today + dt.timedelta(days=days) for days in (10, 17, 24)])
    applicant = UserFactory(preferred_language="en")
    stall_type = market.stall_types.get(name="Standard stall")
    as_user(client, applicant)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(market.url).status_code == 200
        return len(context.captured_queries)

    counts = []
    for market_date in market.dates.order_by("date"):
        application = stall_apply(user=applicant, market_date_id=market_date.pk, stall_type_id=stall_type.pk)
        stall_application_approve(organiser=organiser, application_id=application.pk)
        stall_fee_card_pay(user=applicant, application_id=application.pk, token=card_token(localstripe_url))
        if len(counts) == 1:
            stall_application_cancel(actor=applicant, application_id=application.pk)  # refunded
        counts.append(page_queries())
    assert counts[0] == counts[1] == counts[2]


@pytest.mark.usefixtures("stripe_settings")
def test_a_card_with_3d_secure_is_confirmed_in_the_browser_then_paid(client, approved, localstripe_url):
    from tests.support.localstripe import CARD_3D_SECURE, authenticate_3d_secure

    as_user(client, approved.applicant)
    response = client.post(
        pay_url(approved), {"stripe_token": card_token(localstripe_url, CARD_3D_SECURE)}, follow=True
    )
    html = response.content.decode()
    assert "Your bank asks you to confirm the payment." in html and "data-client-secret" in html
    approved.refresh_from_db()
    assert not approved.is_paid

    fee_payment = StallFeePayment.objects.get()
    secret = payment_intent(localstripe_url, fee_payment.intent_id)["client_secret"]
    authenticate_3d_secure(localstripe_url, fee_payment.intent_id, secret)
    client.post(f"{pay_url(approved)}refresh/")

    approved.refresh_from_db()
    assert approved.is_paid and approved.payment_reference == fee_payment.intent_id
