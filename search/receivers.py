"""Search listens to the domain events of the marketplace and the apps around it; the
core never imports search."""

from __future__ import annotations

from typing import Any

from marketplace.signals import listing_changed, listings_changed
from wipe_cert.services import certificate_revoked


def on_listing_changed(sender: Any, listing_id: int, **kwargs: Any) -> None:
    from search.services import enqueue_reindex

    enqueue_reindex(listing_id=listing_id)


def on_listings_changed(sender: Any, listing_ids: list[int], **kwargs: Any) -> None:
    from search.services import enqueue_reindex_many

    enqueue_reindex_many(listing_ids=listing_ids)


def on_certificate_revoked(sender: Any, listing_id: int | None = None, **kwargs: Any) -> None:
    from search.services import enqueue_reindex

    if listing_id is not None:
        enqueue_reindex(listing_id=listing_id)


def connect() -> None:
    listing_changed.connect(on_listing_changed, dispatch_uid="search.reindex")
    listings_changed.connect(on_listings_changed, dispatch_uid="search.reindex_many")
    certificate_revoked.connect(on_certificate_revoked, dispatch_uid="search.reindex_on_revocation")
