"""School book swaps: pupils join with a class code and a nickname only, offer books by
ISBN, wish for books with 48 hours' first refusal, and the coordinator's confirmation of a
hand-over moves points."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import models
from django.test import Client
from django.utils import timezone, translation

from cms.models import Pupil, SwapBook, SwapClass, SwapDay, SwapWish
from cms.services.bookswap import (
    book_claim,
    book_handover_confirm,
    book_offer,
    leftovers_donate,
    pupil_join,
    swap_day_create,
    wish_add,
)
from cms.views.bookswap import SESSION_KEY
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from tests.cms import make_book_swap, organiser_org, school_org
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Error messages are checked in English (the site's default language is zh-hans)."""
    with translation.override("en"):
        yield


LITTLE_PRINCE = "9787020050130"  # in cms/data/school_books.json
THREE_BODY = "9787536692930"
NOT_IN_TABLE = "9780262033848"


@pytest.fixture
def swap():
    school, coordinator = school_org(name="Xuhui Primary")
    page = make_book_swap(school)
    day = swap_day_create(
        coordinator=coordinator,
        page_id=page.pk,
        title="Spring swap",
        date=timezone.localdate() + dt.timedelta(days=3),
        location="Library",
        class_names=["3-2", "4-1", "3-2"],
    )
    return page, coordinator, day


def code_of(day: SwapDay, name: str = "3-2") -> str:
    return day.classes.get(name=name).code


def test_coordinator_opens_a_swap_day_with_one_code_per_class(swap):
    _page, coordinator, day = swap
    assert day.created_by == coordinator and day.is_open
    codes = list(day.classes.order_by("name").values_list("name", "code"))
    assert [name for name, _ in codes] == ["3-2", "4-1"]  # duplicates dropped
    assert all(len(code) == 6 and code.isalnum() for _, code in codes)
    assert len({code for _, code in codes}) == 2


def test_only_the_schools_coordinators_open_swap_days(swap):
    page, _, _ = swap
    _, organiser = organiser_org()
    with pytest.raises(PermissionDenied):
        swap_day_create(
            coordinator=organiser, page_id=page.pk, title="x", date=timezone.localdate(), location="", class_names=["1"]
        )


def test_pupils_join_with_the_class_code_and_a_nickname_only(client, swap):
    page, _, day = swap
    client.cookies["django_language"] = "en"

    response = client.post(
        page.url + "join/",
        {
            "join-code": code_of(day).lower(),
            "join-nickname": "Bookworm",
            # Nothing else is read or kept, even if a form sent it.
            "join-email": "kid@example.org",
            "join-phone": "13800138000",
            "join-name": "Zhang Wei",
        },
    )

    assert response.status_code == 302
    pupil = Pupil.objects.get()
    assert (pupil.nickname, pupil.swap_class.name, pupil.points) == ("Bookworm", "3-2", page.start_points)
    token = client.session[SESSION_KEY][str(day.pk)]
    assert pupil.token_hash != token and len(pupil.token_hash) == 64  # only a hash is stored
    stored = {field.attname: getattr(pupil, field.attname) for field in Pupil._meta.concrete_fields}
    assert not any(
        isinstance(value, str) and ("kid@example.org" in value or "13800138000" in value or "Zhang" in value)
        for value in stored.values()
    )
    # The secret in the session brings the pupil back to their page.
    day_page = client.get(response["Location"]).content.decode()
    assert "Bookworm" in day_page and "Offer a book" in day_page


def test_no_personal_data_beyond_nickname_and_class_is_stored():
    """The pupil model holds a nickname, the class, points and a secret's hash: no field
    for a name, e-mail, phone, birth date or account, and no link to a user."""
    assert {field.name for field in Pupil._meta.concrete_fields} == {
        "id",
        "swap_class",
        "nickname",
        "token_hash",
        "points",
        "joined_at",
    }
    assert {field.name for field in SwapClass._meta.concrete_fields} == {"id", "swap_day", "name", "code", "created_at"}
    assert {field.name for field in SwapWish._meta.concrete_fields} == {
        "id",
        "pupil",
        "isbn",
        "title",
        "created_at",
        "fulfilled_at",
    }
    for model in (Pupil, SwapClass, SwapWish):
        for field in model._meta.concrete_fields:
            assert not isinstance(field, models.EmailField | models.GenericIPAddressField)
            if field.is_relation:
                assert field.related_model in {SwapClass, SwapDay, Pupil}
    nickname_field = Pupil._meta.get_field("nickname")
    assert nickname_field.max_length == 20


@pytest.mark.parametrize("nickname", ["kid@example.org", "138 0013 8000", "Tom 13800138000"])
def test_a_nickname_cannot_carry_contact_details(swap, nickname):
    _, _, day = swap
    with pytest.raises(ValidationFailed, match="nickname"):
        pupil_join(code=code_of(day), nickname=nickname)
    assert not Pupil.objects.exists()


def test_a_wrong_code_or_a_taken_nickname_is_refused(swap):
    _, _, day = swap
    with pytest.raises(ValidationFailed, match="no class with this code"):
        pupil_join(code="NOPE99", nickname="Star")
    pupil_join(code=code_of(day), nickname="Star")
    with pytest.raises(Conflict, match="already uses"):
        pupil_join(code=code_of(day), nickname="Star")
    pupil_join(code=code_of(day, "4-1"), nickname="Star")  # another class may use it


def test_books_are_offered_by_isbn_with_the_title_from_the_local_table(swap):
    _, _, day = swap
    pupil, _ = pupil_join(code=code_of(day), nickname="Giver")

    known = book_offer(pupil=pupil, isbn="978-7-02-005013-0")
    assert (known.isbn, known.title) == (LITTLE_PRINCE, "小王子")
    with pytest.raises(ValidationFailed, match="type the book's title"):
        book_offer(pupil=pupil, isbn=NOT_IN_TABLE)
    typed = book_offer(pupil=pupil, isbn="0262033844", title="Introduction to Algorithms")  # ISBN-10
    assert typed.isbn == NOT_IN_TABLE
    with pytest.raises(ValidationFailed, match="ISBN"):
        book_offer(pupil=pupil, isbn="9787020050131")  # wrong check digit


def test_a_wisher_gets_48_hours_of_first_refusal(swap):
    _page, _, day = swap
    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    wisher, _ = pupil_join(code=code_of(day), nickname="Wisher")
    other, _ = pupil_join(code=code_of(day, "4-1"), nickname="Other")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wish_add(pupil=wisher, isbn=LITTLE_PRINCE)
        book = book_offer(pupil=giver, isbn=LITTLE_PRINCE)
        assert book.first_refusal_until == start + dt.timedelta(hours=48)
    with time_machine.travel(start + dt.timedelta(hours=47, minutes=59), tick=False):
        with pytest.raises(Conflict, match="wished for this book") as held:
            book_claim(pupil=other, book_id=book.pk)
        assert held.value.code == "first_refusal"
    with time_machine.travel(start + dt.timedelta(hours=48), tick=False):
        claimed = book_claim(pupil=other, book_id=book.pk)  # the window is over
    assert claimed.requested_by == other


def test_the_wisher_may_claim_inside_the_window(swap):
    _, _, day = swap
    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    wisher, _ = pupil_join(code=code_of(day), nickname="Wisher")
    wish_add(pupil=wisher, isbn=THREE_BODY)
    book = book_offer(pupil=giver, isbn=THREE_BODY)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        assert book_claim(pupil=wisher, book_id=book.pk).requested_by == wisher
    with pytest.raises(Conflict, match="own book"):
        book_claim(pupil=giver, book_id=book.pk)


def test_no_first_refusal_when_nobody_wished(swap):
    _, _, day = swap
    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    taker, _ = pupil_join(code=code_of(day), nickname="Taker")
    book = book_offer(pupil=giver, isbn=THREE_BODY)
    assert book.first_refusal_until is None
    assert book_claim(pupil=taker, book_id=book.pk).requested_by == taker


def test_the_coordinator_confirms_a_hand_over_and_points_move(swap):
    page, coordinator, day = swap
    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    receiver, _ = pupil_join(code=code_of(day), nickname="Receiver")
    wish_add(pupil=receiver, isbn=LITTLE_PRINCE)
    book = book_offer(pupil=giver, isbn=LITTLE_PRINCE)
    book_claim(pupil=receiver, book_id=book.pk)
    start = page.start_points

    with pytest.raises(PermissionDenied):
        book_handover_confirm(coordinator=UserFactory(), day_id=day.pk, book_id=book.pk)
    book_handover_confirm(coordinator=coordinator, day_id=day.pk, book_id=book.pk)

    giver.refresh_from_db()
    receiver.refresh_from_db()
    book.refresh_from_db()
    assert (giver.points, receiver.points) == (start + page.points_for_giving, start - page.points_for_receiving)
    assert (book.status, book.confirmed_by) == ("handed_over", coordinator)
    assert SwapWish.objects.get(pupil=receiver).fulfilled_at is not None
    with pytest.raises(Conflict):  # confirming twice moves nothing
        book_handover_confirm(coordinator=coordinator, day_id=day.pk, book_id=book.pk)
    giver.refresh_from_db()
    assert giver.points == start + page.points_for_giving


def test_points_are_configurable_and_a_pupil_cannot_overspend(swap):
    page, _, day = swap
    page.start_points = 1
    page.points_for_receiving = 1
    page.save()
    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    reader, _ = pupil_join(code=code_of(day), nickname="Reader")
    first = book_offer(pupil=giver, isbn=LITTLE_PRINCE)
    second = book_offer(pupil=giver, isbn=THREE_BODY)
    book_claim(pupil=reader, book_id=first.pk)
    with pytest.raises(Conflict, match="enough points"):
        book_claim(pupil=reader, book_id=second.pk)


def test_leftovers_go_to_the_givers_class_library(swap):
    page, coordinator, day = swap
    giver, _ = pupil_join(code=code_of(day, "4-1"), nickname="Giver")
    taker, _ = pupil_join(code=code_of(day), nickname="Taker")
    leftover = book_offer(pupil=giver, isbn=LITTLE_PRINCE)
    taken = book_offer(pupil=giver, isbn=THREE_BODY)
    book_claim(pupil=taker, book_id=taken.pk)

    assert leftovers_donate(coordinator=coordinator, day_id=day.pk) == 1

    leftover.refresh_from_db()
    taken.refresh_from_db()
    assert (leftover.status, leftover.donated_to) == ("donated", f"4-1 {page.library_name}")
    assert taken.status == "requested"


def test_swap_journey_through_the_pages(client, swap):
    """Two pupils in two browsers, the coordinator in a third: offer, wish, claim, confirm."""
    page, coordinator, day = swap
    giver, receiver = Client(), Client()
    for browser, nickname in ((giver, "Giver"), (receiver, "Receiver")):
        browser.cookies["django_language"] = "en"
        browser.post(page.url + "join/", {"join-code": code_of(day), "join-nickname": nickname})
    day_url = f"{page.url}days/{day.pk}/"
    receiver.post(day_url + "wish/", {"wish-isbn": LITTLE_PRINCE})
    giver.post(day_url + "offer/", {"offer-isbn": LITTLE_PRINCE})
    html = receiver.get(day_url).content.decode()
    assert "Books from your wishlist are here!" in html
    book = SwapBook.objects.get()
    receiver.post(day_url + "claim/", {"book": book.pk})

    # A pupil cannot reach the coordinator's pages.
    assert giver.get(f"{page.url}coordinate/days/{day.pk}/").status_code == 302
    client.force_login(coordinator)
    client.cookies["django_language"] = "en"
    assert "Hand-overs to confirm" in client.get(f"{page.url}coordinate/days/{day.pk}/").content.decode()
    client.post(f"{page.url}coordinate/days/{day.pk}/confirm/", {"book": book.pk})

    points = {p.nickname: p.points for p in Pupil.objects.all()}
    assert points == {"Giver": page.start_points + 1, "Receiver": page.start_points - 1}
    assert f"<span data-points>{page.start_points - 1}</span>" in receiver.get(day_url).content.decode()


def test_the_swap_page_shows_the_co2_its_passed_on_books_avoided(swap):
    from marketplace.city.models import GreenFactor

    page, coordinator, day = swap
    GreenFactor.objects.create(
        category="books", item_type="", kg_co2e="1.2", uncertainty_percent=50, source="Example study"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Green account" not in client.get(page.url).content.decode()  # nothing passed on yet

    giver, _ = pupil_join(code=code_of(day), nickname="Giver")
    receiver, _ = pupil_join(code=code_of(day), nickname="Receiver")
    for isbn in (LITTLE_PRINCE, THREE_BODY):
        book = book_offer(pupil=giver, isbn=isbn)
        book_claim(pupil=receiver, book_id=book.pk)
        book_handover_confirm(coordinator=coordinator, day_id=day.pk, book_id=book.pk)

    html = client.get(page.url).content.decode()
    assert "2 items found a new owner here." in html
    assert "About 2 kg CO2e avoided" in html  # never more precise than the factors
    assert "likely between 1 and 4 kg" in html
