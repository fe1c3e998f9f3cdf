"""Indexing goes only through services: a committed change sends listing_changed, search
queues listing_reindex_task, and the index follows (what is on sale is in it, what is
not is removed). Drift repair and the reindex command fix whatever slipped through."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from kombu.exceptions import OperationalError

from marketplace.credit.selectors import prior_tier
from marketplace.models import ListingStatus
from marketplace.services.lifecycle import listing_transition
from marketplace.services.listings import listing_withdraw
from search.backends.base import get_backend
from search.documents import build_documents
from search.models import SearchEntry
from search.query import SearchQuery
from search.services import search_listings
from search.tasks import search_drift_repair_task
from tests.conftest import CORE_GATES
from tests.search_support import (
    ALL_GATES,
    draft,
    elasticsearch_settings,  # noqa: F401
    graded_erased_phone,
    osmem,  # noqa: F401
    publish,
    self_graded_book,
)
from wipe_cert.models import ErasureCertificate
from wipe_cert.services import certificate_revoke

pytestmark = pytest.mark.django_db


def found(text: str = "", **filters) -> list[int]:
    return [hit.listing_id for hit in search_listings(query=SearchQuery(text=text, **filters)).result.hits]


@pytest.fixture
def core_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = list(CORE_GATES)


def test_a_published_listing_is_found_and_leaves_the_index_when_off_sale(
    core_gates, django_capture_on_commit_callbacks
):
    laptop = draft(title="ThinkPad T14 笔记本电脑", device_type="laptop", brand="Lenovo", model_name="T14", imei="")
    hidden = draft(title="ThinkPad draft never published", device_type="laptop", imei="")
    assert found("thinkpad") == []
    with django_capture_on_commit_callbacks(execute=True):
        laptop = publish(laptop)
    assert found("thinkpad") == [laptop.pk]
    assert found("笔记本") == [laptop.pk]
    assert hidden.pk not in found("draft")

    # Reserved listings stay findable (marked as such); sold ones disappear.
    with django_capture_on_commit_callbacks(execute=True):
        listing_transition(listing=laptop, to_status=ListingStatus.RESERVED, actor=None)
    assert SearchEntry.objects.get(listing_id=laptop.pk).status == "reserved"
    with django_capture_on_commit_callbacks(execute=True):
        listing_transition(listing=laptop, to_status=ListingStatus.SOLD, actor=None)
    assert found("thinkpad") == []
    assert not SearchEntry.objects.filter(listing_id=laptop.pk).exists()


def test_withdrawing_removes_the_listing(core_gates, django_capture_on_commit_callbacks):
    book = draft(category="books", title="红楼梦 全四册")
    with django_capture_on_commit_callbacks(execute=True):
        publish(book)
    assert found("红楼梦") == [book.pk]
    with django_capture_on_commit_callbacks(execute=True):
        listing_withdraw(actor=book.seller_user, listing_id=book.pk)
    assert found("红楼梦") == []


def test_documents_carry_grade_certification_erasure_place_and_seller(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    with django_capture_on_commit_callbacks(execute=True):
        phone = graded_erased_phone(title="苹果手机 iPhone 13", lat=31.2004, lon=121.4401)
        book = draft(category="books", title="红楼梦 全四册")
        self_graded_book(book)
        publish(book)
    phone_doc, book_doc = (build_documents([phone.pk, book.pk])[i] for i in (phone.pk, book.pk))
    assert (phone_doc.grade, phone_doc.certified, phone_doc.erasure_verified) == ("A", True, True)
    assert (phone_doc.location.lat, phone_doc.location.lon) == (31.2, 121.44)  # stored rounded
    assert (phone_doc.device_type, phone_doc.brand, phone_doc.model) == ("phone", "Apple", "iPhone 13")
    # A newcomer seller carries the credit prior's tier.
    assert (phone_doc.seller_type, phone_doc.seller_tier, phone_doc.event_ids) == ("user", prior_tier().key, ())
    assert (book_doc.grade, book_doc.certified, book_doc.erasure_verified) == ("fine", False, False)
    assert book_doc.identifiers == ("9787020002207",)
    assert "曹雪芹" in book_doc.suggestions
    # The index has what the facets need.
    assert found("手机", grades=("A",), erasure_verified=True, certified=True) == [phone.pk]
    assert found(grades=("fine",)) == [book.pk]
    assert found("9787020002207") == [book.pk]


def test_revoking_the_certificate_takes_the_phone_out_of_the_index(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_PUBLICATION_GATES = ALL_GATES
    with django_capture_on_commit_callbacks(execute=True):
        phone = graded_erased_phone(title="华为手机 Mate 40")
    assert found("华为") == [phone.pk]
    certificate = ErasureCertificate.objects.get(listing=phone)
    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(actor=certificate.technician, certificate_id=certificate.pk, reason="wrong device")
    assert found("华为") == []


def test_writes_never_fail_when_queueing_fails_and_drift_repair_catches_up(
    core_gates, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from search import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.listing_reindex_task, "apply_async", broker_down)
    listing = draft(title="实木书桌", category="furniture")
    with django_capture_on_commit_callbacks(execute=True):
        published = publish(listing)
    assert published.status == ListingStatus.PUBLISHED
    assert "kept in the outbox" in caplog.text
    assert found("书桌") == []
    assert search_drift_repair_task() == 1
    assert found("书桌") == [listing.pk]
    assert search_drift_repair_task() == 0


def test_drift_repair_fixes_missing_stale_and_extra_entries(core_gates, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = publish(draft(title="旧沙发 三人座", category="furniture"))
        second = publish(draft(title="儿童书桌", category="furniture"))
        gone = publish(draft(title="单人床", category="furniture"))
    SearchEntry.objects.filter(listing_id=first.pk).delete()  # missing
    SearchEntry.objects.filter(listing_id=second.pk).update(fingerprint="stale", title="something else")  # stale
    with django_capture_on_commit_callbacks(execute=False):  # withdrawn, but no event reached search
        listing_withdraw(actor=gone.seller_user, listing_id=gone.pk)
    assert search_drift_repair_task() == 3
    assert set(SearchEntry.objects.values_list("listing_id", flat=True)) == {first.pk, second.pk}
    assert SearchEntry.objects.get(listing_id=second.pk).title == "儿童书桌"
    assert search_drift_repair_task() == 0


def test_the_reindex_command_rebuilds_the_database_index(core_gates):
    listings = [publish(draft(title=f"书架 {n}", category="furniture")) for n in range(3)]  # no events delivered
    assert found("书架") == []
    out = io.StringIO()
    call_command("search_reindex", stdout=out)
    assert "database: 3 listings indexed" in out.getvalue()
    assert sorted(found("书架")) == sorted(listing.pk for listing in listings)


@pytest.mark.usefixtures("elasticsearch_settings")
def test_the_reindex_command_swaps_the_elasticsearch_alias(core_gates):
    listing = publish(draft(title="折叠自行车", category="furniture"))
    engine = get_backend()
    engine.rebuild([])  # the first index behind the alias
    before = engine._indices_behind_alias()
    out = io.StringIO()
    call_command("search_reindex", stdout=out)
    after = engine._indices_behind_alias()
    assert "elasticsearch: 1 listings indexed (alias test-listings)" in out.getvalue()
    assert len(before) == len(after) == 1 and before != after
    assert not engine.client.indices.exists(index=before[0])  # the old index is gone
    outcome = search_listings(query=SearchQuery(text="自行车"))
    assert (outcome.backend, [h.listing_id for h in outcome.result.hits]) == ("elasticsearch", [listing.pk])
