"""The listing pages a person uses: sell, manage, photos, public detail, browse, notifications."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from marketplace.models import Listing, ListingPhoto, ListingReport, ListingStatus, Notification
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import listing_create
from marketplace.services.notifications import notify
from tests.consignment import accepted_agreement
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CORE_GATES = [
    "marketplace.gates.PhotosPresentGate",
    "marketplace.gates.SellerEmailVerifiedGate",
    "marketplace.gates.ProhibitedItemGate",
    "marketplace.gates.StolenGoodsGate",
]
IMEI = "352099001761481"
BOOK = {"isbn": "9787020002207", "book_title": "红楼梦", "authors": ["曹雪芹"], "language": "zh"}
PHONE = {
    "device_type": "phone",
    "brand": "Apple",
    "model_name": "iPhone 13",
    "storage_capacity_gb": 128,
    "imei": IMEI,
    "serial_number": "F2LXK0ABCD12",
}
# A book listing is titled by its book: the page asks for the title once, as the book title.
BOOK_FORM = {
    "price_yuan": "45.50",
    "description": "人民文学出版社, 1982.",
    "city": "上海市",
    "district": "徐汇区",
    "delivery_pickup": "on",
    "attributes-isbn": "978-7-02-000220-7",
    "attributes-book_title": "红楼梦",
    "attributes-authors": "曹雪芹、高鹗",
    "attributes-language": "zh",
    "attributes-is_textbook": "on",
}


@pytest.fixture(autouse=True)
def core_gates(settings):
    """The pages show whatever the gates say; pin the core gates so later apps' gates
    (grades, erasure certificates) do not change what these tests publish."""
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES


@pytest.fixture
def seller(db):
    return UserFactory(display_name="王卖家")


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    client.cookies["django_language"] = "en"
    return client


def english(client):
    client.cookies["django_language"] = "en"
    return client


def jpeg(colour: str = "seagreen", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def jpeg_upload(name: str = "photo.jpg", colour: str = "seagreen") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(colour), content_type="image/jpeg")


def make_listing(seller, *, category="books", title="红楼梦 全四册", price=4500, city="上海市", **attributes):
    defaults = {"books": BOOK, "electronics": PHONE}[category]
    return listing_create(
        actor=seller,
        category=category,
        data={"title": title, "price": price, "city": city, "district": "徐汇区", "delivery_pickup": True},
        attributes={**defaults, **attributes},
    )


def publish(listing, actor=None):
    """Straight through the lifecycle table (the gates have their own tests)."""
    listing_transition(listing=listing, to_status=ListingStatus.READY, actor=actor)
    listing_transition(listing=listing, to_status=ListingStatus.PUBLISHED, actor=actor)
    return listing


def add_photo_rows(listing, count: int, *, renditions: bool = True) -> None:
    """Photo rows as the rendition task leaves them (no image work: for query counts)."""
    for index in range(count):
        ListingPhoto.objects.create(
            listing=listing,
            original=f"listing-originals/{listing.pk}-{index}.jpg",
            sha256=f"{listing.pk:032d}{index:032d}",
            width=640,
            height=480,
            position=index,
            is_cover=index == 0,
            renditions={str(w): f"listings/{listing.pk}/{index}-{w}.webp" for w in (320, 960, 1920)}
            if renditions
            else {},
        )


def html(response) -> str:
    return response.content.decode()


def field_errors(page: str, field_id: str) -> str:
    """The error list rendered next to one field (Django gives it the id <field>_error)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


# --- Selling ------------------------------------------------------------------------------


def test_sell_asks_for_a_category_and_needs_a_login(client, seller):
    response = client.get("/sell/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

    client.force_login(seller)
    page = html(english(client).get("/sell/"))
    for category in ("electronics", "furniture", "books", "vehicles"):
        assert f'href="/sell/{category}/"' in page
    assert client.get("/sell/spaceships/").status_code == 404


def test_create_a_book_listing_through_the_page(seller_client, seller):
    response = seller_client.post("/sell/books/", BOOK_FORM)

    listing = Listing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/my/listings/{listing.pk}/"
    assert listing.seller_user == seller
    assert listing.price == 4550  # typed in yuan, stored in fen
    assert listing.status == ListingStatus.DRAFT
    assert listing.book.isbn == "9787020002207"
    assert listing.book.authors == ["曹雪芹", "高鹗"]
    assert listing.title == listing.book.book_title == "红楼梦"

    page = html(seller_client.get(response["Location"]))
    assert "Your listing was saved as a draft" in page
    assert "Draft" in page
    assert "Add at least one photo." in page  # what still blocks publication


def test_a_bad_isbn_is_reported_next_to_the_isbn_field_and_nothing_is_saved(seller_client):
    response = seller_client.post("/sell/books/", {**BOOK_FORM, "attributes-isbn": "9787020002208"})

    assert response.status_code == 200
    page = html(response)
    assert "not a valid ISBN" in field_errors(page, "id_attributes-isbn")
    assert re.search(r'<input[^>]*name="attributes-isbn"[^>]*aria-invalid="true"', page)
    assert "not a valid ISBN" not in field_errors(page, "id_attributes-book_title")
    assert re.search(r'<input[^>]*name="attributes-book_title"[^>]*value="红楼梦"', page)  # what was typed is kept
    assert not Listing.objects.exists()


def test_common_field_errors_show_together_with_attribute_errors(seller_client):
    response = seller_client.post(
        "/sell/books/", {**BOOK_FORM, "price_yuan": "abc", "attributes-book_title": "", "attributes-isbn": "123"}
    )
    page = html(response)
    assert field_errors(page, "id_price_yuan")
    assert field_errors(page, "id_attributes-book_title")  # the listing's title is the book title
    assert 'name="title"' not in page
    assert "not a valid ISBN" in field_errors(page, "id_attributes-isbn")
    assert not Listing.objects.exists()


def test_edit_changes_fields_and_unticked_boxes(seller_client, seller):
    listing = make_listing(seller, is_textbook=True)
    page = html(seller_client.get(f"/my/listings/{listing.pk}/edit/"))
    assert 'name="price_yuan" value="45.00"' in page
    assert "曹雪芹" in page

    form = {**BOOK_FORM, "attributes-book_title": "红楼梦 (校注本)", "price_yuan": "38"}
    del form["attributes-is_textbook"]  # unticked boxes are not posted
    response = seller_client.post(f"/my/listings/{listing.pk}/edit/", form)

    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.title == listing.book.book_title == "红楼梦 (校注本)"
    assert listing.price == 3800
    assert listing.book.is_textbook is False


def test_edit_with_a_bad_isbn_keeps_the_old_values(seller_client, seller):
    listing = make_listing(seller)
    response = seller_client.post(
        f"/my/listings/{listing.pk}/edit/",
        {**BOOK_FORM, "attributes-book_title": "Changed", "attributes-isbn": "978-0"},
    )
    assert "not a valid ISBN" in field_errors(html(response), "id_attributes-isbn")
    listing.refresh_from_db()
    assert listing.title == "红楼梦 全四册"


def test_shop_staff_sell_for_the_shop_on_behalf_of_a_consignor(client):
    membership = MembershipFactory(role="staff")
    consignor = UserFactory(email="consignor@example.org")
    client.force_login(membership.user)
    english(client)

    page = html(client.get("/sell/books/"))
    assert "Sell as" in page and membership.organisation.name in page

    response = client.post(
        "/sell/books/",
        {
            **BOOK_FORM,
            "seller-sell_as": str(membership.organisation.pk),
            "seller-consignor_email": "nobody@example.org",
        },
    )
    unknown = field_errors(html(response), "id_seller-consignor_email")
    assert "no accepted consignment agreement" in unknown
    # A registered user who accepted nothing gets exactly the same error.
    response = client.post(
        "/sell/books/",
        {**BOOK_FORM, "seller-sell_as": str(membership.organisation.pk), "seller-consignor_email": consignor.email},
    )
    assert field_errors(html(response), "id_seller-consignor_email") == unknown
    assert not Listing.objects.exists()

    accepted_agreement(shop=membership.organisation, staff=membership.user, consignor=consignor)
    response = client.post(
        "/sell/books/",
        {**BOOK_FORM, "seller-sell_as": str(membership.organisation.pk), "seller-consignor_email": consignor.email},
    )
    listing = Listing.objects.get()
    assert response.status_code == 302
    assert listing.seller_organisation == membership.organisation
    assert listing.seller_user is None
    assert listing.consignor == consignor


def test_people_without_a_shop_are_not_offered_to_sell_as_one(seller_client):
    assert "Sell as" not in html(seller_client.get("/sell/books/"))


# --- Managing -----------------------------------------------------------------------------


def test_publish_is_blocked_until_a_photo_is_added_then_withdraw_and_reopen(
    seller_client, seller, django_capture_on_commit_callbacks
):
    visitor = Client()
    listing = make_listing(seller)
    manage = f"/my/listings/{listing.pk}/"

    page = html(seller_client.post(f"{manage}publish/", follow=True))
    assert "This listing cannot be published yet." in page
    assert page.count("Add at least one photo.") >= 2  # as a message and in the blocking list
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(
            f"{manage}photos/", {"file": [jpeg_upload("a.jpg"), jpeg_upload("b.jpg", "tomato")]}
        )
    assert response.status_code == 302
    assert listing.photos.count() == 2
    page = html(seller_client.get(manage))
    assert "Nothing blocks publication." in page
    assert "-320.webp" in page
    assert "listing-originals" not in page  # the private original never gets a URL

    page = html(seller_client.post(f"{manage}publish/", follow=True))
    assert "Your listing is published." in page
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert visitor.get(f"/listings/{listing.pk}/").status_code == 200

    page = html(seller_client.post(f"{manage}withdraw/", follow=True))
    assert "withdrawn" in page
    listing.refresh_from_db()
    assert listing.status == ListingStatus.WITHDRAWN
    assert visitor.get(f"/listings/{listing.pk}/").status_code == 404

    page = html(seller_client.get(manage))
    assert "Reopen as draft" in page
    # The history lists every change: draft → ready → published → withdrawn.
    assert page.count("<tr>") == 1 + 3
    seller_client.post(f"{manage}reopen/")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_a_photo_that_is_not_an_image_is_refused_with_a_message(seller_client, seller):
    listing = make_listing(seller)
    bogus = SimpleUploadedFile("notes.jpg", b"not a picture at all", content_type="image/jpeg")
    page = html(seller_client.post(f"/my/listings/{listing.pk}/photos/", {"file": [bogus]}, follow=True))
    assert "is not an image we can read" in page
    assert not listing.photos.exists()


def test_photos_can_be_reordered_made_cover_and_deleted(seller_client, seller):
    listing = make_listing(seller)
    seller_client.post(
        f"/my/listings/{listing.pk}/photos/", {"file": [jpeg_upload("a.jpg"), jpeg_upload("b.jpg", "tomato")]}
    )
    first, second = listing.photos.order_by("position")
    assert first.is_cover

    page = html(seller_client.get(f"/my/listings/{listing.pk}/"))
    assert "Move down" in page and "Make cover" in page
    # The "move down" button of the first photo posts the new order.
    seller_client.post(f"/my/listings/{listing.pk}/photos/order/", {"order": [second.pk, first.pk]})
    assert list(listing.photos.order_by("position").values_list("pk", flat=True)) == [second.pk, first.pk]

    seller_client.post(f"/my/listings/{listing.pk}/photos/{second.pk}/cover/")
    second.refresh_from_db()
    assert second.is_cover

    seller_client.post(f"/my/listings/{listing.pk}/photos/{first.pk}/delete/")
    assert list(listing.photos.values_list("pk", flat=True)) == [second.pk]


def test_someone_else_gets_404_and_cannot_publish(client, seller):
    listing = make_listing(seller)
    ListingPhoto.objects.all().delete()
    add_photo_rows(listing, 1)
    client.force_login(UserFactory())
    manage = f"/my/listings/{listing.pk}/"

    assert client.get(manage).status_code == 404
    assert client.get(f"{manage}edit/").status_code == 404
    assert client.post(f"{manage}publish/").status_code == 404
    assert client.post(f"{manage}withdraw/").status_code == 404
    assert client.post(f"{manage}photos/", {"file": [jpeg_upload()]}).status_code == 404
    photo = listing.photos.get()
    assert client.post(f"{manage}photos/{photo.pk}/delete/").status_code == 404
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT
    assert listing.photos.count() == 1
    # A draft is not public: not even its detail page exists for others.
    assert client.get(f"/listings/{listing.pk}/").status_code == 404


def test_state_changes_need_post(seller_client, seller):
    listing = make_listing(seller)
    assert seller_client.get(f"/my/listings/{listing.pk}/publish/").status_code == 405


def test_my_listings_shows_cover_status_and_blocking_reasons(seller_client, seller):
    blocked = make_listing(seller, title="Without photo")
    ready = make_listing(seller, title="With photo")
    add_photo_rows(ready, 2)
    make_listing(UserFactory(), title="Somebody else's")

    page = html(seller_client.get("/my/listings/"))
    assert "Without photo" in page and "With photo" in page
    assert "Somebody else" not in page
    assert page.count("Add at least one photo.") == 1
    assert f"listings/{ready.pk}/0-320.webp" in page
    assert f'href="/my/listings/{blocked.pk}/"' in page


def test_my_listings_runs_a_fixed_number_of_queries(seller_client, seller, django_assert_num_queries):
    add_photo_rows(make_listing(seller), 1)
    with CaptureQueriesContext(connection) as one_listing:
        assert seller_client.get("/my/listings/").status_code == 200

    for index in range(7):
        add_photo_rows(make_listing(seller, title=f"Book {index}"), 3)
    with django_assert_num_queries(len(one_listing.captured_queries)):
        page = html(seller_client.get("/my/listings/"))
    assert "Book 6" in page


# --- Public pages -------------------------------------------------------------------------


def test_detail_shows_the_listing_with_masked_imei_and_never_the_email(client, seller):
    listing = publish(make_listing(seller, category="electronics", title="iPhone 13 128 GB", price=259900))
    page = html(english(client).get(f"/listings/{listing.pk}/"))

    assert "iPhone 13 128 GB" in page
    assert "¥2,599.00" in page
    assert "上海市 徐汇区" in page
    assert "Local pickup" in page
    assert "Phone" in page and "Apple" in page
    assert IMEI not in page
    assert "•••• 1481" in page
    assert "F2LXK0ABCD12" not in page and "•••• CD12" in page
    assert "王卖家" in page
    assert seller.email not in page
    assert '<div class="listing-badges">' in page


def test_detail_of_a_shop_listing_shows_the_shop_badge(client):
    membership = MembershipFactory(role="owner")
    listing = listing_create(
        actor=membership.user,
        category="books",
        data={"title": "论语", "price": 1200, "city": "上海市", "delivery_pickup": True},
        attributes=BOOK,
        seller_organisation=membership.organisation,
    )
    publish(listing)
    page = html(english(client).get(f"/listings/{listing.pk}/"))
    assert membership.organisation.name in page
    assert 'class="badge badge-shop">shop<' in page
    assert membership.user.email not in page


def test_gallery_shows_renditions_or_a_processing_note_never_the_original(
    seller_client, seller, django_capture_on_commit_callbacks
):
    client = Client()
    listing = make_listing(seller)
    with django_capture_on_commit_callbacks(execute=True):
        seller_client.post(f"/my/listings/{listing.pk}/photos/", {"file": [jpeg_upload()]})
    publish(listing)

    page = html(english(client).get(f"/listings/{listing.pk}/"))
    assert re.search(r'<img src="[^"]+-960\.webp" srcset="[^"]+-320\.webp 320w, [^"]+-960\.webp 960w, ', page)
    assert "1920w" in page
    assert "listing-originals" not in page and "private-media" not in page

    ListingPhoto.objects.update(renditions={})
    page = html(client.get(f"/listings/{listing.pk}/"))
    assert "This photo is being processed" in page
    assert "<img src" not in page.split('class="listing-gallery"')[1].split("</div>")[0]


def test_a_non_public_listing_shows_a_banner_to_its_seller_and_staff_and_404_to_others(client, seller):
    listing = make_listing(seller)
    url = f"/listings/{listing.pk}/"
    assert client.get(url).status_code == 404

    client.force_login(seller)
    assert "This listing is not public" in html(english(client).get(url))
    client.force_login(UserFactory(is_staff=True))
    assert "This listing is not public" in html(client.get(url))
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_detail_runs_a_fixed_number_of_queries_whatever_the_photo_count(client, seller, django_assert_num_queries):
    one, many = publish(make_listing(seller)), publish(make_listing(seller, title="Many photos"))
    add_photo_rows(one, 1)
    add_photo_rows(many, 12)
    client.force_login(UserFactory())
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(f"/listings/{one.pk}/").status_code == 200
    with django_assert_num_queries(len(baseline.captured_queries)):
        page = html(client.get(f"/listings/{many.pk}/"))
    assert page.count("-960.webp 960w") == 12


def test_a_visitor_reports_a_listing_once(client, seller):
    listing = publish(make_listing(seller))
    url = f"/listings/{listing.pk}/"
    assert "Report this listing" not in html(english(client).get(url))  # anonymous
    client.force_login(seller)
    assert "Report this listing" not in html(client.get(url))  # the seller

    client.force_login(UserFactory())
    page = html(client.get(url))
    assert "Report this listing" in page and 'name="report-reason"' in page
    page = html(client.post(f"{url}report/", {"report-reason": "counterfeit", "report-details": "假货"}, follow=True))
    assert "Moderators will look at this listing" in page
    report = ListingReport.objects.get()
    assert (report.reason, report.details) == ("counterfeit", "假货")

    page = html(client.post(f"{url}report/", {"report-reason": "fraud"}, follow=True))
    assert "You already reported this listing" in page
    assert ListingReport.objects.count() == 1


def test_browse_filters_by_category_city_and_price_and_sends_words_to_search(client, seller):
    publish(make_listing(seller, title="红楼梦 全四册", price=4500))
    publish(make_listing(seller, title="三国演义", price=12000, city="北京市"))
    publish(make_listing(seller, category="electronics", title="iPhone 13", price=259900))
    make_listing(seller, title="Draft book never shown")
    english(client)

    def titles(query: str) -> set[str]:
        page = html(client.get(f"/browse/{query}"))
        return set(re.findall(r'<span class="card-title">([^<]+)</span>', page))

    assert titles("") == {"红楼梦 全四册", "三国演义", "iPhone 13"}
    assert titles("?category=books") == {"红楼梦 全四册", "三国演义"}
    assert titles("?city=北京市") == {"三国演义"}
    assert titles("?price_min=40&price_max=100") == {"红楼梦 全四册"}
    # Words go to the search page with the same filters (ranked by the search backend).
    words = client.get("/browse/?q=iphone&category=electronics&city=上海市&price_min=10.5&price_max=2599.01")
    assert words.status_code == 302
    assert words["Location"] == (
        "/search/?q=iphone&category=electronics&city=%E4%B8%8A%E6%B5%B7%E5%B8%82&price_min=10&price_max=2600"
    )
    page = html(client.get("/browse/?category=books&city=上海市"))
    assert '<option value="上海市" selected>' in page  # the form shows the filter state
    assert "¥45.00" in page


def test_browse_ignores_invalid_filter_values_with_a_note(client, seller):
    publish(make_listing(seller))
    response = english(client).get("/browse/?price_min=abc&category=spaceships")
    assert response.status_code == 200
    page = html(response)
    assert "Some filters were ignored" in page
    assert "Lowest price" in page and "Category" in page
    assert "红楼梦 全四册" in page


def test_browse_paginates_24_per_page_with_stable_order_and_keeps_filters(client, seller):
    for index in range(30):
        publish(make_listing(seller, title=f"Book {index:02d}"))
    first = html(client.get("/browse/?category=books"))
    second = html(client.get("/browse/?category=books&page=2"))
    first_titles = re.findall(r'<span class="card-title">([^<]+)</span>', first)
    second_titles = re.findall(r'<span class="card-title">([^<]+)</span>', second)
    assert len(first_titles) == 24 and len(second_titles) == 6
    assert set(first_titles).isdisjoint(second_titles)
    assert first_titles[0] == "Book 29"  # newest first
    assert 'href="?category=books&amp;page=2"' in first


def test_browse_runs_a_fixed_number_of_queries(client, seller, django_assert_num_queries):
    for index in range(2):
        add_photo_rows(publish(make_listing(seller, title=f"Book {index}")), 2)
    with CaptureQueriesContext(connection) as two:
        client.get("/browse/")
    for index in range(2, 30):
        add_photo_rows(publish(make_listing(seller, title=f"Book {index}")), 2)
    with django_assert_num_queries(len(two.captured_queries)):
        page = html(client.get("/browse/"))
    assert page.count('<li class="listing-card">') == 24


# --- Notifications ------------------------------------------------------------------------


def test_notifications_page_lists_newest_first_and_marks_all_read(seller_client, seller):
    notify(users=[seller], kind="test", subject="Older news", body="First.")
    notify(users=[seller], kind="test", subject="Newer news", body="Second.", link="/browse/")

    page = html(seller_client.get("/browse/"))
    assert re.search(r'data-unread-count>2<span class="visually-hidden"> unread', page)
    page = html(seller_client.get("/notifications/"))
    assert page.index("Newer news") < page.index("Older news")
    assert 'href="/browse/"' in page

    seller_client.post("/notifications/read/")
    assert not Notification.objects.filter(user=seller, read_at__isnull=True).exists()
    assert "data-unread-count" not in html(seller_client.get("/notifications/"))


def test_notifications_need_a_login(client):
    assert client.get("/notifications/").status_code == 302


def test_furniture_and_vehicle_details_tables(client, seller):
    from tests.listings import ATTRIBUTES
    from tests.listings import make_listing as make_any_listing

    english(client)
    furniture = publish(make_any_listing(seller=seller, category="furniture", title="松木五斗柜", price=60000))
    page = html(client.get(f"/listings/{furniture.pk}/"))
    assert "Chest of drawers" in page and "松木" in page
    assert "80 × 48 × 100 cm" in page

    vin = ATTRIBUTES["vehicles"]["vin"]
    vehicle = publish(make_any_listing(seller=seller, category="vehicles", title="大众朗逸 2019", price=6_500_000))
    page = html(client.get(f"/listings/{vehicle.pk}/"))
    assert "大众" in page and "朗逸" in page
    assert "62,000 km" in page
    assert "China 6a" in page and "Automatic" in page
    assert vin not in page
    assert f"•••• {vin[-4:]}" in page


def test_every_demo_listing_page_renders_and_shows_no_full_identifier(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    english(client)
    assert client.get("/browse/").status_code == 200
    for listing in Listing.objects.select_related("seller_user", "seller_organisation"):
        manager = listing.seller_user or listing.seller_organisation.memberships.get(role="owner").user
        client.force_login(manager)
        assert client.get(f"/my/listings/{listing.pk}/").status_code == 200, listing
        assert client.get("/my/listings/").status_code == 200
        client.logout()
        response = client.get(f"/listings/{listing.pk}/")
        assert response.status_code == (200 if listing.is_public else 404), listing
        if listing.is_public:
            page = html(response)
            for identifier in listing.identifiers().values():
                assert identifier not in page, (listing, identifier)
