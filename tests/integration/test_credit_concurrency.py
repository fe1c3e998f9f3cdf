"""Two first recomputes of the same person at once (two orders completing together) must
not both try to create their score row: real threads, each with its own PostgreSQL
connection. Found by bench/load.py, where it was a 500 on the hand-over page."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from marketplace.credit.models import CreditScore
from marketplace.credit.services import credit_recompute
from tests.factories import UserFactory

THREADS = 8

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_simultaneous_first_recomputes_store_one_score_without_errors():
    seller = UserFactory()
    start = threading.Barrier(THREADS)
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def recompute() -> None:
        try:
            start.wait()
            credit_recompute(user_id=seller.pk, role="seller")
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=recompute) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert unexpected == []
    assert CreditScore.objects.filter(user=seller, role="seller").count() == 1
