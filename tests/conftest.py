from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

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


@pytest.fixture(autouse=True)
def _forget_cached_pages():
    """No test sees pages another test cached (marketplace/page_cache.py)."""
    from marketplace import page_cache

    page_cache.forget_all()


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


# --- localstripe ------------------------------------------------------------------------
# A real localstripe process (PyPI) for the session, on 127.0.0.1 and a free port.


@pytest.fixture(scope="session")
def localstripe_url():
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.localstripe_server"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def stripe_settings(settings, localstripe_url):
    """Card payments switched on, against the session's localstripe."""
    from tests.support.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    return settings


@pytest.fixture
def immediate_on_commit(monkeypatch):
    """Run `transaction.on_commit` callbacks at once. Tests run inside a transaction that
    never commits, so without this, signals, e-mails and the payment steps queued after
    commit would never run (browser tests commit for real and do not need it)."""
    from django.db import transaction

    def run_now(func, using=None, robust=False):
        func()

    monkeypatch.setattr(transaction, "on_commit", run_now)


@pytest.fixture(autouse=True)
def _sqlite_log_flush(request):
    """Transactional tests end with a flush. On PostgreSQL that is a TRUNCATE, which the
    transparency log's append-only triggers allow; SQLite flushes with DELETE, which they
    refuse. On SQLite, empty the two log tables with the triggers lifted for that moment."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    import importlib

    from django.db import connection

    if connection.vendor != "sqlite":
        return
    append_only = importlib.import_module("wipe_cert.migrations.0002_append_only_log")
    with connection.schema_editor() as editor:
        append_only.drop_triggers(None, editor)
        for table in append_only.TABLES:
            editor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        append_only.create_triggers(None, editor)


@pytest.fixture
def english(request):
    """Messages in English (the source strings), whatever the catalogues translate: in
    the test's own code, and in the pages the test's `client` asks for."""
    from django.utils import translation

    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
