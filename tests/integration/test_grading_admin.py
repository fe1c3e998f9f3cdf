"""The "Grading" menu of the Wagtail admin: rule-set drafts, publication and the
acceptability of older versions, appraiser credentials, price flags and valuation
parameters. Staff only."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
import yaml
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from grading.models import (
    AppraisalRequest,
    AppraiserCredential,
    PriceFlag,
    RuleSetStatus,
    RuleSetVersion,
    ValuationParameters,
)
from grading.rules import content_hash
from grading.services import appraisal_claim, ruleset_active, ruleset_draft_save, valuation_params
from marketplace.models import Notification
from tests.conftest import CORE_GATES
from tests.factories import UserFactory
from tests.integration.test_grading import make_appraiser, phone_listing, queue_it
from tests.listings import make_listing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _grade_gates(settings):
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "grading.gates.GradeCurrentGate"]


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, with_totp=True)


@pytest.fixture
def admin(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    return client


def books_document(version: str = "2027.1") -> dict:
    document = copy.deepcopy(RuleSetVersion.objects.get(key="books", version="2026.1").document)
    document["version"] = version
    return document


def as_yaml(document: dict) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def messages_of(response) -> list[str]:
    return [str(message).strip() for message in response.context["messages"]] if response.context else []


def follow(client: Client, response):
    assert response.status_code == 302, response.content[:2000]
    return client.get(response["Location"])


def draft(staff, version: str = "2027.1") -> RuleSetVersion:
    return ruleset_draft_save(staff=staff, document=books_document(version))


# --- Rule-set versions --------------------------------------------------------------


def test_the_grading_menu_lists_the_shipped_rule_sets(admin):
    response = admin.get(reverse("rule-sets:index"))
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("vehicles", "electronics-mobile", "electronics-general", "books", "furniture"):
        assert key in page
    books = RuleSetVersion.objects.get(key="books")
    assert books.content_hash[:12] in page
    assert "Grading" in admin.get(reverse("wagtailadmin_home")).content.decode()


def test_staff_create_a_draft_from_pasted_yaml(admin, staff):
    document = books_document("2027.1")
    document["title"] = {"zh": "二手图书品相分级（2027）", "en": "Used-book condition grading (2027)"}

    response = admin.post(reverse("rule-sets:add"), {"source": as_yaml(document)})

    page = follow(admin, response).content.decode()
    created = RuleSetVersion.objects.get(key="books", version="2027.1")
    assert created.status == RuleSetStatus.DRAFT
    assert created.document == document
    assert created.content_hash == content_hash(document)
    assert "2027.1" in page
    assert ruleset_active(category="books").version == "2026.1"  # a draft changes nothing yet


def test_json_is_accepted_too(admin):
    admin.post(reverse("rule-sets:add"), {"source": json.dumps(books_document("2027.2"), ensure_ascii=False)})
    assert RuleSetVersion.objects.filter(key="books", version="2027.2", status="draft").exists()


def test_a_broken_draft_shows_every_schema_problem_and_saves_nothing(admin):
    broken = books_document("2027.3")
    del broken["grades"]
    broken["sections"][0]["part"] = "decorative"
    before = RuleSetVersion.objects.count()

    response = admin.post(reverse("rule-sets:add"), {"source": as_yaml(broken)})

    assert response.status_code == 200
    errors = response.context["form"].errors["source"]
    assert any("grades" in error for error in errors)
    assert any("decorative" in error for error in errors)
    assert "The rule set is not valid." in messages_of(response)
    assert RuleSetVersion.objects.count() == before


def test_text_that_is_not_yaml_is_refused_with_its_line(admin):
    before = RuleSetVersion.objects.count()
    response = admin.post(reverse("rule-sets:add"), {"source": "key: books\nversion: [unclosed\n"})
    assert response.status_code == 200
    [error] = response.context["form"].errors["source"]
    assert "neither valid YAML nor JSON" in error and "line" in error
    assert RuleSetVersion.objects.count() == before


def test_a_version_number_already_taken_is_a_form_error(admin):
    response = admin.post(reverse("rule-sets:add"), {"source": as_yaml(books_document("2026.1"))})
    assert response.status_code == 200
    assert "That version number is already taken." in response.context["form"].errors["source"]
    assert RuleSetVersion.objects.filter(key="books").count() == 1


def test_a_draft_can_be_edited(admin, staff):
    version = draft(staff)
    form_page = admin.get(reverse("rule-sets:edit", args=(version.pk,)))
    assert form_page.status_code == 200
    assert "key: books" in form_page.context["form"]["source"].value()

    changed = books_document("2027.1")
    changed["notes"] = {"zh": "试行", "en": "Trial"}
    follow(admin, admin.post(reverse("rule-sets:edit", args=(version.pk,)), {"source": as_yaml(changed)}))

    version.refresh_from_db()
    assert version.document["notes"] == {"zh": "试行", "en": "Trial"}
    assert version.content_hash == content_hash(changed)


def test_a_draft_cannot_take_the_version_number_of_another(admin, staff):
    version = draft(staff, "2027.1")
    response = admin.post(reverse("rule-sets:edit", args=(version.pk,)), {"source": as_yaml(books_document("2026.1"))})
    assert response.status_code == 200
    assert "That version number is already taken." in response.context["form"].errors["source"]
    version.refresh_from_db()
    assert version.version == "2027.1"


def test_publishing_a_draft_makes_it_the_active_version(admin, staff):
    version = draft(staff)
    confirm = admin.get(reverse("rule-sets:publish", args=(version.pk,)))
    assert confirm.status_code == 200
    assert "can never change" in confirm.content.decode()

    page = follow(admin, admin.post(reverse("rule-sets:publish", args=(version.pk,))))

    version.refresh_from_db()
    assert (version.status, version.published_by) == (RuleSetStatus.PUBLISHED, staff)
    assert version.published_at is not None
    assert ruleset_active(category="books") == version
    assert "books 2027.1 is published." in messages_of(page)


def test_a_published_version_is_read_only_and_refuses_an_edit(admin):
    books = RuleSetVersion.objects.get(key="books")
    stored = copy.deepcopy(books.document)

    edit = admin.get(reverse("rule-sets:edit", args=(books.pk,)))
    assert edit["Location"] == reverse("rule-sets:inspect", args=(books.pk,))
    inspect = admin.get(edit["Location"])
    assert inspect.status_code == 200
    page = inspect.content.decode()
    assert 'name="source"' not in page
    assert "&quot;key&quot;: &quot;books&quot;" in page  # the document, pretty-printed
    assert "can never change" in page
    assert reverse("rule-sets:edit", args=(books.pk,)) not in page

    changed = copy.deepcopy(stored)
    changed["title"] = {"zh": "改", "en": "changed"}
    refused = admin.post(reverse("rule-sets:edit", args=(books.pk,)), {"source": as_yaml(changed)})

    assert any("cannot be changed" in message for message in messages_of(follow(admin, refused)))
    books.refresh_from_db()
    assert books.document == stored
    assert books.content_hash == content_hash(stored)


def test_older_grades_can_be_marked_not_acceptable_and_back(admin):
    books = RuleSetVersion.objects.get(key="books")
    url = reverse("rule-sets:acceptable", args=(books.pk,))
    assert "not acceptable" in admin.get(url).content.decode()

    follow(admin, admin.post(url, {"acceptable": "false"}))
    books.refresh_from_db()
    assert books.acceptable is False
    assert books.status == RuleSetStatus.PUBLISHED

    follow(admin, admin.post(url, {"acceptable": "true"}))
    books.refresh_from_db()
    assert books.acceptable is True


def test_a_draft_has_no_acceptable_toggle(admin, staff):
    version = draft(staff)
    admin.post(reverse("rule-sets:acceptable", args=(version.pk,)), {"acceptable": "false"})
    version.refresh_from_db()
    assert version.acceptable is True


# --- Appraiser credentials ----------------------------------------------------------


def test_credentials_are_filtered_verified_and_revoked(admin, staff):
    waiting = make_appraiser(verified=False)
    credential = AppraiserCredential.objects.get(user=waiting)
    index = reverse("appraiser-credentials:index")
    assert credential.number in admin.get(index, {"state": "unverified"}).content.decode()
    assert credential.number not in admin.get(index, {"state": "verified"}).content.decode()

    follow(admin, admin.post(reverse("appraiser-credentials:verify", args=(credential.pk,))))

    credential.refresh_from_db()
    assert credential.verified_at is not None and credential.verified_by == staff
    assert credential.number in admin.get(index, {"state": "verified"}).content.decode()
    assert Notification.objects.filter(user=waiting, kind="credential_verified").exists()

    follow(admin, admin.post(reverse("appraiser-credentials:revoke", args=(credential.pk,))))

    credential.refresh_from_db()
    assert credential.revoked_at is not None
    assert credential.number in admin.get(index, {"state": "revoked"}).content.decode()
    assert credential.number not in admin.get(index, {"state": "verified"}).content.decode()
    follow(admin, admin.post(reverse("appraiser-credentials:verify", args=(credential.pk,))))
    credential.refresh_from_db()
    assert credential.revoked_at is not None  # a revoked credential is not verified again


def test_revoking_a_credential_puts_its_claims_back_in_the_queue(admin):
    listing = phone_listing()
    queue_it(listing)
    appraiser = make_appraiser()
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    credential = AppraiserCredential.objects.get(user=appraiser)

    follow(admin, admin.post(reverse("appraiser-credentials:revoke", args=(credential.pk,))))

    request = AppraisalRequest.objects.get(listing=listing)
    assert (request.status, request.claimed_by) == ("open", None)


def test_expired_credentials_are_listed_as_expired(admin):
    expired = make_appraiser(valid_to=timezone.localdate() - dt.timedelta(days=1))
    number = AppraiserCredential.objects.get(user=expired).number
    index = reverse("appraiser-credentials:index")
    assert number in admin.get(index, {"state": "expired"}).content.decode()
    assert number not in admin.get(index, {"state": "verified"}).content.decode()


def test_only_staff_download_a_credential_document():
    appraiser = make_appraiser(verified=False)
    credential = AppraiserCredential.objects.get(user=appraiser)
    credential.document.save("licence.pdf", ContentFile(b"%PDF-1.4 credential"), save=True)
    url = reverse("appraiser-credentials:document", args=(credential.pk,))
    staff_client = Client()
    staff_client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))

    response = staff_client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 credential"
    assert "attachment" in response["Content-Disposition"]
    for outsider in (appraiser, UserFactory(with_totp=True)):
        client = Client()
        client.force_login(outsider)
        refused = client.get(url)
        assert refused.status_code in (302, 403)
        assert b"credential" not in b"".join(getattr(refused, "streaming_content", [refused.content]))
    assert inspect_shows_download(staff_client, credential)


def inspect_shows_download(client: Client, credential: AppraiserCredential) -> bool:
    page = client.get(reverse("appraiser-credentials:inspect", args=(credential.pk,))).content.decode()
    return reverse("appraiser-credentials:document", args=(credential.pk,)) in page


# --- Price flags and valuation parameters --------------------------------------------


def test_price_flags_are_listed_and_marked_reviewed(admin, staff):
    listing = make_listing(seller=UserFactory(), title="红楼梦 精装", price=9900)
    flag = PriceFlag.objects.create(listing=listing, price=9900, band_low=3400, band_high=4600, position="above")

    page = admin.get(reverse("price-flags:index")).content.decode()
    assert "红楼梦 精装" in page and "¥99.00" in page and "¥34.00 – ¥46.00" in page

    follow(admin, admin.post(reverse("price-flags:review", args=(flag.pk,))))

    flag.refresh_from_db()
    assert flag.reviewed_at is not None and flag.reviewed_by == staff
    assert "红楼梦 精装" not in admin.get(reverse("price-flags:index"), {"state": "open"}).content.decode()


def test_valuation_parameters_are_created_and_edited(admin):
    data = {
        "category": "books",
        "device_type": "",
        "annual_depreciation_percent": "12",
        "floor_percent": "20",
        "useful_life_years": "15",
        "band_percent": "10",
        "grade_multipliers": json.dumps(
            {"as_new": 100, "fine": 90, "very_good": 80, "good": 65, "fair": 45, "poor": 25}
        ),
        "comparable_days": "180",
    }
    follow(admin, admin.post(reverse("valuation-parameters:add"), data))
    params = ValuationParameters.objects.get(category="books")
    assert valuation_params(category="books").band_percent == 10

    follow(admin, admin.post(reverse("valuation-parameters:edit", args=(params.pk,)), {**data, "band_percent": "20"}))
    assert valuation_params(category="books").band_percent == 20

    refused = admin.post(
        reverse("valuation-parameters:edit", args=(params.pk,)),
        {**data, "grade_multipliers": '{"fine": "lots"}', "device_type": "phone"},
    )
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"grade_multipliers", "device_type"}
    assert valuation_params(category="books").grade_multipliers["fine"] == 90


# --- Who may use it -----------------------------------------------------------------


def test_non_staff_are_refused(staff):
    version = draft(staff)
    books = RuleSetVersion.objects.get(key="books", version="2026.1")
    outsider = Client()
    outsider.force_login(UserFactory(with_totp=True))

    for url in (
        reverse("rule-sets:index"),
        reverse("rule-sets:add"),
        reverse("appraiser-credentials:index"),
        reverse("price-flags:index"),
        reverse("valuation-parameters:index"),
    ):
        assert outsider.get(url).status_code in (302, 403), url
    outsider.post(reverse("rule-sets:publish", args=(version.pk,)))
    outsider.post(reverse("rule-sets:acceptable", args=(books.pk,)), {"acceptable": "false"})
    outsider.post(reverse("rule-sets:add"), {"source": as_yaml(books_document("2099.1"))})

    version.refresh_from_db()
    books.refresh_from_db()
    assert version.status == RuleSetStatus.DRAFT
    assert books.acceptable is True
    assert not RuleSetVersion.objects.filter(version="2099.1").exists()


def test_staff_without_superuser_rights_but_with_admin_access_can_use_it():
    moderator = UserFactory(is_staff=True, with_totp=True)
    moderator.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(moderator)
    assert client.get(reverse("rule-sets:index")).status_code == 200
    assert client.get(reverse("appraiser-credentials:index")).status_code == 200
