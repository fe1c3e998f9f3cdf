"""Credit for work that stood: an erasure certificate still not revoked, and a certified
appraisal still not overturned, `POLICY.work_settle_days` after it counted, becomes
positive evidence for whoever did the work. Without it a technician or appraiser has
only negative evidence, and one revocation takes a long clean record to "restricted".

`credit_work_settle` runs periodically (beat: `credit_work_settle_task`). It is
idempotent: each piece of work is credited once per party (dedupe keys), dated the
moment it settled, so a late or repeated run gives the same scores as a timely one.
Work that turns bad after it was credited is withdrawn by the revocation and dispute
handlers in `services` (`_withdraw_stood`).

The certificates and appraisals are read through the app registry, the way
`services._certified_appraisal_of` reads appraisals: the core imports neither plug-in.
The fields used are listed below."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from marketplace.credit import scoring
from marketplace.credit.models import CreditEvent, CreditEventKind, CreditRole
from marketplace.credit.services import (
    credit_event_record,
    organisation_subjects,
    recompute_after_commit,
    stood_dedupe_key,
)
from marketplace.models import Dispute, DisputeKind, DisputeStatus

BATCH = 500

# wipe_cert.ErasureCertificate: id, technician_id, provider_id, status, accepted_at, revoked_at.
CERTIFICATE_MODEL = ("wipe_cert", "ErasureCertificate")
# Accepted, or accepted and later replaced by a newer certificate for the same device.
CERTIFICATE_COUNTED_STATUSES = ("accepted", "superseded")
# grading.Appraisal: id, kind, appraiser_id, signed_at, review_status.
APPRAISAL_MODEL = ("grading", "Appraisal")
APPRAISAL_NOT_COUNTED_REVIEW = ("pending", "rejected")


@dataclass
class SettleReport:
    certificates: int = 0
    appraisals: int = 0
    events: int = 0
    subjects: set[tuple[int, str]] = field(default_factory=set)


def _model(label: tuple[str, str]) -> Any:
    return apps.get_model(*label) if apps.is_installed(label[0]) else None


def _batches(queryset: Any) -> Iterator[list[Any]]:
    """Primary-key ordered batches, each read (and its rows locked) inside the caller's
    transaction, so a revocation committing meanwhile is either seen or waits for us."""
    last = None
    while True:
        with transaction.atomic():
            page = queryset.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            rows = list(page.select_for_update(of=("self",))[:BATCH])
            if not rows:
                return
            last = rows[-1].pk
            yield rows


def _already(keys: list[str]) -> set[str]:
    return set(CreditEvent.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))


def _record(
    report: SettleReport, *, subject_id: int, role: str, kind: str, source: Any, at: dt.datetime, key: str
) -> None:
    credit_event_record(
        subject_id=subject_id,
        role=role,
        kind=kind,
        positive=1.0,
        source=source,
        occurred_at=at,
        dedupe_key=key,
        recompute=False,
    )
    report.events += 1
    report.subjects.add((subject_id, role))


def _settle_certificates(report: SettleReport, cutoff: dt.datetime) -> None:
    model = _model(CERTIFICATE_MODEL)
    if model is None:
        return
    due = model.objects.filter(
        status__in=CERTIFICATE_COUNTED_STATUSES, accepted_at__isnull=False, accepted_at__lte=cutoff, revoked_at=None
    ).only("pk", "technician_id", "provider_id", "accepted_at")
    kind = CreditEventKind.CERTIFICATE_STOOD
    for rows in _batches(due):
        keys = {
            (row.pk, party): stood_dedupe_key(kind, row.pk, party)
            for row in rows
            for party in ("technician", "provider")
        }
        done = _already(list(keys.values()))
        providers = organisation_subjects({row.provider_id for row in rows})
        for row in rows:
            at = scoring.settled_at(row.accepted_at)
            parties = [("technician", row.technician_id, CreditRole.TECHNICIAN)]
            if row.provider_id in providers:
                parties.append(("provider", providers[row.provider_id], CreditRole.ERASURE_PROVIDER))
            fresh = False
            for party, subject_id, role in parties:
                if keys[(row.pk, party)] in done:
                    continue
                _record(
                    report, subject_id=subject_id, role=role, kind=kind, source=row, at=at, key=keys[(row.pk, party)]
                )
                fresh = True
            report.certificates += fresh


def _appraisals_in_dispute(appraisal_ids: list[int]) -> set[int]:
    """Appraisals a "not as graded" dispute still open, or upheld, is about (the order
    records the grade the buyer relied on)."""
    disputes = (
        Dispute.objects.filter(kind=DisputeKind.NOT_AS_GRADED)
        .exclude(status=DisputeStatus.REJECTED)
        .filter(order__snapshot__grade__appraisal_id__in=appraisal_ids)
        .values_list("order__snapshot__grade__appraisal_id", flat=True)
    )
    return {int(found) for found in disputes if found is not None}


def _settle_appraisals(report: SettleReport, cutoff: dt.datetime) -> None:
    model = _model(APPRAISAL_MODEL)
    if model is None:
        return
    due = (
        model.objects.filter(kind="certified", signed_at__lte=cutoff)
        .exclude(review_status__in=APPRAISAL_NOT_COUNTED_REVIEW)
        .only("pk", "appraiser_id", "signed_at")
    )
    kind = CreditEventKind.APPRAISAL_STOOD
    for rows in _batches(due):
        keys = {row.pk: stood_dedupe_key(kind, row.pk, CreditRole.APPRAISER) for row in rows}
        done = _already(list(keys.values()))
        waiting = [row for row in rows if keys[row.pk] not in done]
        disputed = _appraisals_in_dispute([row.pk for row in waiting]) if waiting else set()
        for row in waiting:
            if row.pk in disputed:
                continue  # overturned (recorded by the dispute), or not decided yet
            _record(
                report,
                subject_id=row.appraiser_id,
                role=CreditRole.APPRAISER,
                kind=kind,
                source=row,
                at=scoring.settled_at(row.signed_at),
                key=keys[row.pk],
            )
            report.appraisals += 1


def credit_work_settle(*, now: dt.datetime | None = None) -> SettleReport:
    """Credit every certificate and appraisal that has stood the settle days and was not
    credited yet, then recompute each subject concerned once."""
    now = now or timezone.now()
    cutoff = scoring.settle_cutoff(now)
    report = SettleReport()
    _settle_certificates(report, cutoff)
    _settle_appraisals(report, cutoff)
    with transaction.atomic():
        for user_id, role in sorted(report.subjects):
            recompute_after_commit(user_id, role)
    return report
