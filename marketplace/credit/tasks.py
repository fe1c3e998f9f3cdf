"""Credit background work. Tasks take ids, never model instances."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def credit_recompute_task(*, user_id: int, role: str) -> int:
    """Incremental: one subject in one role, after one of their events was recorded."""
    from marketplace.credit.services import credit_recompute

    return credit_recompute(user_id=user_id, role=role).score


@shared_task
def credit_recompute_all_task() -> dict[str, int]:
    """Nightly: every subject, from all events (gives the same scores as the incremental path)."""
    from marketplace.credit.services import credit_recompute_all

    report = credit_recompute_all()
    return {"subjects": report.subjects, "changed": report.changed, "rings": report.rings}


@shared_task
def ratings_reveal_due_task() -> int:
    """Ratings whose 14-day window closed become visible (and count) even if only one side rated."""
    from marketplace.credit.services import ratings_reveal_due

    return ratings_reveal_due()


@shared_task
def credit_work_settle_task() -> dict[str, int]:
    """Daily: certificates and appraisals that stood the policy's settle days count as
    positive evidence for the technician, the provider and the appraiser (idempotent)."""
    from marketplace.credit.settlement import credit_work_settle

    report = credit_work_settle()
    return {"certificates": report.certificates, "appraisals": report.appraisals, "events": report.events}


# --- Evidence from the marketplace's domain events (queued by receivers.py) -----------------
# Each records its events under a dedupe key, so a repeated run records nothing twice.


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_order_completed_task(*, order_id: int) -> None:
    from marketplace.credit.services import credit_order_completed

    credit_order_completed(order_id=order_id)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_order_cancelled_task(*, order_id: int, at_fault_party: str) -> None:
    from marketplace.credit.services import credit_order_cancelled

    credit_order_cancelled(order_id=order_id, at_fault_party=at_fault_party)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_shipment_late_task(*, order_id: int) -> None:
    from marketplace.credit.services import credit_shipment_late

    credit_shipment_late(order_id=order_id)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_dispute_resolved_task(*, order_id: int, upheld: bool) -> None:
    from marketplace.credit.services import credit_dispute_resolved

    credit_dispute_resolved(order_id=order_id, upheld=upheld)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_stall_no_show_task(*, user_id: int, application_id: int) -> None:
    from marketplace.credit.services import credit_stall_no_show

    credit_stall_no_show(user_id=user_id, application_id=application_id)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_certificate_revoked_task(*, technician_id: int, certificate_id: str, provider_id: int | None) -> None:
    from marketplace.credit.services import credit_certificate_revoked

    credit_certificate_revoked(technician_id=technician_id, certificate_id=certificate_id, provider_id=provider_id)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def credit_verification_changed_task(*, user_id: int, level: str) -> None:
    from marketplace.credit.services import credit_verification_changed

    credit_verification_changed(user_id=user_id, level=level)
