"""Production: every secret and endpoint comes from the environment; nothing insecure
is defaulted."""

from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from .base import *  # noqa: F403
from .base import env, env_bool, env_list

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a long random value in production.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# Static files are served by the app itself (WhiteNoise), so a single gunicorn is a complete
# deployment. `manage.py collectstatic --no-input` (run on every deploy) writes them into
# STATIC_ROOT with a content hash in each name plus .gz and .br copies; WhiteNoise answers
# the hashed names with "Cache-Control: max-age=315360000, public, immutable" (ten years),
# the unhashed originals with "max-age=60, public", and sends the brotli or gzip copy as
# Accept-Encoding allows. It sits right after SecurityMiddleware: static responses still
# get its headers (HSTS, nosniff) and skip everything after it (sessions, CSRF, CSP),
# which a static file does not need.
MIDDLEWARE = list(MIDDLEWARE)  # noqa: F405
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are fetched only by developer tools; compressing them would double the time
# collectstatic spends on brotli (they are half of the bytes, from the API docs' bundles).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# Persistent database connections: each gunicorn worker keeps its connection for up to a
# minute instead of opening one per request (conn_health_checks, set in base, tests it
# before reuse). DATABASE_CONN_MAX_AGE=0 closes after every request again.
DATABASES["default"]["CONN_MAX_AGE"] = int(env("DATABASE_CONN_MAX_AGE", "60"))  # noqa: F405
