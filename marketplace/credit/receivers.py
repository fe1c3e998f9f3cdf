"""Credit listens to the marketplace's domain events (sent after commit, with ids only)
and queues the recording of each through the outbox (see marketplace.credit.tasks), so
an event is never lost to a broker outage nor slows down the write that sent it; the
tasks record through `credit_event_record`, and nothing else writes credit events."""

from __future__ import annotations

from typing import Any

from marketplace.credit import tasks
from marketplace.services.outbox import task_enqueue_on_commit


def on_order_completed(sender: Any, order_id: int, **kwargs: Any) -> None:
    task_enqueue_on_commit(tasks.credit_order_completed_task, order_id=order_id)


def on_order_cancelled(sender: Any, order_id: int, at_fault_party: str = "", **kwargs: Any) -> None:
    task_enqueue_on_commit(tasks.credit_order_cancelled_task, order_id=order_id, at_fault_party=at_fault_party)


def on_shipment_late(sender: Any, order_id: int, **kwargs: Any) -> None:
    task_enqueue_on_commit(tasks.credit_shipment_late_task, order_id=order_id)


def on_dispute_resolved(sender: Any, order_id: int, upheld: bool = False, **kwargs: Any) -> None:
    task_enqueue_on_commit(tasks.credit_dispute_resolved_task, order_id=order_id, upheld=upheld)


def on_stall_no_show(sender: Any, user_id: int, application_id: int, **kwargs: Any) -> None:
    task_enqueue_on_commit(tasks.credit_stall_no_show_task, user_id=user_id, application_id=application_id)


def on_certificate_revoked(
    sender: Any, certificate_id: str, technician_id: int | None = None, provider_id: int | None = None, **kwargs: Any
) -> None:
    if technician_id is not None:
        task_enqueue_on_commit(
            tasks.credit_certificate_revoked_task,
            technician_id=technician_id,
            certificate_id=str(certificate_id),
            provider_id=provider_id,
        )


def on_email_confirmed(sender: Any, request: Any = None, email_address: Any = None, **kwargs: Any) -> None:
    if email_address is not None and email_address.user_id is not None:
        task_enqueue_on_commit(tasks.credit_verification_changed_task, user_id=email_address.user_id, level="email")


def connect() -> None:
    from allauth.account.signals import email_confirmed

    from marketplace import signals

    signals.order_completed.connect(on_order_completed, dispatch_uid="credit.order_completed")
    signals.order_cancelled.connect(on_order_cancelled, dispatch_uid="credit.order_cancelled")
    signals.shipment_late.connect(on_shipment_late, dispatch_uid="credit.shipment_late")
    signals.dispute_resolved.connect(on_dispute_resolved, dispatch_uid="credit.dispute_resolved")
    signals.stall_no_show.connect(on_stall_no_show, dispatch_uid="credit.stall_no_show")
    signals.erasure_certificate_revoked.connect(on_certificate_revoked, dispatch_uid="credit.certificate_revoked")
    email_confirmed.connect(on_email_confirmed, dispatch_uid="credit.email_confirmed")
