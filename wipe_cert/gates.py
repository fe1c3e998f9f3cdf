"""The `erasure_verified` publication gate: storage-bearing devices publish only with a
valid erasure certificate bound to that very device."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from django.utils.translation import gettext as _

from marketplace.gates import BlockingReason, PublicationGate, Results
from marketplace.models import Listing, ListingStatus
from wipe_cert.models import LogEntry
from wipe_cert.services import (
    binding_problems,
    certificates_for_listings,
    listings_sharing_a_device,
    signature_problems,
)


class ErasureVerifiedGate(PublicationGate):
    name = "erasure_verified"
    stage: ClassVar[str | None] = ListingStatus.PENDING_ERASURE

    def check(self, listings: Sequence[Listing]) -> Results:
        needing = [listing for listing in listings if listing.requires_erasure_certificate]
        if not needing:
            return {}
        certificates = certificates_for_listings([listing.pk for listing in needing])
        shared = listings_sharing_a_device([listing.pk for listing in needing])
        logged = set(
            LogEntry.objects.filter(certificate__in=[c.pk for c in certificates.values()]).values_list(
                "certificate_id", flat=True
            )
        )
        results: Results = {}
        for listing in needing:
            certificate = certificates.get(listing.pk)
            if certificate is None:
                results[listing.pk] = [
                    self.reason(
                        "certificate_missing",
                        _(
                            "This device stores personal data: attach a data-erasure certificate from a registered "
                            "erasure provider."
                        ),
                    )
                ]
                continue
            reasons: list[BlockingReason] = [
                self.reason(code, message)
                for code, message in binding_problems(certificate, listing, check_duplicates=False)
            ]
            if listing.pk in shared:
                reasons.append(
                    self.reason(
                        "device_listed_elsewhere", _("This device is already certified for another live listing.")
                    )
                )
            problems = signature_problems(certificate) if not reasons else []
            if certificate.status == "accepted" and certificate.pk not in logged:
                problems.append(_("it is missing from the transparency log"))
            if problems:
                reasons.append(
                    self.reason(
                        "certificate_not_verifiable",
                        _("The certificate does not verify: %(why)s") % {"why": "; ".join(problems)},
                    )
                )
            if reasons:
                results[listing.pk] = reasons
        return results
