"""The grading pages: the public standards, the seller's self-assessment and appraisal
request, the appraisers' queue, claim, grading form and credentials, and the demo data."""

from __future__ import annotations

import copy
import datetime as dt
import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from grading.forms import GradingForm
from grading.loading import RULESET_DIR, load_document
from grading.models import (
    Appraisal,
    AppraisalEvidence,
    AppraisalRequest,
    AppraiserCredential,
    RuleSetVersion,
)
from grading.rules import parse_rule_set
from grading.services import ruleset_draft_save, ruleset_publish, self_assessment_submit
from marketplace.demo import demo_listings
from marketplace.models import Listing, ListingReport, ListingStatus, Notification, OrganisationKind, Role
from marketplace.services.listings import listing_publish
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration.test_grading import make_appraiser, phone_listing, queue_it
from tests.listings import add_photos, make_listing
from tests.unit.test_grading_rules import BOOK, GOOD_PHONE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _grading_gates(settings):
    """These tests are about grading: the erasure gate is tested on its own."""
    settings.MARKETPLACE_PUBLICATION_GATES = [
        gate for gate in settings.MARKETPLACE_PUBLICATION_GATES if "ErasureVerifiedGate" not in gate
    ]


RULE_SET_KEYS = ("books", "furniture", "vehicles", "electronics-mobile", "electronics-general")
DOCS = {key: load_document(RULESET_DIR / f"{key}.yaml") for key in RULE_SET_KEYS}


def english(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def words(response) -> str:
    """The page's text without tags, whitespace collapsed: what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(response)))


def field_errors(page: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def jpeg_upload(name: str = "evidence.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 60, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def label(value) -> str:
    return value if isinstance(value, str) else value["en"]


# --- The grading standards ----------------------------------------------------------------


def test_the_index_lists_every_live_standard():
    page = text(english().get("/grading/standards/"))
    for key, document in DOCS.items():
        assert f'href="/grading/standards/{key}/"' in page
        assert label(document["title"]) in page


@pytest.mark.parametrize("key", RULE_SET_KEYS)
def test_a_standards_page_shows_every_item_gate_grade_and_citation_and_the_hash(key):
    version = RuleSetVersion.objects.get(key=key, status="published")
    document = version.document

    response = english().get(f"/grading/standards/{key}/")

    assert response.status_code == 200
    page = text(response)
    assert version.content_hash in page
    assert version.version in page
    assert label(document["title"]) in page and label(document["source"]) in page
    for grade in document["grades"]:
        assert label(grade["label"]) in page
        if "description" in grade:
            assert label(grade["description"]) in page
    for gate in document.get("gates", []):
        assert label(gate["label"]) in page and gate["citation"] in page
    for section in document["sections"]:
        assert label(section["label"]) in page and section["citation"] in page
        for item in section["items"]:
            assert label(item["label"]) in page and item["citation"] in page, item["key"]
            for group in ("options", "positions", "defects", "severities"):
                for option in item.get(group, []):
                    assert label(option["label"]) in page, (item["key"], option["key"])


def test_the_vehicle_standard_shows_its_bands_defect_codes_and_the_accident_rule():
    page = words(english().get("/grading/standards/vehicles/"))
    for defect in ("BX deformed", "NQ twisted", "GH replaced", "SH welded", "ZZ creased"):
        assert defect in page
    assert "score 90 to 100" in page
    assert "score 60 to under 90" in page
    assert "score 20 to under 60" in page
    assert "score 0 to under 20" in page
    assert "Forced to Grade 5 (accident car) whatever the score" in page
    assert "Decides the gates: Flood-damaged car" in page
    assert "“Body-frame defects” lists any defect" in page
    assert "up to 20 points" in page


def test_the_phone_standard_shows_battery_thresholds_and_lock_gates():
    page = words(english().get("/grading/standards/electronics-mobile/"))
    assert "80 to under 85%: at best B" in page
    assert "85 to under 90%: at best A" in page
    assert "“Factory reset protection (FRP) still on”: yes" in page
    assert "Not sellable" in page


def test_conditional_items_say_when_they_are_asked():
    page = words(english().get("/grading/standards/furniture/"))
    assert "Asked only when: Clothing-storage unit: yes and Height (cm) ≥ 68.6" in page


def test_the_standards_page_speaks_chinese_by_default():
    page = text(Client().get("/grading/standards/books/"))
    assert "二手图书品相分级" in page
    assert "馆藏退出书（有图书馆印章、书标）" in page


def test_older_versions_stay_readable_and_drafts_and_unknown_keys_do_not_exist():
    staff = UserFactory(is_staff=True)
    old = RuleSetVersion.objects.get(key="books", version="2026.1")
    document = copy.deepcopy(old.document)
    document["version"] = "2027.1"
    document["title"] = {"zh": "二手图书品相分级（修订）", "en": "Used-book condition grading, revised"}
    draft = ruleset_draft_save(staff=staff, document=document)
    assert english().get("/grading/standards/books/2027.1/").status_code == 404  # a draft is not public

    ruleset_publish(staff=staff, version_id=draft.pk)
    draft.refresh_from_db()

    live = text(english().get("/grading/standards/books/"))
    assert "Used-book condition grading, revised" in live and draft.content_hash in live
    assert 'href="/grading/standards/books/2026.1/"' in live
    older = text(english().get("/grading/standards/books/2026.1/"))
    assert old.content_hash in older and draft.content_hash not in older
    assert "This is an older version (2026.1)" in older
    assert "Grades made under this version still count for publication." in older
    assert english().get("/grading/standards/toys/").status_code == 404
    assert english().get("/grading/standards/books/1999.1/").status_code == 404


def test_a_grade_badge_and_panel_link_to_the_standard():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    self_assessment_submit(actor=seller, listing_id=listing.pk, answers=BOOK)
    listing_publish(actor=seller, listing_id=listing.pk)

    page = text(english().get(f"/listings/{listing.pk}/"))

    assert 'href="/grading/standards/books/"' in page
    assert 'href="/grading/standards/books/2026.1/"' in page  # the version it was graded under
    assert "Grade Fine · self-assessed" in page
    assert english().get("/grading/standards/books/").status_code == 200


# --- Self-assessment ----------------------------------------------------------------------


def test_a_seller_self_assesses_a_book_and_can_then_publish():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    add_photos(listing)
    client = english(seller)
    manage = text(client.get(f"/my/listings/{listing.pk}/"))
    assert "Grade the item: fill in the self-assessment" in manage
    assert f'href="/my/listings/{listing.pk}/self-assessment/"' in manage

    form = text(client.get(f"/my/listings/{listing.pk}/self-assessment/"))
    assert 'name="answer-condition"' in form and 'value="fine"' in form
    assert 'name="answer-ex_library" value="yes"' in form
    assert "answer-highlighted_pages" not in form  # only asked about textbooks
    assert "Ex-library (stamps, labels)" in form and "at best Good" in form

    response = client.post(
        f"/my/listings/{listing.pk}/self-assessment/",
        {
            "answer-condition": "fine",
            "answer-ex_library": "no",
            "answer-book_club_edition": "no",
            "answer-dust_jacket_missing": "yes",
            "answer-missing_pages": "no",
            "answer-mould": "no",
            "answer-water_damage": "no",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/my/listings/{listing.pk}/"
    page = text(response)
    assert "Self-assessed: grade Very Good." in page
    appraisal = Appraisal.objects.get(listing=listing)
    assert (appraisal.kind, appraisal.grade, appraisal.answers["dust_jacket_missing"]) == ("self", "very_good", True)
    assert "Grade the item" not in page
    assert "Nothing blocks publication." in page
    client.post(f"/my/listings/{listing.pk}/publish/")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_a_second_self_assessment_starts_from_the_current_answers_and_supersedes_it():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    first = self_assessment_submit(actor=seller, listing_id=listing.pk, answers={**BOOK, "condition": "good"})
    page = text(english(seller).get(f"/my/listings/{listing.pk}/self-assessment/"))
    assert re.search(r'value="good"[^>]*checked', page)
    assert "already graded" in page
    english(seller).post(
        f"/my/listings/{listing.pk}/self-assessment/",
        {
            f"answer-{key}": ("yes" if value else "no") if isinstance(value, bool) else value
            for key, value in BOOK.items()
        },
    )
    first.refresh_from_db()
    assert first.superseded_by is not None and first.superseded_by.grade == "fine"


def test_textbook_and_tip_over_items_are_asked_only_when_they_apply():
    seller = UserFactory()
    textbook = make_listing(seller=seller, is_textbook=True)
    page = text(english(seller).get(f"/my/listings/{textbook.pk}/self-assessment/"))
    assert 'name="answer-highlighted_pages"' in page and 'name="answer-edition_matches_isbn"' in page
    assert "answer-access_code" not in page

    chest = make_listing(seller=seller, category="furniture", title="五斗柜")
    page = text(english(seller).get(f"/my/listings/{chest.pk}/self-assessment/"))
    assert 'name="answer-tip_over_restraint_included"' in page
    assert "answer-flammability_label_photo" not in page  # not upholstered
    assert 'name="answer-surface_defects.0.position"' in page and 'name="answer-surface_defects.5.severity"' in page

    table = make_listing(seller=seller, category="furniture", title="餐桌", furniture_type="table", height_cm=75)
    page = text(english(seller).get(f"/my/listings/{table.pk}/self-assessment/"))
    assert "answer-tip_over_restraint_included" not in page


def test_missing_and_out_of_range_answers_are_shown_next_to_their_fields_and_nothing_is_saved():
    seller = UserFactory()
    textbook = make_listing(seller=seller, is_textbook=True)

    response = english(seller).post(
        f"/my/listings/{textbook.pk}/self-assessment/",
        {"answer-ex_library": "no", "answer-highlighted_pages": "-3"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required." in field_errors(page, "id_answer-condition")
    assert "greater than or equal to 0" in field_errors(page, "id_answer-highlighted_pages")
    assert "This field is required." in field_errors(page, "id_answer-edition_matches_isbn")
    assert not field_errors(page, "id_answer-ex_library")
    assert not Appraisal.objects.exists()


def test_defect_rows_must_be_complete_and_complete_rows_are_graded():
    seller = UserFactory()
    table = make_listing(seller=seller, category="furniture", title="餐桌", furniture_type="table", height_cm=75)
    answers = {
        "answer-structurally_sound": "yes",
        "answer-recalled_model": "no",
        "answer-overall": "light_marks",
    }
    url = f"/my/listings/{table.pk}/self-assessment/"

    half = english(seller).post(url, {**answers, "answer-surface_defects.1.position": "top"})
    assert "Choose the defect." in field_errors(half.content.decode(), "id_answer-surface_defects.1.defect")
    assert not Appraisal.objects.exists()

    english(seller).post(
        url,
        {
            **answers,
            "answer-surface_defects.0.position": "top",
            "answer-surface_defects.0.defect": "stain",
            "answer-surface_defects.0.severity": "major",
        },
    )
    appraisal = Appraisal.objects.get(listing=table)
    assert appraisal.answers["surface_defects"] == [{"position": "top", "defect": "stain", "severity": "major"}]
    assert appraisal.answers["part_faults"] == []
    assert appraisal.grade == "well_used"


def test_a_not_sellable_self_assessment_says_why():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    response = english(seller).post(
        f"/my/listings/{listing.pk}/self-assessment/",
        {
            **{f"answer-{key}": "no" for key in BOOK if key != "condition"},
            "answer-condition": "good",
            "answer-mould": "yes",
        },
        follow=True,
    )
    assert "Self-assessed: the item cannot be sold (Mould)." in text(response)


def test_evaluator_problems_are_put_next_to_their_items():
    rule_set = parse_rule_set(DOCS["vehicles"])
    form = GradingForm({}, rule_set=rule_set, facts={}, language="en")
    form.is_valid()
    form.add_answer_errors(
        {
            "oil_leak": {"code": "unknown_option", "message": "“x” is not an option"},
            "frame_defects": {"code": "unknown_position", "message": "unknown position"},
            "ghost": {"code": "unknown_item", "message": "not an item"},
        }
    )
    assert "Choose one of the options offered." in form.errors["oil_leak"]
    assert form.item_errors["frame_defects"] == ["Choose one of the options offered."]
    assert any("grading standard changed" in error for error in form.non_field_errors())


def test_electronics_cannot_be_self_assessed_and_the_page_offers_a_certified_appraisal():
    listing = phone_listing()
    client = english(listing.seller_user)

    page = text(client.get(f"/my/listings/{listing.pk}/self-assessment/"))
    assert "A certified appraisal is needed" in page
    assert "answer-battery_health" not in page
    assert f'action="/my/listings/{listing.pk}/request-appraisal/"' in page

    client.post(f"/my/listings/{listing.pk}/self-assessment/", {"answer-battery_health": "99"})
    assert not Appraisal.objects.exists()


def test_strangers_get_404_and_visitors_must_log_in():
    listing = make_listing(seller=UserFactory())
    stranger = english(UserFactory())
    for path in (f"/my/listings/{listing.pk}/self-assessment/", f"/my/listings/{listing.pk}/request-appraisal/"):
        assert stranger.get(path).status_code == 404
        assert stranger.post(path, {"answer-condition": "fine"}).status_code == 404
        assert english().get(path).status_code == 302
    assert not Appraisal.objects.exists() and not AppraisalRequest.objects.exists()


def test_a_seller_requests_a_certified_appraisal_for_a_book():
    seller = UserFactory()
    listing = make_listing(seller=seller)
    client = english(seller)
    assert "Request a certified appraisal" in text(client.get(f"/my/listings/{listing.pk}/request-appraisal/"))

    response = client.post(f"/my/listings/{listing.pk}/request-appraisal/", follow=True)

    assert "Your item is in the appraisers' queue." in text(response)
    request = AppraisalRequest.objects.get(listing=listing)
    assert (request.status, request.category, request.requested_by) == ("open", "books", seller)
    client.post(f"/my/listings/{listing.pk}/request-appraisal/")
    assert AppraisalRequest.objects.filter(listing=listing).count() == 1
    assert "waiting for an appraiser to claim it" in text(client.get(f"/my/listings/{listing.pk}/request-appraisal/"))


# --- Appraisers ---------------------------------------------------------------------------


def test_an_appraiser_without_2fa_gets_a_page_explaining_how_to_switch_it_on():
    listing = phone_listing()
    queue_it(listing)
    appraiser = english(make_appraiser(with_totp=False))
    for response in (appraiser.get("/appraisals/"), appraiser.post(f"/appraisals/{listing.pk}/claim/")):
        assert response.status_code == 403
        page = text(response)
        assert "Switch on two-factor authentication" in page
        assert 'href="/accounts/2fa/totp/activate/"' in page
    assert AppraisalRequest.objects.get(listing=listing).status == "open"


def test_people_without_the_appraiser_role_are_told_what_they_need():
    response = english(UserFactory()).get("/appraisals/")
    assert response.status_code == 403
    assert "You do not hold the role" in text(response)
    assert english().get("/appraisals/").status_code == 302  # to the login page


def test_the_queue_lists_waiting_items_and_claiming_leads_to_the_grading_form():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    client = english(appraiser)
    page = text(client.get("/appraisals/"))
    assert listing.title in page and "Phone" in page
    assert f'action="/appraisals/{listing.pk}/claim/"' in page

    response = client.post(f"/appraisals/{listing.pk}/claim/", follow=True)

    assert response.redirect_chain[-1][0] == f"/appraisals/{listing.pk}/grade/"
    assert f"You claimed “{listing.title}”" in text(response)
    request = AppraisalRequest.objects.get(listing=listing)
    assert (request.status, request.claimed_by) == ("claimed", appraiser)
    queue = text(client.get("/appraisals/"))
    assert "Claimed by you" in queue and f'href="/appraisals/{listing.pk}/grade/"' in queue
    assert f'action="/appraisals/{listing.pk}/claim/"' not in queue


def test_a_second_appraiser_is_told_the_item_is_already_claimed():
    listing = phone_listing()
    queue_it(listing)
    english(make_appraiser()).post(f"/appraisals/{listing.pk}/claim/")
    late = english(make_appraiser())

    response = late.post(f"/appraisals/{listing.pk}/claim/", follow=True)

    assert response.redirect_chain[-1][0] == "/appraisals/"
    assert "Another appraiser has already claimed this item." in text(response)
    assert late.get(f"/appraisals/{listing.pk}/grade/").status_code == 302


def test_an_appraiser_cannot_claim_an_item_they_sell():
    appraiser = make_appraiser()
    listing = phone_listing(seller=appraiser)
    queue_it(listing)
    client = english(appraiser)
    assert listing.title not in text(client.get("/appraisals/"))

    response = client.post(f"/appraisals/{listing.pk}/claim/", follow=True)

    assert "You cannot grade an item you sell." in text(response)
    assert AppraisalRequest.objects.get(listing=listing).status == "open"


def test_grading_needs_a_claim():
    listing = phone_listing()
    queue_it(listing)
    response = english(make_appraiser()).get(f"/appraisals/{listing.pk}/grade/", follow=True)
    assert "Claim the item from the queue before grading it." in text(response)
    assert english(make_appraiser()).get("/appraisals/999999/grade/").status_code == 404


def phone_answers(**changes) -> dict[str, str]:
    answers = {**GOOD_PHONE, **changes}
    return {
        f"answer-{key}": ("yes" if value else "no") if isinstance(value, bool) else str(value)
        for key, value in answers.items()
        if key != "faults"
    }


def test_an_appraiser_grades_signs_with_evidence_and_the_listing_page_shows_the_grade():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    appraiser.display_name = "张鉴定师"
    appraiser.save()
    client = english(appraiser)
    client.post(f"/appraisals/{listing.pk}/claim/")
    form = text(client.get(f"/appraisals/{listing.pk}/grade/"))
    assert listing.title in form and 'class="reference-photos"' in form
    assert 'name="answer-battery_health"' in form and 'name="answer-faults.0.evidence"' in form
    assert "I inspected this item and sign this appraisal" in form

    unsigned = client.post(f"/appraisals/{listing.pk}/grade/", phone_answers(battery_health=84))
    assert "Confirm that you inspected the item before signing." in text(unsigned)
    assert not Appraisal.objects.exists()

    response = client.post(
        f"/appraisals/{listing.pk}/grade/",
        {
            **phone_answers(battery_health=84),
            "answer-faults.0.position": "speaker",
            "answer-faults.0.defect": "intermittent",
            "answer-faults.0.evidence": jpeg_upload(),
            "sign-confirm": "on",
        },
        follow=True,
    )

    appraisal = Appraisal.objects.get(listing=listing)
    assert (appraisal.kind, appraisal.grade, appraisal.appraiser) == ("certified", "D", appraiser)
    evidence = AppraisalEvidence.objects.get(appraisal=appraisal)
    assert (evidence.item, evidence.position, evidence.defect) == ("faults", "speaker", "intermittent")
    # The seller had asked to publish: with a sellable grade the publication went on.
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert response.redirect_chain[-1][0] == f"/listings/{listing.pk}/"
    page = text(response)
    assert "Appraisal signed: D (for parts, defects disclosed)." in page
    assert "Certified appraisal by 张鉴定师" in page
    assert 'href="/grading/standards/electronics-mobile/"' in page


def test_a_not_sellable_appraisal_keeps_the_listing_off_the_market():
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    client = english(appraiser)
    client.post(f"/appraisals/{listing.pk}/claim/")

    response = client.post(
        f"/appraisals/{listing.pk}/grade/", {**phone_answers(frp_on=True), "sign-confirm": "on"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/appraisals/"
    assert "Appraisal signed: the item cannot be sold (FRP on)." in text(response)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_APPRAISAL
    assert not AppraisalRequest.objects.filter(listing=listing, status__in=["open", "claimed"]).exists()


def test_the_queue_page_runs_a_fixed_number_of_queries():
    appraiser = make_appraiser(categories=("electronics", "vehicles"))
    client = english(appraiser)
    seller = UserFactory()

    def queue_camera(number: int) -> None:
        listing = make_listing(
            seller=seller,
            category="electronics",
            title=f"Camera {number}",
            device_type="camera",
            imei="",
            serial_number=f"SN{number:05d}",
        )
        add_photos(listing)
        queue_it(listing)

    queue_camera(0)
    client.get("/appraisals/")  # warm up caches (sessions, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/appraisals/").status_code == 200
    for number in range(1, 6):
        queue_camera(number)
    with CaptureQueriesContext(connection) as six:
        page = text(client.get("/appraisals/"))
    assert page.count('class="queue-row"') == 6
    assert len(six) == len(one), [q["sql"] for q in six.captured_queries]


# --- Credentials ---------------------------------------------------------------------------


def test_appraisers_see_their_credentials_with_their_state():
    appraiser = make_appraiser()
    today = timezone.localdate()
    AppraiserCredential.objects.create(
        user=appraiser,
        issuer="中国汽车流通协会",
        number="OLD-1",
        categories=["vehicles"],
        valid_from=today - dt.timedelta(days=800),
        valid_to=today - dt.timedelta(days=1),
    )
    AppraiserCredential.objects.create(
        user=appraiser,
        issuer="中国汽车流通协会",
        number="NEW-1",
        categories=["vehicles"],
        valid_from=today,
        valid_to=today + dt.timedelta(days=365),
    )
    page = text(english(appraiser).get("/appraisals/credentials/"))
    assert re.search(r'data-state="verified">.*?JD-\d+.*?Verified<', page, re.S)
    assert re.search(r'data-state="expired">.*?OLD-1.*?Expired<', page, re.S)
    assert re.search(r'data-state="pending">.*?NEW-1.*?Waiting for verification by staff<', page, re.S)


def credential_post(**changes):
    today = timezone.localdate()
    data = {
        "issuer": "中国旧货业协会",
        "number": "ZJ-0001",
        "categories": ["electronics", "furniture"],
        "valid_from": today.isoformat(),
        "valid_to": (today + dt.timedelta(days=730)).isoformat(),
        "document": SimpleUploadedFile("credential.pdf", b"%PDF-1.4\n% demo\n", content_type="application/pdf"),
    }
    data.update(changes)
    return data


def test_an_appraiser_submits_a_credential_that_waits_for_staff():
    institution = OrganisationFactory(kind=OrganisationKind.APPRAISAL_INSTITUTION)
    appraiser = UserFactory(with_totp=True)
    MembershipFactory(user=appraiser, organisation=institution, role=Role.APPRAISER)
    moderator = UserFactory(is_staff=True)

    response = english(appraiser).post("/appraisals/credentials/", credential_post(), follow=True)

    assert "Your credential was submitted." in text(response)
    credential = AppraiserCredential.objects.get(number="ZJ-0001")
    assert (credential.user, credential.organisation, credential.verified_at) == (appraiser, institution, None)
    assert credential.categories == ["electronics", "furniture"]
    assert credential.document.read().startswith(b"%PDF-")
    assert re.search(r'data-state="pending">.*?ZJ-0001', text(response), re.S)
    assert Notification.objects.filter(user=moderator, kind="credential_submitted").count() == 1
    assert not credential.usable_for("electronics")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"document": SimpleUploadedFile("c.pdf", b"just text", content_type="application/pdf")},
            "document",
            "PDF, JPEG or PNG",
        ),
        ({"categories": []}, "categories", "This field is required."),
        ({"valid_to": "2020-01-01", "valid_from": "2019-01-01"}, "valid_to", "already expired"),
        ({"valid_to": "2030-01-01", "valid_from": "2031-01-01"}, "valid_to", "cannot come before its start"),
    ],
)
def test_a_bad_credential_is_refused_next_to_its_field(changes, field, message):
    appraiser = make_appraiser()
    response = english(appraiser).post("/appraisals/credentials/", credential_post(**changes))
    assert message in field_errors(response.content.decode(), f"id_{field}")
    assert not AppraiserCredential.objects.filter(number="ZJ-0001").exists()


def test_a_credential_number_can_be_registered_once():
    appraiser = make_appraiser()
    english(appraiser).post("/appraisals/credentials/", credential_post())
    again = english(make_appraiser()).post("/appraisals/credentials/", credential_post())
    assert "already registered" in field_errors(again.content.decode(), "id_number")
    assert AppraiserCredential.objects.filter(number="ZJ-0001").count() == 1


# --- Demo data -------------------------------------------------------------------------------


def grading_counts() -> tuple[int, ...]:
    return (
        Appraisal.objects.count(),
        AppraisalRequest.objects.count(),
        AppraiserCredential.objects.count(),
        Listing.objects.filter(status=ListingStatus.PUBLISHED).count(),
        ListingReport.objects.count(),
    )


def test_the_demo_grades_its_listings_publishes_them_again_and_leaves_a_phone_in_the_queue(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    first = grading_counts()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    assert grading_counts() == first

    credential = AppraiserCredential.objects.get(user__email="appraiser@example.com")
    assert credential.issuer == "中国旧货业协会" and credential.usable_for("electronics")
    assert credential.usable_for("vehicles") and credential.organisation.kind == OrganisationKind.APPRAISAL_INSTITUTION
    assert credential.valid_to.year == timezone.localdate().year + 1

    current = Appraisal.objects.filter(superseded_at__isnull=True).select_related("listing")
    kinds = {(a.listing.category, a.kind) for a in current}
    assert kinds == {("books", "self"), ("furniture", "self"), ("vehicles", "certified"), ("electronics", "certified")}
    assert {a.appraiser.email for a in current if a.kind == "certified"} == {"appraiser@example.com"}

    waiting = AppraisalRequest.objects.filter(status="open", claimed_by__isnull=True).select_related("listing")
    assert "iPhone 13 128GB 蓝色" in {r.listing.title for r in waiting}
    assert not Appraisal.objects.filter(listing__title="iPhone 13 128GB 蓝色").exists()

    meant = {spec.title for spec in demo_listings() if spec.target == ListingStatus.PUBLISHED}
    # The order demo bought two of them (one sold, one reserved for its hand-over).
    on_sale = [ListingStatus.PUBLISHED, ListingStatus.RESERVED, ListingStatus.SOLD]
    titles = [spec.title for spec in demo_listings()]
    published = set(Listing.objects.filter(status__in=on_sale, title__in=titles).values_list("title", flat=True))
    # The ThinkPad X1 was meant to wait for its erasure certificate; the erasure demo gives
    # it one (erased after intake), so it is on sale too.
    assert published == (meant - {"iPhone 13 128GB 蓝色"}) | {"ThinkPad X1 Carbon Gen 9 i7 16GB 512GB"}
    assert ListingReport.objects.filter(status="open", listing__title__startswith="索尼 A7 III").count() == 1
