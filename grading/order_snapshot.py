"""What an order records of the listing's grade when it is placed (listed in
settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS), so a later re-appraisal cannot change
what the buyer bought."""

from __future__ import annotations

from typing import Any

from grading.badges import grade_label, grade_labels
from grading.services import current_appraisals
from marketplace.models import Listing


def grade_snapshot(listing: Listing) -> dict[str, Any]:
    appraisal = current_appraisals([listing.pk]).get(listing.pk)
    if appraisal is None:
        return {}
    return {
        "grade": {
            "appraisal_id": appraisal.pk,
            "kind": appraisal.kind,
            "grade": appraisal.grade,
            "label": grade_label(appraisal),
            # Both languages: whoever reads the order later reads it in their own.
            "labels": grade_labels(appraisal),
            "score": appraisal.score,
            "sellable": appraisal.sellable,
            "rule_set_key": appraisal.rule_set_key,
            "rule_set_version": appraisal.rule_set_version,
            "rule_set_hash": appraisal.rule_set_hash,
            "digest": appraisal.digest,
            "signed_at": appraisal.signed_at.isoformat(),
            "appraiser": appraisal.appraiser.public_name,
            "organisation": appraisal.organisation.name if appraisal.organisation else "",
        }
    }
