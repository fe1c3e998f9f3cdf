"""Background work through a real Celery worker and the Redis broker in CELERY_BROKER_URL."""

from __future__ import annotations

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse

from config.celery import app as celery_app

BROKER = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not BROKER, reason="needs a broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0"),
]


@pytest.fixture
def celery_worker():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = BROKER
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = previous


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_signup_mail_is_sent_by_a_real_worker_after_commit(client, celery_worker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    data = {
        "email": "worker@example.org",
        "display_name": "Worker",
        "password1": "a-long-Unusual-pass-42",
        "password2": "a-long-Unusual-pass-42",
    }
    assert client.post(reverse("account_signup"), data).status_code == 302
    deadline = time.monotonic() + 30
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["worker@example.org"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
