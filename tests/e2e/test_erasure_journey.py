"""A technician imports the nwipe report of a laptop's disk and signs the certificate; the
seller publishes the laptop; a visitor opens the certificate's verification page (the QR
code's target) and sees "Valid" with only the last four characters of the serial."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa import app_settings as totp_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from marketplace.models import ListingStatus
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, TOTP_SECRET
from tests.integration import test_erasure
from tests.integration.test_erasure import (
    fresh_log,
    laptop_listing,
    make_technician,
)
from wipe_cert.models import CertificateStatus, ErasureCertificate

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CORE_GATES = [
    "marketplace.gates.PhotosPresentGate",
    "marketplace.gates.SellerEmailVerifiedGate",
    "marketplace.gates.ProhibitedItemGate",
    "marketplace.gates.StolenGoodsGate",
]
SERIAL = "PF2ABCDE"


@pytest.fixture(autouse=True)
def erasure_gates(settings):
    """The marketplace's own gates plus the erasure gate, and only the erasure badge and
    panel on listing pages (the live server runs in this process, so the overrides reach
    it). Grading has a journey of its own."""
    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]
    settings.MARKETPLACE_LISTING_BADGES = ["wipe_cert.badges.erasure_badges"]
    settings.MARKETPLACE_LISTING_PANELS = ["wipe_cert.badges.erasure_panel"]


def use_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def label(text: str) -> re.Pattern[str]:
    """A field's label, with or without Django's trailing colon."""
    return re.compile(rf"^{re.escape(text)}:?$")


def current_totp() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // totp_settings.TOTP_PERIOD))


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_technician_certifies_seller_publishes_visitor_verifies(page, browser, live_server, provider, tmp_path):
    technician = make_technician(provider)
    listing = laptop_listing(serial=SERIAL)
    report = tmp_path / "nwipe-0.33-dodshort-verify-last.log"
    report.write_bytes(fresh_log())  # the sample log, timestamped after the laptop's intake
    use_english(page.context, live_server)

    # The technician logs in with the second factor.
    log_in(page, technician.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", current_totp())
    page.locator("#id_code").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")

    # Import the tool's report for the laptop listing.
    page.goto("/erasure/import/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a tool report")
    page.get_by_label(label("Tool report")).set_input_files(str(report))
    page.get_by_label(label("Report format")).select_option("nwipe_log")
    page.get_by_label(label("Device type")).select_option("laptop")
    page.get_by_label(label("Maker")).fill("Lenovo")
    page.get_by_label(label("Model")).fill("ThinkPad X1 Carbon Gen 9")
    page.get_by_label(label("Device serial number")).fill(SERIAL)
    page.get_by_label(label("Listing number (optional)")).fill(str(listing.pk))
    page.get_by_role("button", name="Read the report").click()

    # What was read from the file, not typed.
    expect(page).to_have_url(re.compile(r"/erasure/certificates/[0-9a-f-]{36}/$"))
    certificate_id = re.search(r"/erasure/certificates/([0-9a-f-]{36})/", page.url).group(1)
    read = page.locator("table.read-fields")
    expect(read.locator("tr[data-field='media.0.method_name'] td").last).to_have_text("DoD Short")
    expect(read.locator("tr[data-field='media.0.passes'] td").last).to_have_text("3")
    expect(read.locator("tr[data-field='media.0.verification'] td").last).to_have_text("last pass: passed")

    page.get_by_role("button", name="Sign the certificate").click()
    expect(page.locator(".messages")).to_contain_text("The certificate is valid")
    expect(page.locator(".page-head [data-status]")).to_have_text("Valid")
    certificate = ErasureCertificate.objects.get(pk=certificate_id)
    assert certificate.status == CertificateStatus.ACCEPTED
    assert certificate.listing_id == listing.pk

    # The seller publishes the laptop from its manage page.
    seller_context = browser.new_context(base_url=live_server.url)
    use_english(seller_context, live_server)
    seller_page = seller_context.new_page()
    log_in(seller_page, listing.seller_user.email)
    seller_page.goto(f"/my/listings/{listing.pk}/")
    expect(seller_page.locator(".erasure-panel [data-status]")).to_have_text("Valid")
    expect(seller_page.locator("#blocking")).to_have_count(0)
    seller_page.get_by_role("button", name="Publish").click()
    expect(seller_page.locator(".messages")).to_contain_text("Your listing is published.")
    seller_context.close()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED

    # A visitor finds the laptop and scans the QR code of its certificate.
    visitor_context = browser.new_context(base_url=live_server.url)
    use_english(visitor_context, live_server)
    visitor = visitor_context.new_page()
    visitor.goto(f"/listings/{listing.pk}/")
    expect(visitor.get_by_role("link", name="Data erased · verified").first).to_have_attribute(
        "href", f"/verify/{certificate_id}/"
    )
    visitor.goto(f"/verify/{certificate_id}")
    expect(visitor).to_have_url(re.compile(rf"/verify/{certificate_id}/$"))
    expect(visitor.locator(".cert-verdict-label")).to_have_text("Valid")
    expect(visitor.locator("[data-identifier='serial']")).to_have_text("•••• BCDE")
    expect(visitor.locator("main")).not_to_contain_text(SERIAL)
    expect(visitor.locator("main")).to_contain_text("DoD Short")
    # Anyone may download the bundle: it holds identifiers only as salted commitments.
    expect(visitor.get_by_role("link", name=re.compile("Download the signed bundle"))).to_have_count(1)
    bundle = visitor.request.get(f"/verify/{certificate_id}/bundle.json")
    assert bundle.ok and SERIAL not in bundle.text() and "opening" not in bundle.json()
    pdf = visitor.request.get(f"/verify/{certificate_id}/certificate.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=str(ARTIFACTS / "erasure_verify_page.png"), full_page=True)
    visitor_context.close()
