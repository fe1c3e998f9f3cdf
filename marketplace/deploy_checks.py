"""System checks run by `manage.py check --deploy`: settings production needs that the
local defaults paper over. Each app checks its own settings (see also
marketplace.credit.deploy_checks and wipe_cert.deploy_checks); ids are xunhuan.E0xx."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# In-process caches: each web process would count rate limits and remember used TOTP
# codes on its own, so an attacker spreading attempts over processes gets more tries.
PER_PROCESS_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


@register(Tags.security, Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if getattr(settings, "CACHE_URL", "") and backend not in PER_PROCESS_CACHES:
        return []
    return [
        Error(
            "CACHE_URL is not set: the cache is kept in each process, so login rate limits and "
            "two-factor replay protection are not shared between web processes.",
            hint="Set CACHE_URL to a Redis URL every web process uses (redis://host:6379/1).",
            id="xunhuan.E001",
        )
    ]


@register(Tags.security, deploy=True)
def stripe_webhook_secret_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "STRIPE_SECRET_KEY", ""):
        return []  # cash only: no webhooks arrive
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    if secret and secret != settings.SECRET_KEY:
        return []
    return [
        Error(
            "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not (or is the Django secret key): "
            "Stripe's payment events cannot be verified, so paid orders are only found by the "
            "reconciliation task.",
            hint="Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…) from the Stripe dashboard.",
            id="xunhuan.E007",
        )
    ]
