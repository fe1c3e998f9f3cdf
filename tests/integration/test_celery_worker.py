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
    celery_app.control.purge()  # messages an earlier, interrupted run left for no worker
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


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_broker(url: str | None) -> None:
    """Point the app's producer at `url` (None: back to broker_url), dropping the connection
    pools made for the last. broker_write_url, because the CELERY_BROKER_URL environment
    variable outranks conf.broker_url."""
    celery_app.conf.broker_write_url = url
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broker_refusing_connections_keeps_the_work_which_a_real_worker_does_once_it_is_back(client, settings):
    """Not a patched apply_async: kombu against a port nobody listens on. The sign-up
    commits and answers, its e-mail waits in the outbox; with Redis back, the beat's drain
    sends it and a real worker delivers it."""
    from marketplace.models import DeferredTask, User
    from marketplace.tasks import deferred_tasks_flush_task

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_publish_retry)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_publish_retry = False  # refuse at once instead of retrying for seconds
    use_broker(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        data = {
            "email": "outage@example.org",
            "display_name": "Outage",
            "password1": "a-long-Unusual-pass-42",
            "password2": "a-long-Unusual-pass-42",
        }
        assert client.post(reverse("account_signup"), data).status_code == 302
        assert User.objects.filter(email="outage@example.org").exists()
        kept = list(DeferredTask.objects.values_list("task", "last_error"))
        assert [task for task, _ in kept] == ["marketplace.tasks.send_email_task"]
        assert "refused" in kept[0][1].lower() or "111" in kept[0][1]
        assert not mail.outbox

        use_broker(None)
        celery_app.control.purge()
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            assert deferred_tasks_flush_task() == 1
            deadline = time.monotonic() + 30
            while not mail.outbox and time.monotonic() < deadline:
                time.sleep(0.1)
        assert [m.to for m in mail.outbox] == [["outage@example.org"]]
        assert not DeferredTask.objects.exists()
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_publish_retry = previous
        use_broker(None)
