"""Page speed: the public pages (home, browse, listing, flea market, erasure verification),
anonymous and logged in, the search page, GET /api/v1/search and one static file, served by
gunicorn (production settings, PostgreSQL, N synthetic listings), each measured with wrk
and divided by a bare Django view returning a constant, measured in the same run.

    .venv/bin/python bench/pages.py                          # 100 000 listings, 10 s per URL
    .venv/bin/python bench/pages.py --listings 20000 --duration 5
    .venv/bin/python bench/pages.py --listings 1000000 --duration 5
    .venv/bin/python bench/pages.py --page-cache off         # every page rendered: no page cache
    .venv/bin/python bench/pages.py --database-url postgres://postgres@127.0.0.1:5432 --workers 4

A throwaway database `xunhuan_bench_pages_<pid>` is created on the PostgreSQL server
(--database-url, default postgres://postgres@127.0.0.1:5432), migrated and loaded, and
dropped at the end; gunicorn listens on 127.0.0.1 only, on a free port. The baseline
(/__bench__/constant, bench/urls.py) goes through the same middleware and gunicorn, and
is measured first and last: the ratios use the mean of both, and the two runs show how
steady the machine was. Logged-in pages carry a buyer's session cookie (wrk -H). Not part
of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import unicodedata
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from django.utils.crypto import get_random_string

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    DEFAULT_SERVER,
    Gunicorn,
    PageExtras,
    WrkResult,
    bench_environment,
    fetch,
    machine,
    prepare,
    prepare_page_extras,
    require_wrk,
    setup_django,
    throwaway_database,
    wrk,
)

BASELINE = "/__bench__/constant"
SEARCH_WORDS = "手机"
STATIC_FILE = "css/site.css"
# Goals of issue 16, as shares of the bare view's req/s.
GOAL_ANONYMOUS = 0.5
GOAL_LOGGED_IN = 0.25


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    logged_in: bool = False
    goal: float | None = None  # share of the baseline's req/s this URL must keep
    headers: tuple[tuple[str, str], ...] = ()


def static_path(static_root: str) -> str | None:
    """The hashed URL of STATIC_FILE from the collected manifest, or None without one."""
    manifest = Path(static_root) / "staticfiles.json"
    if not manifest.exists():
        return None
    hashed = json.loads(manifest.read_text()).get("paths", {}).get(STATIC_FILE)
    return f"/static/{hashed}" if hashed else None


def targets(listing_id: int, extras: PageExtras, static: str | None) -> list[Target]:
    q = urllib.parse.quote(SEARCH_WORDS)
    pages = [
        ("home page", "/"),
        ("browse page", "/browse/"),
        ("listing page", f"/listings/{listing_id}/"),
        ("flea-market page", extras.flea_market_path),
        ("erasure verify page", extras.verify_path),
    ]
    found = [Target(label, path, goal=GOAL_ANONYMOUS) for label, path in pages]
    found += [Target(f"{label}, logged in", path, logged_in=True, goal=GOAL_LOGGED_IN) for label, path in pages]
    found += [
        Target(f"search page (q={SEARCH_WORDS})", f"/search/?q={q}"),
        Target(f"GET /api/v1/search (q={SEARCH_WORDS})", f"/api/v1/search?q={q}"),
    ]
    if static is not None:
        # As a browser asks for it: WhiteNoise answers with the brotli copy.
        found.append(Target(f"static {STATIC_FILE} (hashed)", static, headers=(("Accept-Encoding", "gzip, br"),)))
    return found


def pad(text: str, width: int) -> str:
    """`text` cut and padded to `width` terminal columns (CJK characters take two)."""
    out, used = "", 0
    for char in text:
        w = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + w > width:
            break
        out, used = out + char, used + w
    return out + " " * (width - used)


BROWSER_CSRF_SECRET = get_random_string(32)


def measure(base: str, path: str, args: argparse.Namespace, headers: dict[str, str] | None = None) -> WrkResult:
    if args.warmup:
        wrk(base + path, seconds=args.warmup, connections=args.connections, threads=args.threads, headers=headers)
    return wrk(base + path, seconds=args.duration, connections=args.connections, threads=args.threads, headers=headers)


def headers_of(target: Target, extras: PageExtras) -> dict[str, str]:
    headers = dict(target.headers)
    if target.logged_in:
        # What a browser sends back after its first page: the session and the CSRF cookie
        # (without the latter every answer would mint a new CSRF secret and set it).
        headers["Cookie"] = f"sessionid={extras.session_key}; csrftoken={BROWSER_CSRF_SECRET}"
    return headers


def check(base: str, target: Target, extras: PageExtras, server: Gunicorn) -> None:
    """Each URL answers 200 with a body; a logged-in page shows the log-out button (so the
    session cookie really logs in) and an anonymous one does not."""
    status, body = fetch(base + target.path, headers=headers_of(target, extras))
    logged_in = b"/accounts/logout/" in body
    if status != 200 or not body or (target.goal is not None and logged_in != target.logged_in):
        print(f"{target.label} {target.path} answered {status} (logged in: {logged_in}):\n{body[:500]!r}")
        print(server.log_tail())
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per URL (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured wrk before each URL")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server for the throwaway database")
    parser.add_argument(
        "--page-cache",
        choices=("on", "off"),
        default="on",
        help="off: PAGE_CACHE_SECONDS=0, every anonymous page is rendered (what the pages cost without the cache)",
    )
    args = parser.parse_args()
    require_wrk()

    print(f"Page speed: {args.listings} listings, PostgreSQL, gunicorn {args.workers} workers, ", end="")
    print(f"wrk {args.threads} thread(s) x {args.connections} connections, {args.duration:g} s per URL")
    print(f"  machine: {machine()}", flush=True)
    name = f"xunhuan_bench_pages_{os.getpid()}"
    failed = False
    with throwaway_database(args.database_url, name) as url, tempfile.TemporaryDirectory() as static_root:
        environment = bench_environment(url, static_root)
        if args.page_cache == "off":
            environment["PAGE_CACHE_SECONDS"] = "0"
        print(f"  page cache: {args.page_cache}, CACHE_URL={environment.get('CACHE_URL') or '(none: locmem)'}")
        setup_django(environment)
        documents = prepare(args.listings)
        # A private seller's electronics listing from the middle of the data.
        listing = next(
            d for d in documents[len(documents) // 2 :] if d.category == "electronics" and d.seller_type == "user"
        )
        extras = prepare_page_extras(listing_ids=[d.listing_id for d in documents[len(documents) // 3 :]])
        del documents
        static = static_path(static_root)
        if static is None:
            print(f"  TODO: no staticfiles.json manifest in {static_root}: the static file is not measured")
        with Gunicorn(environment, workers=args.workers) as server:
            pages = targets(listing.listing_id, extras, static)
            status, _body = fetch(server.base + BASELINE)
            if status != 200:
                raise SystemExit(f"baseline {BASELINE} answered {status}\n{server.log_tail()}")
            for target in pages:
                check(server.base, target, extras, server)
            print(f"  all {len(pages) + 1} URLs answer 200; measuring", flush=True)
            first = measure(server.base, BASELINE, args)
            results = [(t, measure(server.base, t.path, args, headers_of(t, extras))) for t in pages]
            last = measure(server.base, BASELINE, args)
            if any(r.bad_status or r.socket_errors for _, r in results) or first.bad_status or last.bad_status:
                failed = True
                print(server.log_tail())
        print(f"  machine: {machine('after the run')}", flush=True)

    base_rps = (first.rps + last.rps) / 2
    base_p95 = (first.p95_ms + last.p95_ms) / 2
    header = f"{'URL':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s ÷ base':>13} {'p95 ÷ base':>11}"
    print(f"\n{header} {'goal':>6} {'errors':>7}")
    rows: list[tuple[str, float | None, WrkResult]] = [
        ("bare constant view (first)", None, first),
        *((target.label, target.goal, r) for target, r in results),
        ("bare constant view (last)", None, last),
    ]
    missed = []
    for label, goal, r in rows:
        share = r.rps / base_rps
        verdict = ""
        if goal is not None:
            verdict = f"{'ok' if share >= goal else 'MISS'} {goal:g}"
            if share < goal:
                missed.append(label)
        print(
            f"{pad(label, 44)} {r.rps:>8.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
            f"{share:>12.3f}x {r.p95_ms / base_p95:>10.1f}x {verdict:>6} {r.bad_status + r.socket_errors:>7}"
        )
    print(f"\nbaseline (mean of first and last): {base_rps:.1f} req/s, p95 {base_p95:.1f} ms")
    print("req/s ÷ base: share of the bare view's throughput a page keeps; p95 ÷ base: how much slower it answers.")
    print(f"goal: anonymous pages >= {GOAL_ANONYMOUS}x, logged in >= {GOAL_LOGGED_IN}x the bare view's req/s.")
    if missed:
        print(f"below the goal: {', '.join(missed)}")
    if failed:
        print("FAILED: some responses were not 2xx/3xx or sockets failed (see the gunicorn log above).")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
