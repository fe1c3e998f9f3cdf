"""`seed_demo` gives the demo shop an agreement and consigned items of different ages,
marked down on schedule; a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketplace.consignment.models import ConsignmentAgreement, ConsignmentItem
from marketplace.consignment.rules import days_on_sale
from marketplace.management.commands import seed_demo
from marketplace.models import ListingStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_consigned_items_at_different_ages(core_gates, monkeypatch, capsys):
    from marketplace.consignment.demo import seed_consignment_agreement_demo, seed_consignment_demo
    from marketplace.demo import seed_marketplace_demo

    # The shop's listings in the marketplace demo name the consignor: the agreement comes first.
    monkeypatch.setattr(
        seed_demo,
        "demo_seeders",
        lambda: [seed_consignment_agreement_demo, seed_marketplace_demo, seed_consignment_demo],
    )
    call_command("seed_demo")
    call_command("seed_demo")

    agreement = ConsignmentAgreement.objects.get()
    assert agreement.consignor.email == "buyer@example.com"
    assert agreement.status == "accepted"  # invited, then accepted by the consignor
    assert agreement.shop.memberships.filter(user__email="shop@example.com").exists()
    today = timezone.localdate()
    items = {
        days_on_sale(timezone.localdate(item.intake_at), today): item
        for item in ConsignmentItem.objects.select_related("listing")
    }
    assert sorted(items) == [5, 35, 65]
    assert all(item.listing.status == ListingStatus.PUBLISHED for item in items.values())
    prices = {days: (item.original_price, item.listing.price) for days, item in items.items()}
    assert prices[5] == (4_800, 4_800)
    assert prices[35] == (12_000, 10_800)  # −10 % after 30 days
    assert prices[65] == (68_000, 54_400)  # −20 % after 60 days
    assert "Consignment demo: agreement" in capsys.readouterr().out
