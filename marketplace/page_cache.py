"""Whole-page cache with personal parts, and conditional GET, on the public pages (home and
the other CMS pages, browse, listing, erasure verification).

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

What is cached: the response of a GET answered 200 text/html without setting a cookie or
touching the session, once for every visitor: *personal parts* keep what differs between
visitors out of it. A personal part is a named renderer (``personal_part``; the core's in
marketplace/personal_parts.py: navigation, flash messages, the buy panel, the "Manage" link,
the report form; cms: a market's applications; wipe_cert: a certificate's full identifiers)
shown in a template with ``{% personal_part name arg %}``. While a cacheable page renders,
each part's output is wrapped in markers; the stored page keeps the shared HTML and, in each
part's place, its name and argument, and every hit renders the parts again for the visitor
(what a part shows visitors who are not logged in is stored with the page when it is the
same for all of them, so their hits read no database). Parts' CSRF tokens are the visitor's
own; the shared HTML has none (the language switcher is a GET form), so a reader's hit sets
no cookie.

Logged-in members are served from the cache only from entries marked ``members``: the view
declares (``cache_public_page(members=…)``, or ``response.page_cache_members``) that its
page shows nothing personal outside parts — and a member's render is stored only then (a
listing that is not public, a CMS page with view restrictions or a page type that keeps
personal content in its template never is). Answers carry ``X-Cache: hit``, or ``X-Cache:
miss`` when the page was just rendered and stored.

Conditional GET: every answer of a wrapped view carries a strong ETag, a hash of the shared
page, of the personal parts as this visitor sees them (CSRF tokens left out) and of the
visitor's CSRF secret; ``If-None-Match`` with that ETag gets 304. A page with a per-render
value in a part, like the idempotency key of the buy form, never matches.

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
from dataclasses import dataclass, replace
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
PART_PREFIX = "part:"
EPOCH = "epoch"
SITE = "site"
LISTINGS = "listings"
ERASURE = "erasure"
CSRF_PLACEHOLDER = b"__page_cache_csrf_token__"
# What Django's {% csrf_token %} renders; the token is then replaced wherever it appears.
CSRF_INPUT = re.compile(rb'(?<=name="csrfmiddlewaretoken" value=")([A-Za-z0-9]{32,64})(?=")')

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
class Part:
    """A personal part of a cached page (see "Personal parts" in the module doc)."""

    name: str
    arg: str
    # What the part showed a visitor who is not logged in, when the page was stored from such
    # a visit and the part says that is the same for every such visitor; else None.
    anonymous: bytes | None


@dataclass(frozen=True)
class CachedPage:
    generations: tuple[str, ...]  # read before the page was rendered; a hit needs them current
    segments: tuple[bytes | Part, ...]  # the shared body (CSRF tokens as CSRF_PLACEHOLDER)
    headers: tuple[tuple[str, str], ...]
    digest: str  # of the shared body; the ETag adds the parts and the visitor's CSRF secret
    members: bool  # every personal thing on it is a Part: logged-in visitors may be served


# --- Personal parts ------------------------------------------------------------------


PartRender = Callable[[HttpRequest, str, Any], str]
PART_NAME = re.compile(r"[a-z][a-z0-9_]*")
PART_ARG = re.compile(r"[A-Za-z0-9_.:-]*")
PART_MARK = re.compile(rb"<!--xh-part:([a-z][a-z0-9_]*):([A-Za-z0-9_.:-]*)-->(.*?)<!--/xh-part-->", re.S)
RENDERING_PARTS = "_page_cache_parts"  # request attribute: mark parts while this is set


PartScopes = Callable[[str], Sequence[str]]  # the part's argument -> scopes it depends on


@dataclass(frozen=True)
class PartRenderer:
    render: PartRender  # (request, arg, template context during a full render or None) -> HTML
    anonymous_shared: bool  # every visitor who is not logged in sees the same output
    # What a member's output depends on besides the member's own scope (``user_scope``): the
    # output is kept per member, language and argument until one of them is bumped. None:
    # rendered on every hit (flash messages).
    member_scopes: PartScopes | None


@dataclass(frozen=True)
class CachedPart:
    generations: tuple[str, ...]
    html: bytes  # CSRF tokens as CSRF_PLACEHOLDER


_part_renderers: dict[str, PartRenderer] = {}


def personal_part(
    name: str, *, anonymous_shared: bool = True, member_scopes: PartScopes | None = None
) -> Callable[[PartRender], PartRender]:
    """Register the renderer of a personal part, shown with ``{% personal_part name arg %}``."""
    if not PART_NAME.fullmatch(name):
        raise ValueError(f"bad part name {name!r}")

    def register(render: PartRender) -> PartRender:
        _part_renderers[name] = PartRenderer(render, anonymous_shared, member_scopes)
        return render

    return register


def user_scope(user_id: Any) -> str:
    """Everything personal a member sees: bumped when their notifications, memberships,
    orders, offers or account change (see ``connect``)."""
    return f"user:{user_id}"


def part_html(request: HttpRequest, name: str, arg: str, context: Any = None) -> str:
    """The part's HTML for this visitor; wrapped in markers while a cacheable page renders."""
    arg = str(arg)
    if not PART_ARG.fullmatch(arg):
        raise ValueError(f"bad part argument {arg!r}")
    html = _part_renderers[name].render(request, arg, context)
    if getattr(request, RENDERING_PARTS, False):
        return f"<!--xh-part:{name}:{arg}-->{html}<!--/xh-part-->"
    return html


def _split(body: bytes, anonymous: bool) -> tuple[tuple[bytes | Part, ...], list[bytes]]:
    """The marked body as shared segments and parts, and each part's output as rendered."""
    segments: list[bytes | Part] = []
    outputs: list[bytes] = []
    position = 0
    for match in PART_MARK.finditer(body):
        segments.append(body[position : match.start()])
        name, arg, html = match.group(1).decode(), match.group(2).decode(), match.group(3)
        keep = anonymous and name in _part_renderers and _part_renderers[name].anonymous_shared
        segments.append(Part(name, arg, html if keep else None))
        outputs.append(html)
        position = match.end()
    segments.append(body[position:])
    return tuple(segment for segment in segments if segment != b""), outputs


def _unmarked(body: bytes) -> bytes:
    return PART_MARK.sub(rb"\3", body)


def _part_key(request: HttpRequest, part: Part) -> str:
    parts = [translation.get_language() or "", part.name, part.arg, str(request.user.pk)]
    return PART_PREFIX + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _members_parts(request: HttpRequest, page: CachedPage) -> dict[Part, bytes]:
    """The member's kept parts of this page that are still current, in one round trip; the
    others are rendered and kept (generations read before rendering, as for pages)."""
    wanted: dict[Part, tuple[str, list[str]]] = {}
    for segment in page.segments:
        if isinstance(segment, Part) and segment not in wanted:
            renderer = _part_renderers.get(segment.name)
            if renderer is not None and renderer.member_scopes is not None:
                scopes = [user_scope(request.user.pk), *renderer.member_scopes(segment.arg)]
                wanted[segment] = (_part_key(request, segment), _generation_keys(scopes))
    if not wanted:
        return {}
    found = cache.get_many([key for key, generation_keys in wanted.values() for key in (key, *generation_keys)])
    kept: dict[Part, bytes] = {}
    for part, (key, generation_keys) in wanted.items():
        current = _tokens(generation_keys, found)
        entry = found.get(key)
        if isinstance(entry, CachedPart) and entry.generations == current:
            kept[part] = entry.html
            continue
        html, _has_csrf = _without_csrf_tokens(_part_renderers[part.name].render(request, part.arg, None).encode())
        cache.set(key, CachedPart(current, html), timeout=page_cache_seconds())
        kept[part] = html
    return kept


def _assemble(request: HttpRequest, key: str, page: CachedPage, logged_in: bool) -> tuple[bytes, list[bytes]]:
    chunks: list[bytes] = []
    outputs: list[bytes] = []
    kept = _members_parts(request, page) if logged_in else {}
    learned = False  # a part every stranger sees alike, rendered now: keep it with the page
    segments: list[bytes | Part] = []
    for segment in page.segments:
        if isinstance(segment, bytes):
            chunks.append(segment)
            segments.append(segment)
            continue
        if segment in kept:
            html = kept[segment]
        elif segment.anonymous is not None and not logged_in:
            html = segment.anonymous
        else:
            html = _part_renderers[segment.name].render(request, segment.arg, None).encode()
            if not logged_in and _part_renderers[segment.name].anonymous_shared:
                segment = Part(segment.name, segment.arg, _without_csrf_tokens(html)[0])
                learned = True
        segments.append(segment)
        chunks.append(html)
        outputs.append(html)
    if learned:
        cache.set(key, replace(page, segments=tuple(segments)), timeout=page_cache_seconds())
    return b"".join(chunks), outputs


def page_cache_seconds() -> int:
    return int(getattr(settings, "PAGE_CACHE_SECONDS", 0))


def _logged_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


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


def _etag(digest: str, request: HttpRequest, outputs: Sequence[bytes] = ()) -> str:
    """A hash of the page as this visitor sees it: the shared body's digest, the personal
    parts (their CSRF tokens left out: they change with every render) and the CSRF secret."""
    hasher = hashlib.sha256(digest.encode())
    for output in outputs:
        hasher.update(b"\x1f" + CSRF_INPUT.sub(b"", output.replace(CSRF_PLACEHOLDER, b"")))
    hasher.update(b"\x1f" + (request.META.get("CSRF_COOKIE") or "").encode())
    return '"' + hasher.hexdigest()[:40] + '"'


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


def _from_cache(request: HttpRequest, key: str, page: CachedPage) -> HttpResponse:
    body, outputs = _assemble(request, key, page, _logged_in(request))
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(body)
    for name, value in page.headers:
        response[name] = value
    response["X-Cache"] = "hit"
    return _finish(request, response, _etag(page.digest, request, outputs))


def _storable(request: HttpRequest, response: HttpResponse, members: bool) -> bool:
    if request.method != "GET" or response.status_code != 200 or response.streaming or response.cookies:
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    cache_control = response.get("Cache-Control", "")
    if any(word in cache_control for word in ("private", "no-store", "no-cache")):
        return False
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    # A member's render is shared only when the page says its personal things are all parts.
    return members or not _logged_in(request)


Members = bool | Callable[[HttpRequest, HttpResponse], bool]


def _members(members: Members, request: HttpRequest, response: HttpResponse) -> bool:
    declared = getattr(response, "page_cache_members", None)
    if declared is not None:
        return bool(declared)
    return members(request, response) if callable(members) else members


def cache_public_page(scopes_of: ScopesOf, *, members: Members = False) -> Callable[[View], View]:
    """Decorate a public page's view: GETs are answered from the cache and every answer
    gets an ETag. `scopes_of(request, *args, **kwargs)` names the scopes (see the module
    doc) the page depends on; it must not read the database. `members` says whether the page
    shows logged-in visitors nothing personal outside its personal parts, so that they may
    be served from the cache too: True, or a function of the request and the rendered
    response; a response may also say so itself with a `page_cache_members` attribute (a
    listing that is not public, for instance, must not be shared)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            key: str | None = None
            current: tuple[str, ...] = ()
            if page_cache_seconds() > 0:
                # Generations first, the database (in the view) after: see the module doc.
                key, current, page = _lookup(request, scopes_of(request, *args, **kwargs))
                if page is not None and (page.members or not _logged_in(request)):
                    return _from_cache(request, key, page)
            setattr(request, RENDERING_PARTS, True)
            try:
                response = view(request, *args, **kwargs)
                render = getattr(response, "render", None)
                if callable(render) and not getattr(response, "is_rendered", True):
                    render()  # TemplateResponse (Wagtail pages): the body is needed now
            finally:
                setattr(request, RENDERING_PARTS, False)
            if response.streaming:
                return response
            marked = response.content
            response.content = _unmarked(marked)
            if response.status_code != 200:
                return response
            body, _has_csrf = _without_csrf_tokens(marked)
            segments, outputs = _split(body, anonymous=not _logged_in(request))
            digest = hashlib.sha256(b"".join(s for s in segments if isinstance(s, bytes))).hexdigest()
            shared = _members(members, request, response)
            if key is not None and _storable(request, response, shared):
                headers = tuple((name, value) for name, value in response.items() if name.lower() != "set-cookie")
                cache.set(key, CachedPage(current, segments, headers, digest, shared), timeout=page_cache_seconds())
                response["X-Cache"] = "miss"
            return _finish(request, response, _etag(digest, request, outputs))

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


def _on_user_saved(sender: Any, instance: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    bump_on_commit(user_scope(instance.pk))
    if update_fields is not None and set(update_fields) <= UNSHOWN_USER_FIELDS:
        return
    bump_on_commit(SITE)


def members_changed_on_commit(user_ids: Iterable[Any]) -> None:
    """What these members see of themselves changed (for bulk updates, which send no signal)."""
    scopes = [user_scope(pk) for pk in user_ids if pk is not None]
    if scopes:
        bump_on_commit(*scopes)


# A member's own records, and the fields naming the members who see them in personal parts.
PERSONAL_RECORDS = {
    "marketplace.Notification": ("user_id",),
    "marketplace.Membership": ("user_id",),
    "marketplace.Order": ("buyer_id", "seller_user_id"),
    "marketplace.Offer": ("buyer_id",),
}


def _on_personal_record_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    fields = PERSONAL_RECORDS[sender._meta.label]
    members_changed_on_commit(getattr(instance, field) for field in fields)


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
    connect_model_receivers(
        [apps.get_model(label) for label in PERSONAL_RECORDS], "page_cache.personal", _on_personal_record_saved
    )
