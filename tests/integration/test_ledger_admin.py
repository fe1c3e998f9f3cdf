"""Staff read the money ledger in the Wagtail admin (Orders → Ledger): every entry with its
movement, order, account and party, filtered by order, account and date, a page at a time
with a constant number of queries. Nobody else sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.models import LedgerAccount, LedgerTransaction
from marketplace.services.ledger import Line, ledger_post
from marketplace.services.orders import order_handover_confirm, order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]

URL = "/cms-admin/ledger/"


@pytest.fixture
def admin():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    return client


def cash_sale(title: str, price: int):
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, title=title, category="furniture", price=price)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    return order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)


def payouts(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        ledger_post(
            kind="payout",
            key=f"test-payout-{n}",
            order=None,
            currency="CNY",
            memo=f"transfer {n}",
            lines=[Line(LedgerAccount.SELLER_PAYABLE, 1000 + n), Line(LedgerAccount.PSP_CLEARING, -(1000 + n))],
        )


def test_staff_read_the_entries_of_an_order_and_filter_by_account_and_date(admin):
    chair = cash_sale("榆木椅子", 20_000)
    table = cash_sale("实木餐桌", 55_500)

    page = admin.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#{chair.pk} 榆木椅子" in text and f"#{table.pk} 实木餐桌" in text
    assert "¥555.00" in text and "Cash paid in person" in text

    only_chair = admin.get(URL, {"order": chair.pk}).content.decode()
    assert f"#{chair.pk} 榆木椅子" in only_chair and "实木餐桌" not in only_chair

    # Account names show in the filter's choices and once per row of that account: the
    # rows of the sellers' accounts are gone, the cash rows stay.
    cash = admin.get(URL, {"account": LedgerAccount.OFFLINE_CASH}).content.decode()
    assert "¥200.00" in cash and "¥555.00" in cash
    assert text.count("Owed to the seller") - cash.count("Owed to the seller") >= 2

    # A movement dated last month is outside a range that starts today, and inside one that
    # covers last month.
    LedgerTransaction.objects.filter(order=chair).update(created_at=timezone.now() - dt.timedelta(days=40))
    today = timezone.localdate()
    recent = admin.get(URL, {"created_from": today.isoformat(), "created_to": today.isoformat()})
    assert "实木餐桌" in recent.content.decode() and "榆木椅子" not in recent.content.decode()
    earlier = (today - dt.timedelta(days=45)).isoformat()
    last_month = admin.get(URL, {"created_from": earlier, "created_to": (today - dt.timedelta(days=30)).isoformat()})
    assert "榆木椅子" in last_month.content.decode() and "实木餐桌" not in last_month.content.decode()


def test_a_bad_filter_value_is_an_error_not_a_crash(admin):
    cash_sale("榆木椅子", 20_000)
    page = admin.get(URL, {"order": "abc"})
    assert page.status_code == 200
    assert "Enter a number." in page.content.decode()


def test_the_ledger_pages_run_the_same_queries_with_ten_times_the_entries(admin):
    payouts(6)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(path).status_code == 200
        return len(captured)

    small = queries(URL), queries(URL + "?page=1&account=psp_clearing")
    payouts(114, start=6)  # 240 entries: several pages
    large = queries(URL), queries(URL + "?page=2&account=psp_clearing")
    assert large == small
    assert "transfer 119" in admin.get(URL).content.decode()


def test_only_staff_reach_the_ledger():
    cash_sale("榆木椅子", 20_000)
    citizen = Client()
    citizen.force_login(UserFactory())
    assert citizen.get(URL).status_code in (302, 403)
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
