"""Page speed: the home, browse, search and listing pages and GET /api/v1/search served by
gunicorn (production settings, PostgreSQL, N synthetic listings), each measured with wrk
and divided by a bare Django view returning a constant, measured in the same run.

    .venv/bin/python bench/pages.py                          # 100 000 listings, 10 s per URL
    .venv/bin/python bench/pages.py --listings 20000 --duration 5
    .venv/bin/python bench/pages.py --database-url postgres://postgres@127.0.0.1:5432 --workers 4

A throwaway database `xunhuan_bench_pages_<pid>` is created on the PostgreSQL server
(--database-url, default postgres://postgres@127.0.0.1:5432), migrated and loaded, and
dropped at the end; gunicorn listens on 127.0.0.1 only, on a free port. The baseline
(/__bench__/constant, bench/urls.py) goes through the same middleware and gunicorn, and
is measured first and last: the ratios use the mean of both, and the two runs show how
steady the machine was. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import unicodedata
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    DEFAULT_SERVER,
    Gunicorn,
    WrkResult,
    bench_environment,
    fetch,
    machine,
    prepare,
    require_wrk,
    setup_django,
    throwaway_database,
    wrk,
)

BASELINE = "/__bench__/constant"
SEARCH_WORDS = "手机"


def targets(listing_id: int) -> list[tuple[str, str]]:
    q = urllib.parse.quote(SEARCH_WORDS)
    return [
        ("home page", "/"),
        ("browse page", "/browse/"),
        (f"search page (q={SEARCH_WORDS})", f"/search/?q={q}"),
        ("listing page", f"/listings/{listing_id}/"),
        (f"GET /api/v1/search (q={SEARCH_WORDS})", f"/api/v1/search?q={q}"),
    ]


def pad(text: str, width: int) -> str:
    """`text` cut and padded to `width` terminal columns (CJK characters take two)."""
    out, used = "", 0
    for char in text:
        w = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + w > width:
            break
        out, used = out + char, used + w
    return out + " " * (width - used)


def measure(base: str, path: str, args: argparse.Namespace) -> WrkResult:
    if args.warmup:
        wrk(base + path, seconds=args.warmup, connections=args.connections, threads=args.threads)
    return wrk(base + path, seconds=args.duration, connections=args.connections, threads=args.threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per URL (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured wrk before each URL")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server for the throwaway database")
    args = parser.parse_args()
    require_wrk()

    print(f"Page speed: {args.listings} listings, PostgreSQL, gunicorn {args.workers} workers, ", end="")
    print(f"wrk {args.threads} thread(s) x {args.connections} connections, {args.duration:g} s per URL")
    print(f"  machine: {machine()}", flush=True)
    name = f"xunhuan_bench_pages_{os.getpid()}"
    failed = False
    with throwaway_database(args.database_url, name) as url, tempfile.TemporaryDirectory() as static_root:
        environment = bench_environment(url, static_root)
        setup_django(environment)
        documents = prepare(args.listings)
        # A private seller's electronics listing from the middle of the data.
        listing = next(
            d for d in documents[len(documents) // 2 :] if d.category == "electronics" and d.seller_type == "user"
        )
        with Gunicorn(environment, workers=args.workers) as server:
            pages = targets(listing.listing_id)
            for label, path in [("baseline", BASELINE), *pages]:
                status, body = fetch(server.base + path)
                if status != 200 or not body:
                    print(f"{label} {path} answered {status}:\n{body[:500]!r}\n{server.log_tail()}")
                    raise SystemExit(1)
            print(f"  all {len(pages) + 1} URLs answer 200; measuring", flush=True)
            first = measure(server.base, BASELINE, args)
            results = [(label, path, measure(server.base, path, args)) for label, path in pages]
            last = measure(server.base, BASELINE, args)
            if any(r.bad_status or r.socket_errors for _, _, r in results) or first.bad_status or last.bad_status:
                failed = True
                print(server.log_tail())

    base_rps = (first.rps + last.rps) / 2
    base_p95 = (first.p95_ms + last.p95_ms) / 2
    header = f"{'URL':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s ÷ base':>13} {'p95 ÷ base':>11}"
    print(f"\n{header} {'errors':>7}")
    rows = [("bare constant view (first)", BASELINE, first), *results, ("bare constant view (last)", BASELINE, last)]
    for label, _path, r in rows:
        print(
            f"{pad(label, 44)} {r.rps:>8.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
            f"{r.rps / base_rps:>12.3f}x {r.p95_ms / base_p95:>10.1f}x {r.bad_status + r.socket_errors:>7}"
        )
    print(f"\nbaseline (mean of first and last): {base_rps:.1f} req/s, p95 {base_p95:.1f} ms")
    print("req/s ÷ base: share of the bare view's throughput a page keeps; p95 ÷ base: how much slower it answers.")
    if failed:
        print("FAILED: some responses were not 2xx/3xx or sockets failed (see the gunicorn log above).")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
