"""Domain events of the marketplace core. Other apps (search, credit) subscribe; the
core imports none of them. Sent from `transaction.on_commit`, with ids only.

Every domain event is a `DomainSignal`, whose `send` is robust: each receiver runs in its
own savepoint; one that raises is rolled back and logged with its traceback, the other
receivers still run, the caller never sees the error, and that one receiver is retried
from a background task (queued through the outbox, so a broker outage does not lose it).
Receivers must therefore be harmless to run twice (most only queue a task), synchronous,
and the arguments plain JSON values."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.db import models, transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def receiver_path(receiver: Any) -> str:
    return f"{receiver.__module__}.{receiver.__qualname__}"


class DomainSignal(Signal):
    """A named domain event (the name finds it again in the retry task)."""

    registry: ClassVar[dict[str, DomainSignal]] = {}

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        DomainSignal.registry[name] = self

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        responses: list[tuple[Any, Any]] = []
        if not self.receivers:
            return responses
        sync_receivers, async_receivers = self._live_receivers(sender)
        if async_receivers:
            raise TypeError(f"Domain events take synchronous receivers only ({self.name}).")
        for receiver in sync_receivers:
            try:
                with transaction.atomic():
                    response = receiver(signal=self, sender=sender, **named)
            except Exception as exc:
                logger.exception("Receiver %s of %s failed; it will be retried", receiver_path(receiver), self.name)
                self._retry_later(receiver, sender, named)
                response = exc
            responses.append((receiver, response))
        return responses

    def send_robust(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        return self.send(sender, **named)

    def _retry_later(self, receiver: Any, sender: Any, named: dict[str, Any]) -> None:
        from marketplace.services.outbox import task_enqueue_on_commit
        from marketplace.tasks import domain_signal_retry_task

        is_model = isinstance(sender, type) and issubclass(sender, models.Model)
        try:
            task_enqueue_on_commit(
                domain_signal_retry_task,
                signal=self.name,
                receiver=receiver_path(receiver),
                sender=sender._meta.label if is_model else None,
                arguments=named,
            )
        except Exception:
            logger.exception("Could not queue a retry of %s for %s", receiver_path(receiver), self.name)

    def receiver_find(self, sender: Any, path: str) -> Any | None:
        """The live receiver of `sender` called `path` (module.qualname), if still connected."""
        sync_receivers, _async_receivers = self._live_receivers(sender)
        return next((receiver for receiver in sync_receivers if receiver_path(receiver) == path), None)


# Sent with `listing_id` whenever anything a buyer can see of a listing changed.
listing_changed = DomainSignal("marketplace.listing_changed")
# Sent with `listing_ids` (a list) when many listings changed at once, e.g. every listing of
# a seller whose credit tier changed: receivers handle them as one batch.
listings_changed = DomainSignal("marketplace.listings_changed")

# Orders, for the credit system. All sent after commit, with ids and plain values only.
# `order_id` completed: the buyer confirmed receipt (or the timer did) and was charged.
order_completed = DomainSignal("marketplace.order_completed")
# `order_id`, `at_fault_party` ("buyer", "seller" or "" when nobody is at fault).
order_cancelled = DomainSignal("marketplace.order_cancelled")
# `order_id`: the seller did not ship before the deadline (the order was cancelled).
shipment_late = DomainSignal("marketplace.shipment_late")
# `order_id`, `upheld` (bool), `against` ("seller" when upheld, "buyer" when rejected).
dispute_resolved = DomainSignal("marketplace.dispute_resolved")

# Sent after commit when an organiser records that an approved flea-market vendor did not
# come, with `user_id` (the vendor), `event_page_id` (the market's page) and
# `application_id`. The credit system counts it as evidence.
stall_no_show = DomainSignal("marketplace.stall_no_show")

# Sent after commit when an erasure certificate is revoked, with `certificate_id` (str),
# `provider_id` (the erasure provider organisation) and `technician_id` (the user who
# issued it). The credit system counts it against the technician as erasure provider.
erasure_certificate_revoked = DomainSignal("marketplace.erasure_certificate_revoked")

# Sent after commit with `user_id` and `role` ("seller", "shop", …) whenever a credit tier
# changed (listing pages and cards show sellers' and shops' tiers).
credit_tier_changed = DomainSignal("marketplace.credit_tier_changed")
