"""Selling a book from its ISBN (issue 17, point 3): the local catalogue fills the book
form, learns what sellers type for ISBNs it did not know (never overwriting a record),
may ask an online catalogue (off by default; a fake one on 127.0.0.1 here), and a book
is titled once. Publishing a book that only lacks its seller's self-assessment never
sends it to "waiting for appraisal"."""

from __future__ import annotations

import re

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django.utils import translation

from grading.services import appraisal_request_create, self_assessment_submit
from marketplace.book_lookup import BookDetails
from marketplace.errors import ValidationFailed
from marketplace.models import BookAttributes, BookRecord, BookRecordSource, Listing, ListingStatus
from marketplace.services.books import book_lookup, book_record_learn
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import PublicationBlocked, listing_create, listing_publish, listing_update
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration.test_cms_bookswap import code_of, swap  # noqa: F401 - a fixture
from tests.listings import COMMON, add_photos, make_listing
from tests.support.fake_catalogue import RED_CHAMBER, fake_catalogue  # noqa: F401 - a fixture
from tests.unit.test_grading_rules import BOOK as FINE_BOOK

pytestmark = pytest.mark.django_db

RED = "9787020002207"  # 红楼梦
ALGORITHMS = "9780262033848"  # Introduction to Algorithms (ISBN-10 0262033844)
UNKNOWN = "9787536692930"
GRADE_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]
FOUND = "Found “"
NOT_KNOWN = "We do not know this ISBN yet."

# What a seller types: the ISBN first, then the price and where; nothing about the book.
SELL_FORM = {
    "price_yuan": "45",
    "description": "",
    "city": "上海市",
    "district": "徐汇区",
    "delivery_pickup": "on",
    "attributes-isbn": "978-7-02-000220-7",
    "attributes-language": "zh",
}


@pytest.fixture
def seller_client():
    def make(user=None):
        client = Client()
        client.force_login(user or UserFactory())
        client.cookies["django_language"] = "en"
        return client

    return make


def red_chamber_record(**fields) -> BookRecord:
    return BookRecord.objects.create(
        isbn=RED,
        title="红楼梦",
        authors=["曹雪芹", "高鹗"],
        publisher="人民文学出版社",
        year=1982,
        source=BookRecordSource.IMPORT,
        **fields,
    )


def look_up(client, isbn: str, **extra):
    return client.post("/sell/books/", {**SELL_FORM, "attributes-isbn": isbn, "isbn_lookup": "1", **extra})


def field_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else None


def status_line(page: str) -> str:
    match = re.search(r'<p class="lookup-status[^"]*" id="isbn-lookup-status"[^>]*>(.*?)</p>', page, re.S)
    assert match, "the lookup status line is on the page"
    return match.group(1).strip()


def field_errors(page: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


# --- The form, without JavaScript --------------------------------------------------------


def test_the_book_form_asks_for_the_isbn_first_and_the_title_once(seller_client):
    page = seller_client().get("/sell/books/").content.decode()
    assert '<script src="/static/js/book-lookup.js" defer>' in page
    page = page[page.index('<form method="post" novalidate class="listing-form">') :]
    assert 'name="title"' not in page  # the listing is titled by its book
    assert page.count('name="attributes-book_title"') == 1
    names = re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"', page)
    visible = [name for name in names if name not in {"csrfmiddlewaretoken"}]
    assert visible[0] == "attributes-isbn"
    assert 'name="isbn_lookup"' in page


def test_the_isbn_fills_the_book_from_the_local_table_and_nothing_is_saved(seller_client):
    red_chamber_record()
    page = look_up(seller_client(), "7-02-000220-X", price_yuan="38").content.decode()  # ISBN-10

    assert FOUND in status_line(page)
    assert field_value(page, "attributes-isbn") == RED  # shown as the 13 digits
    assert field_value(page, "attributes-book_title") == "红楼梦"
    assert field_value(page, "attributes-authors") == "曹雪芹、高鹗"
    assert field_value(page, "attributes-publisher") == "人民文学出版社"
    assert field_value(page, "attributes-year") == "1982"
    assert field_value(page, "price_yuan") == "38"  # what the seller typed stays
    assert 'class="errorlist"' not in page  # a look-up is not a save: no complaints
    assert not Listing.objects.exists()


def test_saving_with_only_the_isbn_takes_the_book_from_the_table(seller_client):
    red_chamber_record()
    response = seller_client().post("/sell/books/", SELL_FORM)

    assert response.status_code == 302
    listing = Listing.objects.get()
    assert listing.title == listing.book.book_title == "红楼梦"
    assert (listing.book.authors, listing.book.publisher, listing.book.year) == (
        ["曹雪芹", "高鹗"],
        "人民文学出版社",
        1982,
    )


def test_an_unknown_isbn_typed_by_one_seller_is_offered_to_the_next(seller_client):
    first_seller = UserFactory()
    first = seller_client(first_seller)
    page = look_up(first, ALGORITHMS).content.decode()
    assert status_line(page) == NOT_KNOWN + (
        " Type the title, authors, publisher and year below; they are kept for the next seller of this book."
    )
    assert page.count(NOT_KNOWN) == 1
    assert field_value(page, "attributes-book_title") in (None, "")

    response = first.post(
        "/sell/books/",
        {
            **SELL_FORM,
            "attributes-isbn": "0262033844",
            "attributes-book_title": "Introduction to Algorithms",
            "attributes-authors": "Thomas H. Cormen, Charles E. Leiserson",
            "attributes-publisher": "MIT Press",
            "attributes-year": "2009",
            "attributes-language": "en",
        },
    )
    assert response.status_code == 302
    record = BookRecord.objects.get(isbn=ALGORITHMS)
    assert (record.source, record.updated_by) == (BookRecordSource.LISTING, first_seller)

    second = seller_client()
    page = look_up(second, "978-0-262-03384-8").content.decode()
    assert FOUND in status_line(page)
    assert field_value(page, "attributes-book_title") == "Introduction to Algorithms"
    assert field_value(page, "attributes-authors") == "Thomas H. Cormen、Charles E. Leiserson"
    assert field_value(page, "attributes-publisher") == "MIT Press"
    assert field_value(page, "attributes-year") == "2009"

    # The second seller's own spelling goes on their listing, not over the record.
    second.post(
        "/sell/books/",
        {**SELL_FORM, "attributes-isbn": ALGORITHMS, "attributes-book_title": "算法导论", "attributes-year": "2013"},
    )
    assert Listing.objects.get(title="算法导论").book.year == 2013
    record.refresh_from_db()
    assert (record.title, record.year, record.updated_by) == ("Introduction to Algorithms", 2009, first_seller)


def test_an_invalid_isbn_gets_a_clear_error_and_nothing_is_saved(seller_client):
    client = seller_client()
    page = look_up(client, "9787020002208").content.decode()
    assert "not a valid ISBN" in field_errors(page, "id_attributes-isbn")
    assert re.search(r'<input[^>]*name="attributes-isbn"[^>]*aria-invalid="true"', page)
    assert status_line(page) == ""

    page = client.post("/sell/books/", {**SELL_FORM, "attributes-isbn": "12345"}).content.decode()
    assert "not a valid ISBN" in field_errors(page, "id_attributes-isbn")
    assert not Listing.objects.exists()
    assert not BookRecord.objects.exists()


def test_the_invalid_isbn_error_is_translated(seller_client):
    client = seller_client()
    client.cookies["django_language"] = "zh-hans"
    page = look_up(client, "9787020002208").content.decode()
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "“%(value)s” is not a valid ISBN: check the digits, the last one is a check digit."
        )
    assert expected != "“%(value)s” is not a valid ISBN: check the digits, the last one is a check digit."
    assert expected.replace("%(value)s", "9787020002208") in field_errors(page, "id_attributes-isbn").replace(
        "&ldquo;", "“"
    ).replace("&rdquo;", "”")


def test_an_unknown_isbn_saved_without_a_title_asks_for_it_once(seller_client):
    page = seller_client().post("/sell/books/", {**SELL_FORM, "attributes-isbn": UNKNOWN}).content.decode()
    errors = field_errors(page, "id_attributes-book_title")
    assert "the catalogue does not know this ISBN yet" in errors
    assert errors.count("<li>") == 1
    assert not Listing.objects.exists()


def test_the_edit_page_looks_up_too_and_keeps_the_listing(seller_client):
    seller = UserFactory()
    client = seller_client(seller)
    listing = make_listing(seller=seller, isbn=ALGORITHMS, book_title="Old title", authors=[])
    red_chamber_record()
    page = client.post(
        f"/my/listings/{listing.pk}/edit/", {**SELL_FORM, "attributes-isbn": RED, "isbn_lookup": "1"}
    ).content.decode()
    assert field_value(page, "attributes-book_title") == "红楼梦"
    listing.refresh_from_db()
    assert listing.book.isbn == ALGORITHMS  # nothing saved until "Save changes"


# --- The JSON endpoint the script calls ---------------------------------------------------


def test_the_json_endpoint_needs_a_login_and_answers_found_or_not(client, seller_client):
    assert client.get("/sell/books/isbn/", {"isbn": RED}).status_code == 302
    red_chamber_record()
    signed_in = seller_client()

    found = signed_in.get("/sell/books/isbn/", {"isbn": "978-7-02-000220-7"}).json()
    assert found["found"] is True and found["isbn"] == RED
    assert found["book"] == {
        "title": "红楼梦",
        "authors": ["曹雪芹", "高鹗"],
        "publisher": "人民文学出版社",
        "year": 1982,
    }
    unknown = signed_in.get("/sell/books/isbn/", {"isbn": UNKNOWN}).json()
    assert (unknown["found"], unknown["book"], unknown["message"].startswith(NOT_KNOWN)) == (False, None, True)
    bad = signed_in.get("/sell/books/isbn/", {"isbn": "9787020002208"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_isbn" and "not a valid ISBN" in bad.json()["message"]
    assert signed_in.post("/sell/books/isbn/", {"isbn": RED}).status_code == 405


def test_look_ups_of_unknown_isbns_are_rate_limited_per_account(settings, seller_client):
    settings.MARKETPLACE_BOOK_LOOKUP_RATE = "2/m/user"
    red_chamber_record()
    client = seller_client()
    for _ in range(2):
        assert client.get("/sell/books/isbn/", {"isbn": UNKNOWN}).status_code == 200
    limited = client.get("/sell/books/isbn/", {"isbn": UNKNOWN})
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert client.get("/sell/books/isbn/", {"isbn": RED}).json()["found"]  # the local table costs nothing
    page = look_up(client, UNKNOWN).content.decode()
    assert "Too many look-ups" in field_errors(page, "id_attributes-isbn")
    assert seller_client().get("/sell/books/isbn/", {"isbn": UNKNOWN}).status_code == 200  # per account


# --- The online catalogue -------------------------------------------------------------------


@pytest.fixture
def online(settings, fake_catalogue):  # noqa: F811
    settings.MARKETPLACE_BOOK_LOOKUP = "marketplace.book_lookup.OpenLibraryLookup"
    settings.MARKETPLACE_BOOK_LOOKUP_URL = fake_catalogue.url
    settings.MARKETPLACE_BOOK_LOOKUP_TIMEOUT = 0.5
    return fake_catalogue


def test_the_online_catalogue_is_off_by_default(settings, fake_catalogue, seller_client):  # noqa: F811
    settings.MARKETPLACE_BOOK_LOOKUP_URL = fake_catalogue.url
    fake_catalogue.books[RED] = RED_CHAMBER
    assert book_lookup(isbn=RED).book is None
    assert NOT_KNOWN in status_line(look_up(seller_client(), RED).content.decode())
    assert fake_catalogue.requests == []


def test_what_the_online_catalogue_finds_is_kept(online, seller_client):
    online.books[RED] = RED_CHAMBER
    page = look_up(seller_client(), RED).content.decode()
    assert FOUND in status_line(page)
    assert field_value(page, "attributes-book_title") == "红楼梦"
    assert field_value(page, "attributes-year") == "1982"
    record = BookRecord.objects.get(isbn=RED)
    assert (record.source, record.authors, record.publisher) == (
        BookRecordSource.LOOKUP,
        ["曹雪芹", "高鹗"],
        "人民文学出版社",
    )
    assert book_lookup(isbn=RED).book == BookDetails(
        isbn=RED, title="红楼梦", authors=("曹雪芹", "高鹗"), publisher="人民文学出版社", year=1982
    )
    assert len(online.requests) == 1  # asked once; the table answers from then on


def test_a_book_the_online_catalogue_does_not_know_is_typed(online, seller_client):
    assert NOT_KNOWN in status_line(look_up(seller_client(), UNKNOWN).content.decode())
    assert len(online.requests) == 1
    assert not BookRecord.objects.exists()


@pytest.mark.parametrize("mode", ["slow", "garbage", "error"])
def test_when_the_online_catalogue_fails_the_seller_types_the_details(online, seller_client, mode):
    online.books[RED] = RED_CHAMBER
    online.mode = mode
    result = book_lookup(isbn=RED)
    assert (result.book, result.online_failed) == (None, True)
    page = look_up(seller_client(), RED).content.decode()
    assert status_line(page).startswith(NOT_KNOWN)
    assert 'class="errorlist"' not in page
    assert not BookRecord.objects.exists()


# --- Learning and staff corrections -------------------------------------------------------------


def test_a_record_is_never_overwritten_by_learning():
    staff = UserFactory(is_staff=True)
    record = red_chamber_record(updated_by=staff)
    book_record_learn(isbn=RED, title="Dream of the Red Chamber", authors=["Cao Xueqin"], year=2000)
    record.refresh_from_db()
    assert (record.title, record.year, record.updated_by) == ("红楼梦", 1982, staff)
    assert BookRecord.objects.count() == 1


def test_editing_a_listing_teaches_an_unknown_isbn_but_changes_no_record():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    record = BookRecord.objects.get(isbn=RED)  # the listing taught it
    listing_update(actor=seller, listing_id=listing.pk, data={}, attributes={"book_title": "石头记"})
    record.refresh_from_db()
    assert record.title == "红楼梦"
    listing.refresh_from_db()
    assert listing.title == "石头记"  # the title follows the book title


def test_staff_correct_records_in_the_wagtail_admin():
    staff = UserFactory(is_staff=True, is_superuser=True, with_totp=True)
    record = red_chamber_record()
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(staff)
    url = reverse("book-catalogue:edit", args=[record.pk])
    assert "红楼梦" in admin.get(reverse("book-catalogue:index")).content.decode()

    response = admin.post(
        url,
        {
            "isbn": "7-02-000220-X",
            "title": "红楼梦（全四册）",
            "authors": "曹雪芹、高鹗",
            "publisher": "人民文学出版社",
            "year": "1982",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.title, record.authors, record.source, record.updated_by) == (
        "红楼梦（全四册）",
        ["曹雪芹", "高鹗"],
        BookRecordSource.STAFF,
        staff,
    )
    bad = admin.post(url, {"isbn": "9787020002208", "title": "x", "authors": "", "publisher": "", "year": ""})
    assert bad.status_code == 200 and "not a valid ISBN" in bad.content.decode()

    seller = Client()
    seller.force_login(UserFactory())
    assert seller.get(url).status_code in (302, 403)


def test_the_migration_learns_from_earlier_listings():
    import importlib

    migration = importlib.import_module("marketplace.migrations.0011_book_catalogue")
    seller = UserFactory()
    older = make_listing(seller=seller, book_title="红楼梦 (first)")
    make_listing(seller=seller, book_title="红楼梦 (later)")
    make_listing(seller=seller, isbn=ALGORITHMS, book_title="Introduction to Algorithms", authors=["T. Cormen"])
    BookRecord.objects.all().delete()  # as before the catalogue existed

    migration.learn_from_earlier_listings(django_apps, None)

    records = {record.isbn: record for record in BookRecord.objects.all()}
    assert set(records) == {RED, ALGORITHMS}
    assert records[RED].title == older.book.book_title
    assert records[ALGORITHMS].authors == ["T. Cormen"]
    assert {record.source for record in records.values()} == {BookRecordSource.IMPORT}


def test_a_book_swap_teaches_the_catalogue(swap):  # noqa: F811
    from cms.services.bookswap import book_offer, pupil_join

    _, _, day = swap
    pupil, _token = pupil_join(code=code_of(day), nickname="Giver")
    book_offer(pupil=pupil, isbn=UNKNOWN, title="三体")
    record = BookRecord.objects.get(isbn=UNKNOWN)
    assert (record.title, record.source) == ("三体", BookRecordSource.BOOK_SWAP)
    assert book_lookup(isbn=UNKNOWN).book.title == "三体"


def test_an_invalid_isbn_is_a_validation_error_of_the_isbn_field():
    with pytest.raises(ValidationFailed) as exc:
        book_lookup(isbn="978-7-02-000220-8")
    assert exc.value.code == "invalid_isbn" and list(exc.value.details["fields"]) == ["isbn"]


# --- Publishing a self-assessed book ----------------------------------------------------------


@pytest.fixture
def grade_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = GRADE_GATES


def statuses(listing: Listing) -> set[str]:
    return set(listing.status_history.values_list("to_status", flat=True))


def test_publishing_a_book_early_explains_and_never_waits_for_an_appraiser(grade_gates, seller_client):
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    client = seller_client(seller)

    page = client.post(f"/my/listings/{listing.pk}/publish/", follow=True).content.decode()
    assert "Grade the item: fill in the self-assessment" in page
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT
    assert ListingStatus.PENDING_APPRAISAL not in statuses(listing)

    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=FINE_BOOK)
    assert listing_publish(actor=seller, listing_id=listing.pk).status == ListingStatus.PUBLISHED
    assert ListingStatus.PENDING_APPRAISAL not in statuses(listing)


def test_a_book_left_waiting_for_appraisal_goes_back_to_draft_on_the_next_attempt(grade_gates):
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    listing_transition(listing=listing, to_status=ListingStatus.PENDING_APPRAISAL, actor=seller)
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_a_book_whose_seller_asked_for_a_certified_appraisal_waits_for_it(grade_gates):
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    appraisal_request_create(actor=seller, listing_id=listing.pk)
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_APPRAISAL


def test_electronics_still_wait_for_their_certified_appraisal(grade_gates):
    seller = UserFactory()
    listing = make_listing(seller=seller, category="electronics", title="iPhone 13")
    add_photos(listing)
    with pytest.raises(PublicationBlocked):
        listing_publish(actor=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_APPRAISAL


def test_the_api_still_takes_a_title_and_a_book_without_one_is_titled_by_its_book():
    seller = UserFactory()
    titled = listing_create(
        actor=seller,
        category="books",
        data={**COMMON, "title": "红楼梦 全四册 精装", "price": 4500},
        attributes={"isbn": RED, "book_title": "红楼梦", "language": "zh"},
    )
    untitled = listing_create(
        actor=seller,
        category="books",
        data={**COMMON, "price": 4500},
        attributes={"isbn": ALGORITHMS, "book_title": "Introduction to Algorithms", "language": "en"},
    )
    assert (titled.title, untitled.title) == ("红楼梦 全四册 精装", "Introduction to Algorithms")
    assert BookAttributes.objects.count() == 2
