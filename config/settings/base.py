"""Settings shared by every environment. Everything comes from environment variables;
the defaults give the embedded local run (SQLite, eager Celery, database search)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "marketplace",
    "marketplace.city",
    "marketplace.credit",
    "marketplace.consignment",
    "grading",
    "wipe_cert",
    "search",
    "cms",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The Site's name is what allauth's e-mails and pages call us (marketplace migration 0009).
    "django.contrib.sites",
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "ninja",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.errors.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "marketplace.middleware.RequireStaffMFAMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.PathAwareCSPMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "marketplace.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "0")),
        # A kept connection is checked before a request reuses it, so a restarted
        # PostgreSQL costs one 503 per worker at most, not one per request until recycled.
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "marketplace.User"
# Django's and allauth's backends, with the logged-in user kept in the cache for
# AUTH_USER_CACHE_SECONDS (marketplace/auth_backends.py; dropped whenever the user is saved).
AUTHENTICATION_BACKENDS = [
    "marketplace.auth_backends.CachedModelBackend",
    "marketplace.auth_backends.CachedAllauthBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("DJANGO_TIME_ZONE", "Asia/Shanghai")

# --- Static and media -------------------------------------------------------
STATIC_URL = "/static/"
# Where `manage.py collectstatic` puts the static files (and production serves them from).
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache (rate limits, TOTP replay protection) -----------------------------
CACHE_URL = env("CACHE_URL")
if CACHE_URL:
    # Losing Redis answers cache misses instead of 500s (config/cache.py); short socket
    # timeouts keep a vanished Redis from holding every request for the OS's TCP timeout.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": float(env("CACHE_CONNECT_TIMEOUT", "0.5")),
                "socket_timeout": float(env("CACHE_TIMEOUT", "0.5")),
            },
        }
    }
    # Sessions are read from the cache and written through to the database: a logged-in
    # page costs no session query, and losing Redis falls back to the database.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    AUTH_USER_CACHE_SECONDS = int(env("AUTH_USER_CACHE_SECONDS", "300"))
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    AUTH_USER_CACHE_SECONDS = 0  # a per-process cache would not hear other processes' saves
# Anonymous visitors' public pages are kept this many seconds in the cache above
# (marketplace/page_cache.py; correctness comes from generations bumped by the domain
# events, the lifetime only bounds what a Redis outage could leave behind). 0 turns storing
# off: the default without CACHE_URL, since a per-process cache cannot hear other
# processes' changes.
PAGE_CACHE_SECONDS = int(env("PAGE_CACHE_SECONDS", "600" if CACHE_URL else "0"))

# --- E-mail -----------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Xunhuan <noreply@xunhuan.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- django-allauth -----------------------------------------------------------
SITE_NAME = _("Xunhuan")
# allauth names the site from django.contrib.sites: the subject prefix "[循环 Xunhuan]" and the
# greeting of every account e-mail. The name is set by a data migration; the domain comes
# from SITE_DOMAIN when that migration runs (links in e-mails use the request's host).
SITE_ID = 1
SITE_DOMAIN = env("SITE_DOMAIN", "127.0.0.1:8000")
ACCOUNT_ADAPTER = "marketplace.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "marketplace.forms.SignupExtraForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = False
# Confirming the address logs the user in, when it happens in the browser session that
# signed up (allauth's design: a link opened elsewhere only confirms and asks to log in).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "profile"
# Rate limits are allauth's defaults made explicit, so they are visible and reviewable.
ACCOUNT_RATE_LIMITS = {
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Xunhuan"
HEADLESS_CLIENTS = ("browser", "app")
HEADLESS_SERVE_SPECIFICATION = True

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Search -------------------------------------------------------------------
# Like CACHES: BACKEND is a dotted path. Left empty, ELASTICSEARCH_URL selects
# search.backends.elasticsearch.ElasticsearchBackend and its absence the embedded
# search.backends.database.DatabaseBackend (which also serves as the fallback while
# Elasticsearch is unreachable). See search/backends/.
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL")
SEARCH_BACKEND = {
    "BACKEND": env("SEARCH_BACKEND"),
    "URL": "",  # ELASTICSEARCH_URL unless set here
    "OPTIONS": {
        # Text analyzer: "cjk" (built in), or "smartcn" / "ik_max_word" when the cluster
        # has the analysis-smartcn / IK plugin.
        "ANALYZER": env("SEARCH_ANALYZER", "cjk"),
        # Indices are <prefix>listings-<timestamp> behind the alias <prefix>listings.
        "INDEX_PREFIX": env("SEARCH_INDEX_PREFIX", "xunhuan-"),
        # Plain application/json for OpenSearch-compatible engines (OpenSearch, osmem-server).
        "PLAIN_JSON": env_bool("SEARCH_PLAIN_JSON", False),
        "TIMEOUT": float(env("SEARCH_TIMEOUT", "3")),
        "REPLICAS": int(env("SEARCH_REPLICAS", "0")),
    },
}

# --- Wagtail ------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Xunhuan 循环"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
# The admin speaks the site's languages (zh-hans unless the browser, the language cookie or
# the staff member's Wagtail account settings ask for English); avatars are local
# (gravatar is outside our CSP) and no call goes out to check for Wagtail releases.
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False
# What other apps tell the index, by dotted path (search imports neither app):
# user ids → credit tier key; listing ids → ids of the events (market dates) offering them.
SEARCH_SELLER_TIERS = "marketplace.credit.selectors.seller_tiers_for_users"
SEARCH_SHOP_TIERS = "marketplace.credit.selectors.shop_tiers_for_organisations"
SEARCH_LISTING_EVENTS = "cms.selectors.listing_event_ids"
# Facet values → labels shown on the search page, per facet: callable(values) → {value: label}.
SEARCH_FACET_LABELS = {
    "event": "cms.selectors.event_labels",
    "seller_tier": "marketplace.credit.selectors.tier_labels",
    "registration_city": "marketplace.city.selectors.relocation_city_labels",
}
# "Can be registered in": the destination cities a buyer may pick, and the emission
# standards one of them accepts for transferred used cars (staff-edited, city app).
SEARCH_REGISTRATION_CITIES = "marketplace.city.selectors.relocation_city_choices"
SEARCH_REGISTRATION_STANDARDS = "marketplace.city.selectors.emission_standards_accepted"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILADMIN_LOGIN_URL = "/accounts/login/"
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"

# --- Security -----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# JSON with a `csrf_failed` code under /api/ and /_allauth/, Django's page elsewhere.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
# Writes to the JSON API (POST, PUT, PATCH, DELETE) per account, answered 429 with
# Retry-After past it (see marketplace.api.security.WriteThrottle); empty switches it off.
API_WRITE_RATE = env("API_WRITE_RATE", "120/m")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
# The Wagtail and Django admins still carry inline styles and scripts; they get a policy
# relaxed only for those, and only under their own URL prefixes.
CSP_ADMIN_PATH_PREFIXES = ("/cms-admin/", "/django-admin/")

# Roles that act on other people's goods or data need two-factor authentication.
MARKETPLACE_MFA_REQUIRED_ROLES = ("appraiser", "technician")
MARKETPLACE_MFA_EXEMPT_PATH_PREFIXES = ("/accounts/", "/_allauth/", "/static/", "/media/", "/i18n/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    # The Stripe client logs every request at INFO.
    "loggers": {"stripe": {"level": "WARNING"}},
}

# --- Listings -------------------------------------------------------------------
PRIVATE_MEDIA_ROOT = Path(env("DJANGO_PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private-media")))
# Publication gates, run in order by marketplace.services.listings.listing_publish.
# Later apps append theirs (grading, erasure) the way Django lists middleware.
MARKETPLACE_PUBLICATION_GATES = [
    "marketplace.gates.PhotosPresentGate",
    "marketplace.gates.SellerEmailVerifiedGate",
    "marketplace.gates.ProhibitedItemGate",
    "marketplace.gates.StolenGoodsGate",
    "grading.gates.GradeCurrentGate",
    "wipe_cert.gates.ErasureVerifiedGate",
    "marketplace.credit.gates.CreditTierGate",
]
MARKETPLACE_PHOTO_MAX_BYTES = int(env("MARKETPLACE_PHOTO_MAX_BYTES", str(15 * 1024 * 1024)))
# Larger images are refused before they are decoded (decompression-bomb protection).
MARKETPLACE_PHOTO_MAX_PIXELS = int(env("MARKETPLACE_PHOTO_MAX_PIXELS", str(40_000_000)))
MARKETPLACE_PHOTO_MAX_PER_LISTING = 20
MARKETPLACE_PHOTO_RENDITION_WIDTHS = (320, 960, 1920)
# Sane upper bounds on asking prices, in minor units (fen), per category.
MARKETPLACE_PRICE_CEILINGS = {
    "electronics": 20_000_000,  # ¥200,000
    "furniture": 10_000_000,  # ¥100,000
    "books": 5_000_000,  # ¥50,000 (rare editions)
    "vehicles": 1_000_000_000,  # ¥10,000,000
}
# Books: the sell form fills a book's details from its ISBN out of the local catalogue
# (marketplace.models.books). Optionally an online catalogue answers for ISBNs it does not
# know: a dotted path to a provider, e.g. "marketplace.book_lookup.OpenLibraryLookup";
# empty (the default) keeps every lookup on this machine. Look-ups per user: an allauth rate.
MARKETPLACE_BOOK_LOOKUP = env("MARKETPLACE_BOOK_LOOKUP") or None
MARKETPLACE_BOOK_LOOKUP_URL = env("MARKETPLACE_BOOK_LOOKUP_URL", "https://openlibrary.org")
MARKETPLACE_BOOK_LOOKUP_TIMEOUT = float(env("MARKETPLACE_BOOK_LOOKUP_TIMEOUT", "3"))
MARKETPLACE_BOOK_LOOKUP_RATE = env("MARKETPLACE_BOOK_LOOKUP_RATE", "30/m/user")

# --- Erasure certificates ---------------------------------------------------------
# Fernet key that encrypts the Ed25519 private keys the platform holds, and the HMAC
# key for comparing device identifiers. Both are derived from DJANGO_SECRET_KEY unless
# set; set them explicitly in production so rotating the secret key keeps them.
WIPE_CERT_ENCRYPTION_KEY = env("WIPE_CERT_ENCRYPTION_KEY")
WIPE_CERT_IDENTIFIER_KEY = env("WIPE_CERT_IDENTIFIER_KEY")
WIPE_CERT_REPORT_MAX_BYTES = int(env("WIPE_CERT_REPORT_MAX_BYTES", str(20 * 1024 * 1024)))
# Badges and detail-page panels other apps add to listings (see marketplace.extensions).
MARKETPLACE_LISTING_BADGES = [
    "grading.badges.grade_badges",
    "wipe_cert.badges.erasure_badges",
    "marketplace.credit.badges.seller_tier_badges",
]
MARKETPLACE_LISTING_PANELS = [
    "marketplace.panels.order_panel",
    "grading.badges.grade_panel",
    "wipe_cert.badges.erasure_panel",
    "cms.panels.event_availability_panel",
    "marketplace.credit.badges.seller_credit_panel",
    "marketplace.city.panels.relocation_panel",
]

# --- Orders, payments, after-sales ---------------------------------------------------
# Stripe (card payments held until receipt). With no secret key, card payment is hidden
# and cash at hand-over still works. STRIPE_API_BASE points the client at another server
# (localstripe in tests and demos); STRIPE_JS_URL is where the page loads Stripe.js from
# (https://js.stripe.com/v3/ in production; localstripe serves a stand-in), and its origin
# is added to the Content Security Policy of the payment page only.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env("STRIPE_API_BASE")
STRIPE_JS_URL = env("STRIPE_JS_URL")
# Fees paid by card that are not orders: PaymentIntent metadata "purpose" → the function
# of the app that records the fee as paid (see marketplace.services.fee_payments).
MARKETPLACE_FEE_PAYMENT_HANDLERS = {"stall_fee": "cms.services.flea.stall_fee_card_paid"}
# Money split, in basis points (1/100 %): the platform fee on card sales (none on cash
# hand-overs, where the money never passes through the platform), and the consignor's
# share of a consignment sale after the fee (the consignment agreements refine it).
MARKETPLACE_PLATFORM_FEE_BP = int(env("MARKETPLACE_PLATFORM_FEE_BP", "500"))
MARKETPLACE_OFFLINE_FEE_BP = int(env("MARKETPLACE_OFFLINE_FEE_BP", "0"))
MARKETPLACE_CONSIGNOR_SHARE_BP = int(env("MARKETPLACE_CONSIGNOR_SHARE_BP", "6000"))
# Where a consignment sale's share comes from: the item's agreement (tier, who bears a
# discount); see marketplace.consignment.rules. Without a provider the flat share above applies.
MARKETPLACE_CONSIGNOR_SHARE_PROVIDER = "marketplace.consignment.selectors.order_consignor_share_bp"
# Whom a shop may name as a listing's consignor: someone who accepted its agreement.
MARKETPLACE_CONSIGNOR_LOOKUP = "marketplace.consignment.selectors.agreed_consignor"
# Timers (run by the orders beat task).
MARKETPLACE_ORDER_PAYMENT_WINDOW_MINUTES = 60  # a card order not paid by then is cancelled
MARKETPLACE_ORDER_SHIP_DEADLINE_DAYS = 5  # ship by, or the order is cancelled and the money released
MARKETPLACE_ORDER_HANDOVER_DEADLINE_DAYS = 7  # pickup and events: hand over by
MARKETPLACE_ORDER_RETURN_WINDOW_DAYS = 7  # no-reason returns after receipt
MARKETPLACE_ORDER_RETURN_SEND_DAYS = 7  # a requested return not sent back by then lapses
MARKETPLACE_ORDER_RETURN_RECEIVE_DAYS = 10  # the seller confirms a sent return by then, or the buyer is refunded
MARKETPLACE_ORDER_DISPUTE_WINDOW_DAYS = 7  # "not as described" after completion
MARKETPLACE_OFFER_LIFETIME_HOURS = 48
# Card authorisations lapse after about 7 days; money still held after this long is
# captured into the platform's escrow (see marketplace.services.payments).
MARKETPLACE_CARD_CAPTURE_AFTER_HOURS = 6 * 24
MARKETPLACE_PAYMENT_RECONCILE_AFTER_MINUTES = 15
# Per category: when an order confirms itself (after shipping, after an in-person
# hand-over) and whether seven-day no-reason returns apply (not to vehicles).
MARKETPLACE_ORDER_POLICIES = {
    "electronics": {
        "confirm_after_shipping_hours": 7 * 24,
        "confirm_after_handover_hours": 72,
        "no_reason_return": True,
    },
    "furniture": {"confirm_after_shipping_hours": 7 * 24, "confirm_after_handover_hours": 72, "no_reason_return": True},
    "books": {"confirm_after_shipping_hours": 7 * 24, "confirm_after_handover_hours": 72, "no_reason_return": True},
    "vehicles": {"confirm_after_shipping_hours": 7 * 24, "confirm_after_handover_hours": 72, "no_reason_return": False},
}
# What an order records of the listing's grade and certificate when it is placed: dotted
# paths of callables (listing) -> dict, provided by the apps that own those records.
MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS = [
    "grading.order_snapshot.grade_snapshot",
    "wipe_cert.order_snapshot.certificate_snapshot",
]
# Checks run before an order is placed: dotted paths of callables
# (*, buyer, listing, delivery_method, payment_method) raising a domain error to refuse.
MARKETPLACE_ORDER_CHECKS = ["marketplace.credit.checks.buyer_tier_check"]
# Panels other apps add to the order page: dotted paths of (order, user, party) -> Panel | None.
MARKETPLACE_ORDER_PANELS = ["marketplace.credit.panels.rating_panel"]

# --- Credit ---------------------------------------------------------------------------------
# Ratings: both parties rate within this many days of completion; sealed until both rated.
CREDIT_RATING_WINDOW_DAYS = 14
# Base64 of a raw 32-byte Ed25519 private key that signs shared credit reports; derived from
# DJANGO_SECRET_KEY unless set (set it in production so the published key stays stable).
CREDIT_REPORT_SIGNING_KEY = env("CREDIT_REPORT_SIGNING_KEY")

# Periodic work (run `celery -A config beat`).
CELERY_BEAT_SCHEDULE = {
    # Re-index listings whose index entry is missing or out of date, remove the ones no
    # longer on sale (an engine that was down, a change that sent no event).
    "search-drift-repair": {"task": "search.tasks.search_drift_repair_task", "schedule": 30 * 60},
    # Saved-search alerts, batched: one message per saved search with new matches.
    "search-saved-search-alerts": {"task": "search.tasks.saved_search_alerts_task", "schedule": 10 * 60},
    "erasure-log-checkpoint": {"task": "wipe_cert.tasks.checkpoint_publish_task", "schedule": 15 * 60},
    "order-timers": {"task": "marketplace.tasks.orders_timers_task", "schedule": 5 * 60},
    "offer-expiry": {"task": "marketplace.tasks.offers_expire_task", "schedule": 10 * 60},
    "card-holds-escrow": {"task": "marketplace.tasks.payments_capture_expiring_task", "schedule": 60 * 60},
    "payments-reconcile": {"task": "marketplace.tasks.payments_reconcile_task", "schedule": 10 * 60},
    # Tasks that could not reach the broker when their write committed (Redis down).
    "deferred-tasks-flush": {"task": "marketplace.tasks.deferred_tasks_flush_task", "schedule": 5 * 60},
    # Credit: ratings whose window closed become visible; the nightly full recompute (it gives
    # the same scores as the incremental one run after each event).
    "credit-ratings-reveal": {"task": "marketplace.credit.tasks.ratings_reveal_due_task", "schedule": 60 * 60},
    "credit-nightly-recompute": {
        "task": "marketplace.credit.tasks.credit_recompute_all_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # City statistics: recompute the daily trade rollup (the last CITY_ROLLUP_WINDOW_DAYS days).
    "city-stats-rollup": {
        "task": "marketplace.city.tasks.stats_rollup_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Consignment: scheduled markdowns by days on sale and the expiry action (idempotent).
    "consignment-markdowns": {"task": "marketplace.consignment.tasks.consignment_markdowns_task", "schedule": 60 * 60},
}

# --- City data (statistics, green account, vehicle relocation) ----------------------------
# Figures other apps add to the statistics dashboard and export: dotted paths of
# callables (period, area) -> marketplace.city.providers.StatsSection.
CITY_STATISTICS_PROVIDERS = [
    "grading.stats.grading_statistics",
    "wipe_cert.stats.erasure_statistics",
]
# The nightly rollup recomputes this many past days, so returns, refunds and disputes
# that change a trade after it completed are reflected.
CITY_ROLLUP_WINDOW_DAYS = int(env("CITY_ROLLUP_WINDOW_DAYS", "60"))

# --- Personal information (PIPL): data export and account deletion ---------------------------
# See marketplace.services.privacy. Apps add their own exporters, deletion checks and erasers
# here; `linked_records` exports whatever else points at the person, from any app.
MARKETPLACE_PERSONAL_DATA_EXPORTERS = [
    "marketplace.services.privacy.export_account",
    "marketplace.services.privacy.export_listings",
    "marketplace.services.privacy.export_orders",
    "marketplace.services.privacy.export_offers_and_messages",
    "marketplace.services.privacy.export_notifications",
    "marketplace.services.privacy.export_linked_records",
]
MARKETPLACE_ACCOUNT_DELETION_CHECKS = [
    "marketplace.services.privacy.staff_check",
    "marketplace.services.privacy.open_orders_check",
    "marketplace.services.privacy.consigned_items_check",
]
MARKETPLACE_ACCOUNT_ERASERS = [
    "marketplace.services.privacy.withdraw_listings",
    "marketplace.services.privacy.withdraw_offers",
    "marketplace.consignment.services.consignment_close_for_deleted_user",
    "marketplace.services.privacy.remove_credentials_and_sessions",
    "marketplace.services.privacy.delete_linked_records",
    # Messages the person wrote are emptied, except where a dispute is open.
    "marketplace.services.retention.erase_sent_messages",
]
# Rows that only serve the person and are deleted with the account (orders, appraisals and
# certificates are kept, detached from the person).
MARKETPLACE_ACCOUNT_DELETED_MODELS = ["marketplace.Notification", "search.SavedSearch"]
# Retention periods the daily personal-data retention task applies (SECURITY.md, "Retention"):
# conversations that never became an order are deleted this long after their last message;
# notifications this long after they were sent.
MARKETPLACE_RETENTION_PREORDER_MESSAGE_DAYS = 365
MARKETPLACE_RETENTION_NOTIFICATION_DAYS = 365
