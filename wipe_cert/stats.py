"""Erasure-certificate figures for the city statistics (listed in
settings.CITY_STATISTICS_PROVIDERS): certificates issued, waiting for review, accepted and
revoked in the period, and the media erased by method and media type. One query."""

from __future__ import annotations

from collections import Counter

from django.db.models import Q
from django.utils.translation import gettext as _

from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection, StatsTable
from marketplace.city.services import day_bounds
from wipe_cert.models import CertificateStatus, ErasureCertificate
from wipe_cert.presentation import TECHNIQUE_LABELS


def erasure_statistics(period: Period, area: Area) -> StatsSection:
    start, end = day_bounds(period.start, period.end)

    def within(moment: object) -> bool:
        return moment is not None and start <= moment < end  # type: ignore[operator]

    certificates = (
        ErasureCertificate.objects.filter(
            Q(signed_at__gte=start, signed_at__lt=end)
            | Q(accepted_at__gte=start, accepted_at__lt=end)
            | Q(revoked_at__gte=start, revoked_at__lt=end),
            **area.filter_kwargs("listing__"),
        )
        .exclude(status=CertificateStatus.DRAFT)
        .order_by()
        .values_list("status", "signed_at", "accepted_at", "revoked_at", "payload")
    )
    issued = waiting = accepted = revoked = 0
    methods: Counter[str] = Counter()
    media_types: Counter[str] = Counter()
    for status, signed_at, accepted_at, revoked_at, payload in certificates.iterator(chunk_size=2000):
        if within(signed_at):
            issued += 1
            if status == CertificateStatus.PENDING_REVIEW:
                waiting += 1
            for medium in (payload or {}).get("media") or []:
                methods[str(medium.get("technique") or "—")] += 1
                media_types[str(medium.get("type") or "—")] += 1
        if within(accepted_at):
            accepted += 1
        if within(revoked_at):
            revoked += 1
    return StatsSection(
        key="erasure",
        title=_("Data-erasure certificates"),
        tables=[
            StatsTable(
                key="certificates",
                title=_("Certificates"),
                headers=(_("Figure"), _("Certificates")),
                rows=[
                    (_("Issued"), issued),
                    (_("Of those, waiting for review"), waiting),
                    (_("Accepted"), accepted),
                    (_("Revoked"), revoked),
                ],
                chart_column=1,
            ),
            StatsTable(
                key="erasure-methods",
                title=_("Media erased, by method"),
                headers=(_("Method"), _("Media")),
                rows=[(str(TECHNIQUE_LABELS.get(key, key)), n) for key, n in methods.most_common()],
                chart_column=1,
            ),
            StatsTable(
                key="erasure-media",
                title=_("Media erased, by media type"),
                headers=(_("Media type"), _("Media")),
                rows=media_types.most_common(),
                chart_column=1,
            ),
        ],
        note=_("Issued: signed by the provider in the period. Accepted and revoked: decided in the period."),
    )
