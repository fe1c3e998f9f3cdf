"""Reads for credit pages, the API, gates and search. Each runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation

from marketplace.credit import scoring
from marketplace.credit.models import (
    CreditAppeal,
    CreditConsent,
    CreditEvent,
    CreditEventKind,
    CreditRole,
    CreditScore,
    CreditScoreHistory,
    Rating,
    TierEffect,
    TierEffectKind,
)
from marketplace.credit.services import (
    EVENT_COLUMNS,
    active_rings,
    organisation_subjects,
    prior_tier_key,
    score_subjects,
    tier_min_orders,
)
from marketplace.models import Order, User


def prior_tier(role: str = CreditRole.SELLER) -> scoring.Tier:
    """A newcomer's tier in `role`: the prior's score, held below the tiers that need
    completed orders. One query."""
    key = prior_tier_key(role, tier_min_orders())
    return next(t for t in scoring.POLICY.tiers if t.key == key)


def _min_orders_of(effects: dict[str, dict[str, TierEffect]]) -> dict[str, int]:
    return {
        tier: int(rows[TierEffectKind.MIN_COMPLETED_ORDERS].limit or 0)
        for tier, rows in effects.items()
        if TierEffectKind.MIN_COMPLETED_ORDERS in rows
    }


def tier_label(key: str) -> str:
    tier = next((t for t in scoring.POLICY.tiers if t.key == key), None)
    if tier is None:
        return key
    return tier.label_zh if translation.get_language() == "zh-hans" else tier.label_en


def tier_labels(keys: Iterable[str]) -> dict[str, str]:
    """Tier key → its name in the current language (search facets; no query)."""
    return {key: tier_label(key) for key in keys}


def tiers_for_users(
    user_ids: Iterable[int], role: str, effects: dict[str, dict[str, TierEffect]] | None = None
) -> dict[int, str]:
    """Tier key per user in `role` (newcomers: the prior's tier). One query, and one more
    for the policy table when a newcomer is among them and the caller did not pass the
    role's `active_effects`."""
    ids = set(user_ids)
    found = dict(CreditScore.objects.filter(user_id__in=ids, role=role).values_list("user_id", "tier"))
    if len(found) == len(ids):
        return found
    if effects is None:
        effects = active_effects(role)
    default = prior_tier_key(role, {role: _min_orders_of(effects)})
    return {user_id: found.get(user_id, default) for user_id in ids}


def seller_tiers_for_users(
    user_ids: Iterable[int], effects: dict[str, dict[str, TierEffect]] | None = None
) -> dict[int, str]:
    """Seller tier key per user id (for search and listing badges)."""
    return tiers_for_users(user_ids, CreditRole.SELLER, effects)


def public_tier(user: User) -> str:
    """The seller tier's name in the current language, as anyone may see it (the flea-market
    organiser's application list reads it through cms.services.flea)."""
    return tier_label(seller_tiers_for_users([user.pk])[user.pk])


def shop_tiers_for_organisations(
    organisation_ids: Iterable[int], effects: dict[str, dict[str, TierEffect]] | None = None
) -> dict[int, str]:
    """The shop's own tier key (role shop) per organisation id, for search and listing
    badges; a shop without an owner has the newcomer's tier. Two queries."""
    ids = set(organisation_ids)
    subjects = organisation_subjects(ids)
    if effects is None and len(subjects) < len(ids):
        effects = active_effects(CreditRole.SHOP)
    tiers = tiers_for_users(subjects.values(), CreditRole.SHOP, effects)
    if len(subjects) == len(ids):
        return {org_id: tiers[subjects[org_id]] for org_id in ids}
    default = prior_tier_key(CreditRole.SHOP, {CreditRole.SHOP: _min_orders_of(effects or {})})
    return {org_id: tiers[subjects[org_id]] if org_id in subjects else default for org_id in ids}


def active_effects(role: str) -> dict[str, dict[str, TierEffect]]:
    """tier → effect → row, for the active policy rows of `role`. One query."""
    effects: dict[str, dict[str, TierEffect]] = {}
    for row in TierEffect.objects.filter(role=role, active=True):
        effects.setdefault(row.tier, {})[row.effect] = row
    return effects


def effect_for(user_id: int, role: str, effect: str) -> TierEffect | None:
    effects = active_effects(role)
    tier = tiers_for_users([user_id], role, effects)[user_id]
    return effects.get(tier, {}).get(effect)


# --- Public profile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRole:
    role: str
    role_label: str
    tier: str
    tier_label: str


@dataclass
class PublicCredit:
    user: User
    roles: list[PublicRole]
    completed_sales: int
    completed_purchases: int
    ratings_received: int
    positive_ratings: int
    badges: list[str] = field(default_factory=list)
    # Visible ratings with a comment, newest first (sealed ones never appear).
    comments: list[Rating] = field(default_factory=list)


PROFILE_COMMENTS = 10


def public_credit(*, user: User) -> PublicCredit:
    """What anyone may see: tiers, counts and badges, never the events themselves."""
    scores = {s.role: s for s in CreditScore.objects.filter(user=user)}
    min_orders = tier_min_orders() if len(scores) < len(CreditRole.values) else {}
    roles = [
        PublicRole(
            role,
            str(CreditRole(role).label),
            scores[role].tier if role in scores else prior_tier_key(role, min_orders),
            "",
        )
        for role in CreditRole.values
        if role in scores or role in (CreditRole.SELLER, CreditRole.BUYER)
    ]
    roles = [PublicRole(r.role, r.role_label, r.tier, tier_label(r.tier)) for r in roles]
    counts = CreditEvent.objects.filter(subject=user, reverses__isnull=True, reversed_by__isnull=True).aggregate(
        sales=Count("pk", filter=Q(kind=CreditEventKind.ORDER_COMPLETED, role__in=["seller", "shop"])),
        purchases=Count("pk", filter=Q(kind=CreditEventKind.ORDER_COMPLETED, role="buyer")),
    )
    ratings = Rating.objects.filter(ratee=user, revealed_at__isnull=False).aggregate(
        n=Count("pk"), positive=Count("pk", filter=Q(stars__gte=4))
    )
    # One badge per role whose top tier the user reached ("top_seller", "top_technician", …).
    badge_rows = set(TierEffect.objects.filter(effect=TierEffectKind.BADGE, active=True).values_list("role", "tier"))
    badges = [f"top_{role.role}" for role in roles if (role.role, role.tier) in badge_rows]
    comments = list(
        Rating.objects.filter(ratee=user, revealed_at__isnull=False)
        .exclude(comment="")
        .order_by("-revealed_at", "-pk")[:PROFILE_COMMENTS]
    )
    return PublicCredit(
        user=user,
        roles=roles,
        completed_sales=counts["sales"],
        completed_purchases=counts["purchases"],
        ratings_received=ratings["n"],
        positive_ratings=ratings["positive"],
        badges=badges,
        comments=comments,
    )


# --- The breakdown ("why is my score 712") -----------------------------------------------------------


@dataclass(frozen=True)
class ContributionRow:
    event: CreditEvent
    impact: float


@dataclass
class Breakdown:
    role: str
    score: int
    tier: scoring.Tier
    next_tier: scoring.Tier | None
    top: list[ContributionRow]
    hints: list[str]
    moderator_events: list[CreditEvent]
    counts: dict[str, int]
    count_rows: list[tuple[str, int]]
    history: list[CreditScoreHistory]
    appeals: list[CreditAppeal]
    roles: list[str]
    effects: list[TierEffect]
    period_start: dt.datetime | None
    # Completed orders that count, and the tier the score alone reaches when too few
    # completed orders hold the subject below it (None otherwise).
    completed_orders: int = 0
    score_tier: scoring.Tier | None = None
    score_tier_orders: int = 0
    next_tier_orders: int = 0


def roles_of(user: User) -> list[str]:
    found = set(CreditEvent.objects.filter(subject=user).values_list("role", flat=True).distinct())
    return [role for role in CreditRole.values if role in found or role in (CreditRole.SELLER, CreditRole.BUYER)]


def credit_breakdown(*, user: User, role: str, now: dt.datetime | None = None, top: int = 6) -> Breakdown:
    now = now or timezone.now()
    events = list(
        CreditEvent.objects.filter(subject=user, role=role)
        .select_related("actor", "reverses")
        .order_by("-occurred_at", "-pk")
    )
    rows = [tuple(getattr(e, "pk" if c == "pk" else c) for c in EVENT_COLUMNS) for e in events]
    min_orders = tier_min_orders()
    result, _n = score_subjects(rows, now=now, rings=active_rings(), min_orders=min_orders).get(
        (user.pk, role), (scoring.score([], now=now, min_orders=min_orders.get(role)), 0)
    )
    by_id = {str(e.pk): e for e in events}
    top_rows = [ContributionRow(by_id[c.event_id], c.impact) for c in result.top(top) if abs(c.impact) >= 0.5]
    english = translation.get_language() != "zh-hans"
    hints = [en if english else zh for zh, en in scoring.improvements(result, role=role)]
    reversed_ids = {e.reverses_id for e in events if e.reverses_id}
    counts = Counter(e.kind for e in events if e.reverses_id is None and e.pk not in reversed_ids)
    tier_effects = list(
        TierEffect.objects.filter(role=role, tier=result.tier.key, active=True).exclude(
            effect=TierEffectKind.MIN_COMPLETED_ORDERS
        )
    )
    return Breakdown(
        role=role,
        score=result.value,
        tier=result.tier,
        next_tier=result.next_tier,
        top=top_rows,
        hints=hints,
        moderator_events=[e for e in events if e.actor_id is not None and e.kind != CreditEventKind.RATING],
        counts=dict(counts),
        count_rows=[(str(CreditEventKind(kind).label), n) for kind, n in sorted(counts.items())],
        history=list(CreditScoreHistory.objects.filter(user=user, role=role).order_by("-computed_at", "-pk")[:20]),
        appeals=list(CreditAppeal.objects.filter(user=user).select_related("event").order_by("-created_at")[:20]),
        roles=roles_of(user),
        effects=tier_effects,
        period_start=min((e.occurred_at for e in events), default=None),
        completed_orders=result.completed_orders,
        score_tier=result.score_tier,
        score_tier_orders=min_orders.get(role, {}).get(result.score_tier.key, 0) if result.score_tier else 0,
        next_tier_orders=result.next_tier_orders,
    )


def consent_of(user: User) -> CreditConsent | None:
    return CreditConsent.objects.filter(user=user).first()


def has_consent(user_id: int) -> bool:
    return CreditConsent.objects.filter(user_id=user_id, withdrawn_at__isnull=True).exists()


# --- Ratings of an order -------------------------------------------------------------------------------


@dataclass
class OrderRatings:
    mine: Rating | None
    theirs: Rating | None  # None while sealed
    theirs_sealed: bool
    can_rate: bool
    window_closes: dt.datetime | None


def order_ratings(*, order: Order, party: str, now: dt.datetime | None = None) -> OrderRatings:
    from marketplace.credit.services import rating_window

    now = now or timezone.now()
    ratings = {r.rater_role: r for r in Rating.objects.filter(order=order)}
    mine = ratings.get(party)
    other = ratings.get("seller" if party == "buyer" else "buyer")
    closes = order.completed_at + rating_window() if order.completed_at else None
    visible = other is not None and other.revealed_at is not None
    return OrderRatings(
        mine=mine,
        theirs=other if visible else None,
        theirs_sealed=other is not None and not visible,
        can_rate=party in ("buyer", "seller") and closes is not None and now <= closes,
        window_closes=closes,
    )


# --- Moderators ----------------------------------------------------------------------------------------


def subjects_search(query: str, limit: int = 50) -> QuerySet[User]:
    users = User.objects.all()
    query = (query or "").strip()
    if query:
        condition = Q(email__icontains=query) | Q(display_name__icontains=query)
        if query.isdigit():
            condition |= Q(pk=int(query))
        users = users.filter(condition)
    else:
        users = users.filter(credit_scores__isnull=False).distinct()
    return users.prefetch_related("credit_scores").order_by("pk")[:limit]


def subject_events(user: User, roles: Sequence[str] | None = None) -> list[CreditEvent]:
    events = CreditEvent.objects.filter(subject=user).select_related("actor", "counterparty", "reverses")
    if roles:
        events = events.filter(role__in=roles)
    return list(events.order_by("-occurred_at", "-pk")[:500])


def reversed_event_ids(events: Sequence[CreditEvent]) -> set[int]:
    ids = [e.pk for e in events]
    return set(CreditEvent.objects.filter(reverses_id__in=ids).values_list("reverses_id", flat=True))


def credit_report_counts(user: User) -> dict[str, Any]:
    events = CreditEvent.objects.filter(subject=user).values_list("pk", "role", "kind", "reverses_id", "occurred_at")
    rows = list(events)
    reversed_ids = {r[3] for r in rows if r[3]}
    counts: dict[str, Counter[str]] = {}
    first = None
    for pk, role, kind, reverses_id, at in rows:
        if reverses_id or pk in reversed_ids:
            continue
        counts.setdefault(role, Counter())[kind] += 1
        first = at if first is None or at < first else first
    return {"counts": {role: dict(c) for role, c in counts.items()}, "first": first}
