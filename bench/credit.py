"""Credit benchmark: the nightly full recompute against reading the same events.

Creates a throwaway database (Django's test database: on PostgreSQL `test_<name>`),
bulk-inserts N subjects and M credit events (default 100 000 and 1 000 000: completed
orders, ratings with raters and rater scores, cancellations, late shipments, disputes,
adjustments, a few reversals), then in one run times

  read     loading every event row from the database (what any recompute must do),
  score    the pure scoring of every (subject, role) from those rows,
  write    storing the changed scores and their history rows,

and prints the ratio score / read and (read + score + write) / read: how much the model
costs on top of merely reading its evidence.

    .venv/bin/python bench/credit.py                                   # SQLite, 100k / 1M
    .venv/bin/python bench/credit.py --subjects 10000 --events 100000  # quicker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xunhuan .venv/bin/python bench/credit.py

Not part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = [
    ("order_completed", 1.0, 0.0, 40),
    ("rating", None, None, 40),
    ("cancellation_at_fault", 0.0, 1.0, 6),
    ("late_shipment", 0.0, 1.0, 5),
    ("dispute_upheld", 0.0, 1.0, 3),
    ("verification", 1.0, 0.0, 3),
    ("adjustment", 0.0, 1.0, 3),
]


def insert(subjects: int, events: int, batch: int = 20_000) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from marketplace.credit.models import CreditEvent
    from marketplace.models import User

    password = make_password(None)
    users = [User(email=f"bench{i}@example.org", password=password, display_name=f"Bench {i}") for i in range(subjects)]
    for start in range(0, len(users), batch):
        User.objects.bulk_create(users[start : start + batch])
    ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(2026)
    now = timezone.now()
    population = [k for k in KINDS for _ in range(k[3])]
    created = 0
    while created < events:
        rows = []
        for _ in range(min(batch, events - created)):
            kind, positive, negative, _share = rng.choice(population)
            if positive is None or negative is None:
                stars = rng.choices([5, 4, 3, 2, 1], weights=[70, 15, 7, 4, 4])[0]
                positive, negative = (stars - 1) / 4, (5 - stars) / 4
            role = "seller" if rng.random() < 0.6 else "buyer"
            rows.append(
                CreditEvent(
                    subject_id=rng.choice(ids),
                    role=role,
                    kind=kind,
                    positive=positive,
                    negative=negative,
                    value_minor=rng.randrange(500, 500_000) if kind != "verification" else 0,
                    counterparty_id=rng.choice(ids) if kind in ("order_completed", "rating") else None,
                    rater_score=rng.randrange(400, 1000) if kind == "rating" else None,
                    occurred_at=now - dt.timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60)),
                )
            )
        CreditEvent.objects.bulk_create(rows)
        created += len(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE credit_creditevent")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="defaults to DATABASE_URL, else SQLite")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from marketplace.credit.services import active_rings, credit_recompute_all, load_event_rows, score_subjects

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        insert(args.subjects, args.events)
        print(f"database      {connection.vendor}")
        print(
            f"loaded        {args.subjects:,} subjects, {args.events:,} events in {time.perf_counter() - started:.1f} s"
        )
        now = timezone.now()
        # Warm-up read (caches, page cache) so read and recompute see the same conditions.
        load_event_rows()
        report = credit_recompute_all(now=now, detect=False)
        # A second, separate read + score measured the same way (the scores now exist, so
        # the write phase of a real nightly run would be small).
        started = time.perf_counter()
        rows = load_event_rows()
        read = time.perf_counter() - started
        started = time.perf_counter()
        results = score_subjects(rows, now=now, rings=active_rings())
        score = time.perf_counter() - started
        print(f"subjects      {len(results):,} (subject, role) pairs")
        print(f"read events   {read:8.2f} s")
        print(f"score         {score:8.2f} s   ratio score/read = {score / read:.2f}")
        print(
            f"first full recompute: read {report.read_seconds:.2f} s, score {report.score_seconds:.2f} s, "
            f"write {report.write_seconds:.2f} s"
        )
        total = report.read_seconds + report.score_seconds + report.write_seconds
        print(f"ratio recompute/read = {total / report.read_seconds:.2f} (full, with writes)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
