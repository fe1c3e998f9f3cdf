"""Demo credit records (seed_demo): the demo accounts get some history so their tiers
differ; the appraiser has a long record of grades that stood and one that was overturned,
which costs them but does not restrict them. Completed orders and ratings are not made up
here: the city demo's past trades are real orders, rated with the rating service, so the
counts on a profile match the credit record."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from django.utils import timezone

from marketplace.credit.services import credit_event_record, credit_recompute
from marketplace.models import User

# email → (role, kind, positive, negative, value in fen, days ago), recorded once each.
DEMO_EVENTS: dict[str, list[tuple[str, str, float, float, int, int]]] = {
    "seller@example.com": [("seller", "verification", 1.0, 0.0, 0, 200)],
    "appraiser@example.com": [
        *[("appraiser", "appraisal_stood", 1.0, 0.0, 150000, 40 + 6 * i) for i in range(24)],
        ("appraiser", "appraisal_overturned", 0.0, 1.0, 250000, 30),
    ],
    "shop@example.com": [("shop", "order_completed", 1.0, 0.0, 12000, 20 + 5 * i) for i in range(6)],
}


def seed_credit_demo(stdout: TextIO) -> None:
    now = timezone.now()
    recorded = 0
    for email, events in DEMO_EVENTS.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        roles = set()
        for n, (role, kind, positive, negative, value, days) in enumerate(events):
            credit_event_record(
                subject_id=user.pk,
                role=role,
                kind=kind,
                positive=positive,
                negative=negative,
                value_minor=value,
                occurred_at=now - dt.timedelta(days=days),
                reason="demo",
                dedupe_key=f"demo:{email}:{n}",
            )
            roles.add(role)
            recorded += 1
        for role in roles:
            credit_recompute(user_id=user.pk, role=role)
    stdout.write(f"Credit records ready ({recorded} demo events).\n")
