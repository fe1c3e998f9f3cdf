"""`check --deploy`: the credit-report signing key must be set, not derived from the
secret key (rotating that would change the published key and invalidate every report
people saved)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

HINT = (
    "Set CREDIT_REPORT_SIGNING_KEY to the base64 of 32 random bytes, generated once and kept: "
    'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'
)


@register(Tags.security, deploy=True)
def credit_report_signing_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from marketplace.credit.report import derived_signing_seed

    configured = getattr(settings, "CREDIT_REPORT_SIGNING_KEY", "")
    if not configured:
        return [
            Error(
                "CREDIT_REPORT_SIGNING_KEY is not set: credit reports are signed with a key derived from "
                "the secret key.",
                hint=HINT,
                id="xunhuan.E002",
            )
        ]
    try:
        raw = base64.b64decode(configured, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return [
            Error(
                "CREDIT_REPORT_SIGNING_KEY is not the base64 of a raw 32-byte Ed25519 key.",
                hint=HINT,
                id="xunhuan.E003",
            )
        ]
    if configured == settings.SECRET_KEY or raw == derived_signing_seed():
        return [
            Error(
                "CREDIT_REPORT_SIGNING_KEY is derived from the secret key.",
                hint=HINT,
                id="xunhuan.E002",
            )
        ]
    return []
