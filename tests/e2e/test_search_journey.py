"""A buyer searches for 手机 and "thinkpad", narrows to grade A, erasure verified and
within 10 km of where they are, and saves the search; a phone published afterwards
that matches reaches them as an alert (in-app and by e-mail)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from marketplace.models import Notification
from search.tasks import saved_search_alerts_task
from tests.conftest import CORE_GATES
from tests.factories import PASSWORD, UserFactory
from tests.search_support import ALL_GATES, draft, graded_erased_phone, publish

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
HOME = {"latitude": 31.2, "longitude": 121.44}  # Xuhui, Shanghai


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def test_buyer_narrows_a_search_saves_it_and_is_alerted(page, live_server, settings):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    near = graded_erased_phone(title="苹果手机 iPhone 13 128G", lat=31.205, lon=121.445)
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)
    far = publish(draft(title="华为手机 Mate 40", lat=31.38, lon=121.25))
    publish(draft(title="ThinkPad X1 Carbon 笔记本电脑", device_type="laptop", brand="Lenovo", imei=""))
    buyer = UserFactory(email="buyer@example.org", preferred_language="en")

    use_english(page.context, live_server)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(HOME)
    page.goto("/accounts/login/")
    page.fill("#id_login", buyer.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    page.wait_for_load_state("load")  # the page's script is listening
    box = page.get_by_label("Search for")
    box.press_sequentially("think")
    # Suggestions arrive while typing (static JS calling the suggest API).
    expect(page.locator("#search-suggestions option")).to_have_count(1)
    assert page.locator("#search-suggestions option").get_attribute("value") == "ThinkPad X1 Carbon 笔记本电脑"
    box.fill("thinkpad")
    box.press("Enter")
    expect(page.locator(".result-count")).to_have_text("1 listing found")
    expect(page.locator(".search-results")).to_contain_text("ThinkPad X1 Carbon")

    box = page.get_by_label("Search for")
    box.fill("手机")
    box.press("Enter")
    expect(page.locator(".result-count")).to_have_text("2 listings found")

    filters = page.get_by_role("navigation", name="Filters")
    filters.locator('[data-facet="grade"]').get_by_role("link", name=re.compile(r"^A\b")).click()
    expect(page.locator(".filter-chips")).to_contain_text("Grade: A")
    filters = page.get_by_role("navigation", name="Filters")
    filters.locator('[data-facet="erasure_verified"]').get_by_role("link", name=re.compile("Erasure verified")).click()
    expect(page.locator(".filter-chips")).to_contain_text("Erasure verified")

    # Pick a radius, then "Use my location" fills the hidden point and applies both.
    page.get_by_label("Within").select_option(label="Within 10 km")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator(".filter-chips")).to_contain_text("Within 10 km of the chosen point")
    expect(page.locator(".result-count")).to_have_text("1 listing found")
    card = page.locator(f'[data-listing-id="{near.pk}"]')
    expect(card).to_contain_text("Grade A · certified")
    expect(card).to_contain_text("0.7 km away")
    expect(page.locator(f'[data-listing-id="{far.pk}"]')).to_have_count(0)
    assert "grade=A" in page.url and "erasure_verified=1" in page.url and "within=10" in page.url
    assert "lat=31.200" in page.url and "lon=121.440" in page.url

    page.get_by_role("button", name="Save this search").click()
    expect(page.locator(".messages")).to_contain_text("Search saved")
    expect(page.get_by_text("This search is saved.")).to_be_visible()

    # Later another seller publishes a matching phone nearby; the batched alert task runs.
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    newer = graded_erased_phone(title="二手手机 小米 13", lat=31.21, lon=121.43)
    mail.outbox.clear()
    assert saved_search_alerts_task() == 1
    alert = Notification.objects.get(user=buyer, kind="saved_search_alert")
    assert newer.title in alert.body and near.title not in alert.body
    [email] = mail.outbox
    assert email.to == [buyer.email] and newer.title in email.body and "/search/saved/unsubscribe/" in email.body

    page.goto("/notifications/")
    expect(page.locator("main")).to_contain_text("New listings for your saved search")
    expect(page.locator("main")).to_contain_text(newer.title)
