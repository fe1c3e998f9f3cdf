"""Consent for consignment in tests: a shop names a consignor on a listing only after
the consignor accepted its agreement, done here the way the site does it."""

from __future__ import annotations

from marketplace.consignment.models import ConsignmentAgreement
from marketplace.consignment.rules import Tier
from marketplace.consignment.services import agreement_accept, agreement_invite
from marketplace.models import Organisation, User


def accepted_agreement(*, shop: Organisation, staff: User, consignor: User) -> ConsignmentAgreement:
    """The shop (managed by `staff`) invites `consignor` at 60 % and they accept."""
    invitation = agreement_invite(actor=staff, shop=shop, email=consignor.email, tiers=[Tier(None, 6000)])
    return agreement_accept(consignor=consignor, agreement_id=invitation.pk)
