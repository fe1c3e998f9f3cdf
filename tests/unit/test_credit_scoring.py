"""The credit scoring model: pure, deterministic, hard to game."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.credit.scoring import (
    POLICY,
    Evidence,
    RatingEdge,
    detect_rings,
    improvements,
    score,
    settle_cutoff,
    settled_at,
)

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def completed(i: int, *, days_ago: float = 10, value: int = 5000, rater: str | None = None, stars: int = 5):
    at = NOW - dt.timedelta(days=days_ago)
    return [
        Evidence(f"o{i}", "order_completed", at, positive=1, value_minor=value),
        Evidence(
            f"r{i}",
            "rating",
            at,
            positive=(stars - 1) / 4,
            negative=(5 - stars) / 4,
            value_minor=value,
            counterparty=rater or f"buyer{i}",
            rater_score=700,
        ),
    ]


def fifty_small_orders():
    return [e for i in range(50) for e in completed(i, days_ago=i * 3)]


def test_a_newcomer_starts_from_the_prior():
    result = score([], now=NOW)
    assert result.value == round(1000 * POLICY.prior_positive / (POLICY.prior_positive + POLICY.prior_negative))


def test_one_upheld_dispute_ranks_a_seller_below_an_otherwise_identical_one():
    clean = score(fifty_small_orders(), now=NOW)
    dispute = Evidence("d1", "dispute_upheld", NOW - dt.timedelta(days=20), negative=1, value_minor=5000)
    disputed = score([*fifty_small_orders(), dispute], now=NOW)
    assert disputed.value < clean.value
    assert disputed.top(1)[0].event_id == "d1"  # the breakdown names it first


def test_a_ring_of_five_rating_each_other_does_not_lift_their_tier():
    members = [f"ring{i}" for i in range(5)]
    edges, evidence = [], {m: [] for m in members}
    n = 0
    for week in range(20):
        for rater in members:
            for ratee in members:
                if rater != ratee:
                    at = NOW - dt.timedelta(days=week * 7 + 1)
                    edges.append(RatingEdge(rater, ratee, at))
                    evidence[ratee].append(
                        Evidence(f"e{n}", "rating", at, positive=1, counterparty=rater, rater_score=900)
                    )
                    n += 1
    rings = detect_rings(edges)
    assert rings == [frozenset(members)]
    newcomer = score([], now=NOW).tier
    for member in members:
        naive = score(evidence[member], now=NOW)
        discounted = score(evidence[member], now=NOW, discounted=rings[0] - {member})
        assert naive.tier.minimum > newcomer.minimum  # without detection they would climb
        assert discounted.tier == newcomer


def test_honest_traders_are_not_flagged_as_a_ring():
    rng = random.Random(4)
    edges = [RatingEdge(f"u{rng.randrange(200)}", f"u{rng.randrange(200)}", NOW) for _ in range(2000)]
    edges += [RatingEdge("a", "b", NOW), RatingEdge("b", "a", NOW)]  # one ordinary mutual trade
    assert detect_rings(edges) == []


def test_only_one_rating_per_counterparty_per_window_counts():
    same = [
        Evidence(f"r{i}", "rating", NOW - dt.timedelta(hours=i), positive=1, counterparty="friend") for i in range(30)
    ]
    once = score(same[:1], now=NOW)
    assert score(same, now=NOW).value == once.value


def test_the_breakdown_explains_and_suggests():
    late = Evidence("late", "late_shipment", NOW - dt.timedelta(days=3), negative=1)
    result = score([*completed(1), late], now=NOW)
    assert {c.event_id for c in result.top(3)} >= {"late"}
    assert any("Ship within the deadline" in en for _, en in improvements(result))


EVENT_KINDS = [
    "order_completed",
    "rating",
    "late_shipment",
    "dispute_upheld",
    "verification",
    "cancellation_at_fault",
    "certificate_stood",
    "certificate_revoked",
    "appraisal_stood",
    "appraisal_overturned",
]


@st.composite
def evidence_lists(draw):
    items = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(EVENT_KINDS))
        positive, negative = (draw(st.floats(0, 1)), draw(st.floats(0, 1)))
        items.append(
            Evidence(
                f"e{i}",
                kind,
                NOW - dt.timedelta(days=draw(st.floats(0, 1000))),
                positive=positive,
                negative=negative,
                value_minor=draw(st.integers(0, 10**7)),
                counterparty=draw(st.sampled_from(["a", "b", "c", None])),
                rater_score=draw(st.one_of(st.none(), st.integers(0, 1000))),
            )
        )
    return items


@settings(max_examples=200)
@given(
    evidence_lists(),
    st.sampled_from(EVENT_KINDS),
    st.floats(0.01, 1),
    st.floats(0, 1000),
    st.sampled_from(["a", "z", None]),
)
def test_more_positive_never_lowers_and_more_negative_never_raises(items, kind, amount, days, counterparty):
    base = score(items, now=NOW).value
    at = NOW - dt.timedelta(days=days)
    good = Evidence("new", kind, at, positive=amount, counterparty=counterparty, rater_score=500)
    bad = Evidence("new", kind, at, negative=amount, counterparty=counterparty, rater_score=500)
    assert score([*items, good], now=NOW).value >= base
    assert score([*items, bad], now=NOW).value <= base


@settings(max_examples=200)
@given(evidence_lists(), st.floats(0, 500), st.floats(1, 500), st.booleans())
def test_older_evidence_counts_less(items, days, older_by, positive):
    def with_event(age):
        event = Evidence(
            "x", "dispute_upheld", NOW - dt.timedelta(days=age), positive=float(positive), negative=float(not positive)
        )
        return score([*items, event], now=NOW).value

    base = score(items, now=NOW).value
    assert abs(with_event(days + older_by) - base) <= abs(with_event(days) - base) + 1  # rounding to whole points


@settings(max_examples=200)
@given(evidence_lists(), st.randoms())
def test_the_order_of_events_does_not_matter_and_results_repeat(items, rng):
    shuffled = list(items)
    rng.shuffle(shuffled)
    assert score(items, now=NOW) == score(shuffled, now=NOW)


# --- Technicians, providers and appraisers: work that stood against work that failed ---------


def stood(n: int, *, kind: str = "certificate_stood", first_days_ago: float = 0, spread_days: float = 0):
    """`n` pieces of work that stood, spread evenly over `spread_days` from `first_days_ago`."""
    step = spread_days / n if n else 0
    return [Evidence(f"w{i}", kind, NOW - dt.timedelta(days=first_days_ago + i * step), positive=1) for i in range(n)]


def revoked(days_ago: float = 1, kind: str = "certificate_revoked"):
    return Evidence("bad", kind, NOW - dt.timedelta(days=days_ago), negative=1)


def test_forty_clean_certificates_absorb_one_revocation_and_one_does_not():
    newcomer = score([], now=NOW)
    long_record = score([*stood(40, first_days_ago=30, spread_days=330), revoked()], now=NOW)
    short_record = score([*stood(1, first_days_ago=30), revoked()], now=NOW)
    only_revoked = score([revoked()], now=NOW)

    assert long_record.tier.key not in ("restricted", "watch")
    assert short_record.tier.key == "restricted"
    assert only_revoked.value < short_record.value < long_record.value
    # The same revocation costs the long record far fewer points.
    long_drop = score(stood(40, first_days_ago=30, spread_days=330), now=NOW).value - long_record.value
    short_drop = score(stood(1, first_days_ago=30), now=NOW).value - short_record.value
    assert long_drop * 2 < short_drop
    assert newcomer.value - only_revoked.value > short_drop > long_drop


@settings(max_examples=200)
@given(
    st.integers(0, 150),
    st.integers(1, 150),
    st.floats(0, 365),
    st.floats(0, 730),
    st.sampled_from([("certificate_stood", "certificate_revoked"), ("appraisal_stood", "appraisal_overturned")]),
)
def test_one_failure_costs_a_longer_clean_record_less(fewer, more_by, age, failure_age, kinds):
    good, bad = kinds

    def with_and_without(n):
        clean = stood(n, kind=good, first_days_ago=age)
        return score(clean, now=NOW).value, score([*clean, revoked(failure_age, kind=bad)], now=NOW).value

    short_before, short_after = with_and_without(fewer)
    long_before, long_after = with_and_without(fewer + more_by)
    assert long_after >= short_after
    assert long_before - long_after <= short_before - short_after + 1  # rounding to whole points


@settings(max_examples=200)
@given(st.floats(-1000, 1000), st.floats(0, 100))
def test_work_counts_once_it_has_stood_the_settle_days(offset_days, now_days):
    now = NOW + dt.timedelta(days=now_days)
    counted = now - dt.timedelta(days=POLICY.work_settle_days) + dt.timedelta(days=offset_days)
    assert (counted <= settle_cutoff(now)) == (settled_at(counted) <= now)


def test_hints_name_the_work_of_the_role():
    result = score([revoked()], now=NOW)
    technician = [en for _, en in improvements(result, role="technician")]
    seller = [en for _, en in improvements(result)]
    assert any("erasure certificates that stay valid" in hint for hint in technician)
    assert not any("completed orders" in hint for hint in technician)
    assert any("completed orders" in hint for hint in seller)
