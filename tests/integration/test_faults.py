"""What the site does when what it depends on fails.

- PostgreSQL unreachable or the connection dropped mid-request: a clean, translated 503
  page (or the API's error shape), Retry-After, no stack trace, nothing half-written.
- Redis (the Celery broker) down: writes still commit, the request succeeds, and the
  e-mails it would have queued wait in the outbox until the broker is back.
- Stripe (localstripe) down or slow: the order stays waiting for payment, clearly, and
  the reconciliation task completes it once Stripe answers again.
- Elasticsearch down: searches fall back to the database — see
  tests/integration/test_search_fallback.py and, for indexing,
  tests/integration/test_search_indexing.py::test_writes_never_fail_when_queueing_fails_and_drift_repair_catches_up.
"""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
import time_machine
from celery.app.task import Task as CeleryTask
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from grading.models import Appraisal
from grading.services import appraisal_claim
from marketplace.credit.models import CreditEvent, CreditScoreHistory, Rating
from marketplace.credit.services import rating_submit
from marketplace.models import (
    DeferredTask,
    Listing,
    ListingPhoto,
    ListingStatus,
    ListingStatusChange,
    Notification,
    Order,
    OrderStatus,
    OrganisationKind,
    Payment,
    PaymentStatus,
    Role,
    User,
)
from marketplace.payments import stripe_gateway
from marketplace.payments.stripe_gateway import PaymentProviderUnavailable
from marketplace.services.ledger import ledger_reconcile
from marketplace.services.listings import listing_publish
from marketplace.services.offers import offer_make
from marketplace.services.orders import order_handover_confirm, order_place
from marketplace.services.payments import payment_authorise, payments_reconcile
from marketplace.signals import listing_changed
from marketplace.tasks import deferred_tasks_flush_task, send_email_task
from search.models import SearchEntry
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration.test_erasure import fresh_log, import_and_sign, laptop_listing, make_technician
from tests.integration.test_grading import make_appraiser, phone_listing, queue_it
from tests.listings import add_photos, jpeg_bytes, make_listing
from tests.orders import published_listing
from tests.support.localstripe import card_token
from tests.unit.test_grading_rules import GOOD_PHONE
from wipe_cert.models import CertificateStatus, ErasureCertificate, LogEntry
from wipe_cert.services import certificate_import, provider_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    return UserFactory()


@pytest.fixture
def listing(seller):
    return published_listing(seller=seller, price=12_900)


def browser(user: User | None = None) -> Client:
    """A client that gets the error page, as a browser would, instead of the exception;
    it asks for English (the source strings the tests read)."""
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def connection_drops_mid_write(monkeypatch):
    """The listing row is updated, then the connection drops before the status history row
    is written — the middle of the service's transaction."""

    def dropped(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ListingStatusChange.objects, "create", dropped)


def test_a_connection_drop_mid_request_gives_a_clean_503_and_writes_nothing(
    seller, listing, connection_drops_mid_write, english
):
    history = ListingStatusChange.objects.filter(listing=listing).count()
    response = browser(seller).post(reverse("listing_withdraw", args=[listing.pk]))

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Briefly unavailable" in body
    assert "Nothing you sent was half-saved" in body
    assert "Traceback" not in body
    assert "OperationalError" not in body
    assert "server closed the connection" not in body
    # The listing update before the drop was rolled back with the rest.
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert ListingStatusChange.objects.filter(listing=listing).count() == history


def test_the_503_page_is_translated(seller, listing, connection_drops_mid_write):
    client = Client(raise_request_exception=False)  # no language asked for: zh-hans
    client.force_login(seller)
    response = client.post(reverse("listing_withdraw", args=[listing.pk]))
    assert response.status_code == 503
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body and "暂时无法访问" in body


def test_the_api_answers_503_in_its_error_shape(seller, listing, connection_drops_mid_write, english):
    client = browser()
    token_client = browser(seller)
    token = token_client.cookies["sessionid"].value
    response = client.post(f"/api/v1/listings/{listing.pk}/withdraw", headers={"X-Session-Token": token})
    assert response.status_code == 503
    assert response.json() == {
        "code": "service_unavailable",
        "message": "The service is briefly unavailable. Try again in a moment.",
        "details": {},
    }
    assert response["Retry-After"] == "30"
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_a_database_gone_before_the_view_runs_also_gives_503(monkeypatch, seller, english):
    client = browser(seller)

    def refused(self, *args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(SessionStore, "load", refused)
    response = client.get(reverse("profile"))
    assert response.status_code == 503
    assert "Briefly unavailable" in response.content.decode()


def test_other_errors_are_still_500_without_a_stack_trace(monkeypatch, seller, listing):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ListingStatusChange.objects, "create", bug)
    response = browser(seller).post(reverse("listing_withdraw", args=[listing.pk]))
    assert response.status_code == 500
    assert "ZeroDivisionError" not in response.content.decode()


# --- Redis (the broker) ---------------------------------------------------------------------


@pytest.fixture
def broker_down(monkeypatch):
    def refused(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(send_email_task, "apply_async", refused)
    return monkeypatch


def test_with_the_broker_down_writes_commit_and_emails_wait_in_the_outbox(
    seller, listing, broker_down, django_capture_on_commit_callbacks
):
    buyer = UserFactory()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        offer = offer_make(buyer=buyer, listing_id=listing.pk, amount=10_000, delivery_method="pickup",
                           payment_method="cash")  # fmt: skip
    assert offer.pk is not None
    assert Notification.objects.filter(user=seller).exists()  # in-app notice is there at once
    assert mail.outbox == []
    kept = list(DeferredTask.objects.all())
    assert kept
    assert {k.task for k in kept} == {send_email_task.name}
    assert [seller.email] in [k.kwargs["to"] for k in kept]
    assert all("Connection refused" in k.last_error for k in kept)

    # Still down at the next beat: kept, attempt counted.
    assert deferred_tasks_flush_task() == 0
    assert DeferredTask.objects.count() == len(kept)
    assert DeferredTask.objects.order_by("pk").first().attempts == 2

    broker_down.undo()  # Redis is back
    assert deferred_tasks_flush_task() == len(kept)
    assert [seller.email] in [m.to for m in mail.outbox]
    assert not DeferredTask.objects.exists()


def test_signing_up_works_while_the_broker_is_down(client, broker_down, django_capture_on_commit_callbacks):
    cache.clear()
    mail.outbox.clear()
    data = {
        "email": "during.outage@example.org",
        "display_name": "小红",
        "password1": "a-long-Unusual-pass-42",
        "password2": "a-long-Unusual-pass-42",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), data)
    assert response.status_code == 302
    assert User.objects.filter(email="during.outage@example.org").exists()
    assert DeferredTask.objects.count() == 1
    broker_down.undo()
    deferred_tasks_flush_task()
    assert len(mail.outbox) == 1
    assert "during.outage@example.org" in mail.outbox[0].to


# --- Stripe ---------------------------------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def card_order(stripe_settings, immediate_on_commit, listing):
    buyer = UserFactory()
    return buyer, order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")


def test_with_stripe_down_the_order_waits_for_payment_and_the_buyer_can_retry(
    card_order, stripe_settings, localstripe_url, english
):
    buyer, order = card_order
    stripe_settings.STRIPE_API_BASE = closed_port_url()
    with pytest.raises(PaymentProviderUnavailable):
        payment_authorise(buyer=buyer, order_id=order.pk, token="tok_visa")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not Payment.objects.filter(order=order).exclude(status=PaymentStatus.PENDING).exists()

    stripe_settings.STRIPE_API_BASE = localstripe_url  # Stripe is back
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    assert (payment.status, order.status) == (PaymentStatus.AUTHORISED, OrderStatus.PAID)
    assert ledger_reconcile()[1] == []


def test_a_lost_stripe_answer_leaves_a_clear_pending_state_that_reconciliation_completes(
    card_order, stripe_settings, localstripe_url, monkeypatch
):
    """Stripe authorised the card, but its answer never arrived (a timeout)."""
    buyer, order = card_order
    real_confirm = stripe_gateway.intent_confirm

    def confirm_then_time_out(**kwargs):
        real_confirm(**kwargs)
        raise PaymentProviderUnavailable("The payment service did not answer in time.")

    monkeypatch.setattr(stripe_gateway, "intent_confirm", confirm_then_time_out)
    with pytest.raises(PaymentProviderUnavailable):
        payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert payment.status == PaymentStatus.PENDING

    # And Stripe is unreachable when the first reconciliation runs: nothing changes.
    monkeypatch.undo()
    later = timezone.now() + dt.timedelta(minutes=16)
    stripe_settings.STRIPE_API_BASE = closed_port_url()
    with time_machine.travel(later):
        assert payments_reconcile() == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT

    stripe_settings.STRIPE_API_BASE = localstripe_url
    with time_machine.travel(later):
        assert payments_reconcile() == [payment.pk]
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.AUTHORISED
    assert order.status == OrderStatus.PAID
    assert ledger_reconcile()[1] == []


# --- Redis down, over HTTP: every kind of write that queues background work -----------------
# The broker refuses every publish (apply_async raises kombu's OperationalError, as when Redis
# refuses the connection). Each request must answer without a 5xx, commit all of its write,
# and keep its background work in the outbox; once the broker is back the drain (the beat
# task) sends it and it runs. `immediate_on_commit` runs the after-commit work inside the
# request, so an error there would be the request's error.


class Broker:
    """Switches every task's apply_async between refusing and working (recording)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def down(self) -> None:
        def refused(task, *args, **kwargs):
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        self.monkeypatch.setattr(CeleryTask, "apply_async", refused)

    def back_and_drain(self) -> list[str]:
        """Redis is back: the beat's drain runs, each kept task runs (eagerly, here) and
        leaves the outbox. Returns the names of the tasks the drain sent."""
        sent: list[str] = []

        def recording(task, *args, **kwargs):
            sent.append(task.name)
            return REAL_APPLY_ASYNC(task, *args, **kwargs)

        kept = DeferredTask.objects.count()
        self.monkeypatch.setattr(CeleryTask, "apply_async", recording)
        assert deferred_tasks_flush_task() == kept
        assert not DeferredTask.objects.exists(), list(DeferredTask.objects.values("task", "last_error"))
        self.monkeypatch.setattr(CeleryTask, "apply_async", REAL_APPLY_ASYNC)
        return sent


REAL_APPLY_ASYNC = CeleryTask.apply_async


@pytest.fixture
def broker(monkeypatch, immediate_on_commit) -> Broker:
    return Broker(monkeypatch)


def kept_tasks() -> dict[str, list[dict]]:
    kept: dict[str, list[dict]] = {}
    for deferred in DeferredTask.objects.order_by("pk"):
        assert "Connection refused" in deferred.last_error
        kept.setdefault(deferred.task, []).append(deferred.kwargs)
    return kept


def api(client: Client, path: str, data: dict | None = None):
    return client.post(path, data=json.dumps(data or {}), content_type="application/json")


def assert_answered(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def indexed(listing_id: int) -> bool:
    return SearchEntry.objects.filter(listing_id=listing_id).exists()


REINDEX = "search.tasks.listing_reindex_task"
EMAIL = send_email_task.name


def test_publish_with_the_broker_down(broker, core_gates, seller, english):
    listing = make_listing(seller=seller)
    add_photos(listing)
    DeferredTask.objects.all().delete()
    broker.down()

    response = browser(seller).post(f"/api/v1/listings/{listing.pk}/publish")

    assert_answered(response)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert ListingStatusChange.objects.filter(listing=listing, to_status=ListingStatus.PUBLISHED).exists()
    kept = kept_tasks()
    assert {"listing_id": listing.pk} in kept[REINDEX]
    assert {"listing_id": listing.pk} in kept["grading.tasks.price_check_task"]
    assert not indexed(listing.pk)

    assert REINDEX in broker.back_and_drain()
    assert indexed(listing.pk)


def test_withdraw_with_the_broker_down(broker, seller, listing, english):
    broker.back_and_drain()  # whatever publishing queued: the listing is in the index
    assert indexed(listing.pk)
    broker.down()

    response = browser(seller).post(f"/api/v1/listings/{listing.pk}/withdraw")

    assert_answered(response)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.WITHDRAWN
    assert ListingStatusChange.objects.filter(listing=listing, to_status=ListingStatus.WITHDRAWN).exists()
    assert {"listing_id": listing.pk} in kept_tasks()[REINDEX]
    assert indexed(listing.pk)  # still listed until the broker is back

    broker.back_and_drain()
    assert not indexed(listing.pk)


def test_photo_upload_with_the_broker_down(broker, seller, english):
    listing = make_listing(seller=seller)
    broker.down()

    response = browser(seller).post(
        f"/api/v1/listings/{listing.pk}/photos",
        {"file": [SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")]},
    )

    assert_answered(response, 201)
    photo = ListingPhoto.objects.get(listing=listing)
    assert photo.original.name and photo.renditions in ({}, None)
    assert kept_tasks()["marketplace.tasks.listing_photo_renditions_task"] == [{"photo_id": photo.pk}]

    assert "marketplace.tasks.listing_photo_renditions_task" in broker.back_and_drain()
    photo.refresh_from_db()
    assert photo.renditions


def test_placing_an_order_with_the_broker_down(broker, seller, listing, english):
    broker.back_and_drain()
    buyer = UserFactory()
    mail.outbox.clear()
    broker.down()

    response = api(
        browser(buyer), f"/api/v1/listings/{listing.pk}/orders", {"delivery_method": "pickup", "payment_method": "cash"}
    )

    order = Order.objects.get(pk=assert_answered(response, 201)["id"])
    assert order.status == OrderStatus.AWAITING_HANDOVER
    listing.refresh_from_db()
    assert listing.status == ListingStatus.RESERVED
    kept = kept_tasks()
    assert {"listing_id": listing.pk} in kept[REINDEX]
    assert kept[EMAIL] and mail.outbox == []
    assert SearchEntry.objects.get(listing_id=listing.pk).status == ListingStatus.PUBLISHED

    broker.back_and_drain()
    assert SearchEntry.objects.get(listing_id=listing.pk).status == ListingStatus.RESERVED
    assert seller.email in [to for message in mail.outbox for to in message.to]


def test_cancelling_a_card_order_with_the_broker_down_voids_the_payment_once_it_is_back(
    broker, stripe_settings, localstripe_url, listing, english
):
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    payment, _intent = payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    assert payment.status == PaymentStatus.AUTHORISED
    broker.back_and_drain()
    broker.down()

    response = api(browser(buyer), f"/api/v1/orders/{order.pk}/cancel", {"reason": "changed my mind"})

    assert assert_answered(response)["status"] == OrderStatus.CANCELLED
    order.refresh_from_db()
    listing.refresh_from_db()
    assert (order.status, listing.status) == (OrderStatus.CANCELLED, ListingStatus.PUBLISHED)
    kept = kept_tasks()
    assert kept["marketplace.tasks.payment_void_task"] == [{"order_id": order.pk}]
    assert {"listing_id": listing.pk} in kept[REINDEX]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.AUTHORISED  # the hold waits for the broker

    assert "marketplace.tasks.payment_void_task" in broker.back_and_drain()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert indexed(listing.pk)


def test_confirming_a_handover_with_the_broker_down(broker, seller, listing, english):
    buyer = UserFactory()
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    broker.back_and_drain()
    broker.down()

    response = api(browser(seller), f"/api/v1/orders/{order.pk}/handover", {"code": order.handshake_code})

    assert assert_answered(response)["status"] == OrderStatus.COMPLETED
    order.refresh_from_db()
    listing.refresh_from_db()
    assert (order.status, listing.status) == (OrderStatus.COMPLETED, ListingStatus.SOLD)
    assert kept_tasks()["marketplace.credit.tasks.credit_order_completed_task"] == [{"order_id": order.pk}]
    assert not CreditEvent.objects.filter(kind="order_completed", subject=buyer).exists()

    assert "marketplace.credit.tasks.credit_order_completed_task" in broker.back_and_drain()
    assert CreditEvent.objects.filter(kind="order_completed", subject=buyer).exists()
    assert CreditEvent.objects.filter(kind="order_completed", subject=seller).exists()


def test_signing_an_appraisal_with_the_broker_down(broker, settings, english):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    broker.back_and_drain()
    broker.down()

    response = api(browser(appraiser), f"/api/v1/listings/{listing.pk}/appraisals", {"answers": GOOD_PHONE})

    body = assert_answered(response, 201)
    appraisal = Appraisal.objects.get(pk=body["id"])
    assert appraisal.listing_id == listing.pk and appraisal.kind == "certified"
    kept = kept_tasks()
    assert {"listing_id": listing.pk} in kept[REINDEX]
    assert {"listing_id": listing.pk} in kept["grading.tasks.price_check_task"]

    sent = broker.back_and_drain()
    assert {REINDEX, "grading.tasks.price_check_task"} <= set(sent)
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED


@pytest.fixture
def erasure_provider():
    org = OrganisationFactory(kind=OrganisationKind.ERASURE_PROVIDER, verified_at=timezone.now())
    owner = MembershipFactory(organisation=org, role=Role.OWNER).user
    provider_key_create(actor=owner, provider_id=org.pk)
    return org


def test_signing_an_erasure_certificate_with_the_broker_down(broker, settings, erasure_provider, english):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]
    technician = make_technician(erasure_provider)
    listing = laptop_listing()
    draft, _report = certificate_import(
        technician=technician,
        provider_id=erasure_provider.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": "PF2ABCDE"},
        listing_id=listing.pk,
    )
    broker.back_and_drain()
    broker.down()

    response = browser(technician).post(f"/api/v1/erasure-certificates/{draft.pk}/sign")

    assert assert_answered(response)["status"] == CertificateStatus.ACCEPTED
    certificate = ErasureCertificate.objects.get(pk=draft.pk)
    assert certificate.status == CertificateStatus.ACCEPTED and certificate.listing_id == listing.pk
    assert LogEntry.objects.filter(certificate=certificate).exists()
    assert {"listing_id": listing.pk} in kept_tasks()[REINDEX]

    assert REINDEX in broker.back_and_drain()
    assert listing_publish(actor=listing.seller_user, listing_id=listing.pk).status == ListingStatus.PUBLISHED


def test_revoking_an_erasure_certificate_with_the_broker_down(broker, settings, erasure_provider, english):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]
    technician = make_technician(erasure_provider)
    listing = laptop_listing()
    certificate = import_and_sign(erasure_provider, technician, listing, data=fresh_log())
    listing_publish(actor=listing.seller_user, listing_id=listing.pk)
    broker.back_and_drain()
    assert indexed(listing.pk)
    broker.down()

    response = api(
        browser(technician), f"/api/v1/erasure-certificates/{certificate.pk}/revoke", {"reason": "Wrong drive wiped"}
    )

    assert assert_answered(response)["status"] == CertificateStatus.REVOKED
    certificate.refresh_from_db()
    listing.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED
    assert listing.status == ListingStatus.PENDING_ERASURE
    kept = kept_tasks()
    assert {"listing_id": listing.pk} in kept[REINDEX]
    revoked_task = "marketplace.credit.tasks.credit_certificate_revoked_task"
    assert kept[revoked_task] == [
        {"technician_id": technician.pk, "certificate_id": str(certificate.pk), "provider_id": erasure_provider.pk}
    ]
    assert not CreditEvent.objects.filter(subject=technician, kind="certificate_revoked").exists()

    assert revoked_task in broker.back_and_drain()
    assert not indexed(listing.pk)
    assert CreditEvent.objects.filter(subject=technician, kind="certificate_revoked").exists()


def test_rating_with_the_broker_down(broker, seller, listing, english):
    buyer = UserFactory()
    placed = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    order_handover_confirm(seller=seller, order_id=placed.pk, code=placed.handshake_code)
    rating_submit(user=buyer, order_id=placed.pk, stars=5, as_described=5, communication=5, speed=5)
    broker.back_and_drain()
    history = CreditScoreHistory.objects.filter(user=seller).count()
    broker.down()

    # The second rating reveals both: their credit events are recorded, the scores follow.
    response = api(browser(seller), f"/api/v1/orders/{placed.pk}/ratings", {"stars": 4, "communication": 4, "speed": 4})

    assert_answered(response, 201)
    assert Rating.objects.filter(order=placed, revealed_at__isnull=False).count() == 2
    assert CreditEvent.objects.filter(subject=seller, kind="rating").exists()
    assert {"user_id": seller.pk, "role": "seller"} in kept_tasks()["marketplace.credit.tasks.credit_recompute_task"]
    assert CreditScoreHistory.objects.filter(user=seller).count() == history

    assert "marketplace.credit.tasks.credit_recompute_task" in broker.back_and_drain()
    assert CreditScoreHistory.objects.filter(user=seller).count() > history


# --- Domain events: one receiver failing ------------------------------------------------------


def test_a_failing_receiver_is_logged_and_retried_and_the_others_still_run(
    seller, listing, immediate_on_commit, caplog
):
    calls: list[str] = []

    def failing(sender, listing_id, **kwargs):
        calls.append("failing")
        if calls.count("failing") == 1:
            ListingStatusChange.objects.filter(listing_id=listing_id).delete()  # half-done: rolled back
            raise RuntimeError("receiver bug")

    def healthy(sender, listing_id, **kwargs):
        calls.append("healthy")

    history = ListingStatusChange.objects.filter(listing=listing).count()
    listing_changed.connect(failing, dispatch_uid="test.failing")
    listing_changed.connect(healthy, dispatch_uid="test.healthy")
    try:
        responses = listing_changed.send(sender=Listing, listing_id=listing.pk)
    finally:
        listing_changed.disconnect(dispatch_uid="test.failing")
        listing_changed.disconnect(dispatch_uid="test.healthy")

    assert "healthy" in calls
    # The retry task ran it again (eagerly here) while it was still connected.
    assert calls.count("failing") == 2
    assert any(isinstance(result, RuntimeError) for _receiver, result in responses)
    assert "failed; it will be retried" in caplog.text and "receiver bug" in caplog.text
    assert ListingStatusChange.objects.filter(listing=listing).count() == history
