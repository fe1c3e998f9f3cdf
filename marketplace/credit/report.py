"""The shareable credit report: tier, score and counts by kind per role, and the period
covered — no messages, addresses or other personal data — signed with the platform's
credit-report key (Ed25519, derived from the secret key unless CREDIT_REPORT_SIGNING_KEY
is set; set it in production so rotating the secret key keeps the published key)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

from marketplace.credit.models import CreditRole, CreditScore
from marketplace.credit.selectors import credit_report_counts
from marketplace.credit.services import prior_score, prior_tier_key, tier_min_orders
from marketplace.credit.signing import fingerprint_of, public_key_b64, published_key_entry, sign_report
from marketplace.models import User


def derived_signing_seed() -> bytes:
    """The key used when CREDIT_REPORT_SIGNING_KEY is unset (not for production: it
    changes with the secret key; see marketplace/credit/deploy_checks.py)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"xunhuan:credit-report-signing").derive(
        settings.SECRET_KEY.encode()
    )


def signing_key() -> Ed25519PrivateKey:
    configured = getattr(settings, "CREDIT_REPORT_SIGNING_KEY", "")
    if configured:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(configured))
    return Ed25519PrivateKey.from_private_bytes(derived_signing_seed())


def published_keys() -> dict[str, Any]:
    """The keys document verifiers save and pass to `--keys`. Each key carries its
    fingerprint (what `--trust` pins) and `revoked_at`: reports signed with a key at or
    after that moment are invalid. Only the current key is published today; a key taken
    out of service would stay listed here with its revocation time."""
    return {"keys": [published_key_entry(public_key_b64(signing_key()))]}


def signing_key_fingerprint() -> str:
    """Shown next to the report download so people can pin it with `--trust`."""
    return fingerprint_of(public_key_b64(signing_key()))


def report_document(*, user: User, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    found = credit_report_counts(user)
    scores = {s.role: s for s in CreditScore.objects.filter(user=user)}
    min_orders = tier_min_orders()
    roles = []
    for role in CreditRole.values:
        counts = found["counts"].get(role, {})
        if role not in scores and not counts:
            continue
        stored = scores.get(role)
        roles.append(
            {
                "role": role,
                "score": stored.score if stored else prior_score(),
                "tier": stored.tier if stored else prior_tier_key(role, min_orders, now),
                "counts": dict(sorted(counts.items())),
            }
        )
    first = found["first"]
    return {
        "issuer": "Xunhuan 循环",
        "subject": {"id": user.pk, "name": str(user.public_name)},
        "issued_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "period": {
            "from": first.astimezone(dt.UTC).date().isoformat() if first else None,
            "to": now.astimezone(dt.UTC).date().isoformat(),
        },
        "roles": roles,
    }


def signed_report(*, user: User, now: dt.datetime | None = None) -> dict[str, Any]:
    return sign_report(signing_key(), report_document(user=user, now=now))
