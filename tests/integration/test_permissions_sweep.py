"""Security sweep: every URL the site serves, visited by someone who is not logged in.

The URL patterns come from Django's resolver and the API operations from the OpenAPI
document, so a new page or endpoint is swept without anyone remembering to add it. A
non-public page must send the visitor to log in (or answer 401/403/404/405); only the
pages on the explicit allow-list below may answer 200 — and nothing may answer 500.

The other-user-object cases (someone else's order, offer, conversation, listing,
appraisal, certificate…) have their own tests; see OTHER_USER_OBJECT_TESTS, which this
module checks still exist."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from config.api import api
from marketplace.services.messages import message_send
from marketplace.services.offers import offer_make
from marketplace.services.orders import order_place
from tests.factories import UserFactory
from tests.listings import make_listing
from tests.orders import published_listing

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# Pages anyone may see (by URL name). Everything else must not answer 200 to a stranger.
PUBLIC_PAGES = {
    "browse",
    "listing_detail",
    "organisation_detail",
    "search",
    "search_suggest",
    "set_language",
    "language_choose",
    "web_manifest",  # the web-app manifest: name and icons
    "robots_txt",  # what crawlers may read
    # allauth: logging in, signing up, resetting a password, confirming an address.
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key_done",
    "account_email_verification_sent",
    "account_confirm_email",
    "account_logout",
    "account_inactive",
    "account_login_code_confirm",
    "account_request_login_code",
    "account_confirm_login_code",
    "account_reauthenticate",
    "mfa_authenticate",
    "mfa_login_webauthn",
    "mfa_signup_webauthn",
    "mfa_trust",
    # Transparency and public figures: erasure log, public keys, verification, statistics.
    "wagtail_serve",
    "wagtailcore_login",
    "credit_profile",  # a person's public credit summary (no personal data, see test_credit_*)
    "credit_keys",
    "erasure_keys",
    "events_calendar",
    "grading_standards",
    # allauth headless: its configuration and API description.
    "config",
    "openapi_yaml",
    "openapi_json",
    "openapi_html",
    "headless_openapi_json",
    "wagtaildocs_serve",
    "wagtailimages_serve",
}
# URL-name prefixes of pages that are public by design (public verification pages,
# published keys and logs, statistics summaries, credit policy, event calendars).
PUBLIC_PREFIXES = ("erasure_public", "erasure_log", "erasure_verify", "wipe_cert_public", "credit_public", "city_")
# Answers that show a stranger nothing private.
REFUSED = {301, 302, 400, 401, 403, 404, 405, 409}

# Other-user-object tests elsewhere in the suite (file, test name fragment).
OTHER_USER_OBJECT_TESTS = [
    ("test_orders.py", "test_only_the_parties_and_moderators_see_an_order"),
    ("test_order_pages.py", ""),
    ("test_offers_messages.py", ""),
    ("test_api_orders.py", ""),
    ("test_listing_pages.py", ""),
    ("test_api_listings.py", ""),
    ("test_grading_pages.py", ""),
    ("test_erasure_api.py", ""),
    ("test_search_alerts.py", ""),
    ("test_privacy.py", "test_anonymous_visitors_are_sent_to_log_in"),
]


def sample(converter_name: str) -> str:
    return {
        "int": "1",
        "slug": "x",
        "uuid": str(uuid.UUID(int=1)),
        "path": "x/",
        "str": "x",
    }.get(converter_name, "1")


def route_urls(patterns=None, prefix: str = "", names: str = "") -> list[tuple[str, str]]:
    """(url, name) for every path() pattern, with sample values for its converters.
    Regex patterns (Wagtail's page serving, static files) are visited by other tests."""
    out: list[tuple[str, str]] = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        pattern = entry.pattern
        if not isinstance(pattern, RoutePattern):
            continue
        route = str(pattern._route)
        for key, converter in pattern.converters.items():
            name = type(converter).__name__.replace("Converter", "").lower()
            route = re.sub(rf"<(?:\w+:)?{key}>", sample(name), route)
        if isinstance(entry, URLResolver):
            # The admin sites are staff-only frameworks with their own tests: their roots only.
            if route in ("django-admin/", "cms-admin/", "documents/"):
                out.append((prefix + route, "admin-root"))
                continue
            out.extend(route_urls(entry.url_patterns, prefix + route, entry.namespace or names))
        elif isinstance(entry, URLPattern):
            out.append((prefix + route, entry.name or ""))
    return out


def is_public(name: str) -> bool:
    return name in PUBLIC_PAGES or name.startswith(PUBLIC_PREFIXES)


@pytest.fixture
def someone_elses_things():
    """Objects belonging to other people, so ids in URLs point at something real."""
    seller, buyer = UserFactory(), UserFactory()
    listing = published_listing(seller=seller)
    make_listing(seller=seller, title="草稿")
    offer_make(buyer=buyer, listing_id=published_listing(seller=seller, title="二").pk, amount=3000,
               delivery_method="pickup", payment_method="cash")  # fmt: skip
    message_send(sender=buyer, listing_id=listing.pk, body="你好")
    order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")


def test_every_page_refuses_strangers_unless_it_is_public(someone_elses_things):
    client = Client(raise_request_exception=False)
    urls = route_urls()
    assert len(urls) > 100  # the sweep really walked the URL tree
    problems = []
    for url, name in urls:
        if url.startswith("api/v1/"):
            continue  # swept from the OpenAPI document below
        response = client.get("/" + url)
        if response.status_code >= 500:
            problems.append((url, name, response.status_code))
        elif response.status_code == 200 and not is_public(name):
            problems.append((url, name, 200))
        elif response.status_code in (301, 302):
            location = response["Location"]
            assert "/accounts/login/" in location or not location.startswith("/my/"), (url, location)
        elif response.status_code not in REFUSED | {200}:
            problems.append((url, name, response.status_code))
    assert problems == [], "\n".join(map(str, problems))


def test_posting_to_any_page_as_a_stranger_changes_nothing(someone_elses_things):
    from marketplace.models import Listing, Offer, Order

    before = (
        list(Listing.objects.values_list("pk", "status")),
        list(Offer.objects.values_list("pk", "status")),
        list(Order.objects.values_list("pk", "status")),
    )
    client = Client(raise_request_exception=False, enforce_csrf_checks=False)
    problems = []
    for url, name in route_urls():
        if url.startswith(("api/v1/", "accounts/", "_allauth/", "i18n/")) or name == "stripe_webhook":
            continue  # API below; allauth's own forms are for strangers by design
        response = client.post("/" + url, {"reason": "x", "amount": "1", "body": "x"})
        if response.status_code >= 500:
            problems.append((url, name, response.status_code))
    assert problems == []
    after = (
        list(Listing.objects.values_list("pk", "status")),
        list(Offer.objects.values_list("pk", "status")),
        list(Order.objects.values_list("pk", "status")),
    )
    assert after == before


# API operations anyone may call.
PUBLIC_OPERATIONS = {
    ("get", "/api/v1/health"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/search/suggest"),
    ("get", "/api/v1/users/{user_id}/credit"),
    ("get", "/api/v1/credit/keys"),
    ("get", "/api/v1/erasure-keys"),
    ("get", "/api/v1/listings"),
    ("get", "/api/v1/listings/{listing_id}"),
    ("get", "/api/v1/grading/rulesets/{category}"),
    ("get", "/api/v1/listings/{listing_id}/valuation"),
    ("get", "/api/v1/listings/{listing_id}/appraisal"),
    ("get", "/api/v1/erasure-certificates/{certificate_id}/verification"),
}


def api_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(method, path) for path, operations in schema["paths"].items() for method in operations]


@pytest.mark.parametrize(("method", "path"), api_operations())
def test_every_api_operation_refuses_strangers_unless_it_is_public(method, path, someone_elses_things):
    client = Client(raise_request_exception=False)
    url = path.replace("{certificate_id}", str(uuid.UUID(int=1))).replace("{category}", "books")
    url = re.sub(r"\{[a-z_]*id\}", "1", url)
    response = getattr(client, method)(url, content_type="application/json", data="{}" if method != "get" else None)
    assert response.status_code < 500, response.content
    if (method, path) in PUBLIC_OPERATIONS:
        return
    assert response.status_code in {401, 403, 404, 405}, (response.status_code, response.content[:200])
    assert set(response.json()) == {"code", "message", "details"}


def test_other_user_object_tests_exist():
    for filename, fragment in OTHER_USER_OBJECT_TESTS:
        text = (ROOT / "tests" / "integration" / filename).read_text()
        assert fragment in text, (filename, fragment)
