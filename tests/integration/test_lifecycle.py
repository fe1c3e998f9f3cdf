"""The transition table is the only way between states, and every move is recorded."""

from __future__ import annotations

import itertools
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.errors import Conflict
from marketplace.models import ALLOWED_TRANSITIONS, ListingStatus, ListingStatusChange
from marketplace.services.lifecycle import listing_transition
from tests.listings import make_listing

STATUSES = list(ListingStatus.values)


def reachable_from(start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in ALLOWED_TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_every_state_is_reachable_from_draft_and_sold_is_final():
    assert reachable_from(ListingStatus.DRAFT) == set(STATUSES)
    assert ALLOWED_TRANSITIONS[ListingStatus.SOLD] == frozenset()


def test_only_a_ready_listing_is_published():
    assert [s for s in STATUSES if ListingStatus.PUBLISHED in ALLOWED_TRANSITIONS[s]] == [
        ListingStatus.READY,
        ListingStatus.RESERVED,  # an order is cancelled: back on sale
    ]


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(STATUSES), max_size=12))
def test_random_walks_follow_the_table_and_record_each_move(user, targets):
    listing = make_listing(seller=user)
    ListingStatusChange.objects.filter(listing=listing).delete()
    expected_status, accepted = listing.status, 0
    for target in targets:
        allowed = target in ALLOWED_TRANSITIONS[expected_status]
        if allowed:
            listing_transition(listing=listing, to_status=target, actor=user, reason="walk")
            expected_status, accepted = target, accepted + 1
        else:
            with pytest.raises(Conflict):
                listing_transition(listing=listing, to_status=target, actor=user)
        listing.refresh_from_db()
        assert listing.status == expected_status
    history = list(ListingStatusChange.objects.filter(listing=listing).order_by("pk"))
    assert len(history) == accepted
    assert all(row.to_status in ALLOWED_TRANSITIONS[row.from_status] for row in history)
    for before, after in itertools.pairwise(history):
        assert before.to_status == after.from_status
