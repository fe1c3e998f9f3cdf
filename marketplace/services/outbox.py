"""Hand background tasks to the broker after commit, without ever failing the write.

`task_enqueue_on_commit(send_email_task, subject=…)` queues the task once the
transaction commits. If the broker cannot be reached (Redis down: kombu raises
OperationalError), the task is written to the DeferredTask outbox instead and the
request carries on; `deferred_tasks_flush` (beat, every few minutes) sends the outbox
again once the broker is back. Tasks must be idempotent or harmless to repeat, and
take plain JSON arguments."""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import current_app
from celery.app.task import Task
from django.db import transaction
from kombu.exceptions import OperationalError

from marketplace.models import DeferredTask

logger = logging.getLogger(__name__)


def task_send(*, name: str, kwargs: dict[str, Any]) -> bool:
    """Send now; on a broker outage keep the task in the outbox. True if sent."""
    try:
        current_app.tasks[name].apply_async(kwargs=kwargs)
    except OperationalError as exc:
        logger.warning("Broker unreachable, task %s kept in the outbox: %s", name, exc)
        DeferredTask.objects.create(task=name, kwargs=kwargs, last_error=str(exc)[:300])
        return False
    return True


def task_enqueue_on_commit(task: Task, **kwargs: Any) -> None:
    transaction.on_commit(functools.partial(task_send, name=task.name, kwargs=kwargs))


def deferred_tasks_flush(*, limit: int = 500) -> int:
    """Send what the outbox holds, oldest first; stop at the first broker failure. A row
    is deleted only once the broker took its task: one that fails stays, its attempt
    counted, for the next run (one that cannot be sent at all, e.g. a task renamed, is
    logged and skipped so it does not hold up the others). Returns how many were sent."""
    sent = 0
    for deferred in DeferredTask.objects.order_by("pk")[:limit]:
        try:
            current_app.tasks[deferred.task].apply_async(kwargs=deferred.kwargs)
        except OperationalError as exc:
            _count_attempt(deferred, exc)
            break
        except Exception as exc:
            logger.exception("Deferred task %s could not be sent; kept in the outbox", deferred)
            _count_attempt(deferred, exc)
            continue
        DeferredTask.objects.filter(pk=deferred.pk).delete()
        sent += 1
    return sent


def _count_attempt(deferred: DeferredTask, exc: Exception) -> None:
    DeferredTask.objects.filter(pk=deferred.pk).update(attempts=deferred.attempts + 1, last_error=str(exc)[:300])
