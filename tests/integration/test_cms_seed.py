"""`seed_demo` builds the community page tree, idempotently, and gives the demo
organiser, shop and school access to their own pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cms.demo import seed_cms_demo
from cms.models import (
    BookSwapPage,
    ConsignmentEventItem,
    ConsignmentEventPage,
    ConsignmentShopPage,
    EventIndexPage,
    FleaMarketDate,
    FleaMarketPage,
    GradingStandardsPage,
    Pupil,
    StallApplication,
    StandardPage,
    SwapBook,
    SwapWish,
)
from marketplace.management.commands import seed_demo
from marketplace.models import User

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = (
        EventIndexPage,
        FleaMarketPage,
        FleaMarketDate,
        StallApplication,
        ConsignmentShopPage,
        ConsignmentEventPage,
        ConsignmentEventItem,
        BookSwapPage,
        Pupil,
        SwapBook,
        SwapWish,
        StandardPage,
        GradingStandardsPage,
    )
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_builds_the_community_pages_once(monkeypatch):
    # Only the accounts and this seeder: the listings and rule sets have their own tests.
    monkeypatch.setattr(seed_demo, "demo_seeders", lambda: [seed_cms_demo])
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first

    assert first["FleaMarketPage"] == first["ConsignmentShopPage"] == first["ConsignmentEventPage"] == 1
    assert first["BookSwapPage"] == 1 and first["StandardPage"] == 2 and first["GradingStandardsPage"] == 1
    assert first["FleaMarketDate"] >= 2 and first["Pupil"] == 3 and first["SwapBook"] >= 2 and first["SwapWish"] >= 1
    assert first["ConsignmentEventItem"] == 2
    seller = User.objects.get(email="seller@example.com")
    assert StallApplication.objects.filter(applicant=seller, status="pending").exists()
    assert StallApplication.objects.filter(status="approved", paid_at__isnull=False).exists()

    organiser = User.objects.get(email="organizer@example.com")
    school = User.objects.get(email="school@example.com")
    market, swap = FleaMarketPage.objects.get(), BookSwapPage.objects.get()
    assert market.organisation.memberships.filter(user=organiser).exists()
    assert market.permissions_for_user(organiser).can_publish()
    assert not swap.permissions_for_user(organiser).can_edit()
    assert swap.permissions_for_user(school).can_edit()
    assert ConsignmentShopPage.objects.get().permissions_for_user(User.objects.get(email="shop@example.com")).can_edit()
