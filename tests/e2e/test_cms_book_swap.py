"""A coordinator opens a swap day; two pupils join with the class code in their own
browsers; one offers a book the other wished for; the coordinator confirms the hand-over
and the points move."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from cms.demo import seed_cms_demo
from cms.models import BookSwapPage, Pupil
from marketplace.management.commands import seed_demo
from marketplace.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LITTLE_PRINCE = "9787020050130"  # in cms/data/school_books.json: the title fills itself in


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setattr(seed_demo, "demo_seeders", lambda: [seed_cms_demo])
    call_command("seed_demo")


def english_context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    return context


def join(page, url: str, code: str, nickname: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Class code").fill(code)
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"Welcome, {nickname}!")


def section(page, heading: str):
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def test_coordinator_opens_a_swap_day_pupils_swap_a_wished_book_and_points_move(page, browser, live_server, demo):
    swap = BookSwapPage.objects.get()
    start = swap.start_points
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])

    # The coordinator opens a swap day for one class.
    page.goto("/accounts/login/")
    page.fill("#id_login", "school@example.com")
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    page.goto(swap.url)
    page.get_by_role("link", name="Run swap days").click()
    form = section(page, "Open a swap day")
    form.get_by_label("Title").fill("Autumn swap")
    form.get_by_label("Date").fill(f"{timezone.localdate() + dt.timedelta(days=2):%Y-%m-%d}")
    form.get_by_label("Where").fill("Classroom 302")
    form.get_by_label("Classes taking part").fill("五年级三班")
    form.get_by_role("button", name="Open swap day").click()
    expect(page.locator(".messages")).to_contain_text("Swap day “Autumn swap” is open.")
    code = page.locator("[data-class-code]").inner_text().strip()
    coordinator_day = page.url

    giver_context, receiver_context = english_context(browser, live_server), english_context(browser, live_server)
    try:
        giver, receiver = giver_context.new_page(), receiver_context.new_page()
        join(giver, swap.url, code, "Bookworm")
        join(receiver, swap.url, code, "Star")
        expect(receiver.locator(".pupil-card")).to_contain_text(f"{start} points")

        # Star wishes for The Little Prince; Bookworm offers it.
        wish = section(receiver, "Wish for a book")
        wish.get_by_label("ISBN").fill(LITTLE_PRINCE)
        wish.get_by_role("button", name="Add to my wishlist").click()
        expect(receiver.locator(".messages")).to_contain_text("is on your wishlist")
        offer = section(giver, "Offer a book")
        offer.get_by_label("ISBN").fill(LITTLE_PRINCE)
        offer.get_by_role("button", name="Offer", exact=True).click()
        expect(giver.locator(".messages")).to_contain_text("“小王子” is offered.")

        receiver.reload()
        expect(receiver.get_by_text("Books from your wishlist are here!")).to_be_visible()
        expect(receiver.locator(".book", has_text="小王子")).to_contain_text("On your wishlist: you may claim it first")
        receiver.get_by_role("button", name="Claim “小王子”").click()
        expect(receiver.locator(".messages")).to_contain_text("Ask your teacher to confirm the hand-over")

        # The coordinator confirms the hand-over; the points move.
        page.goto(coordinator_day)
        handovers = section(page, "Hand-overs to confirm")
        expect(handovers).to_contain_text("“小王子” from Bookworm to Star")
        handovers.get_by_role("button", name="Confirm hand-over").click()
        expect(page.locator(".messages")).to_contain_text("Hand-over of “小王子” confirmed")
        expect(page.locator('tr[data-pupil="Bookworm"] [data-points]')).to_have_text(str(start + 1))
        expect(page.locator('tr[data-pupil="Star"] [data-points]')).to_have_text(str(start - 1))

        giver.reload()
        expect(giver.locator(".pupil-card [data-points]")).to_have_text(str(start + 1))
        receiver.reload()
        expect(receiver.locator(".pupil-card [data-points]")).to_have_text(str(start - 1))
        expect(section(receiver, "Your wishlist")).to_contain_text("received")
    finally:
        giver_context.close()
        receiver_context.close()

    pupils = {p.nickname: p for p in Pupil.objects.filter(swap_class__code=code)}
    assert {name: p.points for name, p in pupils.items()} == {"Bookworm": start + 1, "Star": start - 1}
