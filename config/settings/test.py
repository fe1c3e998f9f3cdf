"""Settings for the test suite. Real PostgreSQL and Redis when DATABASE_URL and
CELERY_BROKER_URL are set; Celery stays eager except in tests that start a worker."""

from .base import *  # noqa: F403
from .base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"  # noqa: F405
PRIVATE_MEDIA_ROOT = BASE_DIR / "test-artifacts" / "private-media"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The page cache stores nothing unless a test turns it on (tests/integration/test_page_cache.py)
# or PAGE_CACHE_SECONDS is set, e.g. to run other suites against it.
PAGE_CACHE_SECONDS = int(env("PAGE_CACHE_SECONDS", "0"))
