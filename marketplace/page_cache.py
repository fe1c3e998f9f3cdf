"""Whole-page cache for anonymous visitors, and conditional GET for everyone, on the public
pages (home and the other CMS pages, browse, listing, erasure verification).

Correctness comes from *generations*, not from expiry. A generation is a random token kept
in Django's default cache under ``pagegen:<scope>``; "bumping" a scope replaces its token.
A cached page records the tokens of every scope it depends on, as they were before it was
rendered, and is served only while all of them are still current: after a bump it is never
served again (the next render replaces it). The page and the current tokens come in one
round trip (one MGET). Scopes:

* ``listing:<pk>`` — one listing: its fields, attributes, photos, status, appraisal and
  erasure badges and panels. Bumped by ``listing_changed`` / ``listings_changed``, which
  every service that changes what a buyer sees of a listing already sends after commit
  (price, status — withdraw, sale, expiry —, photos, grade signed or overturned, erasure
  certificate bound or revoked), and by saves of erasure certificates (wipe_cert).
* ``listings`` — "some listing changed": bumped with every ``listing:<pk>``; pages that list
  many listings (home, browse, CMS pages) depend on it.
* ``site`` — shared data shown next to listings that changes rarely: credit tiers
  (``credit_tier_changed``, sent for every tier change), CMS pages published, unpublished,
  moved or deleted and market dates (cms/page_cache.py), grading rule sets
  (grading/receivers.py), cities and their vehicle rules, sellers' public names and shop
  names. Every cached page depends on it.
* ``cms`` — any record of the CMS app (cms/page_cache.py); Wagtail pages depend on it.
* ``erasure`` — the transparency log, signing keys and certificates (wipe_cert/page_cache.py);
  the verification page depends on it.
* ``epoch`` — every page depends on it; ``forget_all()`` bumps it (tests, operators).

Ordering makes it race-free: the view reads the generations *before* it reads the database,
and bumps happen *after* the change commits (``transaction.on_commit`` or a domain event,
which is itself sent after commit). A render that read old data therefore stores it with the
old generation, which no longer matches. The page's key holds the language (from
the cookie or Accept-Language, as LocaleMiddleware chose it), the host, the scheme, the full
path with its query string and today's date (pages show "upcoming" market dates).

What is cached: the response of a GET by a visitor who is not logged in and has no session
or messages cookie (so no flash messages and no per-user content), when it answered 200
text/html without setting a cookie or touching the session. The only per-visitor part of
such a page is the CSRF token of its forms (the language switcher): it is stored as a
placeholder and every hit gets the visitor's own token, so the CSRF cookie works as usual.
Logged-in visitors are never served from the cache. Answers carry ``X-Cache: hit``, or
``X-Cache: miss`` when the page was just rendered and stored.

Conditional GET: every answer of a wrapped view carries a strong ETag, a hash of the page
as shown (CSRF tokens left out) and of the visitor's CSRF secret; ``If-None-Match`` with that
ETag gets 304. For anonymous hits the ETag is computed once, when the page is stored, so a
revalidation costs one cache round trip. For logged-in visitors the page is rendered and hashed
(per-user parts — notifications, offers — are in the hash, so a 304 is never stale; a page
with a per-render value, like the idempotency key of the buy form, never matches).

Outages: the cache is Django's default cache (``ResilientRedisCache`` with ``CACHE_URL``).
While Redis is unreachable every read is a miss and pages are rendered as without a cache.
A bump that could not be written during an outage would leave an entry reachable once Redis
is back; ``PAGE_CACHE_SECONDS`` (the entries' lifetime) bounds that case. Without
``CACHE_URL`` the default cache is per process (locmem), which other processes' bumps (a
second gunicorn worker, Celery) cannot reach, so storing is off by default then
(``PAGE_CACHE_SECONDS=0``); ETags work regardless."""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags

GENERATION_PREFIX = "pagegen:"
PAGE_PREFIX = "page:"
EPOCH = "epoch"
SITE = "site"
LISTINGS = "listings"
ERASURE = "erasure"
CSRF_PLACEHOLDER = b"__page_cache_csrf_token__"
# What Django's {% csrf_token %} renders; the token is then replaced wherever it appears.
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{32,64})"')
MESSAGES_COOKIE = "messages"  # django.contrib.messages' CookieStorage

View = Callable[..., HttpResponse]
ScopesOf = Callable[..., Sequence[str]]


def listing_scope(listing_id: int) -> str:
    return f"listing:{listing_id}"


# --- Generations ----------------------------------------------------------------------


def _new_token() -> str:
    return uuid.uuid4().hex[:16]


def _generation_keys(scopes: Iterable[str]) -> list[str]:
    return [GENERATION_PREFIX + name for name in (EPOCH, *scopes)]


def _tokens(keys: Sequence[str], found: dict[str, Any]) -> tuple[str, ...]:
    tokens = []
    for key in keys:
        token = found.get(key)
        if token is None:
            # Never bumped, or evicted: start a fresh token. `add` lets a concurrent
            # starter win, so every process agrees on one token.
            token = _new_token()
            if not cache.add(key, token, timeout=None):
                token = cache.get(key) or token
        tokens.append(str(token))
    return tuple(tokens)


def bump(*scopes: str) -> None:
    """Make every cached page depending on `scopes` unreachable. Call after commit."""
    if scopes:
        cache.set_many({GENERATION_PREFIX + scope: _new_token() for scope in scopes}, timeout=None)


def bump_on_commit(*scopes: str) -> None:
    transaction.on_commit(functools.partial(bump, *scopes))


def listings_changed_now(listing_ids: Iterable[int]) -> None:
    bump(LISTINGS, *(listing_scope(pk) for pk in listing_ids))


def forget_all() -> None:
    bump(EPOCH)


# --- Responses ------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedPage:
    generations: tuple[str, ...]  # read before the page was rendered; a hit needs them current
    body: bytes  # CSRF tokens replaced by CSRF_PLACEHOLDER
    headers: tuple[tuple[str, str], ...]
    has_csrf: bool
    digest: str  # of `body`; the ETag adds the visitor's CSRF secret


def page_cache_seconds() -> int:
    return int(getattr(settings, "PAGE_CACHE_SECONDS", 0))


def _anonymous_cacheable(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or MESSAGES_COOKIE in cookies:
        return False
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def static_version() -> str:
    """The collected static files' manifest hash (WhiteNoise/Django manifest storage in
    production; empty where static files are not hashed)."""
    return str(getattr(staticfiles_storage, "manifest_hash", "") or "")


def _page_key(request: HttpRequest) -> str:
    """Where the page is kept: everything it depends on but the generations, which the entry
    holds (so the page and the current generations come in one round trip)."""
    parts = [
        translation.get_language() or "",
        request.scheme or "",
        request.get_host(),
        request.get_full_path(),
        timezone.localdate().isoformat(),
        # Pages name hashed static files: after a deploy with new ones (a fresh STATIC_ROOT)
        # a page cached before it would point at files that are gone.
        static_version(),
    ]
    return PAGE_PREFIX + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _lookup(request: HttpRequest, scopes: Sequence[str]) -> tuple[str, tuple[str, ...], CachedPage | None]:
    """The page's key, the current generations and the cached page if it is still current."""
    key = _page_key(request)
    generation_keys = _generation_keys(scopes)
    found = cache.get_many([key, *generation_keys])
    current = _tokens(generation_keys, found)
    page = found.get(key)
    if isinstance(page, CachedPage) and page.generations == current:
        return key, current, page
    return key, current, None


def _without_csrf_tokens(body: bytes) -> tuple[bytes, bool]:
    tokens = set(CSRF_INPUT.findall(body))
    for token in tokens:
        body = body.replace(token, CSRF_PLACEHOLDER)
    return body, bool(tokens)


def _etag(digest: str, request: HttpRequest) -> str:
    secret = request.META.get("CSRF_COOKIE") or ""
    return '"' + hashlib.sha256(f"{digest}:{secret}".encode()).hexdigest()[:40] + '"'


def _matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    wanted = parse_etags(header)
    return "*" in wanted or etag in wanted


def _finish(request: HttpRequest, response: HttpResponse, etag: str) -> HttpResponse:
    """Answer 304 when the visitor already has this page; mark it as revalidate-always."""
    if request.method in ("GET", "HEAD") and _matches(request, etag):
        not_modified = HttpResponseNotModified()
        for name in ("X-Cache",):
            if name in response:
                not_modified[name] = response[name]
        response = not_modified
    response["ETag"] = etag
    # Pages carry a CSRF token and, for members, personal parts: browsers may keep them but
    # must ask again each time (the ETag makes that cheap); shared caches must not keep them.
    if "Cache-Control" not in response:
        patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


def _from_cache(request: HttpRequest, page: CachedPage) -> HttpResponse:
    body = page.body
    if page.has_csrf:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(body)
    for name, value in page.headers:
        response[name] = value
    response["X-Cache"] = "hit"
    return response


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    cache_control = response.get("Cache-Control", "")
    if any(word in cache_control for word in ("private", "no-store", "no-cache")):
        return False
    session = getattr(request, "session", None)
    return not (session is not None and session.modified)


def cache_public_page(scopes_of: ScopesOf) -> Callable[[View], View]:
    """Decorate a public page's view: anonymous GETs are answered from the cache and every
    answer gets an ETag. `scopes_of(request, *args, **kwargs)` names the scopes (see the
    module doc) the page depends on; it must not read the database."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            key: str | None = None
            current: tuple[str, ...] = ()
            if page_cache_seconds() > 0 and _anonymous_cacheable(request):
                # Generations first, the database (in the view) after: see the module doc.
                key, current, page = _lookup(request, scopes_of(request, *args, **kwargs))
                if page is not None:
                    return _finish(request, _from_cache(request, page), _etag(page.digest, request))
            response = view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()  # TemplateResponse (Wagtail pages): the body is needed now
            if response.status_code != 200 or response.streaming:
                return response
            body, has_csrf = _without_csrf_tokens(response.content)
            digest = hashlib.sha256(body).hexdigest()
            if key is not None and request.method == "GET" and _storable(request, response):
                headers = tuple((name, value) for name, value in response.items() if name.lower() != "set-cookie")
                cache.set(key, CachedPage(current, body, headers, has_csrf, digest), timeout=page_cache_seconds())
                response["X-Cache"] = "miss"
            return _finish(request, response, _etag(digest, request))

        return wrapper

    return decorate


# --- Invalidation: the core's own events -------------------------------------------------


def _on_listing_changed(sender: Any, listing_id: int, **kwargs: Any) -> None:
    listings_changed_now([listing_id])


def _on_listings_changed(sender: Any, listing_ids: list[int], **kwargs: Any) -> None:
    listings_changed_now(listing_ids)


def _on_tier_changed(sender: Any, **kwargs: Any) -> None:
    bump(SITE)


def _on_shared_saved(sender: Any, **kwargs: Any) -> None:
    bump_on_commit(SITE)


# A user's save that changes nothing shown on public pages (logins touch last_login).
UNSHOWN_USER_FIELDS = frozenset({"last_login", "password"})


def _on_user_saved(sender: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= UNSHOWN_USER_FIELDS:
        return
    bump_on_commit(SITE)


def connect_model_receivers(models: Iterable[type[Model]], uid: str, receiver: Callable[..., None]) -> None:
    """Bump through `receiver` whenever one of `models` is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}.save.{model._meta.label}")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}.delete.{model._meta.label}")


def connect() -> None:
    from django.apps import apps

    from marketplace import signals
    from marketplace.models import Organisation, User

    signals.listing_changed.connect(_on_listing_changed, dispatch_uid="page_cache.listing_changed")
    signals.listings_changed.connect(_on_listings_changed, dispatch_uid="page_cache.listings_changed")
    signals.credit_tier_changed.connect(_on_tier_changed, dispatch_uid="page_cache.credit_tier_changed")
    connect_model_receivers([Organisation], "page_cache.shared", _on_shared_saved)
    connect_model_receivers(apps.get_app_config("city").get_models(), "page_cache.shared", _on_shared_saved)
    from django.db.models.signals import post_save

    post_save.connect(_on_user_saved, sender=User, dispatch_uid="page_cache.user")
