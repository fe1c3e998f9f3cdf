"""What an order records of the listing's data-erasure certificate when it is placed
(listed in settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS)."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from marketplace.models import Listing
from wipe_cert.services import certificates_for_listings, public_status


def certificate_snapshot(listing: Listing) -> dict[str, Any]:
    certificate = certificates_for_listings([listing.pk]).get(listing.pk)
    if certificate is None:
        return {}
    try:
        verify_url = reverse("erasure_verify", args=(certificate.pk,))
    except NoReverseMatch:
        verify_url = f"/verify/{certificate.pk}/"
    return {
        "certificate": {
            "id": str(certificate.pk),
            "status": public_status(certificate),
            "provider": certificate.provider.name,
            "payload_sha256": certificate.payload_sha256,
            "accepted_at": certificate.accepted_at.isoformat() if certificate.accepted_at else None,
            "verify_url": verify_url,
        }
    }
