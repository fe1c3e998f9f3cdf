from __future__ import annotations

import os

import pytest

from tests.factories import UserFactory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need PostgreSQL skip with a reason on SQLite (the local default)."""
    uses_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    if uses_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client_logged_in(client, user):
    client.force_login(user)
    return client


# The four gates of the marketplace core. Tests about those gates pin this list so that
# gates added by other apps (grading, erasure) do not get in their way.
CORE_GATES = [
    "marketplace.gates.PhotosPresentGate",
    "marketplace.gates.SellerEmailVerifiedGate",
    "marketplace.gates.ProhibitedItemGate",
    "marketplace.gates.StolenGoodsGate",
]


@pytest.fixture
def core_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
