"""Demo consignment data for `manage.py seed_demo`: the demo shop's agreement with
buyer@example.com (invited and accepted, as on the site) and three consigned books
taken in 5, 35 and 65 days ago, so the scheduled markdowns are visible. Idempotent: the agreement is found by shop and
consignor, the items by their titles."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from marketplace.consignment.models import (
    AgreementStatus,
    ConsignmentAgreement,
    ConsignmentItem,
    DiscountBearer,
    ExpiryAction,
)
from marketplace.consignment.rules import Step, Tier
from marketplace.consignment.services import (
    IntakeLine,
    agreement_accept,
    agreement_invite,
    consignment_markdowns_run,
    intake_batch_create,
)
from marketplace.demo import demo_coordinates, demo_photo
from marketplace.models import Organisation, OrganisationKind, Role, User
from marketplace.services.listings import PublicationBlocked, listing_publish, listing_update
from marketplace.services.photos import listing_photos_add

SHOP_EMAIL = "shop@example.com"
CONSIGNOR_EMAIL = "buyer@example.com"

# (title, Latin label for the photo, price in yuan, ISBN, days since intake)
DEMO_ITEMS = (
    ("寄卖 · 活着 余华 精装", "Huozhe (To Live)", 48, "9787506365437", 5),
    ("寄卖 · 平凡的世界 全三册", "Ordinary World", 120, "9787530212004", 35),
    ("寄卖 · 围城 钱锺书 典藏版", "Fortress Besieged", 680, "9787020090006", 65),
)


def _agreement(shop: Organisation, staff: User, consignor: User) -> ConsignmentAgreement:
    """The shop invites the consignor and the consignor accepts, as on the site."""
    agreement = ConsignmentAgreement.objects.filter(
        shop=shop, consignor=consignor, status=AgreementStatus.ACCEPTED
    ).first()
    if agreement is not None:
        return agreement
    invitation = ConsignmentAgreement.objects.filter(
        shop=shop, invited_email__iexact=consignor.email, status=AgreementStatus.INVITED
    ).first()
    if invitation is None:
        invitation = agreement_invite(
            actor=staff,
            shop=shop,
            email=consignor.email,
            tiers=[Tier(50_000, 6000), Tier(None, 7000)],  # 60 % up to ¥500, 70 % above
            steps=[Step(30, 1000), Step(60, 2000)],  # −10 % after 30 days, −20 % after 60
            floor_percent_bp=7000,
            discount_bearer=DiscountBearer.SHARED,
            expiry_days=90,
            expiry_action=ExpiryAction.RETURN,
            payout_threshold=5_000,
            notes="Demo agreement: 60 % up to ¥500, 70 % above.",
        )
    return agreement_accept(consignor=consignor, agreement_id=invitation.pk)


def _demo_parties() -> tuple[Organisation, User, User]:
    staff = User.objects.get(email=SHOP_EMAIL)
    consignor = User.objects.get(email=CONSIGNOR_EMAIL)
    shop = Organisation.objects.get(
        kind=OrganisationKind.CONSIGNMENT_SHOP, memberships__user=staff, memberships__role=Role.OWNER
    )
    return shop, staff, consignor


def seed_consignment_agreement_demo(stdout: TextIO) -> None:
    """Runs before the marketplace demo, whose shop listings name buyer@example.com as
    consignor: that takes the agreement buyer@example.com accepted."""
    shop, staff, consignor = _demo_parties()
    with transaction.atomic():
        _agreement(shop, staff, consignor)


def seed_consignment_demo(stdout: TextIO) -> None:
    shop, staff, consignor = _demo_parties()
    with transaction.atomic():
        agreement = _agreement(shop, staff, consignor)
        existing = set(ConsignmentItem.objects.filter(agreement=agreement).values_list("listing__title", flat=True))
        missing = [spec for spec in DEMO_ITEMS if spec[0] not in existing]
        if missing:
            batch = intake_batch_create(
                actor=staff,
                agreement_id=agreement.pk,
                lines=[
                    IntakeLine(
                        title=title,
                        category="books",
                        price=price * 100,
                        condition_notes="九成新，无笔记。",
                        attributes={"isbn": isbn, "book_title": title, "language": "zh"},
                    )
                    for title, _label, price, isbn, _days in missing
                ],
            )
            now = timezone.now()
            for item, (title, label, _price, _isbn, days) in zip(
                batch.items.select_related("listing").order_by("item_code"), missing, strict=True
            ):
                # Backdated so that the markdowns of 30 and 60 days show.
                ConsignmentItem.objects.filter(pk=item.pk).update(intake_at=now - dt.timedelta(days=days))
                # On sale at the shop: its place, for the distance search.
                latitude, longitude = demo_coordinates(shop.district, 40 + days)
                listing_update(
                    actor=staff, listing_id=item.listing_id, data={"latitude": latitude, "longitude": longitude}
                )
                photo = demo_photo(category="books", title=title, label=label, index=0, count=1)
                listing_photos_add(
                    actor=staff, listing_id=item.listing_id, files=[(io.BytesIO(photo), len(photo), "demo-1.jpg")]
                )
                with contextlib.suppress(PublicationBlocked):
                    listing_publish(actor=staff, listing_id=item.listing_id)
    report = consignment_markdowns_run()
    count = ConsignmentItem.objects.filter(agreement=agreement).count()
    stdout.write(
        f"Consignment demo: agreement #{agreement.pk} ({shop.name} ↔ {consignor.email}), {count} items, "
        f"{len(report.repriced)} marked down now. Shop pages: /consignment/shop/ · consignor portal: /consignment/mine/"
    )
