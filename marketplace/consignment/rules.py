"""The arithmetic of a consignment agreement, without the database: which share the
consignor gets, what the price is after N days on sale, and how a discount is borne.

All amounts are integer minor units (fen); rates are basis points (1/100 %).

How the split works
-------------------
* The consignor's rate comes from the tier that the item's **original asking price**
  falls into (tiers are whole-price, not marginal: with "60 % up to ¥500, 70 % above",
  a ¥800 item pays the consignor 70 % of the sale). Using the intake price means a
  markdown never moves an item into another tier.
* A *discount* is whatever the sale price is below the original asking price, whether it
  came from a scheduled markdown or an accepted offer. Who bears it:

  - ``shared``: the consignor gets their rate of the sale price, so both sides lose in
    proportion to their shares;
  - ``shop``: the consignor gets their rate of the *original* price (never more than the
    sale price itself); the shop's commission absorbs the discount;
  - ``consignor``: the shop keeps its commission on the original price (never more than
    the sale price); the consignor's amount absorbs the discount.

* The resulting consignor amount is expressed as basis points of the sale price (rounded
  up, see `consignor_share_bp`) and snapshotted on the order (``Order.consignor_share_bp``). The ledger takes the
  platform fee off the top first and applies that rate to the rest, so a card sale's
  platform fee is borne by shop and consignor in proportion.

Markdowns
---------
The step with the largest ``after_days`` not above the days on sale applies its discount
to the original price; the result is rounded up to a whole fen and never goes below the
floor (an absolute price, or a percentage of the original price, rounded up), nor above
the original price.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

BASIS_POINTS = 10_000


class Bearer(StrEnum):
    SHOP = "shop"
    CONSIGNOR = "consignor"
    SHARED = "shared"


@dataclass(frozen=True)
class Tier:
    up_to: int | None  # inclusive upper bound of the original price; None: and above
    share_bp: int


@dataclass(frozen=True)
class Step:
    after_days: int
    discount_bp: int


@dataclass(frozen=True)
class Terms:
    tiers: tuple[Tier, ...]
    steps: tuple[Step, ...] = ()
    floor_price: int | None = None
    floor_percent_bp: int | None = None
    bearer: str = Bearer.SHARED
    expiry_days: int = 90


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: tuple[tuple[str, int], ...] = ()


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def check_terms(terms: Terms) -> list[Problem]:
    """Everything wrong with a set of terms (codes; the forms translate them)."""
    problems: list[Problem] = []
    tiers = sorted(terms.tiers, key=lambda t: (t.up_to is None, t.up_to or 0))
    if not tiers:
        problems.append(Problem("tiers", "no_tiers"))
    open_ended = [t for t in tiers if t.up_to is None]
    if tiers and len(open_ended) != 1:
        problems.append(Problem("tiers", "one_open_tier"))
    bounds = [t.up_to for t in tiers if t.up_to is not None]
    if len(set(bounds)) != len(bounds):
        problems.append(Problem("tiers", "duplicate_tier"))
    if any(b <= 0 for b in bounds):
        problems.append(Problem("tiers", "tier_bound_positive"))
    if any(not 0 <= t.share_bp <= BASIS_POINTS for t in tiers):
        problems.append(Problem("tiers", "share_range"))
    days = [s.after_days for s in terms.steps]
    if len(set(days)) != len(days):
        problems.append(Problem("steps", "duplicate_step"))
    if any(d < 1 for d in days):
        problems.append(Problem("steps", "step_days_positive"))
    if any(not 0 < s.discount_bp < BASIS_POINTS for s in terms.steps):
        problems.append(Problem("steps", "discount_range"))
    ordered = sorted(terms.steps, key=lambda s: s.after_days)
    if any(later.discount_bp <= earlier.discount_bp for earlier, later in itertools.pairwise(ordered)):
        problems.append(Problem("steps", "discount_increasing"))
    if terms.floor_price is not None and terms.floor_percent_bp is not None:
        problems.append(Problem("floor", "one_floor"))
    if terms.floor_price is not None and terms.floor_price <= 0:
        problems.append(Problem("floor", "floor_positive"))
    if terms.floor_percent_bp is not None and not 0 < terms.floor_percent_bp <= BASIS_POINTS:
        problems.append(Problem("floor", "floor_percent_range"))
    if terms.expiry_days < 1:
        problems.append(Problem("expiry_days", "expiry_positive"))
    elif ordered and ordered[-1].after_days >= terms.expiry_days:
        problems.append(Problem("steps", "step_after_expiry", (("days", terms.expiry_days),)))
    if terms.bearer not in set(Bearer):
        problems.append(Problem("bearer", "bearer_unknown"))
    return problems


def share_bp_for(terms: Terms, original_price: int) -> int:
    """The consignor's rate for an item of this original asking price."""
    for tier in sorted(terms.tiers, key=lambda t: (t.up_to is None, t.up_to or 0)):
        if tier.up_to is None or original_price <= tier.up_to:
            return tier.share_bp
    return 0


def floor_for(terms: Terms, original_price: int) -> int:
    """The lowest price markdowns may reach (at least one fen, at most the original)."""
    if terms.floor_price is not None:
        floor = terms.floor_price
    elif terms.floor_percent_bp is not None:
        floor = _ceil_div(original_price * terms.floor_percent_bp, BASIS_POINTS)
    else:
        floor = 1
    return max(1, min(floor, original_price))


def scheduled_discount_bp(terms: Terms, days_on_sale: int) -> int:
    """The discount of the latest step reached after `days_on_sale` days (0 before the first)."""
    reached = [s for s in terms.steps if s.after_days <= days_on_sale]
    return max(reached, key=lambda s: s.after_days).discount_bp if reached else 0


def markdown_price(terms: Terms, original_price: int, days_on_sale: int) -> int:
    discount = scheduled_discount_bp(terms, days_on_sale)
    price = _ceil_div(original_price * (BASIS_POINTS - discount), BASIS_POINTS)
    return min(original_price, max(price, floor_for(terms, original_price)))


def consignor_amount(terms: Terms, original_price: int, sale_price: int) -> int:
    """What the consignor gets of a sale at `sale_price` (before the platform fee)."""
    rate = share_bp_for(terms, original_price)
    if sale_price >= original_price or terms.bearer == Bearer.SHARED:
        return sale_price * rate // BASIS_POINTS
    if terms.bearer == Bearer.SHOP:
        return min(sale_price, original_price * rate // BASIS_POINTS)
    shop_commission = original_price - original_price * rate // BASIS_POINTS
    return max(0, sale_price - shop_commission)


def consignor_share_bp(terms: Terms, original_price: int, sale_price: int) -> int:
    """`consignor_amount` as basis points of the sale price, for the order. Rounded up in
    the consignor's favour: the ledger rounds its share down, so for sales up to ¥100 the
    consignor gets the exact amount, and above that at most one fen more per ¥100."""
    if sale_price <= 0:
        return 0
    amount = consignor_amount(terms, original_price, sale_price)
    return min(BASIS_POINTS, _ceil_div(amount * BASIS_POINTS, sale_price))


def days_on_sale(intake_date: dt.date, today: dt.date) -> int:
    return max(0, (today - intake_date).days)


def expiry_due(terms: Terms, days: int) -> bool:
    return days >= terms.expiry_days


def describe_tiers(tiers: Sequence[Tier]) -> list[tuple[int | None, int]]:
    """(upper bound, share) pairs in order, for display."""
    return [(t.up_to, t.share_bp) for t in sorted(tiers, key=lambda t: (t.up_to is None, t.up_to or 0))]
