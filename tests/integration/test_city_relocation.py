"""Vehicle relocation (限迁): a buyer picks their city on a vehicle's page and sees whether
the car can be registered there; the choice is remembered; search gets the accepted
standards from one selector."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.city.demo import EXAMPLE_CITIES, seed_example_cities
from marketplace.city.models import RelocationCity
from marketplace.city.selectors import emission_standards_accepted
from marketplace.city.services import SESSION_REGISTRATION_CITY
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def cities():
    return {
        "beijing": RelocationCity.objects.create(name="北京市", province="北京市", minimum_standard="cn6b"),
        "hangzhou": RelocationCity.objects.create(
            name="杭州市", province="浙江省", minimum_standard="cn5", is_example=True
        ),
    }


@pytest.fixture
def car():
    # The test listings' car is 国六a (cn6a).
    return published_listing(seller=UserFactory(), category="vehicles", title="大众朗逸 2019", price=6_500_000)


def page_of(client, listing, **params) -> str:
    client.cookies["django_language"] = "en"
    return client.get(reverse("listing_detail", args=(listing.pk,)), params).content.decode()


def test_the_vehicle_page_offers_the_cities(client, cities, car):
    page = page_of(client, car)
    assert "Where can this car be registered?" in page
    assert "China 6a (国六a)" in page
    assert "北京市" in page and "杭州市 (浙江省)" in page
    assert 'data-verdict="' not in page  # nothing chosen yet


def test_choosing_a_city_is_remembered_and_gives_a_verdict(client, cities, car):
    url = reverse("listing_detail", args=(car.pk,))
    response = client.post(reverse("city_registration_city"), {"city": cities["hangzhou"].pk, "next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert client.session[SESSION_REGISTRATION_CITY] == cities["hangzhou"].pk
    page = page_of(client, car)
    assert 'data-verdict="yes"' in page and "Can be registered in 杭州市." in page
    assert "Example rule, still to be checked by our staff." in page

    client.post(reverse("city_registration_city"), {"city": cities["beijing"].pk, "next": url})
    page = page_of(client, car)
    assert 'data-verdict="no"' in page
    assert "Cannot be registered in 北京市: it accepts China 6b (国六b) or better." in page
    assert "Example rule" not in page


def test_a_city_in_the_address_overrides_the_remembered_one(client, cities, car):
    client.post(reverse("city_registration_city"), {"city": cities["beijing"].pk, "next": "/"})
    page = page_of(client, car, registration_city=cities["hangzhou"].pk)
    assert 'data-verdict="yes"' in page


def test_unknown_city_and_foreign_redirect_are_refused(client, cities, car):
    client.cookies["django_language"] = "en"
    response = client.post(reverse("city_registration_city"), {"city": "99999", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert SESSION_REGISTRATION_CITY not in client.session
    assert client.get(reverse("city_registration_city")).status_code == 405
    assert 'data-verdict="' not in page_of(client, car, registration_city="not-a-number")


def test_no_panel_on_other_categories_or_without_cities(client, car):
    assert "Where can this car be registered?" not in page_of(client, car)
    RelocationCity.objects.create(name="北京市", minimum_standard="cn6b")
    book = published_listing(seller=UserFactory(), category="books")
    assert "Where can this car be registered?" not in page_of(client, book)


def test_emission_standards_accepted_for_search(cities):
    assert emission_standards_accepted(cities["hangzhou"].pk) == ["cn5", "cn6a", "cn6b", "ev"]
    assert emission_standards_accepted(cities["beijing"].pk) == ["cn6b", "ev"]
    assert emission_standards_accepted(987654) == []


def test_seeded_example_cities_are_marked_as_examples():
    assert seed_example_cities() == len(EXAMPLE_CITIES)
    assert seed_example_cities() == 0
    for city in RelocationCity.objects.all():
        assert city.is_example
        assert "example — to be maintained by staff" in city.note


def test_staff_edit_the_rules_and_citizens_cannot(client, cities):
    client.force_login(UserFactory())
    city = cities["beijing"]
    form = {"name": "北京市", "province": "北京市", "minimum_standard": "cn5", "source": "", "note": ""}
    assert client.post(reverse("relocation-rules:edit", args=(city.pk,)), form).status_code in (302, 403)
    city.refresh_from_db()
    assert city.minimum_standard == "cn6b"
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    assert client.post(reverse("relocation-rules:edit", args=(city.pk,)), form).status_code == 302
    city.refresh_from_db()
    assert city.minimum_standard == "cn5"
    bad = client.post(reverse("relocation-rules:edit", args=(city.pk,)), {**form, "minimum_standard": "cn9"})
    assert bad.status_code == 200 and "minimum_standard" in bad.context["form"].errors
