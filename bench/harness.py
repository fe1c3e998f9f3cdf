"""Serving the app for a benchmark: a throwaway PostgreSQL database, Django set up on it
with bench.settings (production + plain http on 127.0.0.1), the synthetic listings and
their database search index, collected static files, gunicorn on a free loopback port,
and `wrk`. Everything is removed at the end: gunicorn stopped, the database dropped."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
# Settings that would point the run at shared services; the bench is self-contained
# (database search backend, Celery tasks run in the request after commit, no Stripe).
DETACHED = ("CELERY_BROKER_URL", "ELASTICSEARCH_URL", "SEARCH_BACKEND", "STRIPE_SECRET_KEY", "STRIPE_API_BASE")
# The cache production uses (Redis: rate limits, TOTP, the anonymous page cache), unless
# CACHE_URL is set: database 8, which the test runs (databases 0-6) leave alone. The page
# cache's keys hold the server's port, so runs do not read each other's pages.
BENCH_CACHE_URL = "redis://127.0.0.1:6379/8"


def database_url(server: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--database-url must be a PostgreSQL server URL, not {server!r}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextlib.contextmanager
def throwaway_database(server: str, name: str) -> Iterator[str]:
    """Create database `name` on `server`, yield its URL, drop it afterwards."""
    import psycopg

    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(name)
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(server, name)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"  dropped database {name}", flush=True)


def bench_environment(url: str, static_root: str) -> dict[str, str]:
    """The environment of the bench process and of gunicorn: same settings, same key."""
    environment = {k: v for k, v in os.environ.items() if k not in DETACHED}
    environment.setdefault("CACHE_URL", BENCH_CACHE_URL)
    environment.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        BENCH_STATIC_ROOT=static_root,
        DJANGO_LOG_LEVEL=os.environ.get("DJANGO_LOG_LEVEL", "WARNING"),
        PYTHONPATH=str(ROOT),
    )
    return environment


def setup_django(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    for name in DETACHED:
        os.environ.pop(name, None)
    import django

    django.setup()


def prepare(listings: int) -> list[Any]:
    """Migrate, collect static files, insert the listings, build the database search
    index, ANALYZE. Returns the listings' index documents."""
    from django.core.management import call_command
    from django.db import connection

    from bench.data import load, timed
    from search.backends.database import DatabaseBackend

    timed("migrate", lambda: call_command("migrate", verbosity=0))
    timed("collectstatic", lambda: call_command("collectstatic", interactive=False, verbosity=0))
    documents = timed(f"insert {listings} listings", lambda: load(listings))
    timed("database search index", lambda: DatabaseBackend().rebuild(documents))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return documents


@dataclass(frozen=True)
class PageExtras:
    """What the page benchmark needs besides the listings: a flea-market page, a signed
    erasure certificate and a logged-in person (their session key)."""

    flea_market_path: str
    verify_path: str
    session_key: str


def logged_in_session(user: Any) -> str:
    """The key of a new database session in which `user` is logged in (what the log-in
    page would leave), for a benchmark client's cookie."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key
    return session.session_key


def prepare_page_extras(*, listing_ids: list[int], at_market: int = 24) -> PageExtras:
    """One flea market (the demo's page: stall types, six months of dates) with
    `at_market` of `listing_ids` marked available at its next date, one signed erasure
    certificate (a provider key, a technician with 2FA and a verified credential, a typed-in
    draft signed through the services) and a buyer's session. Takes a second or two."""
    import datetime as dt

    from allauth.mfa.totp.internal.auth import TOTP
    from django.utils import timezone

    from cms.demo import seed_flea_market
    from cms.models import EventIndexPage, HomePage, ListingAtEvent
    from marketplace.models import Membership, Organisation, OrganisationKind, Role, User
    from wipe_cert.models import TechnicianCredential
    from wipe_cert.services import certificate_draft_create, certificate_sign, provider_key_create

    now = timezone.now()
    today = timezone.localdate()
    home = HomePage.objects.get()
    events = EventIndexPage(slug="events", title="社区活动 Community events")
    home.add_child(instance=events)
    events.save_revision().publish()
    organiser = Organisation.objects.create(
        name="Bench organiser", kind=OrganisationKind.EVENT_ORGANISER, uscc="51310000MJ0000001N", verified_at=now
    )
    market = seed_flea_market(events, organiser, today)
    first_date = market.dates.filter(date__gte=today).order_by("date").first()
    staff = User.objects.create_user(email="bench-staff@example.org", password=None, is_staff=True)
    if first_date is not None:
        ListingAtEvent.objects.bulk_create(
            ListingAtEvent(listing_id=pk, market_date=first_date, added_by=staff) for pk in listing_ids[:at_market]
        )

    provider = Organisation.objects.create(
        name="Bench erasure provider",
        kind=OrganisationKind.ERASURE_PROVIDER,
        uscc="91310000MA1K000019",
        verified_at=now,
    )
    technician = User.objects.create_user(email="bench-tech@example.org", password=None, display_name="Tech")
    Membership.objects.create(user=technician, organisation=provider, role=Role.TECHNICIAN)
    TOTP.activate(technician, "XUNHUANBENCHTOTPSECRETKEYABCDEFG")
    TechnicianCredential.objects.create(
        user=technician,
        provider=provider,
        number="QC-BENCH-0001",
        issuer="中国电子工业标准化技术协会",
        valid_from=today - dt.timedelta(days=30),
        valid_to=today + dt.timedelta(days=300),
        verified_at=now,
    )
    provider_key_create(actor=staff, provider_id=provider.pk)
    medium = {
        "type": "NVMe",
        "capacity_bytes": 512_000_000_000,
        "nist_level": "purge",
        "technique": "sanitize",
        "status": "success",
        "result": "erased",
        "tool": {"name": "nvme-cli", "version": "2.4"},
        "tool_recorded": True,
        "verification": {"method": "tool_status", "result": "passed"},
        "started_at": (now - dt.timedelta(minutes=10)).isoformat(),
        "ended_at": now.isoformat(),
    }
    draft = certificate_draft_create(
        technician=technician,
        provider_id=provider.pk,
        device={"type": "laptop", "maker": "Lenovo", "model": "ThinkPad X1 Carbon Gen 9", "serial": "PF2BENCH"},
        media=[medium],
        locks={"activation_lock": "n/a", "frp": "n/a", "mdm": "off", "removable_media_removed": True},
        device_encrypted=True,
    )
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)

    buyer = User.objects.create_user(email="bench-buyer@example.org", password=None, display_name="买家")
    session_key = logged_in_session(buyer)
    return PageExtras(
        flea_market_path=market.url or f"/events/{market.slug}/",
        verify_path=f"/verify/{certificate.pk}/",
        session_key=session_key,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine(when: str = "before the run") -> str:
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load1:.2f} / {load5:.2f} (1 / 5 min) {when}"


class Gunicorn:
    """gunicorn serving config.wsgi with bench.settings on 127.0.0.1:<free port>."""

    def __init__(self, environment: dict[str, str], *, workers: int) -> None:
        self.environment = environment
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        if os.environ.get("BENCH_ACCESS_LOG"):  # every request with its time in µs, in the log
            command += ["--access-logfile", "-", "--access-logformat", '%(t)s %(p)s "%(r)s" %(s)s %(D)sus']
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.environment, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/__bench__/constant", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"gunicorn did not answer within 90 s:\n{self.log_tail()}")
        print(f"  gunicorn: {self.workers} sync workers on {self.base} (log {self.log.name})", flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def fetch(url: str, timeout: float = 60, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    bad_status: int  # responses other than 2xx/3xx
    socket_errors: int


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); it is what measures the pages.")
    return path


def wrk(
    url: str, *, seconds: float, connections: int, threads: int = 1, headers: dict[str, str] | None = None
) -> WrkResult:
    """One wrk run against `url` (with `headers` on every request, e.g. a session cookie);
    p95 comes from wrk's own latency histogram via the Lua `done` hook (wrk --latency
    prints p50/75/90/99 only)."""
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    match = re.search(r"^BENCH (.*)$", output, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    values = dict(item.split("=") for item in match.group(1).split())
    return WrkResult(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        rps=float(values["rps"]),
        p50_ms=int(values["p50_us"]) / 1000,
        p95_ms=int(values["p95_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        bad_status=int(values["status"]),
        socket_errors=sum(int(values[k]) for k in ("connect", "read", "write", "timeout")),
    )
