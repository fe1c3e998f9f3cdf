"""Search data: the database backend's index (one row per searchable listing, with its
suggestions) and buyers' saved searches with the alerts already sent for them.

`SearchEntry` is an index, not a source of truth: it is written only by
`search.indexing` from documents built off the marketplace tables, may lag them for a
moment, and is repaired by the drift task. It carries no foreign key to the listing
so that it can be rebuilt (or filled with synthetic rows by the benchmark) on its own."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SearchEntry(models.Model):
    listing_id = models.BigIntegerField(primary_key=True)
    title = models.CharField(max_length=200)
    # Tokens from search.text, space-separated with a space at each end so that a token
    # can be matched exactly with LIKE ' token ' (SQLite); PostgreSQL matches them through
    # `search_vector` (title weight A, attributes B, description D).
    title_tokens = models.TextField(default=" ")
    attribute_tokens = models.TextField(default=" ")
    body_tokens = models.TextField(default=" ")
    identifiers = models.CharField(max_length=200, default=" ")
    # Filled on PostgreSQL only (GIN-indexed there; see the migrations).
    search_vector = SearchVectorField(null=True, editable=False)

    category = models.CharField(max_length=20)
    device_type = models.CharField(max_length=20, blank=True)
    emission_standard = models.CharField(max_length=10, blank=True)
    grade = models.CharField(max_length=20, blank=True)
    certified = models.BooleanField(default=False)
    erasure_verified = models.BooleanField(default=False)
    price = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    city = models.CharField(max_length=60, blank=True)
    district = models.CharField(max_length=60, blank=True)
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    delivery_ship = models.BooleanField(default=False)
    delivery_pickup = models.BooleanField(default=False)
    delivery_event = models.BooleanField(default=False)
    seller_type = models.CharField(max_length=10)
    seller_tier = models.CharField(max_length=20, blank=True)
    event_keys = models.CharField(max_length=500, default=" ")  # " 12 34 "
    status = models.CharField(max_length=20)
    published_at = models.DateTimeField()

    fingerprint = models.CharField(max_length=64)
    document = models.JSONField()
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("search index entry")
        verbose_name_plural = _("search index entries")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["-published_at", "-listing_id"], name="search_entry_newest_idx"),
            # Cheapest first reads this one in order (ties: newest listing first); dearest
            # first reads search_entry_price_idx backwards.
            models.Index(fields=["price", "-listing_id"], name="search_entry_price_asc_idx"),
            models.Index(fields=["price", "listing_id"], name="search_entry_price_idx"),
            models.Index(fields=["category", "device_type"], name="search_entry_category_idx"),
            models.Index(fields=["latitude", "longitude"], name="search_entry_geo_idx"),
            models.Index(fields=["city", "district"], name="search_entry_place_idx"),
            # Filters PostgreSQL can AND with the GIN match (a bitmap), so counting a
            # common word with a grade or a flag reads only the rows that match both.
            models.Index(fields=["grade"], name="search_entry_grade_idx"),
            models.Index(fields=["certified"], condition=Q(certified=True), name="search_entry_certified_idx"),
            models.Index(
                fields=["erasure_verified"], condition=Q(erasure_verified=True), name="search_entry_erasure_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.title}"


class SearchSuggestion(models.Model):
    """One completion for the query box (a title, a model, a book's author…)."""

    listing_id = models.BigIntegerField(db_index=True)
    text = models.CharField(max_length=200)
    key = models.CharField(max_length=200)  # search.text.suggestion_key(text)

    class Meta:
        verbose_name = _("search suggestion")
        verbose_name_plural = _("search suggestions")
        indexes: ClassVar[list[models.Index]] = [
            # LIKE 'prefix%' uses a B-tree index on PostgreSQL only with a pattern opclass.
            models.Index(fields=["key"], name="search_suggestion_key_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.text


class SavedSearch(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=200)
    # The search page's URL parameters, canonical (sorted, without the page number).
    querystring = models.CharField(_("search"), max_length=1000)
    alerts_enabled = models.BooleanField(_("e-mail and in-app alerts"), default=True)
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)
    # When the alert task last looked; the next run looks a little further back
    # (indexing may lag) and SentAlert keeps it from telling twice.
    alerts_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")
        ordering: ClassVar[list[str]] = ["-created_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "querystring"], name="search_saved_once_per_user"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["alerts_enabled", "alerts_checked_at"], name="search_saved_alerts_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        from django.urls import reverse

        return f"{reverse('search')}?{self.querystring}" if self.querystring else reverse("search")

    @staticmethod
    def canonical(pairs: list[tuple[str, str]]) -> str:
        return urlencode(sorted((k, v) for k, v in pairs if k != "page" and v != ""))


class SentAlert(models.Model):
    """A listing a saved search has already alerted about: never twice."""

    saved_search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="sent_alerts")
    listing = models.ForeignKey("marketplace.Listing", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sent search alert")
        verbose_name_plural = _("sent search alerts")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["saved_search", "listing"], name="search_alert_once_per_listing"),
        ]

    def __str__(self) -> str:
        return f"{self.saved_search_id} → {self.listing_id}"
