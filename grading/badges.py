"""What grading adds to listing pages: a grade badge on cards and a grade panel (with
the fair price band) on the detail and manage pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from grading.models import Appraisal, AppraisalKind
from grading.rules import Text
from grading.services import SELF_ASSESSABLE, appraisals_in_review, current_appraisals, listing_valuation
from marketplace.credit.effects import badge_for
from marketplace.credit.models import CreditRole
from marketplace.extensions import Badge, Panel
from marketplace.models import Listing


def grade_label(appraisal: Appraisal) -> str:
    return grade_labels(appraisal)["en" if translation.get_language() == "en" else "zh"]


def grade_labels(appraisal: Appraisal) -> dict[str, str]:
    """The grade's name in each language the rule set gives ("zh", "en")."""
    for grade in appraisal.rule_set.document.get("grades", []):
        if grade["key"] == appraisal.grade:
            text = Text.of(grade["label"])
            return {language: text.get(language) for language in ("zh", "en")}
    return {"zh": appraisal.grade, "en": appraisal.grade}


def standard_title(appraisal: Appraisal) -> str:
    """The standard's name in the reader's language (its key, e.g. electronics-mobile, is
    for machines)."""
    language = "en" if translation.get_language() == "en" else "zh"
    title = appraisal.rule_set.document.get("title")
    return Text.of(title).get(language) if title else appraisal.rule_set_key


def standards_url(appraisal: Appraisal) -> str:
    return f"/grading/standards/{appraisal.rule_set_key}/"


def grade_badges(listings: Sequence[Listing]) -> dict[int, list[Badge]]:
    appraisals = current_appraisals([listing.pk for listing in listings])
    badges: dict[int, list[Badge]] = {}
    for listing_id, appraisal in appraisals.items():
        if not appraisal.sellable:
            continue
        how = _("certified") if appraisal.kind == AppraisalKind.CERTIFIED else _("self-assessed")
        badges[listing_id] = [
            Badge(
                label=_("Grade %(grade)s · %(how)s") % {"grade": grade_label(appraisal), "how": how},
                kind="ok" if appraisal.kind == AppraisalKind.CERTIFIED else "info",
                url=standards_url(appraisal),
                title=_("Graded under “%(standard)s”, version %(version)s")
                % {"standard": standard_title(appraisal), "version": appraisal.rule_set_version},
            )
        ]
    return badges


def grade_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    appraisal = current_appraisals([listing.pk]).get(listing.pk)
    band = listing_valuation(listing=listing, current=appraisal)
    if appraisal is None and where == "detail" and band is None:
        return None
    language = "en" if translation.get_language() == "en" else "zh"
    findings = appraisal.result.get("findings", []) if appraisal else []
    appraiser_id = (
        appraisal.appraiser_id if appraisal is not None and appraisal.kind == AppraisalKind.CERTIFIED else None
    )
    return Panel(
        template="grading/panels/grade.html",
        context={
            "where": where,
            "listing": listing,
            "appraisal": appraisal,
            # The appraiser's top-tier credit badge (the policy table decides which tier earns it).
            "appraiser_badge": badge_for(appraiser_id, CreditRole.APPRAISER),
            # The seller sees that a newer certified grade waits for staff review.
            "in_review": appraisals_in_review([listing.pk]).get(listing.pk) if where == "manage" else None,
            "grade_label": grade_label(appraisal) if appraisal else "",
            "standard_title": standard_title(appraisal) if appraisal else "",
            "standards_url": standards_url(appraisal) if appraisal else "",
            "explanation": [f["text"].get(language, f["text"]["zh"]) for f in findings],
            "band": band,
            "position": band.position_of(listing.price) if band else None,
            "self_assessable": listing.category in SELF_ASSESSABLE,
        },
    )
