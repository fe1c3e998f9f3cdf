"""Credit scores (信用): a Beta-reputation model, pure and deterministic.

Each credit event is positive and/or negative evidence. Its weight is

    kind weight × order-value weight (log scale) × rater weight × time decay × ring discount

and the score is the mean of Beta(prior⁺ + Σ weighted positive, prior⁻ + Σ weighted
negative), scaled to 0–1000 and mapped to a named tier. At most one rating per
counterparty per window counts. Events are sorted before scoring, so their order never
matters; older evidence counts less (exponential decay with a half-life); more positive
evidence never lowers the score and more negative evidence never raises it.

Every score comes with its breakdown: the events that moved it most and what would
improve it. `POLICY` holds the real parameters; the policy page renders them."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

ROLES = ("seller", "buyer", "appraiser", "erasure_provider", "shop", "technician")


@dataclass(frozen=True)
class Tier:
    key: str
    minimum: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Policy:
    half_life_days: float = 365.0
    prior_positive: float = 4.0
    prior_negative: float = 1.0
    kind_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "order_completed": 1.0,
            "rating": 1.0,
            "cancellation_at_fault": 2.0,
            "late_shipment": 1.0,
            "dispute_upheld": 6.0,
            "false_claim": 4.0,
            "appraisal_overturned": 6.0,
            "certificate_revoked": 8.0,
            # Positive evidence for appraisers, technicians and providers: work that still
            # stands `work_settle_days` after it counted. Volume is what lets a long clean
            # record absorb one revocation (see `score`).
            "certificate_stood": 1.0,
            "appraisal_stood": 1.0,
            "stall_no_show": 2.0,
            "moderator_sanction": 8.0,
            "verification": 2.0,
            "adjustment": 1.0,
        }
    )
    # Order value weight: 1 + log10(1 + value in yuan) / value_log_divisor, at most value_weight_cap.
    value_log_divisor: float = 3.0
    value_weight_cap: float = 3.0
    # Rater weight: rater_floor + (1 − rater_floor) × rater score / 1000; unknown raters count as 0.75.
    rater_floor: float = 0.5
    unknown_rater_weight: float = 0.75
    counterparty_window_days: int = 7
    ring_discount: float = 0.0  # weight kept for ratings inside a detected ring
    # An accepted erasure certificate not revoked, or a signed appraisal not overturned,
    # this many days after it counted becomes positive evidence for whoever did the work.
    work_settle_days: int = 30
    tiers: tuple[Tier, ...] = (
        Tier("excellent", 900, "信用极好", "Excellent"),
        Tier("good", 800, "信用良好", "Good"),
        Tier("fair", 650, "信用一般", "Fair"),
        Tier("watch", 500, "需关注", "Watch"),
        Tier("restricted", 0, "受限", "Restricted"),
    )

    def tier_for(self, score: int, *, completed_orders: int = 0, min_orders: Mapping[str, int] | None = None) -> Tier:
        """The best tier the score reaches whose minimum of completed orders (`min_orders`,
        tier key → orders, from the staff-edited policy table) is also met."""
        needed = min_orders or {}
        return next(
            tier
            for tier in self.tiers
            if score >= tier.minimum and (completed_orders >= needed.get(tier.key, 0) or tier is self.tiers[-1])
        )


POLICY = Policy()


@dataclass(frozen=True)
class Evidence:
    """One credit event as the scorer sees it."""

    event_id: str
    kind: str
    at: dt.datetime
    positive: float = 0.0
    negative: float = 0.0
    value_minor: int = 0
    counterparty: str | None = None
    rater_score: int | None = None
    weight: float = 1.0  # moderator adjustments carry their own size


@dataclass(frozen=True)
class Contribution:
    event_id: str
    kind: str
    at: dt.datetime
    weight: float
    impact: float  # points of the final score this event accounts for (signed)
    counted: bool = True


@dataclass(frozen=True)
class Score:
    value: int
    tier: Tier
    alpha: float
    beta: float
    contributions: tuple[Contribution, ...]
    next_tier: Tier | None
    # Completed orders that count (not inside a detected ring), and the tier the score alone
    # would reach when a minimum of completed orders holds the subject below it.
    completed_orders: int = 0
    score_tier: Tier | None = None
    # Completed orders the next tier needs (0: none required).
    next_tier_orders: int = 0

    def top(self, n: int = 5) -> list[Contribution]:
        return sorted((c for c in self.contributions if c.counted), key=lambda c: -abs(c.impact))[:n]


def value_weight(value_minor: int, policy: Policy = POLICY) -> float:
    if value_minor <= 0:
        return 1.0
    return min(policy.value_weight_cap, 1.0 + math.log10(1 + value_minor / 100) / policy.value_log_divisor)


def rater_weight(rater_score: int | None, policy: Policy = POLICY) -> float:
    if rater_score is None:
        return policy.unknown_rater_weight
    return policy.rater_floor + (1 - policy.rater_floor) * max(0, min(1000, rater_score)) / 1000


def settled_at(counted_at: dt.datetime, policy: Policy = POLICY) -> dt.datetime:
    """When a certificate accepted (or an appraisal signed) at `counted_at` has stood long
    enough to count as positive evidence; the evidence is dated then, so a late run of the
    periodic job gives the same score as a timely one."""
    return counted_at + dt.timedelta(days=policy.work_settle_days)


def settle_cutoff(now: dt.datetime, policy: Policy = POLICY) -> dt.datetime:
    """Work that counted at or before this moment has stood long enough."""
    return now - dt.timedelta(days=policy.work_settle_days)


def decay(at: dt.datetime, now: dt.datetime, policy: Policy = POLICY) -> float:
    age_days = max(0.0, (now - at).total_seconds() / 86400)
    return float(0.5 ** (age_days / policy.half_life_days))


def bucket_of(item: Evidence, policy: Policy = POLICY) -> tuple[str, int] | None:
    """Ratings from one counterparty fall into fixed windows (counterparty_window_days);
    within a window only the strongest positive and the strongest negative count."""
    if item.kind != "rating" or item.counterparty is None:
        return None
    days = int(item.at.timestamp() // 86400)
    return item.counterparty, days // policy.counterparty_window_days


RING_DISCOUNTED_KINDS = frozenset({"rating", "order_completed"})


def event_weight(item: Evidence, now: dt.datetime, policy: Policy, discounted: frozenset[str]) -> float:
    weight = policy.kind_weights.get(item.kind, 1.0) * item.weight * decay(item.at, now, policy)
    if item.kind in {"order_completed", "rating", "dispute_upheld", "cancellation_at_fault"}:
        weight *= value_weight(item.value_minor, policy)
    if item.kind == "rating":
        weight *= rater_weight(item.rater_score, policy)
    # Inside a detected ring the members' ratings of each other, and the orders they
    # complete with each other, are discounted: a ring's trades are as suspect as its praise.
    if item.kind in RING_DISCOUNTED_KINDS and item.counterparty is not None and item.counterparty in discounted:
        weight *= policy.ring_discount
    return weight


def _scaled(alpha: float, beta: float) -> float:
    return 1000 * alpha / (alpha + beta)


def completed_orders(evidence: Iterable[Evidence], discounted: frozenset[str] = frozenset()) -> int:
    """Completed orders that count towards a tier's minimum: not those with members of a
    detected rating ring."""
    return sum(
        1
        for item in evidence
        if item.kind == "order_completed" and item.positive > 0 and (item.counterparty not in discounted)
    )


def score(
    evidence: Iterable[Evidence],
    *,
    now: dt.datetime,
    policy: Policy = POLICY,
    discounted: frozenset[str] = frozenset(),
    min_orders: Mapping[str, int] | None = None,
) -> Score:
    """The score of one subject in one role. `discounted` names counterparties whose
    ratings are discounted (members of a detected rating ring); `min_orders` (tier key →
    completed orders) keeps a subject with too few completed orders below a tier their
    score alone would reach."""
    items = sorted(evidence, key=lambda e: (e.at, e.event_id))
    # Per event: (weighted positive, weighted negative) it adds to the Beta parameters.
    added: dict[str, tuple[float, float]] = {}
    weights: dict[str, float] = {}
    best: dict[tuple[str, int], dict[str, tuple[float, str]]] = {}
    for item in items:
        weight = event_weight(item, now, policy, discounted)
        weights[item.event_id] = weight
        positive, negative = weight * max(0.0, item.positive), weight * max(0.0, item.negative)
        bucket = bucket_of(item, policy)
        if bucket is None:
            added[item.event_id] = (positive, negative)
            continue
        slot = best.setdefault(bucket, {"pos": (0.0, ""), "neg": (0.0, "")})
        # Ties go to the earlier event id, so the result never depends on input order.
        if positive > slot["pos"][0]:
            slot["pos"] = (positive, item.event_id)
        if negative > slot["neg"][0]:
            slot["neg"] = (negative, item.event_id)
    for slot in best.values():
        for side, (amount, event_id) in slot.items():
            if event_id:
                pos, neg = added.get(event_id, (0.0, 0.0))
                added[event_id] = (pos + amount, neg) if side == "pos" else (pos, neg + amount)
    alpha = policy.prior_positive + sum(pos for pos, _ in added.values())
    beta = policy.prior_negative + sum(neg for _, neg in added.values())
    final = _scaled(alpha, beta)
    contributions = []
    for item in items:
        if item.event_id not in added:
            contributions.append(
                Contribution(item.event_id, item.kind, item.at, weights[item.event_id], 0.0, counted=False)
            )
            continue
        pos, neg = added[item.event_id]
        contributions.append(
            Contribution(
                item.event_id, item.kind, item.at, weights[item.event_id], final - _scaled(alpha - pos, beta - neg)
            )
        )
    value = round(final)
    orders = completed_orders(items, discounted)
    tier = policy.tier_for(value, completed_orders=orders, min_orders=min_orders)
    by_score = policy.tier_for(value)
    # The tiers are listed best first: the next one up is the one just before this one.
    position = policy.tiers.index(tier)
    next_tier = policy.tiers[position - 1] if position > 0 else None
    return Score(
        value=value,
        tier=tier,
        alpha=alpha,
        beta=beta,
        contributions=tuple(contributions),
        next_tier=next_tier,
        completed_orders=orders,
        score_tier=by_score if by_score != tier else None,
        next_tier_orders=(min_orders or {}).get(next_tier.key, 0) if next_tier else 0,
    )


IMPROVEMENT_HINTS = {
    "cancellation_at_fault": (
        "只接能按时履约的订单，避免取消。",
        "Only accept orders you can fulfil; avoid cancelling.",
    ),
    "late_shipment": ("在发货期限内发货并填写物流单号。", "Ship within the deadline and add the tracking number."),
    "dispute_upheld": (
        "如实描述并按评级标准分级，纠纷会少很多。",
        "Describe and grade items truthfully to avoid disputes.",
    ),
    "false_claim": ("只在确有问题时发起纠纷。", "Open disputes only for real problems."),
    "appraisal_overturned": ("严格按照公开的评级标准鉴定。", "Grade strictly by the published standard."),
    "certificate_revoked": ("按 GB 46864 要求清除数据并完整记录。", "Erase to GB 46864 and record every step."),
    "stall_no_show": ("不能参加摊位时请提前取消。", "Cancel stall bookings you cannot attend in advance."),
    "moderator_sanction": (
        "遵守平台规则；可以对处罚提出申诉。",
        "Follow the platform rules; you can appeal a sanction.",
    ),
}


# What builds a record in each role whose evidence is work rather than orders.
WORK_HINTS = {
    "technician": ("更多经得起时间检验、未被撤销的清除证书", "More erasure certificates that stay valid"),
    "erasure_provider": ("更多经得起时间检验、未被撤销的清除证书", "More erasure certificates that stay valid"),
    "appraiser": ("更多未被推翻的鉴定", "More appraisals that are not overturned"),
}


def improvements(result: Score, policy: Policy = POLICY, *, role: str = "seller") -> list[tuple[str, str]]:
    """Plain-language hints (zh, en) of what would raise the score of `role`."""
    hints: list[tuple[str, str]] = []
    negatives = sorted((c for c in result.contributions if c.counted and c.impact < 0), key=lambda c: c.impact)
    for contribution in negatives:
        hint = IMPROVEMENT_HINTS.get(contribution.kind)
        if hint and hint not in hints:
            hints.append(hint)
    if result.next_tier is not None:
        tier = result.next_tier
        missing = result.next_tier_orders - result.completed_orders
        if missing > 0:
            hints.append(
                (
                    f"“{tier.label_zh}”需要至少 {result.next_tier_orders} 笔已完成的订单（你已完成 "
                    f"{result.completed_orders} 笔），再完成 {missing} 笔即可满足。",
                    f"“{tier.label_en}” needs at least {result.next_tier_orders} completed orders (you have "
                    f"{result.completed_orders}): {missing} more to go.",
                )
            )
        if result.value < tier.minimum:
            zh, en = WORK_HINTS.get(role, ("再完成一些好评订单", "More well-rated completed orders"))
            hints.append(
                (
                    f"{zh}可升至“{tier.label_zh}”（需 {tier.minimum} 分）。",
                    f"{en} lead to “{tier.label_en}” ({tier.minimum} points).",
                )
            )
    return hints


@dataclass(frozen=True)
class RatingEdge:
    rater: str
    ratee: str
    at: dt.datetime


def detect_rings(
    edges: Sequence[RatingEdge], *, min_size: int = 2, max_size: int = 8, inside_share: float = 0.6, min_mutual: int = 2
) -> list[frozenset[str]]:
    """Groups of accounts that rate each other far more than they rate anyone else.

    Mutual pairs (each rated the other at least `min_mutual` times) form a graph; each
    connected group of 2–8 accounts whose ratings mostly (≥ inside_share) stay inside
    the group is flagged."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    given: dict[str, int] = defaultdict(int)
    for edge in edges:
        if edge.rater != edge.ratee:
            counts[(edge.rater, edge.ratee)] += 1
            given[edge.rater] += 1
    neighbours: dict[str, set[str]] = defaultdict(set)
    for (a, b), n in counts.items():
        if n >= min_mutual and counts.get((b, a), 0) >= min_mutual:
            neighbours[a].add(b)
            neighbours[b].add(a)
    rings: list[frozenset[str]] = []
    seen: set[str] = set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        group, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node in group:
                continue
            group.add(node)
            stack.extend(neighbours[node] - group)
        seen |= group
        if not min_size <= len(group) <= max_size:
            continue
        inside = sum(n for (a, b), n in counts.items() if a in group and b in group)
        total = sum(given[member] for member in group)
        if total and inside / total >= inside_share:
            rings.append(frozenset(group))
    return rings
