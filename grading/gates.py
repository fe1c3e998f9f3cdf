"""The `grade_current` publication gate: a listing publishes only with a current grade
under the active rule-set version of its kind (or an older version still marked
acceptable), of the kind its category needs, and never with a not-sellable outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from django.utils.translation import gettext as _

from grading.models import Appraisal, RuleSetStatus, RuleSetVersion
from grading.services import (
    SELF_ASSESSABLE,
    appraisal_request_active,
    appraisal_request_create,
    appraisals_in_review,
    current_appraisals,
)
from marketplace.gates import BlockingReason, PublicationGate, Results
from marketplace.models import Listing, ListingStatus


class GradeCurrentGate(PublicationGate):
    name = "grade_current"
    stage: ClassVar[str | None] = ListingStatus.PENDING_APPRAISAL

    def check(self, listings: Sequence[Listing]) -> Results:
        appraisals = current_appraisals([listing.pk for listing in listings])
        in_review = appraisals_in_review([listing.pk for listing in listings])
        published = {
            (v.key, v.version): v
            for v in RuleSetVersion.objects.filter(status=RuleSetStatus.PUBLISHED).only(
                "key", "version", "acceptable", "category", "device_types", "published_at"
            )
        }
        newest: dict[str, RuleSetVersion] = {}
        for candidate in sorted(published.values(), key=lambda v: (v.published_at, v.pk)):
            newest[candidate.key] = candidate  # the last published of each key wins
        results: Results = {}
        for listing in listings:
            appraisal = appraisals.get(listing.pk)
            certified_only = listing.category not in SELF_ASSESSABLE
            reasons = self._grade_reasons(listing, appraisal, published, newest, certified_only)
            waiting = in_review.get(listing.pk)
            if reasons and waiting is not None and (appraisal is None or waiting.signed_at > appraisal.signed_at):
                # A newer certified grade is with staff (the appraiser's credit tier requires
                # it): wait for their decision rather than queue the item again.
                reasons = [
                    self.reason(
                        "grade_in_review",
                        _("A certified appraisal of this item waits for staff review; it counts once approved."),
                    )
                ]
            if reasons:
                results[listing.pk] = reasons
        return results

    def _grade_reasons(
        self,
        listing: Listing,
        appraisal: Appraisal | None,
        published: dict[tuple[str, str], RuleSetVersion],
        newest: dict[str, RuleSetVersion],
        certified_only: bool,
    ) -> list[BlockingReason]:
        if appraisal is None:
            message = (
                _("A certified appraiser must grade this item; it is in the appraisal queue.")
                if certified_only
                else _("Grade the item: fill in the self-assessment, or ask for a certified appraisal.")
            )
            return [self.reason("grade_missing", message)]
        reasons: list[BlockingReason] = []
        graded_under = published.get((appraisal.rule_set_key, appraisal.rule_set_version))
        is_newest = graded_under is not None and newest.get(graded_under.key) == graded_under
        if graded_under is None or not (is_newest or graded_under.acceptable):
            reasons.append(
                self.reason(
                    "grade_outdated",
                    _("The grade was made under an outdated standard (%(version)s); the item must be graded again.")
                    % {"version": appraisal.rule_set_version},
                )
            )
        if certified_only and appraisal.kind != "certified":
            reasons.append(self.reason("certified_required", _("This category needs a certified appraisal.")))
        if not appraisal.sellable:
            failures = ", ".join(appraisal.result.get("gate_failures", [])) or appraisal.grade
            reasons.append(
                self.reason(
                    "not_sellable",
                    _("The appraisal found that the item cannot be sold (%(why)s).") % {"why": failures},
                )
            )
        return reasons

    def waiting_stage(self, listing: Listing, reasons: list[BlockingReason]) -> str | None:
        """Waiting for appraisal means waiting for an appraiser (or staff). A book or a piece
        of furniture that only lacks its seller's self-assessment waits for nobody: it stays
        where it is, and the seller reads what to do; unless the seller asked for a
        certified appraisal, or one waits for staff review."""
        if listing.category not in SELF_ASSESSABLE:
            return self.stage
        if any(reason.code == "grade_in_review" for reason in reasons):
            return self.stage
        return self.stage if appraisal_request_active(listing_id=listing.pk) else None

    def on_blocked(self, listing: Listing, reasons: list[BlockingReason]) -> None:
        """Listings that need a certified appraisal go to the appraisers' queue."""
        if listing.category not in SELF_ASSESSABLE and {r.code for r in reasons} & {
            "grade_missing",
            "grade_outdated",
            "certified_required",
        }:
            appraisal_request_create(actor=None, listing_id=listing.pk)
