"""The Open Library client of the online ISBN lookup, against a fake catalogue on
127.0.0.1: what it reads from an answer, and that every failure is "unavailable"."""

from __future__ import annotations

import pytest

from marketplace.book_lookup import BookDetails, BookLookupUnavailable, OpenLibraryLookup, book_lookup_provider
from tests.support.fake_catalogue import RED_CHAMBER, fake_catalogue  # noqa: F401 - a fixture

ISBN = "9787020002207"


@pytest.fixture
def client(settings, fake_catalogue):  # noqa: F811
    settings.MARKETPLACE_BOOK_LOOKUP_URL = fake_catalogue.url
    settings.MARKETPLACE_BOOK_LOOKUP_TIMEOUT = 0.5
    return OpenLibraryLookup()


def test_off_by_default():
    assert book_lookup_provider() is None


def test_the_setting_chooses_the_provider(settings):
    settings.MARKETPLACE_BOOK_LOOKUP = "marketplace.book_lookup.OpenLibraryLookup"
    assert isinstance(book_lookup_provider(), OpenLibraryLookup)
    settings.MARKETPLACE_BOOK_LOOKUP = None
    assert book_lookup_provider() is None


def test_a_known_isbn_gives_title_authors_publisher_and_year(client, fake_catalogue):  # noqa: F811
    fake_catalogue.books[ISBN] = {**RED_CHAMBER, "publish_date": "May 1982"}
    assert client(ISBN) == BookDetails(
        isbn=ISBN, title="红楼梦", authors=("曹雪芹", "高鹗"), publisher="人民文学出版社", year=1982
    )
    assert fake_catalogue.requests == [f"/api/books?bibkeys=ISBN%3A{ISBN}&format=json&jscmd=data"]


def test_a_subtitle_is_part_of_the_title_and_missing_parts_stay_empty(client, fake_catalogue):  # noqa: F811
    fake_catalogue.books[ISBN] = {"title": "Introduction to Algorithms", "subtitle": "Third edition"}
    assert client(ISBN) == BookDetails(isbn=ISBN, title="Introduction to Algorithms: Third edition")


def test_an_unknown_isbn_is_none(client):
    assert client(ISBN) is None


@pytest.mark.parametrize("mode", ["slow", "garbage", "list", "error", "huge"])
def test_every_failure_is_unavailable(client, fake_catalogue, mode):  # noqa: F811
    fake_catalogue.books[ISBN] = RED_CHAMBER
    fake_catalogue.mode = mode
    with pytest.raises(BookLookupUnavailable):
        client(ISBN)


def test_a_closed_port_is_unavailable(settings):
    settings.MARKETPLACE_BOOK_LOOKUP_URL = "http://127.0.0.1:9"  # discard: nothing listens
    settings.MARKETPLACE_BOOK_LOOKUP_TIMEOUT = 0.5
    with pytest.raises(BookLookupUnavailable):
        OpenLibraryLookup()(ISBN)
