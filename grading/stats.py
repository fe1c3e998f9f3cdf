"""Grading figures for the city statistics (listed in settings.CITY_STATISTICS_PROVIDERS):
grade distributions per category and certified appraisals per institution and appraiser,
for appraisals signed in the period. Two aggregate queries whatever the data size."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count
from django.utils.translation import gettext as _

from grading.models import COUNTED_REVIEW, Appraisal, AppraisalKind
from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection, StatsTable
from marketplace.city.services import day_bounds
from marketplace.models import Category


def grading_statistics(period: Period, area: Area) -> StatsSection:
    start, end = day_bounds(period.start, period.end)
    appraisals = Appraisal.objects.filter(signed_at__gte=start, signed_at__lt=end, **area.filter_kwargs("listing__"))

    grades: dict[str, list[tuple[str, int]]] = defaultdict(list)
    current = appraisals.filter(superseded_at__isnull=True, review_status__in=COUNTED_REVIEW).order_by(
        "listing__category", "grade"
    )
    for row in current.values("listing__category", "grade").annotate(n=Count("pk")):
        grades[row["listing__category"]].append((row["grade"] or "—", row["n"]))
    tables = [
        StatsTable(
            key=f"grades-{category}",
            title=_("Grades: %(category)s") % {"category": Category(category).label},
            headers=(_("Grade"), _("Appraisals")),
            rows=list(grades[category]),
            chart_column=1,
        )
        for category in Category.values
        if grades.get(category)
    ]

    certified = (
        appraisals.filter(kind=AppraisalKind.CERTIFIED)
        .order_by("organisation__name", "appraiser__display_name", "appraiser_id")
        .values("organisation__name", "appraiser__display_name", "appraiser_id")
        .annotate(n=Count("pk"))
    )
    per_appraiser: list[tuple[str, str, int]] = []
    per_institution: dict[str, int] = defaultdict(int)
    for appraised in certified:
        institution = appraised["organisation__name"] or _("Independent")
        name = appraised["appraiser__display_name"] or _("User %(id)s") % {"id": appraised["appraiser_id"]}
        per_appraiser.append((institution, name, appraised["n"]))
        per_institution[institution] += appraised["n"]
    tables.append(
        StatsTable(
            key="appraisals-institution",
            title=_("Certified appraisals per institution"),
            headers=(_("Institution"), _("Appraisals")),
            rows=sorted(per_institution.items(), key=lambda item: (-item[1], item[0])),
            chart_column=1,
        )
    )
    tables.append(
        StatsTable(
            key="appraisals-appraiser",
            title=_("Certified appraisals per appraiser"),
            headers=(_("Institution"), _("Appraiser"), _("Appraisals")),
            rows=per_appraiser,
        )
    )
    return StatsSection(
        key="grading",
        title=_("Appraisal and grading"),
        tables=tables,
        note=_("Appraisals signed in the period; grade distributions count each item's current grade."),
    )
