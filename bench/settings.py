"""Settings for the benchmarks' gunicorn: production, plus what plain http on 127.0.0.1
needs, plus the bench-only URLconf with the constant baseline view.

Used only by bench/pages.py and bench/load.py (never by a deployment). The scripts set
DJANGO_SECRET_KEY (random per run) and DATABASE_URL (their throwaway database)."""

from __future__ import annotations

from config.settings.production import *  # noqa: F403
from config.settings.production import env

# Plain http on the loopback: no redirect to https, no HSTS, cookies sent over http.
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# The production URLs plus /__bench__/constant (see bench/urls.py).
ROOT_URLCONF = "bench.urls"

# No SMTP server here: the notifications' e-mails are built and dropped.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# Static files as production serves them: collected into BENCH_STATIC_ROOT (bench/harness.py
# runs collectstatic there: hashed names, .gz and .br copies), rendered from its manifest by
# {% static %} and served by WhiteNoise from the same gunicorn. Without BENCH_STATIC_ROOT,
# unhashed URLs, served from the default STATIC_ROOT if it was collected.
STATIC_ROOT = env("BENCH_STATIC_ROOT", str(STATIC_ROOT))  # noqa: F405
if not env("BENCH_STATIC_ROOT"):
    STORAGES = {
        **STORAGES,  # noqa: F405
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "WARNING")}}  # noqa: F405
