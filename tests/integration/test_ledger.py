"""The ledger: balanced entries for every money movement, integer splits, and
`manage.py ledger_reconcile`, which exits non-zero when an order does not reconcile."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from marketplace.models import LedgerAccount, LedgerEntry, Payment
from marketplace.services.ledger import LedgerUnbalanced, Line, ledger_payout, ledger_post, split_amount
from marketplace.services.orders import order_confirm_receipt, order_handover_confirm, order_place, order_ship
from marketplace.services.payments import payment_authorise
from tests.factories import UserFactory
from tests.orders import published_listing
from tests.support.localstripe import card_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]


@given(
    amount=st.integers(min_value=1, max_value=10**12),
    fee_bp=st.integers(min_value=0, max_value=10_000),
    consignor_bp=st.integers(min_value=0, max_value=10_000),
)
def test_a_split_never_loses_or_invents_a_fen(amount, fee_bp, consignor_bp):
    split = split_amount(amount=amount, fee_bp=fee_bp, consignor_bp=consignor_bp)
    assert split.fee + split.consignor + split.seller == amount
    assert min(split.fee, split.consignor, split.seller) >= 0


def test_an_unbalanced_transaction_is_refused():
    with pytest.raises(LedgerUnbalanced):
        ledger_post(
            kind="payout",
            key="bad",
            order=None,
            currency="CNY",
            lines=[Line(LedgerAccount.PSP_CLEARING, 100), Line(LedgerAccount.SELLER_PAYABLE, -99)],
        )
    assert not LedgerEntry.objects.exists()


def completed_card_order(localstripe_url):
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, price=10_000)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="ship", payment_method="card")
    payment_authorise(buyer=buyer, order_id=order.pk, token=card_token(localstripe_url))
    order_ship(seller=seller, order_id=order.pk, carrier="SF", tracking_number="SF1")
    return order_confirm_receipt(buyer=buyer, order_id=order.pk)


def completed_cash_order():
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, title="椅子", category="furniture", price=20_000)
    order = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    return order_handover_confirm(seller=seller, order_id=order.pk, code=order.handshake_code)


def test_reconcile_passes_for_card_cash_and_payouts(stripe_settings, localstripe_url, capsys):
    card = completed_card_order(localstripe_url)
    completed_cash_order()
    ledger_payout(order=card, amount=9_500, reference="BANK-2026-001")

    call_command("ledger_reconcile")

    assert "2 order(s) checked; the ledger reconciles." in capsys.readouterr().out


def test_reconcile_exits_non_zero_when_an_entry_was_altered(stripe_settings, localstripe_url, capsys):
    order = completed_card_order(localstripe_url)
    fee = LedgerEntry.objects.get(order=order, account=LedgerAccount.PLATFORM_FEES)
    LedgerEntry.objects.filter(pk=fee.pk).update(amount=fee.amount - 1)

    with pytest.raises(CommandError, match="does not reconcile"):
        call_command("ledger_reconcile")

    errors = capsys.readouterr().err
    assert f"order {order.pk}: transaction release:{order.pk} is off by -1" in errors
    assert "platform fee" in errors


def test_reconcile_exits_non_zero_when_money_captured_is_missing_from_the_ledger(stripe_settings, localstripe_url):
    order = completed_card_order(localstripe_url)
    Payment.objects.filter(order=order).update(amount_captured=9_000)
    with pytest.raises(CommandError):
        call_command("ledger_reconcile", order=[order.pk])


def test_the_command_fails_in_a_shell_with_exit_status_1(stripe_settings, localstripe_url):
    """What CI and cron see: Django turns CommandError into exit status 1."""
    order = completed_card_order(localstripe_url)
    LedgerEntry.objects.filter(order=order, account=LedgerAccount.SELLER_PAYABLE).delete()
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["manage.py", "ledger_reconcile"])
    with pytest.raises(SystemExit) as exit_info:
        utility.execute()
    assert exit_info.value.code == 1
