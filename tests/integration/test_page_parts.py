"""Personal parts of cached pages (marketplace/page_cache.py, "Personal parts"): a public
page is stored once and served to everyone — logged-in members included — with the parts
that differ between visitors (navigation, messages, buy panel, "Manage" link, report form,
a market's applications, a certificate's full identifiers) rendered for each visitor. Nothing
one visitor sees leaks to another, whoever's visit stored the page."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from wagtail.models import PageViewRestriction

from cms.services.flea import stall_apply
from marketplace.models import Order
from marketplace.services.notifications import notifications_mark_all_read, notify
from marketplace.services.offers import offer_make
from tests.cms import make_market, make_standard_page, organiser_org
from tests.factories import UserFactory
from tests.integration import test_erasure
from tests.integration.test_erasure import fresh_log, import_and_sign, laptop_listing, make_technician
from tests.integration.test_erasure_pages import MASKED_SERIAL, SERIAL
from tests.listings import make_listing
from tests.orders import published_listing

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 600


def member(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def without_tokens(response) -> str:
    """The page without its CSRF tokens (masked anew on every answer)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_members_get_the_shared_listing_page_with_their_own_parts(django_assert_num_queries):
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller, title="红楼梦 全四册", price=4500)
    url = f"/listings/{listing.pk}/"

    # The seller's visit stores the page; nothing of theirs is in what others are served.
    first = member(seller).get(url)
    assert first["X-Cache"] == "miss" and "Manage this listing" in text(first)
    assert "<!--xh-part" not in text(first)

    stranger = Client(HTTP_ACCEPT_LANGUAGE="en").get(url)
    assert stranger["X-Cache"] == "hit"
    assert "Manage this listing" not in text(stranger) and "My listings" not in text(stranger)
    assert "Log in to buy" in text(stranger) and "Report this listing" not in text(stranger)

    buying = member(buyer)
    with django_assert_num_queries(BUYER_HIT_QUERIES):
        page = buying.get(url)
    assert page["X-Cache"] == "hit" and "<!--xh-part" not in text(page)
    assert "Manage this listing" not in text(page) and "Log in to buy" not in text(page)
    assert "My orders" in text(page) and "Report this listing" in text(page) and "Buy for ¥45.00" in text(page)

    # The buy form of a cached page works: the token in it is the buyer's own.
    csrf = Client(HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)
    csrf.force_login(buyer)
    form = text(csrf.get(url))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    arrangement = re.search(r'name="arrangement" value="([^"]+)"', form)
    assert token and key and arrangement
    bought = csrf.post(
        f"/listings/{listing.pk}/buy/",
        {"csrfmiddlewaretoken": token[1], "idempotency_key": key[1], "arrangement": arrangement[1]},
    )
    assert bought.status_code == 302
    assert Order.objects.filter(listing=listing, buyer=buyer).exists()


# A member's first hit on a page: session, user, roles, unread count (the navigation); the
# listing (read once for all its parts), the buyer's live order and open offer on it (the buy
# panel). Their parts are then kept per member: the next hit reads session and user only.
BUYER_HIT_QUERIES = 7
KEPT_PARTS_HIT_QUERIES = 2


def test_a_members_parts_are_kept_until_what_they_show_changes(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    seller, buyer = UserFactory(), UserFactory()
    pages = [f"/listings/{published_listing(seller=seller, title=f'书 {n}').pk}/" for n in range(3)]
    client = member(buyer)
    for url in pages:
        client.get(url)  # stores the page
        client.get(url)  # renders and keeps the parts
    for url in pages:
        with django_assert_num_queries(KEPT_PARTS_HIT_QUERIES):
            assert client.get(url)["X-Cache"] == "hit"

    # Their notifications, their offers: the parts showing them are rendered again.
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[buyer], kind="test", subject="Hello", body="News.")
    assert "data-unread-count>1<" in client.get(pages[0]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        notifications_mark_all_read(user=buyer)
    assert "data-unread-count" not in client.get(pages[0]).content.decode()
    listing_id = int(pages[1].strip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):
        offer_make(buyer=buyer, listing_id=listing_id, amount=3000, delivery_method="pickup", payment_method="cash")
    page = client.get(pages[1])
    assert page["X-Cache"] == "hit" and "Your offer of ¥30.00 is waiting for an answer." in text(page)
    # Someone else's news changes nothing of theirs: their parts stay kept.
    before = without_tokens(client.get(pages[0]))
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[seller], kind="test", subject="Hello", body="News.")
    with django_assert_num_queries(KEPT_PARTS_HIT_QUERIES):
        assert without_tokens(client.get(pages[0])) == before


def test_a_listing_that_is_not_public_is_never_shared():
    seller = UserFactory()
    draft = make_listing(seller=seller, title="未发布的书")
    url = f"/listings/{draft.pk}/"
    own = member(seller).get(url)
    assert own.status_code == 200 and "X-Cache" not in own
    assert Client().get(url).status_code == 404
    assert member(UserFactory()).get(url).status_code == 404


def test_the_navigation_and_messages_are_each_members_own_on_a_hit(django_capture_on_commit_callbacks):
    seller, reader = UserFactory(), UserFactory()
    listing = published_listing(seller=seller)
    url = f"/listings/{listing.pk}/"
    Client().get(url)  # stored by a stranger

    client = member(reader)
    assert "data-unread-count" not in text(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[reader], kind="test", subject="Hello", body="A new message for you.")
    page = client.get(url)
    assert page["X-Cache"] == "hit" and "data-unread-count>1<" in page.content.decode()
    assert "data-unread-count" not in member(seller).get(url).content.decode()

    # A flash message shows on the next page, served from the cache, and only once.
    reported = client.post(f"/listings/{listing.pk}/report/", {"report-reason": "other", "report-details": ""})
    assert reported.status_code == 302
    after = client.get(url)
    assert after["X-Cache"] == "hit" and "Moderators will look at this listing" in text(after)
    assert "Moderators will look at this listing" not in text(client.get(url))


def test_a_flea_market_shows_each_member_their_own_applications_on_a_hit():
    org, _organiser = organiser_org()
    market = make_market(org)
    applicant, other = UserFactory(), UserFactory()
    date = market.dates.first()
    stall = market.stall_types.first()
    assert date is not None and stall is not None
    stall_apply(user=applicant, market_date_id=date.pk, stall_type_id=stall.pk)

    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get(market.url)
    assert anonymous["X-Cache"] == "miss" and "Log in to apply" in text(anonymous)
    mine = member(applicant).get(market.url)
    assert mine["X-Cache"] == "hit" and "Your applications" in text(mine) and "Log in to apply" not in text(mine)
    theirs = member(other).get(market.url)
    assert theirs["X-Cache"] == "hit" and "Your applications" not in text(theirs)
    assert "Send application" in text(theirs)


def test_the_verify_page_shows_full_identifiers_only_to_those_entitled_on_a_hit(provider):
    technician = make_technician(provider)
    listing = laptop_listing()
    certificate = import_and_sign(provider, technician, listing, data=fresh_log())
    url = f"/verify/{certificate.pk}/"

    seller_page = member(listing.seller_user).get(url)  # stores the page
    assert seller_page["X-Cache"] == "miss" and SERIAL in seller_page.content.decode()
    for visitor in (Client(HTTP_ACCEPT_LANGUAGE="en"), member(UserFactory())):
        page = visitor.get(url)
        assert page["X-Cache"] == "hit"
        assert SERIAL not in page.content.decode() and MASKED_SERIAL in text(page)
    again = member(listing.seller_user).get(url)
    assert again["X-Cache"] == "hit" and SERIAL in again.content.decode()


def test_a_restricted_cms_page_is_never_served_to_others():
    page = make_standard_page("Members only", "<p>Secret minutes.</p>")
    group = Group.objects.create(name="Committee")
    restriction = PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.GROUPS)
    restriction.groups.add(group)
    insider = UserFactory()
    insider.groups.add(group)

    seen = member(insider).get(page.url)
    assert seen.status_code == 200 and "Secret minutes." in text(seen)
    assert "X-Cache" not in seen
    assert "Secret minutes." not in text(member(UserFactory()).get(page.url))
    assert "Secret minutes." not in text(Client().get(page.url))


def test_pages_with_personal_content_outside_parts_are_rendered_for_members():
    """A page type that has not moved its personal content into parts (a book swap, a
    consignment event) is stored for strangers only; members always get it rendered."""
    from tests.cms import make_book_swap, school_org

    org, _staff = school_org()
    swap = make_book_swap(org)
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get(swap.url)["X-Cache"] == "miss"
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get(swap.url)["X-Cache"] == "hit"
    rendered = member(UserFactory()).get(swap.url)
    assert rendered.status_code == 200 and "X-Cache" not in rendered
