"""Mixed load: browsing, searching and buying at the same time against gunicorn
(production settings, PostgreSQL, synthetic listings) on 127.0.0.1 for --duration
seconds; then zero 5xx, `manage.py ledger_reconcile` clean and never two live orders for
one listing, or exit 1.

    .venv/bin/python bench/load.py                            # 60 s, 20 000 listings
    .venv/bin/python bench/load.py --duration 20 --listings 5000
    .venv/bin/python bench/load.py --browsers 6 --searchers 3 --buyers 8 --racers 4 --workers 4

Who does what, each a thread with its own cookies, through the HTML pages a browser uses:
  browsers  — home page, browse pages (filters, pages), listing pages;
  searchers — the search page and GET /api/v1/search with varied words;
  buyers    — logged-in buyers each buying distinct listings: open the listing, Buy with
              cash at pickup, open the order page (and read the hand-over code); one in
              seven cancels instead;
  racers    — logged-in buyers who all press Buy on the same listing at the same moment
              (a barrier), again and again: exactly one may win each race;
  sellers   — two threads acting for the sellers of the bought listings (one seller per
              20 listings, so a seller's first sale re-indexes 20 listings, not
              thousands) enter the buyers' hand-over codes, which completes the cash
              orders and posts their ledger transactions.
Before the load the same requests run one at a time (the idle baseline); the report
gives per action the counts, errors and p95 idle vs under load. Card payments
(localstripe) are not part of this run. Celery runs its tasks in the request after
commit (no broker), so e-mails, search indexing and credit updates are part of the load.

With `--fault db-restart` PostgreSQL is restarted (`pg_ctlcluster … restart -m fast`, as
root on this machine) a third of the way into the load. Requests that meet the restart
must get the clean 503 ("try again in a moment"), never a 500; every kind of request
must succeed again once the database is back; and the end checks stand — nothing
half-done (the ledger reconciles, no listing sold twice). Other databases of the same
cluster see the restart too: do not run it beside a test run.

The database `xunhuan_bench_load_<pid>` is created on --database-url and dropped at the
end. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import percentile, timed  # noqa: E402
from bench.harness import (  # noqa: E402
    DEFAULT_SERVER,
    Gunicorn,
    bench_environment,
    logged_in_session,
    machine,
    prepare,
    setup_django,
    throwaway_database,
)

PASSWORD = "demo-pass-2026"  # noqa: S105 - the demo password, in a throwaway database
SEARCH_WORDS = ["手机", "thinkpad", "红楼梦", "sofa", "苹果 笔记本电脑", "书", "iphone 13", "实木书桌"]
BROWSE_QUERIES = ["", "?page=2", "?category=books", "?category=electronics&city=%E4%B8%8A%E6%B5%B7%E5%B8%82", "?page=5"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')
HANDSHAKE = re.compile(r"data-handshake-code>\s*([^<\s]+)\s*<")
ORDER_URL = re.compile(r"/orders/(\d+)/$")


# --- HTTP ---------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Response:
    status: int  # 0: the connection failed
    body: str
    location: str
    ms: float


class Recorder:
    """action → [(status, ms)], thread-safe; and named outcome counters. While a fault is
    injected (`outage` holds its monotonic start and, once over, its end) a 503 is the
    expected answer and counted as an outcome, not a failure."""

    GRACE_SECONDS = 3.0  # after the restart: workers notice their broken connections

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.outage: list[float] = []
        self.ok_after_outage: Counter[str] = Counter()

    def during_outage(self, started: float) -> bool:
        if not self.outage:
            return False
        end = self.outage[1] if len(self.outage) > 1 else float("inf")
        return started < end + self.GRACE_SECONDS and time.monotonic() >= self.outage[0]

    def add(self, action: str, response: Response, path: str) -> None:
        started = time.monotonic() - response.ms / 1000
        with self.lock:
            self.samples[action].append((response.status, response.ms))
            if len(self.outage) > 1 and started > self.outage[1] + self.GRACE_SECONDS and response.status < 500:
                self.ok_after_outage[action] += 1
            if response.status == 503 and self.during_outage(started):
                self.outcomes["503 while the database restarted"] += 1
            elif response.status >= 500 or response.status == 0:
                what = response.status or f"connection failed: {response.body[:200]}"
                self.failures.append(f"{action} {path} → {what} after {response.ms / 1000:.1f} s")

    def count(self, outcome: str, n: int = 1) -> None:
        with self.lock:
            self.outcomes[outcome] += n


class Browser:
    """One person's browser: own cookies, no automatic redirects, timed requests."""

    def __init__(self, base: str, recorder: Recorder) -> None:
        self.base = base
        self.recorder = recorder
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)

    def request(self, action: str, path: str, data: dict[str, str] | None = None) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Accept-Language": "zh-hans"})  # noqa: S310
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=120) as raw:
                status, text, location = (
                    raw.status,
                    raw.read().decode(errors="replace"),
                    raw.headers.get("Location", ""),
                )
        except urllib.error.HTTPError as exc:
            status, text, location = exc.code, exc.read().decode(errors="replace"), exc.headers.get("Location", "")
        except OSError as exc:
            status, text, location = 0, str(exc), ""
        response = Response(status, text, location, (time.perf_counter() - started) * 1000)
        if action:
            self.recorder.add(action, response, path)
        return response

    def get(self, action: str, path: str) -> Response:
        return self.request(action, path)

    def post(self, action: str, path: str, form: dict[str, str], page: Response) -> Response:
        match = CSRF.search(page.body)
        token = html.unescape(match.group(1)) if match else ""
        return self.request(action, path, {"csrfmiddlewaretoken": token, **form})

    def use_session(self, key: str) -> None:
        """Carry an existing session (sellers: created in the database, not logged in)."""
        host = urllib.parse.urlsplit(self.base).hostname or "127.0.0.1"
        self.cookies.set_cookie(
            http.cookiejar.Cookie(
                0, "sessionid", key, None, False, host, False, False, "/", True, False, None, False, None, None, {}
            )
        )

    def log_in(self, email: str) -> None:
        page = self.get("", "/accounts/login/")
        response = self.post("", "/accounts/login/", {"login": email, "password": PASSWORD}, page)
        if response.status != 302:
            raise SystemExit(f"log-in of {email} answered {response.status}: {response.body[:500]}")


# --- What people do -----------------------------------------------------------------------


@dataclass
class World:
    base: str
    recorder: Recorder
    browse_listings: list[int]
    distinct: Queue[int]
    hot: list[int]
    deadline: float = 0.0
    seller_sessions: dict[int, str] = field(default_factory=dict)  # listing id → its seller's session key
    handovers: Queue[tuple[int, str, int]] = field(default_factory=Queue)  # order id, code, listing id
    race_winners: list[int] = field(default_factory=list)
    think: float = 0.0
    sellers: dict[str, Browser] = field(default_factory=dict)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def seller_of(self, listing_id: int) -> Browser:
        key = self.seller_sessions[listing_id]
        with self.recorder.lock:
            if key not in self.sellers:
                self.sellers[key] = Browser(self.base, self.recorder)
                self.sellers[key].use_session(key)
            return self.sellers[key]


def browse_once(world: World, browser: Browser, rng: random.Random) -> None:
    browser.get("home page", "/")
    browser.get("browse page", "/browse/" + rng.choice(BROWSE_QUERIES))
    browser.get("listing page", f"/listings/{rng.choice(world.browse_listings)}/")


def search_once(world: World, browser: Browser, rng: random.Random) -> None:
    q = urllib.parse.quote(rng.choice(SEARCH_WORDS))
    browser.get("search page", f"/search/?q={q}")
    browser.get("GET /api/v1/search", f"/api/v1/search?q={q}&page={rng.randint(1, 3)}")


def buy_once(world: World, browser: Browser, listing_id: int, *, cancel: bool) -> None:
    """Open the listing, buy it (cash at pickup), open the order; then cancel it or
    leave it to the seller's hand-over."""
    page = browser.get("listing page (buyer)", f"/listings/{listing_id}/")
    order_id = place(world, browser, listing_id, page)
    if order_id is None:
        return
    order = browser.get("order page", f"/orders/{order_id}/")
    if cancel:
        done = browser.post("cancel order", f"/orders/{order_id}/cancel/", {"cancel-reason": "bench"}, order)
        world.recorder.count("orders cancelled by the buyer" if done.status == 302 else "cancel refused")
        return
    code = HANDSHAKE.search(order.body)
    if code is None:
        world.recorder.count("order page without a hand-over code")
        return
    world.handovers.put((order_id, code.group(1), listing_id))


def place(world: World, browser: Browser, listing_id: int, page: Response) -> int | None:
    key = IDEMPOTENCY.search(page.body)
    form = {
        "idempotency_key": key.group(1) if key else uuid.uuid4().hex,
        "delivery_method": "pickup",
        "payment_method": "cash",
    }
    response = browser.post("buy (place order)", f"/listings/{listing_id}/buy/", form, page)
    placed = ORDER_URL.search(response.location) if response.status == 302 else None
    if placed is None:
        world.recorder.count("buy refused (taken, or not allowed)" if response.status == 302 else "buy failed")
        return None
    world.recorder.count("orders placed")
    return int(placed.group(1))


def hand_over(world: World, order_id: int, code: str, listing_id: int) -> None:
    browser = world.seller_of(listing_id)
    page = browser.get("order page (seller)", f"/orders/{order_id}/")
    done = browser.post("hand over (seller)", f"/orders/{order_id}/handover/", {"handover-code": code}, page)
    world.recorder.count("orders completed by hand-over" if done.status == 302 else "hand-over failed")


# --- Threads ------------------------------------------------------------------------------


def loop(world: World, step: Callable[[World, Browser, random.Random], None], browser: Browser, seed: int) -> None:
    rng = random.Random(seed)
    while world.running():
        try:
            step(world, browser, rng)
        except Exception as exc:  # a bug of the bench itself: count it, go on
            world.recorder.count(f"bench client error {type(exc).__name__}")
        if world.think:
            time.sleep(rng.uniform(0, 2 * world.think))


def buyer_step(world: World, browser: Browser, rng: random.Random) -> None:
    try:
        listing_id = world.distinct.get_nowait()
    except Empty:
        time.sleep(0.5)
        return
    buy_once(world, browser, listing_id, cancel=rng.random() < 1 / 7)


def seller_loop(world: World, stop: threading.Event) -> None:
    while not (stop.is_set() and world.handovers.empty()):
        try:
            order_id, code, listing_id = world.handovers.get(timeout=0.2)
        except Empty:
            continue
        hand_over(world, order_id, code, listing_id)


def racer_loop(
    world: World, browser: Browser, picker: threading.Barrier, go: threading.Barrier, target: list[int]
) -> None:
    """All racers open the same listing, wait for each other, and press Buy together."""
    try:
        while True:
            picker.wait(timeout=120)  # its action sets target[0]: the next listing, or 0 to stop
            if target[0] == 0:
                return
            listing_id = target[0]
            page = browser.get("listing page (buyer)", f"/listings/{listing_id}/")
            go.wait(timeout=120)
            order_id = place(world, browser, listing_id, page)
            if order_id is not None:
                with world.recorder.lock:
                    world.race_winners.append(listing_id)
                order = browser.get("order page", f"/orders/{order_id}/")
                code = HANDSHAKE.search(order.body)
                if code:
                    world.handovers.put((order_id, code.group(1), listing_id))
            time.sleep(world.think)
    except threading.BrokenBarrierError:
        return


# --- Setup and report ---------------------------------------------------------------------


def create_people(buyers: int, sold: list[int], per_seller: int = 20) -> tuple[list[str], dict[int, str]]:
    """`buyers` buyers with the demo password and verified addresses (they log in through
    the log-in page); the listings in `sold` handed to sellers of `per_seller` listings
    each, with a session each. Returns the buyers' e-mails and listing id → seller session."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password

    from marketplace.models import Listing, User

    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"buyer{n}@bench.example.org", display_name=f"买家{n}", password=hashed) for n in range(buyers)
    )
    chunks = [sold[i : i + per_seller] for i in range(0, len(sold), per_seller)]
    sellers = User.objects.bulk_create(
        User(email=f"seller{n}@bench.example.org", display_name=f"卖家{n}", password=hashed) for n in range(len(chunks))
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in [*users, *sellers]
    )
    sessions: dict[int, str] = {}
    for seller, chunk in zip(sellers, chunks, strict=True):
        Listing.objects.filter(pk__in=chunk).update(seller_user=seller, created_by=seller, seller_organisation=None)
        sessions.update(dict.fromkeys(chunk, logged_in_session(seller)))
    return [u.email for u in users], sessions


def idle_baseline(world: World, rounds: int, buyer: Browser) -> None:
    """The same requests, one at a time, before the load."""
    rng = random.Random(1)
    for n in range(rounds):
        browse_once(world, buyer, rng)
        search_once(world, buyer, rng)
        buy_once(world, buyer, world.distinct.get_nowait(), cancel=n == rounds - 1)
        while not world.handovers.empty():
            hand_over(world, *world.handovers.get_nowait())


def report(idle: Recorder, load: Recorder, seconds: float) -> None:
    header = f"{'action':<26} {'requests':>8} {'2xx/3xx':>8} {'4xx':>5} {'5xx':>5} {'failed':>6}"
    print(f"\n{header} {'idle p95 ms':>11} {'load p95 ms':>11} {'load ÷ idle':>11}")
    total = 0
    for action, samples in sorted(load.samples.items()):
        statuses = [s for s, _ in samples]
        times = [ms for s, ms in samples if s]
        idle_times = [ms for s, ms in idle.samples.get(action, []) if s]
        idle_p95 = percentile(idle_times, 95) if idle_times else 0.0
        load_p95 = percentile(times, 95) if times else 0.0
        ratio = f"{load_p95 / idle_p95:.1f}x" if idle_p95 else "n/a"
        ok = sum(1 for s in statuses if 200 <= s < 400)
        client = sum(1 for s in statuses if 400 <= s < 500)
        server = sum(1 for s in statuses if s >= 500)
        failed = statuses.count(0)
        total += len(samples)
        print(
            f"{action:<26} {len(samples):>8} {ok:>8} {client:>5} {server:>5} {failed:>6} "
            f"{idle_p95:>11.0f} {load_p95:>11.0f} {ratio:>11}"
        )
    print(f"{'all':<26} {total:>8}   ({total / seconds:.1f} requests/s over {seconds:.0f} s)")
    print()
    for outcome, n in sorted(load.outcomes.items()):
        print(f"  {outcome}: {n}")


def restart_database(recorder: Recorder, after: float) -> None:
    """Restart the PostgreSQL cluster (fast shutdown: open transactions are rolled back)."""
    time.sleep(after)
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    with recorder.lock:
        recorder.outage.append(time.monotonic())
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "--", "-m", "fast"],
        check=True,
        capture_output=True,
    )
    with recorder.lock:
        recorder.outage.append(time.monotonic())
    print(f"  fault: PostgreSQL restarted in {recorder.outage[1] - recorder.outage[0]:.1f} s", flush=True)


def live_orders_per_listing() -> dict[int, int]:
    """Listings with more than one order that is not cancelled (must be none)."""
    from django.db.models import Count

    from marketplace.models import Order, OrderStatus

    rows = (
        Order.objects.exclude(status=OrderStatus.CANCELLED)
        .values("listing_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("listing_id", "n")
    )
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument("--browsers", type=int, default=4)
    parser.add_argument("--searchers", type=int, default=2)
    parser.add_argument("--buyers", type=int, default=6, help="buyers of distinct listings")
    parser.add_argument("--racers", type=int, default=3, help="buyers racing for the same listing (0: no races)")
    parser.add_argument("--think", type=float, default=0.1, help="mean pause between a person's steps, seconds")
    parser.add_argument("--idle-rounds", type=int, default=8, help="rounds of the idle baseline")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server for the throwaway database")
    parser.add_argument(
        "--fault",
        choices=["db-restart"],
        help="db-restart: restart PostgreSQL a third of the way in (503s allowed meanwhile, never 500)",
    )
    args = parser.parse_args()
    if args.buyers + args.racers + 1 > 25:
        parser.error("at most 24 buyers and racers: log-ins are rate-limited to 30 a minute per address")

    people = args.browsers + args.searchers + args.buyers + args.racers + 2
    print(
        f"Mixed load: {args.listings} listings, PostgreSQL, gunicorn {args.workers} workers, {people} people, ", end=""
    )
    print(f"{args.duration:g} s (browsers {args.browsers}, searchers {args.searchers}, buyers {args.buyers}, ", end="")
    print(f"racers {args.racers}, seller threads 2)")
    print(f"  machine: {machine()}", flush=True)
    name = f"xunhuan_bench_load_{os.getpid()}"
    failures: list[str] = []
    with throwaway_database(args.database_url, name) as url, tempfile.TemporaryDirectory() as static_root:
        environment = bench_environment(url, static_root)
        setup_django(environment)
        documents = prepare(args.listings)
        rng = random.Random(2026)
        own = [d.listing_id for d in documents if d.seller_type == "user"]
        rng.shuffle(own)
        hot, rest = own[:400], own[400:]
        to_buy, browse_listings = rest[:4000], rest[4000:] or rest
        distinct: Queue[int] = Queue()
        for listing_id in to_buy:
            distinct.put(listing_id)
        emails, seller_sessions = timed(
            "buyers and sellers", lambda: create_people(1 + args.buyers + args.racers, [*hot, *to_buy])
        )
        from django.db import connection

        connection.close()

        with Gunicorn(environment, workers=args.workers) as server:
            idle = Recorder()
            idle_world = World(server.base, idle, browse_listings, distinct, hot, seller_sessions=seller_sessions)
            idle_buyer = Browser(server.base, idle)
            idle_buyer.log_in(emails[0])
            timed(
                f"idle baseline ({args.idle_rounds} rounds, one request at a time)",
                lambda: idle_baseline(idle_world, args.idle_rounds, idle_buyer),
            )

            recorder = Recorder()
            world = World(
                server.base, recorder, browse_listings, distinct, hot, seller_sessions=seller_sessions, think=args.think
            )
            buyers = []
            for email in emails[1:]:
                browser = Browser(server.base, recorder)
                browser.log_in(email)
                buyers.append(browser)

            hot_listings = iter(hot)
            target = [0]
            stop = threading.Event()

            def next_race() -> None:
                target[0] = next(hot_listings, 0) if world.running() else 0
                if target[0]:
                    recorder.count("races")

            threads: list[threading.Thread] = []
            seeds = itertools.count(10)
            steps: list[tuple[Callable[[World, Browser, random.Random], None], Browser]] = [
                *((browse_once, Browser(server.base, recorder)) for _ in range(args.browsers)),
                *((search_once, Browser(server.base, recorder)) for _ in range(args.searchers)),
                *((buyer_step, browser) for browser in buyers[: args.buyers]),
            ]
            for step, browser in steps:
                threads.append(threading.Thread(target=loop, args=(world, step, browser, next(seeds))))
            if args.racers:
                picker = threading.Barrier(args.racers, action=next_race)
                go = threading.Barrier(args.racers)
                for browser in buyers[args.buyers :]:
                    threads.append(threading.Thread(target=racer_loop, args=(world, browser, picker, go, target)))
            sellers_threads = [threading.Thread(target=seller_loop, args=(world, stop)) for _ in range(2)]
            if args.fault == "db-restart":
                threads.append(threading.Thread(target=restart_database, args=(recorder, args.duration / 3)))

            print(f"  load: {len(threads) + len(sellers_threads)} threads for {args.duration:g} s", flush=True)
            world.deadline = time.monotonic() + args.duration
            load_started = time.perf_counter()
            for thread in [*threads, *sellers_threads]:
                thread.daemon = True
                thread.start()
            for thread in threads:
                thread.join(timeout=args.duration + 180)
            stop.set()
            for thread in sellers_threads:
                thread.join(timeout=180)
            seconds = time.perf_counter() - load_started
            log_tail = server.log_tail(60)

        report(idle, recorder, seconds)
        winners = Counter(world.race_winners)
        races = recorder.outcomes["races"]
        print(f"  races with one winner: {len(winners)} of {races}; races with two or more winners: ", end="")
        print(sum(1 for n in winners.values() if n > 1))

        failures += idle.failures + recorder.failures
        if args.fault:
            print(f"  fault: {args.fault}, database away {recorder.outage[1] - recorder.outage[0]:.1f} s; ", end="")
            print(f"requests answered after it: {dict(sorted(recorder.ok_after_outage.items()))}")
            for action in ("home page", "search page", "listing page (buyer)", "buy (place order)"):
                if not recorder.ok_after_outage[action]:
                    failures.append(f"{action}: no success after the database came back")
        if sum(1 for n in winners.values() if n > 1):
            failures.append("a race had more than one winner")
        doubled = live_orders_per_listing()
        if doubled:
            failures.append(f"listings with more than one live order: {doubled}")
        if not recorder.outcomes["orders placed"]:
            failures.append("no order was placed under load")
        print("\nmanage.py ledger_reconcile:", flush=True)
        reconcile = subprocess.run(
            [sys.executable, "manage.py", "ledger_reconcile"], cwd=ROOT, env=environment, capture_output=True, text=True
        )
        print("  " + (reconcile.stdout + reconcile.stderr).strip().replace("\n", "\n  "))
        if reconcile.returncode:
            failures.append("the ledger does not reconcile")

    if failures:
        print("\nFAILED:")
        for failure in failures[:30]:
            print(f"  {failure}")
        print(f"\ngunicorn log (last lines):\n{log_tail}")
        raise SystemExit(1)
    errors = (
        "no 500 (503 only while the database restarted, every action answered after it)" if args.fault else "no 5xx"
    )
    print(f"\nOK: {errors}, no failed connection, one winner per race, the ledger reconciles.")


if __name__ == "__main__":
    main()
