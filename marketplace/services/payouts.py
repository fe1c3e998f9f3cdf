"""Payouts to sellers: staff record the bank transfer (or cash) that paid a seller their
share of a completed order. The money moves outside the platform; the ledger records it
so that what the platform still owes each seller is always known."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import LedgerAccount, LedgerTransaction, Order, OrderStatus, User
from marketplace.services.ledger import ledger_payout, order_balances
from marketplace.services.order_state import lock_order, notify_parties
from marketplace.templatetags.listing_tags import format_money


def seller_owed(order_id: int) -> int:
    """What the platform still owes the seller for this order, in minor units."""
    return max(-order_balances(order_id).get(LedgerAccount.SELLER_PAYABLE, 0), 0)


def payout_key(order_id: int, reference: str) -> str:
    return f"payout:{order_id}:{reference}"


@transaction.atomic
def seller_payout_record(*, staff: User, order_id: int, amount: int, reference: str) -> LedgerTransaction:
    """Record that the seller of a completed order was paid `amount` (minor units) by the
    transfer `reference`. Never more than is still owed; one reference is recorded once."""
    if not (staff.is_authenticated and staff.is_staff):
        raise PermissionDenied(_("Only platform staff record payouts."))
    order = lock_order(order_id)
    if order is None:
        raise NotFound(_("No such order."))
    if order.status != OrderStatus.COMPLETED:
        raise Conflict(_("Only a completed order is paid out to the seller."), code="order_not_completed")
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed(
            _("Enter the transfer reference."), details={"fields": {"reference": [_("This field is required.")]}}
        )
    if len(reference) > 60:
        raise ValidationFailed(
            _("The reference is too long."), details={"fields": {"reference": [_("At most 60 characters.")]}}
        )
    if LedgerTransaction.objects.filter(key=payout_key(order.pk, reference)).exists():
        raise Conflict(_("A payout with this reference is already recorded for this order."), code="payout_duplicate")
    owed = seller_owed(order.pk)
    if amount <= 0 or amount > owed:
        raise ValidationFailed(
            _("The seller is owed %(owed)s for this order; a payout must be more than zero and at most that.")
            % {"owed": format_money(owed, order.currency)},
            details={"fields": {"amount": [_("At most %(owed)s.") % {"owed": format_money(owed, order.currency)}]}},
        )
    entry = ledger_payout(order=order, amount=amount, reference=reference)
    _tell_seller(order, amount=amount, reference=reference)
    return entry


def _tell_seller(order: Order, *, amount: int, reference: str) -> None:
    notify_parties(
        order,
        kind="order_payout",
        seller=(
            gettext_lazy("Payout sent: %(title)s"),
            gettext_lazy("%(amount)s for order #%(number)s “%(title)s” was paid out to you (reference %(reference)s)."),
        ),
        params={"amount": format_money(amount, order.currency), "reference": reference},
    )
