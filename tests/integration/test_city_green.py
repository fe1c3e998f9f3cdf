"""Green account: staff-edited factors with sources; rounded estimates with a range on the
profile page and the public summary."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.city.demo import FACTORS, seed_factors
from marketplace.city.models import GreenFactor
from marketplace.city.selectors import platform_green_estimate, user_green_estimate
from marketplace.city.services import rollup_refresh
from marketplace.city.synthetic import PastTrade, past_trades_create
from marketplace.models import OrderStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
WHEN = dt.datetime(2026, 1, 10, 12, tzinfo=SHANGHAI)


def past(category, item_type, status=OrderStatus.COMPLETED):
    return PastTrade(
        category=category,
        item_type=item_type,
        city="上海市",
        district="徐汇区",
        amount=10_000,
        published_at=WHEN - dt.timedelta(days=5),
        ordered_at=WHEN - dt.timedelta(days=1),
        completed_at=WHEN,
        status=status,
    )


@pytest.fixture
def factors():
    GreenFactor.objects.create(
        category="electronics", item_type="", kg_co2e=Decimal("40"), uncertainty_percent=70, source="S1"
    )
    GreenFactor.objects.create(
        category="electronics", item_type="phone", kg_co2e=Decimal("30"), uncertainty_percent=50, source="S2"
    )
    GreenFactor.objects.create(
        category="books", item_type="", kg_co2e=Decimal("1"), uncertainty_percent=50, source="S3"
    )


def test_every_seeded_factor_cites_a_source_and_an_uncertainty():
    assert seed_factors() == len(FACTORS)
    assert seed_factors() == 0  # idempotent, and staff edits are kept
    for factor in GreenFactor.objects.all():
        assert factor.source.strip()
        assert 1 <= factor.uncertainty_percent <= 100
        assert factor.full_clean() is None


def test_user_estimate_counts_their_completed_trades_bought_or_sold(factors):
    seller, buyer, other = UserFactory(), UserFactory(), UserFactory()
    past_trades_create(
        trades=[
            past("electronics", "phone"),
            past("electronics", "phone"),
            past("electronics", "laptop"),
            past("books", ""),
            past("electronics", "phone", status=OrderStatus.REFUNDED),
        ],
        seller=seller,
        buyer=buyer,
        key_prefix="g-",
    )
    for user in (seller, buyer):
        estimate = user_green_estimate(user=user)
        assert estimate.items == 4
        assert estimate.kg == Decimal("101")  # 2×30 + 40 + 1
        assert (estimate.about_kg, estimate.low_about_kg, estimate.high_about_kg) == (100, 43, 160)
    assert user_green_estimate(user=other).is_empty


def test_profile_shows_a_rounded_estimate_with_its_range(factors, client, django_assert_max_num_queries):
    seller, buyer = UserFactory(), UserFactory()
    past_trades_create(
        trades=[past("electronics", "phone"), past("books", "")], seller=seller, buyer=buyer, key_prefix="p-"
    )
    client.force_login(buyer)
    client.cookies["django_language"] = "en"
    with django_assert_max_num_queries(10):
        page = client.get(reverse("profile")).content.decode()
    assert "Green account" in page
    assert "About 31 kg CO2e avoided" in page
    assert "likely between 16 and 47 kg" in page
    assert "Based on your 2 completed second-hand trades" in page
    # Never a falsely precise figure.
    assert "31.0" not in page


def test_profile_of_a_newcomer_explains_the_green_account(factors, client):
    client.force_login(UserFactory())
    client.cookies["django_language"] = "en"
    page = client.get(reverse("profile")).content.decode()
    assert "we estimate the greenhouse-gas emissions avoided" in page
    assert "kg CO2e avoided" not in page


def test_platform_estimate_and_the_factor_table_on_the_public_summary(factors, client):
    past_trades_create(
        trades=[past("electronics", "phone")] * 3 + [past("vehicles", "")],
        seller=UserFactory(),
        buyer=UserFactory(),
        key_prefix="s-",
    )
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 1, 31))
    estimate = platform_green_estimate()
    assert estimate.items == 4 and estimate.items_without_factor == 1
    assert estimate.about_kg == 90
    client.cookies["django_language"] = "en"
    page = client.get(reverse("city_statistics")).content.decode()
    assert "About 90 kg CO2e avoided" in page
    assert "1 item has no factor yet and is not counted." in page
    assert 'id="green-factors"' in page and "S2" in page and "± 50 %" in page


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    client.cookies["django_language"] = "en"
    return client


FORM = {
    "category": "electronics",
    "item_type": "camera",
    "kg_co2e": "12.5",
    "uncertainty_percent": "60",
    "source": "Camera LCA (example)",
    "source_url": "https://example.org/lca",
    "note": "",
}


def test_staff_add_a_factor_and_are_recorded_as_its_editor(staff_client):
    response = staff_client.post(reverse("green-factors:add"), FORM)
    assert response.status_code == 302
    factor = GreenFactor.objects.get(category="electronics", item_type="camera")
    assert factor.kg_co2e == Decimal("12.5")
    assert factor.updated_by is not None and factor.updated_by.is_staff


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item_type": "sofa"}, "item_type"),  # a furniture type under electronics
        ({"kg_co2e": "-1"}, "kg_co2e"),
        ({"uncertainty_percent": "0"}, "uncertainty_percent"),
        ({"source": ""}, "source"),
    ],
)
def test_bad_factors_are_refused_and_nothing_is_saved(staff_client, change, field):
    response = staff_client.post(reverse("green-factors:add"), {**FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not GreenFactor.objects.exists()


def test_citizens_cannot_edit_factors(client, factors):
    client.force_login(UserFactory())
    factor = GreenFactor.objects.first()
    assert client.get(reverse("green-factors:index")).status_code in (302, 403)
    response = client.post(reverse("green-factors:edit", args=(factor.pk,)), {**FORM, "kg_co2e": "9999"})
    assert response.status_code in (302, 403)
    factor.refresh_from_db()
    assert factor.kg_co2e != Decimal("9999")
