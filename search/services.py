"""Search as the rest of the site uses it: searching with fallback, suggestions,
health, queueing re-indexing, and saved searches with their alerts.

Whenever Elasticsearch cannot answer — unreachable, too slow, an error status, a refused
content type, its index missing — searches go to the database backend (which every
change is written to as well) and say that results may be incomplete; a search never
silently returns nothing because the engine's index is empty or gone. An engine that
is down or overloaded is then left alone for ENGINE_RETRY_SECONDS instead of making
every request wait for a timeout; one that refused quickly is asked again next time."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, User
from marketplace.services.notifications import notify
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.templatetags.listing_tags import format_money
from search.backends.base import BackendHealth, SearchBackend, SearchUnavailable, database_backend, get_backend
from search.models import SavedSearch, SentAlert
from search.query import INDEXED_STATUSES, SearchQuery, SearchResult, Sort

logger = logging.getLogger(__name__)

ENGINE_RETRY_SECONDS = 30.0
MAX_SAVED_SEARCHES = 50
# Listings reach the index a little after they are published; each alert run looks
# back this far past the previous one (SentAlert stops repeats).
ALERT_LOOKBACK = dt.timedelta(hours=1)
ALERT_MAX_LISTINGS = 20
UNSUBSCRIBE_SALT = "search.saved-search.unsubscribe"

_engine_down_until: dict[str, float] = {}


def _reset_breaker(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SEARCH_BACKEND", "ELASTICSEARCH_URL"):
        _engine_down_until.clear()


setting_changed.connect(_reset_breaker)


def _engine_resting(backend: SearchBackend) -> bool:
    return _engine_down_until.get(backend.url, 0.0) > time.monotonic()


def _engine_failed(backend: SearchBackend, exc: Exception) -> None:
    if isinstance(exc, SearchUnavailable):
        logger.warning("Search engine %s cannot answer (%s), using the database: %s", backend.name, exc.cause, exc)
        if not exc.rest:
            return
    else:
        # Not an outage we know of (e.g. an answer we cannot read): a bug to look at, but
        # the buyer still gets results.
        logger.exception("Search engine %s failed, using the database", backend.name, exc_info=exc)
    _engine_down_until[backend.url] = time.monotonic() + ENGINE_RETRY_SECONDS


@dataclass(frozen=True)
class SearchOutcome:
    result: SearchResult
    backend: str  # the backend that answered
    degraded: bool  # the configured engine could not answer: results may be incomplete


def search_listings(*, query: SearchQuery) -> SearchOutcome:
    engine, fallback = get_backend(), database_backend()
    if engine is fallback:
        return SearchOutcome(fallback.search(query), fallback.name, degraded=False)
    if not _engine_resting(engine):
        try:
            return SearchOutcome(engine.search(query), engine.name, degraded=False)
        except Exception as exc:  # any failure of the engine falls back
            _engine_failed(engine, exc)
    return SearchOutcome(fallback.search(query), fallback.name, degraded=True)


def search_suggestions(*, prefix: str, limit: int = 8) -> list[str]:
    engine, fallback = get_backend(), database_backend()
    if engine is not fallback and not _engine_resting(engine):
        try:
            return engine.suggest(prefix, limit=limit)
        except Exception as exc:  # any failure of the engine falls back
            _engine_failed(engine, exc)
    return fallback.suggest(prefix, limit=limit)


def search_health() -> BackendHealth:
    """The configured backend and whether it answers (for /api/v1/health)."""
    engine = get_backend()
    health = engine.health()
    if health.ok:
        _engine_down_until.pop(engine.url, None)
    return health


def enqueue_reindex(*, listing_id: int) -> None:
    """Queue re-indexing of a listing through the outbox (a broker outage keeps the task
    there until the broker is back). Called after the change is committed; any other
    problem is logged, never raised: the change itself has succeeded and the drift task
    catches up."""
    from search.tasks import listing_reindex_task

    try:
        task_enqueue_on_commit(listing_reindex_task, listing_id=listing_id)
    except Exception:
        logger.exception("Could not queue re-indexing of listing %s", listing_id)


def enqueue_reindex_many(*, listing_ids: Sequence[int]) -> None:
    """Queue re-indexing of many listings as a few batch tasks (never one per listing)."""
    from search.indexing import BATCH
    from search.tasks import listings_reindex_task

    ids = sorted(set(listing_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        try:
            task_enqueue_on_commit(listings_reindex_task, listing_ids=chunk)
        except Exception:
            logger.exception("Could not queue re-indexing of %d listings", len(chunk))


# --- saved searches ---------------------------------------------------------------------


def saved_search_create(*, user: User, querystring: str, name: str) -> SavedSearch:
    """Save a search (its canonical URL parameters) for alerts; saving the same search
    again turns its alerts back on."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Log in to save searches."))
    querystring = querystring.strip().lstrip("?")
    if len(querystring) > 1000:
        raise ValidationFailed(_("This search is too long to save."))
    name = " ".join(name.split())[:200] or _("All listings")
    with transaction.atomic():
        existing = SavedSearch.objects.select_for_update().filter(user=user, querystring=querystring).first()
        if existing is not None:
            existing.alerts_enabled = True
            existing.save(update_fields=["alerts_enabled"])
            return existing
        if SavedSearch.objects.filter(user=user).count() >= MAX_SAVED_SEARCHES:
            raise ValidationFailed(
                _("You can keep up to %(count)s saved searches; delete one first.") % {"count": MAX_SAVED_SEARCHES},
                code="too_many_saved_searches",
            )
        return SavedSearch.objects.create(user=user, querystring=querystring, name=name)


def saved_search_delete(*, user: User, saved_search_id: int) -> None:
    deleted, _rows = SavedSearch.objects.filter(pk=saved_search_id, user=user).delete()
    if not deleted:
        raise NotFound(_("No such saved search."))


def unsubscribe_token(saved_search: SavedSearch) -> str:
    return signing.dumps(saved_search.pk, salt=UNSUBSCRIBE_SALT, compress=True)


def saved_search_for_token(*, token: str) -> SavedSearch:
    try:
        saved_search_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise NotFound(_("This unsubscribe link is not valid.")) from exc
    saved = SavedSearch.objects.filter(pk=saved_search_id).first()
    if saved is None:
        raise NotFound(_("This saved search no longer exists."))
    return saved


def saved_search_unsubscribe(*, token: str) -> SavedSearch:
    """Turn off alerts from the link in an alert e-mail; no login needed."""
    saved = saved_search_for_token(token=token)
    SavedSearch.objects.filter(pk=saved.pk).update(alerts_enabled=False)
    saved.alerts_enabled = False
    return saved


def saved_search_query(saved: SavedSearch, **changes: Any) -> SearchQuery:
    from search.forms import SearchForm

    return SearchForm(QueryDict(saved.querystring)).to_query(**changes)


def _absolute(path: str) -> str:
    return f"{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}{path}"


def _alert_one(saved_search_id: int, now: dt.datetime) -> int:
    with transaction.atomic():
        saved = (
            SavedSearch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(pk=saved_search_id, alerts_enabled=True, user__is_active=True)
            .first()
        )
        if saved is None:
            return 0
        checked = saved.alerts_checked_at or saved.created_at
        since = max(saved.created_at, checked - ALERT_LOOKBACK)
        query = saved_search_query(saved, published_after=since, sort=Sort.NEWEST, page=1, per_page=50)
        hit_ids = [hit.listing_id for hit in search_listings(query=query).result.hits]
        already = set(
            SentAlert.objects.filter(saved_search=saved, listing_id__in=hit_ids).values_list("listing_id", flat=True)
        )
        listings = list(
            Listing.objects.filter(
                pk__in=[i for i in hit_ids if i not in already],
                status__in=INDEXED_STATUSES,
                published_at__gte=saved.created_at,
            )
            .exclude(seller_user=saved.user)
            .order_by("-published_at", "-pk")[:ALERT_MAX_LISTINGS]
        )
        if listings:
            SentAlert.objects.bulk_create([SentAlert(saved_search=saved, listing=listing) for listing in listings])
            lines = "\n".join(
                f"- {listing.title} · {format_money(listing.price, listing.currency)} · "
                f"{_absolute(reverse('listing_detail', args=[listing.pk]))}"
                for listing in listings
            )
            notify(
                users=[saved.user],
                kind="saved_search_alert",
                subject=gettext_lazy("New listings for your saved search “%(name)s”"),
                body=gettext_lazy(
                    "New listings match your saved search “%(name)s” (%(count)s):\n\n%(listings)s\n\n"
                    "To stop these alerts, open %(unsubscribe_url)s"
                ),
                params={
                    "name": saved.name,
                    "count": len(listings),
                    "listings": lines,
                    "unsubscribe_url": _absolute(reverse("search_unsubscribe", args=[unsubscribe_token(saved)])),
                },
                link=saved.url,
            )
        SavedSearch.objects.filter(pk=saved.pk).update(alerts_checked_at=now)
        return len(listings)


def saved_search_alerts_send() -> int:
    """Run every saved search with alerts on against listings published since it last
    ran; one notification (in-app and e-mail) per search with new matches, never twice
    for the same listing. Returns how many listings were alerted about."""
    now = timezone.now()
    ids = list(
        SavedSearch.objects.filter(alerts_enabled=True, user__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(_alert_one(saved_search_id, now) for saved_search_id in ids)
