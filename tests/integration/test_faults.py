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
import socket

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from marketplace.models import (
    DeferredTask,
    ListingStatus,
    ListingStatusChange,
    Notification,
    OrderStatus,
    Payment,
    PaymentStatus,
    User,
)
from marketplace.payments import stripe_gateway
from marketplace.payments.stripe_gateway import PaymentProviderUnavailable
from marketplace.services.ledger import ledger_reconcile
from marketplace.services.offers import offer_make
from marketplace.services.orders import order_place
from marketplace.services.payments import payment_authorise, payments_reconcile
from marketplace.tasks import deferred_tasks_flush_task, send_email_task
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import card_token

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
