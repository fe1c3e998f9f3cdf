"""However many buyers press "buy" at once, exactly one order results: real threads, each
with its own PostgreSQL connection, racing for one listing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from marketplace.errors import Conflict
from marketplace.models import ListingStatus, Order
from marketplace.services.orders import order_place
from tests.factories import UserFactory
from tests.orders import published_listing

BUYERS = 24

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_many_buyers_at_once_yield_exactly_one_order_and_clean_reserved_errors():
    listing = published_listing(seller=UserFactory())
    buyers = [UserFactory() for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS)
    orders: list[int] = []
    conflicts: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def buy(buyer) -> None:
        try:
            start.wait()
            order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
            with lock:
                orders.append(order.pk)
        except Conflict as exc:
            with lock:
                conflicts.append(exc.code)
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert unexpected == []
    assert len(orders) == 1
    assert conflicts == ["listing_reserved"] * (BUYERS - 1)
    assert Order.objects.count() == 1
    listing.refresh_from_db()
    assert listing.status == ListingStatus.RESERVED
    assert listing.status_history.filter(to_status=ListingStatus.RESERVED).count() == 1
