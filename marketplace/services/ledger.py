"""The money ledger: each movement of an order's money posted as one balanced transaction.

Accounts (marketplace.models.LedgerAccount): money comes in to `psp_clearing` (card,
captured at Stripe) or `offline_cash` (paid in person) against `buyer_funds_held`
(escrow); when the order completes it is released from escrow to `seller_payable`,
`consignor_payable` and `platform_fees`; refunds take it back out of escrow (or, after
release, out of the three shares pro rata); payouts pay the seller from `psp_clearing`;
consignor payouts (recorded by the shop) settle `consignor_payable`.

Postings are idempotent by `key` (e.g. "capture:12"), so a webhook and the request
that caused it can both post the same movement safely. `ledger_reconcile` checks that
every transaction balances and that every order's ledger agrees with its payments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from marketplace.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerKind,
    LedgerTransaction,
    Order,
    OrderStatus,
    Organisation,
    Payment,
    PaymentProvider,
    User,
)

A = LedgerAccount
BASIS_POINTS = 10_000


class LedgerUnbalanced(Exception):
    """A programming error: a transaction whose debits and credits differ."""


@dataclass(frozen=True)
class Line:
    account: str
    amount: int  # debit positive, credit negative
    party_user: User | None = None
    party_organisation: Organisation | None = None


@dataclass(frozen=True)
class Split:
    fee: int
    consignor: int
    seller: int


def split_amount(*, amount: int, fee_bp: int, consignor_bp: int) -> Split:
    """Integer split of `amount`: the fee rounds down, the consignor's share (of what is
    left after the fee) rounds down, the seller gets the rest, so nothing is lost."""
    fee = amount * fee_bp // BASIS_POINTS
    consignor = (amount - fee) * consignor_bp // BASIS_POINTS
    return Split(fee=fee, consignor=consignor, seller=amount - fee - consignor)


@transaction.atomic
def ledger_post(
    *, kind: str, key: str, order: Order | None, currency: str, lines: Sequence[Line], memo: str = ""
) -> LedgerTransaction:
    """Post one balanced transaction; posting the same `key` again returns the first."""
    lines = [line for line in lines if line.amount != 0]
    if sum(line.amount for line in lines) != 0:
        raise LedgerUnbalanced(f"{key}: {[(line.account, line.amount) for line in lines]}")
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            entry_transaction = LedgerTransaction.objects.create(kind=kind, key=key, order=order, memo=memo[:300])
            LedgerEntry.objects.bulk_create(
                LedgerEntry(
                    transaction=entry_transaction,
                    order=order,
                    account=line.account,
                    amount=line.amount,
                    currency=currency,
                    party_user=line.party_user,
                    party_organisation=line.party_organisation,
                )
                for line in lines
            )
    except IntegrityError:
        return LedgerTransaction.objects.get(key=key)
    return entry_transaction


def order_balances(order_id: int) -> dict[str, int]:
    """Balance per account of one order's entries (debit positive)."""
    rows = LedgerEntry.objects.filter(order_id=order_id).values("account").annotate(total=Sum("amount"))
    return {row["account"]: int(row["total"] or 0) for row in rows}


def _seller_line(order: Order, amount: int) -> Line:
    return Line(A.SELLER_PAYABLE, amount, party_user=order.seller_user, party_organisation=order.seller_organisation)


def ledger_buyer_payment(*, order: Order, payment: Payment, amount: int) -> LedgerTransaction:
    """The buyer's money arrived (card captured, or cash handed over): held in escrow."""
    asset = A.OFFLINE_CASH if payment.provider == PaymentProvider.CASH else A.PSP_CLEARING
    return ledger_post(
        kind=LedgerKind.BUYER_PAYMENT,
        key=f"capture:{payment.pk}",
        order=order,
        currency=order.currency,
        lines=[Line(asset, amount), Line(A.BUYER_FUNDS_HELD, -amount, party_user=order.buyer)],
        memo=f"order {order.pk}: buyer payment",
    )


def ledger_release(*, order: Order) -> LedgerTransaction | None:
    """Release everything the order still holds in escrow to the seller, the consignor
    and the platform fee (at the rates fixed when the order was placed)."""
    held = -order_balances(order.pk).get(A.BUYER_FUNDS_HELD, 0)
    if held <= 0:
        return None
    split = split_amount(
        amount=held, fee_bp=order.platform_fee_bp, consignor_bp=order.consignor_share_bp if order.consignor else 0
    )
    return ledger_post(
        kind=LedgerKind.RELEASE,
        key=f"release:{order.pk}",
        order=order,
        currency=order.currency,
        lines=[
            Line(A.BUYER_FUNDS_HELD, held, party_user=order.buyer),
            Line(A.PLATFORM_FEES, -split.fee),
            Line(A.CONSIGNOR_PAYABLE, -split.consignor, party_user=order.consignor),
            _seller_line(order, -split.seller),
        ],
        memo=f"order {order.pk}: released",
    )


def ledger_cash_settlement(*, order: Order) -> LedgerTransaction | None:
    """After a cash hand-over the seller already holds the money: their share is settled
    from the cash; what the cash holds for the consignor or the platform stays owed."""
    seller_owed = -order_balances(order.pk).get(A.SELLER_PAYABLE, 0)
    if seller_owed <= 0:
        return None
    return ledger_post(
        kind=LedgerKind.CASH_SETTLEMENT,
        key=f"cash-settlement:{order.pk}",
        order=order,
        currency=order.currency,
        lines=[_seller_line(order, seller_owed), Line(A.OFFLINE_CASH, -seller_owed)],
        memo=f"order {order.pk}: cash kept by the seller",
    )


def ledger_refund(*, order: Order, refund_key: str, amount: int) -> LedgerTransaction:
    """Money back to the buyer's card: out of escrow while it is held there; once it was
    released, out of the seller's, consignor's and platform's shares pro rata."""
    balances = order_balances(order.pk)
    held = -balances.get(A.BUYER_FUNDS_HELD, 0)
    lines: list[Line] = [Line(A.PSP_CLEARING, -amount)]
    from_escrow = min(held, amount)
    if from_escrow:
        lines.append(Line(A.BUYER_FUNDS_HELD, from_escrow, party_user=order.buyer))
    rest = amount - from_escrow
    if rest:
        release = (
            LedgerEntry.objects.filter(
                order=order,
                transaction__kind=LedgerKind.RELEASE,
                account__in=[A.PLATFORM_FEES, A.CONSIGNOR_PAYABLE, A.SELLER_PAYABLE],
            )
            .values("account")
            .annotate(total=Sum("amount"))
        )
        shares = {row["account"]: -int(row["total"]) for row in release}
        released = sum(shares.values()) or 1
        fee = shares.get(A.PLATFORM_FEES, 0) * rest // released
        consignor = shares.get(A.CONSIGNOR_PAYABLE, 0) * rest // released
        lines += [
            Line(A.PLATFORM_FEES, fee),
            Line(A.CONSIGNOR_PAYABLE, consignor, party_user=order.consignor),
            _seller_line(order, rest - fee - consignor),
        ]
    return ledger_post(
        kind=LedgerKind.REFUND,
        key=refund_key,
        order=order,
        currency=order.currency,
        lines=lines,
        memo=f"order {order.pk}: refund",
    )


def ledger_payout(*, order: Order, amount: int, reference: str) -> LedgerTransaction:
    """The platform paid the seller their share of this order (bank transfer `reference`)."""
    return ledger_post(
        kind=LedgerKind.PAYOUT,
        key=f"payout:{order.pk}:{reference}",
        order=order,
        currency=order.currency,
        lines=[_seller_line(order, amount), Line(A.PSP_CLEARING, -amount)],
        memo=f"order {order.pk}: payout {reference}",
    )


def consignor_balances(*, consignor_id: int | None = None, shop_id: int | None = None) -> dict[tuple[int, int], int]:
    """What each shop owes each consignor, {(shop id, consignor id): amount}: the consignor's
    share released from the shop's consignment sales, less refunds and payouts. One query."""
    entries = LedgerEntry.objects.filter(account=A.CONSIGNOR_PAYABLE, party_user__isnull=False)
    if consignor_id is not None:
        entries = entries.filter(party_user_id=consignor_id)
    shop = Coalesce("order__seller_organisation_id", "party_organisation_id")
    rows = entries.annotate(shop=shop).values("shop", "party_user_id").annotate(total=Sum("amount"))
    if shop_id is not None:
        rows = rows.filter(shop=shop_id)
    return {(row["shop"], row["party_user_id"]): -int(row["total"] or 0) for row in rows if row["shop"] is not None}


def consignor_cash_held(*, consignor: User, shop: Organisation) -> int:
    """Cash from the shop's cash consignment sales that the shop still holds for others."""
    total = (
        LedgerEntry.objects.filter(account=A.OFFLINE_CASH)
        .filter(
            Q(order__consignor=consignor, order__seller_organisation=shop)
            | Q(order__isnull=True, party_user=consignor, party_organisation=shop)
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    return max(0, int(total or 0))


def ledger_consignor_payout(
    *, key: str, consignor: User, shop: Organisation, currency: str, amount: int, memo: str = ""
) -> LedgerTransaction:
    """The shop paid a consignor (cash, bank transfer). The consignor is owed that much
    less; the money came first out of the cash the shop holds from cash consignment sales,
    the rest out of the shop's own funds, which the platform then owes the shop."""
    from_cash = min(amount, consignor_cash_held(consignor=consignor, shop=shop))
    return ledger_post(
        kind=LedgerKind.PAYOUT,
        key=key,
        order=None,
        currency=currency,
        lines=[
            Line(A.CONSIGNOR_PAYABLE, amount, party_user=consignor, party_organisation=shop),
            Line(A.OFFLINE_CASH, -from_cash, party_user=consignor, party_organisation=shop),
            Line(A.SELLER_PAYABLE, -(amount - from_cash), party_organisation=shop),
        ],
        memo=memo,
    )


# --- Reconciliation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    order_id: int | None
    message: str


TERMINAL = frozenset({OrderStatus.COMPLETED, OrderStatus.REFUNDED, OrderStatus.CANCELLED})


def _sum_by(entries: Iterable[LedgerEntry], *, account: str, kind: str | None = None, sign: int = 0) -> int:
    total = 0
    for entry in entries:
        if entry.account != account or (kind is not None and entry.transaction.kind != kind):
            continue
        if (sign > 0 and entry.amount < 0) or (sign < 0 and entry.amount > 0):
            continue
        total += entry.amount
    return total


def _check_order(order: Order, entries: list[LedgerEntry], payments: list[Payment]) -> list[str]:
    problems = []
    card = [p for p in payments if p.provider == PaymentProvider.STRIPE]
    cash = [p for p in payments if p.provider == PaymentProvider.CASH]
    captured = sum(p.amount_captured for p in card)
    refunded = sum(p.amount_refunded for p in card)
    cash_in = sum(p.amount_captured for p in cash)

    card_in = _sum_by(entries, account=A.PSP_CLEARING, kind=LedgerKind.BUYER_PAYMENT)
    if card_in != captured:
        problems.append(f"card money captured {captured} but {card_in} in the ledger")
    card_out = -_sum_by(entries, account=A.PSP_CLEARING, kind=LedgerKind.REFUND)
    if card_out != refunded:
        problems.append(f"refunded {refunded} but {card_out} in the ledger")
    cash_ledger = _sum_by(entries, account=A.OFFLINE_CASH, kind=LedgerKind.BUYER_PAYMENT)
    if cash_ledger != cash_in:
        problems.append(f"cash received {cash_in} but {cash_ledger} in the ledger")

    held = -_sum_by(entries, account=A.BUYER_FUNDS_HELD)
    was_released = any(e.transaction.kind == LedgerKind.RELEASE for e in entries)
    # Escrow holds everything received until the release, and nothing after it.
    expected_held = 0 if was_released or order.status in TERMINAL else captured - refunded + cash_in
    if held != expected_held:
        problems.append(f"escrow holds {held} for a {order.status} order, expected {expected_held}")

    if order.status == OrderStatus.COMPLETED:
        if order.is_card and captured != order.amount:
            problems.append(f"completed but {captured} of {order.amount} captured")
        if not order.is_card and cash_in != order.amount:
            problems.append(f"completed but {cash_in} of {order.amount} received in cash")
        released = -sum(
            e.amount for e in entries if e.transaction.kind == LedgerKind.RELEASE and e.account != A.BUYER_FUNDS_HELD
        )
        expected_fee = split_amount(
            amount=released,
            fee_bp=order.platform_fee_bp,
            consignor_bp=order.consignor_share_bp if order.consignor_id else 0,
        ).fee
        fee = -_sum_by(entries, account=A.PLATFORM_FEES, kind=LedgerKind.RELEASE)
        if fee != expected_fee:
            problems.append(f"platform fee {fee}, expected {expected_fee}")
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and captured - refunded != 0:
        problems.append(f"{captured - refunded} kept from the buyer of a {order.status} order")
    return problems


def ledger_reconcile(order_ids: Sequence[int] | None = None) -> tuple[int, list[Problem]]:
    """Check every ledger transaction balances and every order's ledger matches its
    payments. Returns (orders checked, problems)."""
    problems: list[Problem] = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id", "transaction__order_id", "transaction__key")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
    )
    for row in unbalanced:
        problems.append(
            Problem(row["transaction__order_id"], f"transaction {row['transaction__key']} is off by {row['total']}")
        )
    for key in LedgerTransaction.objects.filter(entries__isnull=True).values_list("key", flat=True):
        problems.append(Problem(None, f"transaction {key} has no entries"))

    orders = Order.objects.all().order_by("pk")
    if order_ids is not None:
        orders = orders.filter(pk__in=order_ids)
    entries_by_order: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in LedgerEntry.objects.filter(order__isnull=False).select_related("transaction").order_by("pk"):
        if entry.transaction.order_id != entry.order_id:
            problems.append(Problem(entry.order_id, f"entry {entry.pk} belongs to another order's transaction"))
        entries_by_order[entry.order_id].append(entry)  # type: ignore[index]
    payments_by_order: dict[int, list[Payment]] = defaultdict(list)
    for payment in Payment.objects.all():
        payments_by_order[payment.order_id].append(payment)
    checked = 0
    for order in orders.iterator():
        checked += 1
        for message in _check_order(order, entries_by_order.get(order.pk, []), payments_by_order.get(order.pk, [])):
            problems.append(Problem(order.pk, message))
    return checked, problems
