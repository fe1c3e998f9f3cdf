"""`check --deploy`: the keys that encrypt the platform's signing keys and compare device
identifiers must be set, not derived from the secret key (rotating that would make the
stored signing keys undecryptable and every stored identifier digest unmatchable)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

ENCRYPTION_HINT = (
    "Set WIPE_CERT_ENCRYPTION_KEY to a Fernet key generated once and kept: "
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
IDENTIFIER_HINT = (
    "Set WIPE_CERT_IDENTIFIER_KEY to a long random value generated once and kept: "
    'python -c "import secrets; print(secrets.token_urlsafe(32))"'
)


@register(Tags.security, deploy=True)
def wipe_cert_encryption_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from wipe_cert.keys import derived_encryption_key

    configured = getattr(settings, "WIPE_CERT_ENCRYPTION_KEY", "")
    if not configured:
        return [
            Error(
                "WIPE_CERT_ENCRYPTION_KEY is not set: the platform's signing keys are encrypted with a key "
                "derived from the secret key.",
                hint=ENCRYPTION_HINT,
                id="xunhuan.E004",
            )
        ]
    try:
        Fernet(configured.encode())
    except ValueError:
        return [Error("WIPE_CERT_ENCRYPTION_KEY is not a Fernet key.", hint=ENCRYPTION_HINT, id="xunhuan.E005")]
    if configured == settings.SECRET_KEY or configured.encode() == derived_encryption_key():
        return [
            Error("WIPE_CERT_ENCRYPTION_KEY is derived from the secret key.", hint=ENCRYPTION_HINT, id="xunhuan.E004")
        ]
    return []


@register(Tags.security, deploy=True)
def wipe_cert_identifier_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from wipe_cert.keys import derived_identifier_key

    configured = getattr(settings, "WIPE_CERT_IDENTIFIER_KEY", "")
    if not configured:
        return [
            Error(
                "WIPE_CERT_IDENTIFIER_KEY is not set: device identifiers are compared with a key derived "
                "from the secret key.",
                hint=IDENTIFIER_HINT,
                id="xunhuan.E006",
            )
        ]
    if configured == settings.SECRET_KEY or configured.encode() == derived_identifier_key():
        return [
            Error("WIPE_CERT_IDENTIFIER_KEY is derived from the secret key.", hint=IDENTIFIER_HINT, id="xunhuan.E006")
        ]
    return []
