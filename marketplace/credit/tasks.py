"""Credit background work. Tasks take ids, never model instances."""

from __future__ import annotations

from celery import shared_task


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
