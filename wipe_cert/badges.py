"""What erasure certificates add to listing pages (see marketplace.extensions): a badge
on cards and detail pages for devices with a valid certificate, and a panel with the
certificate's status and verification link — on the manage page also a form for the
seller to attach a certificate by its id.

Enabled by listing them in settings: MARKETPLACE_LISTING_BADGES gets
"wipe_cert.badges.erasure_badges", MARKETPLACE_LISTING_PANELS "wipe_cert.badges.erasure_panel"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.extensions import Badge, Panel
from marketplace.models import Listing
from wipe_cert.models import CertificateStatus
from wipe_cert.presentation import STATUS_LABELS, device_display, plain_payload
from wipe_cert.services import certificates_for_listings, public_status, revocation_text


def erasure_badges(listings: Sequence[Listing]) -> dict[int, list[Badge]]:
    """One query for the whole batch."""
    needing = [listing.pk for listing in listings if listing.requires_erasure_certificate]
    badges: dict[int, list[Badge]] = {}
    for listing_id, certificate in certificates_for_listings(needing).items():
        if certificate.status != CertificateStatus.ACCEPTED:
            continue
        badges[listing_id] = [
            Badge(
                label=_("Data erased · verified"),
                kind="ok",
                url=reverse("erasure_verify", args=(certificate.pk,)),
                title=_("Erasure certificate by %(provider)s") % {"provider": certificate.provider.name},
            )
        ]
    return badges


def erasure_panel(listing: Listing, user: Any, where: str) -> Panel | None:
    if not listing.requires_erasure_certificate:
        return None
    certificate = certificates_for_listings([listing.pk]).get(listing.pk)
    if certificate is None and where != "manage":
        return None
    status = public_status(certificate) if certificate is not None else ""
    return Panel(
        template="wipe_cert/panels/erasure.html",
        context={
            "where": where,
            "listing": listing,
            "certificate": certificate,
            "status": status,
            "status_label": STATUS_LABELS.get(status, status),
            "revocation": revocation_text(certificate) if certificate is not None else "",
            "device": device_display(
                (plain_payload(certificate).get("device") or {}) if certificate else {}, full=False
            ),
            "bind_url": reverse("erasure_bind", args=(listing.pk,)),
        },
    )
