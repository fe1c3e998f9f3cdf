"""User text in generated documents is shown literally and never acts: every PDF renders
with markup-like names (ReportLab's paragraphs are a mini-markup language), prints them
as typed and embeds no file named in them; CSV and XLSX cells never start a formula."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import shutil
import tempfile
import zlib
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from django.urls import reverse
from django.utils import timezone

from cms.models import StallAddOn, StallType
from cms.services.flea import stall_application_approve, stall_apply, stall_fee_record_offline
from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection, StatsTable
from marketplace.city.services import rollup_refresh
from marketplace.city.synthetic import PastTrade, past_trades_create
from marketplace.consignment.rules import Tier
from marketplace.consignment.services import IntakeLine, agreement_accept, agreement_invite, intake_batch_create
from marketplace.documents import FORMULA_STARTS, XML_ILLEGAL, cid_text, csv_cell, para_text
from marketplace.models import OrganisationKind, Role
from tests.cms import make_market, organiser_org
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.integration.test_erasure import fresh_log, laptop_listing
from wipe_cert.models import CertificateStatus, TechnicianCredential
from wipe_cert.services import certificate_import, certificate_revoke, certificate_sign, provider_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]

IMAGE_PATH = "{image}"  # replaced by the path of a real PNG the server can read
MARKUP = [
    "<img src=x onerror=alert(1)>",
    f'<img src="{IMAGE_PATH}"/>',
    "<b>unclosed",
    "&amp; &",
    "<font name=x>",
]
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1"]
PAYLOADS = MARKUP + FORMULAS[:4]
HARMLESS = "Plain text"


@pytest.fixture
def image() -> Iterator[str]:
    """A real image file the server can read (in a short path: names are limited to 60
    characters): a name pointing at it must not pull it into a document."""
    folder = Path(tempfile.mkdtemp(prefix="i"))
    path = folder / "p.png"
    segno.make("private").save(str(path), kind="png", scale=4)
    yield str(path)
    shutil.rmtree(folder)


def value_of(payload: str, image: str) -> str:
    return payload.replace(IMAGE_PATH, image)


# --- Reading PDFs without a PDF library ------------------------------------------------------


def _content_streams(pdf: bytes) -> list[bytes]:
    streams = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        stream = stream.strip()
        if stream.endswith(b"~>"):  # ReportLab wraps deflated streams in ASCII85
            stream = base64.a85decode(stream[:-2].replace(b"\n", b"").replace(b"\r", b""))
        try:
            streams.append(zlib.decompress(stream))
        except zlib.error:
            streams.append(stream)  # uncompressed (or an image, which has no text operators)
    return streams


def _unescape(literal: bytes) -> bytes:
    return re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: bytes([int(m.group(1), 8)]) if m.group(1).isdigit() else m.group(1),
        literal,
        flags=re.S,
    )


def pdf_strings(pdf: bytes) -> list[str]:
    """The text drawn, one string per text operator, each decoded in its font's encoding:
    UTF-16 for the CID font (Type0), Latin-1 for the standard fonts."""
    cid_fonts = {
        name.decode()
        for body in re.findall(rb"\d+ 0 obj(.*?)endobj", pdf, re.S)
        for name in re.findall(rb"/Name /(F\d+)", body)
        if b"/Type0" in body
    }
    strings = []
    for content in _content_streams(pdf):
        font = ""
        for match in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)", content, re.S):
            if match.group(1):
                font = match.group(1).decode()
                continue
            raw = _unescape(match.group(2))
            strings.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return strings


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def shows(pdf: bytes, value: str) -> bool:
    """`value` is drawn literally (paragraphs may break lines between words)."""
    return squeezed(value) in squeezed("".join(pdf_strings(pdf)))


def images(pdf: bytes) -> int:
    """Image XObjects plus inline images."""
    inline = sum(len(re.findall(rb"(?:^|\s)BI\s", content)) for content in _content_streams(pdf))
    return pdf.count(b"/Subtype /Image") + inline


def assert_safe(response, baseline: bytes, values: list[str]) -> bytes:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert images(pdf) == images(baseline)
    for value in values:
        assert shows(pdf, value), (value, pdf_strings(pdf))
    return pdf


# --- The helpers ---------------------------------------------------------------------------------


def test_para_text_escapes_markup_and_is_safe_for_none():
    assert para_text(None) == ""
    assert para_text('<img src="x"/> & <b>') == '&lt;img src="x"/&gt; &amp; &lt;b&gt;'
    assert para_text(42) == "42"


@pytest.mark.parametrize("payload", FORMULAS)
def test_csv_cell_quotes_formula_starts(payload):
    assert csv_cell(payload) == "'" + payload


def test_csv_cell_leaves_other_values():
    assert csv_cell("上海市 =1") == "上海市 =1"
    assert csv_cell(-2) == -2 and csv_cell(None) is None and csv_cell("") == ""


# --- The vendor list of a market date (organisers) ------------------------------------------------


def vendor_list_pdf(client, text: str, *, venue: bool):
    """A market whose every user-written field (title, venue or address, stall type and
    size, add-ons, the vendors' names and payment reference) is `text`."""
    org, organiser = organiser_org()
    market = make_market(
        org,
        title=f"{text} ~market",
        venue=f"{text} ~venue" if venue else "",
        address=f"{text} ~address",
        slug=f"market-{org.pk}",
    )
    market_date = market.dates.get()
    StallType.objects.filter(market=market, name="Standard stall").update(name=f"{text} ~stall", size=f"{text} ~size")
    StallAddOn.objects.filter(market=market).update(name=f"{text} ~addon")
    stall = market.stall_types.get(name=f"{text} ~stall")
    add_ons = list(market.add_ons.values_list("pk", flat=True))
    person = UserFactory(display_name=f"{text} ~person")
    shop = MembershipFactory(
        role=Role.OWNER,
        organisation__kind=OrganisationKind.CONSIGNMENT_SHOP,
        organisation__name=f"{text} ~shop",
    )
    for user, organisation_id in ((person, None), (shop.user, shop.organisation_id)):
        application = stall_apply(
            user=user,
            market_date_id=market_date.pk,
            stall_type_id=stall.pk,
            add_on_ids=add_ons,
            organisation_id=organisation_id,
        )
        stall_application_approve(organiser=organiser, application_id=application.pk)
        stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference=f"{text} ~ref")
    client.force_login(organiser)
    response = client.get(f"/cms-admin/community/markets/dates/{market_date.pk}/vendors.pdf")
    fields = ["~market", "~venue" if venue else "~address", "~stall", "~size", "~addon", "~person", "~shop", "~ref"]
    return response, [f"{text} {field}" for field in fields]


@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=PAYLOADS)
def test_vendor_list_pdf_shows_user_text_literally(client, image, index):
    text = value_of(PAYLOADS[index], image)
    baseline, _fields = vendor_list_pdf(client, HARMLESS, venue=index % 2 == 0)
    assert baseline.status_code == 200
    response, fields = vendor_list_pdf(client, text, venue=index % 2 == 0)
    assert_safe(response, baseline.content, fields)


# --- Price tags of a consignment batch (shop staff) -----------------------------------------------


def book(title: str) -> IntakeLine:
    attributes = {"isbn": "9787020002207", "language": "zh", "book_title": title}
    return IntakeLine(title=title, category="books", price=10_000, condition_notes=title, attributes=attributes)


def tags_pdf(client, text: str):
    """Tags of a batch whose shop name and item titles are `text`."""
    staff = MembershipFactory(
        role=Role.STAFF,
        organisation__kind=OrganisationKind.CONSIGNMENT_SHOP,
        organisation__verified_at=timezone.now(),
        organisation__city="上海市",
        organisation__district="徐汇区",
        organisation__name=text,
    )
    consignor = UserFactory()
    invited = agreement_invite(
        actor=staff.user, shop=staff.organisation, email=consignor.email, tiers=[Tier(None, 6000)], notes=text
    )
    agreement = agreement_accept(consignor=consignor, agreement_id=invited.pk)
    batch = intake_batch_create(actor=staff.user, agreement_id=agreement.pk, lines=[book(text), book(f"{text} ~2")])
    client.force_login(staff.user)
    return client.get(f"/consignment/batches/{batch.pk}/tags.pdf")


def fitted(strings: list[str], value: str) -> int:
    """How many drawn strings are `value`, whole or cut to the label's width ("…")."""
    return sum(
        1 for s in strings if s == value or (s.endswith("…") and len(s) > 4 and value.startswith(s[:-1].rstrip()))
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_price_tags_pdf_shows_user_text_literally(client, image, payload):
    text = value_of(payload, image)
    baseline = tags_pdf(client, HARMLESS).content
    response = tags_pdf(client, text)
    assert response.status_code == 200
    pdf = response.content
    assert images(pdf) == images(baseline) == 2  # the two QR codes only
    strings = pdf_strings(pdf)
    assert fitted(strings, text) >= 3, strings  # the shop on both labels, the first title
    assert fitted(strings, f"{text} ~2") >= 1, strings


# --- The erasure certificate (public) ------------------------------------------------------------


def certificate_pdf(client, text: str, *, revoke: bool):
    """A certificate whose provider name, technician name and credential, device maker and
    model (and the revocation reason) are `text`."""
    org = OrganisationFactory(
        kind=OrganisationKind.ERASURE_PROVIDER, verified_at=timezone.now(), name=f"{text} ~provider"
    )
    owner = MembershipFactory(organisation=org, role=Role.OWNER).user
    provider_key_create(actor=owner, provider_id=org.pk)
    technician = UserFactory(with_totp=True, display_name=f"{text} ~tech")
    MembershipFactory(user=technician, organisation=org, role=Role.TECHNICIAN)
    today = timezone.localdate()
    TechnicianCredential.objects.create(
        user=technician,
        provider=org,
        number=f"{text} ~cred",
        issuer="中国电子工业标准化技术协会",
        valid_from=today - dt.timedelta(days=10),
        valid_to=today + dt.timedelta(days=300),
        verified_at=timezone.now(),
    )
    listing = laptop_listing()
    draft, _ = certificate_import(
        technician=technician,
        provider_id=org.pk,
        report_format="nwipe_log",
        data=fresh_log(),
        filename="nwipe.log",
        device={"type": "laptop", "maker": f"{text} ~maker", "model": f"{text} ~model", "serial": "PF2ABCDE"},
        listing_id=listing.pk,
    )
    certificate = certificate_sign(technician=technician, certificate_id=draft.pk)
    assert certificate.status == CertificateStatus.ACCEPTED, certificate.acceptance
    if revoke:
        certificate_revoke(actor=owner, certificate_id=certificate.pk, reason=f"{text} ~reason")
    client.cookies["django_language"] = "en"
    response = client.get(f"/verify/{certificate.pk}/certificate.pdf")
    fields = [f"{text} ~provider", f"{text} ~tech · {text} ~cred", f"{text} ~maker {text} ~model"]
    fields += [f"{text} ~reason"] if revoke else []
    # As the Chinese font draws them: its own middle dot for the "·" it lacks.
    return response, [cid_text(field) for field in fields]


@pytest.fixture
def _erasure_gates(settings):
    from tests.conftest import CORE_GATES

    settings.MARKETPLACE_PUBLICATION_GATES = [*CORE_GATES, "wipe_cert.gates.ErasureVerifiedGate"]


@pytest.mark.usefixtures("_erasure_gates")
@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=PAYLOADS)
def test_erasure_certificate_pdf_shows_user_text_literally(client, image, index):
    text = value_of(PAYLOADS[index], image)
    revoke = index % 2 == 1
    baseline, _fields = certificate_pdf(client, HARMLESS, revoke=revoke)
    assert baseline.status_code == 200
    response, fields = certificate_pdf(client, text, revoke=revoke)
    assert_safe(response, baseline.content, fields)
    assert images(response.content) == 1  # the QR code


# --- The commerce bureau's export (staff): CSV and XLSX ------------------------------------------

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
QUERY = {"start": "2026-01-01", "end": "2026-02-28"}


INJECTED: list[str] = []  # what injected_provider reports; set per test


def injected_provider(period: Period, area: Area) -> StatsSection:
    """A statistics provider whose table title, header and rows are user text."""
    table = StatsTable(
        key="t", title=INJECTED[0], headers=(INJECTED[0], "Count"), rows=[(cell, 1) for cell in INJECTED]
    )
    return StatsSection(key="injected", title="Injected", tables=[table])


def trades_in(city: str, district: str) -> None:
    completed = dt.datetime(2026, 1, 15, 12, tzinfo=SHANGHAI)
    past_trades_create(
        trades=[
            PastTrade(
                category="books",
                item_type="",
                city=city,
                district=district,
                amount=4_500,
                published_at=completed - dt.timedelta(days=3),
                ordered_at=completed - dt.timedelta(days=1),
                completed_at=completed,
            )
        ],
        seller=UserFactory(),
        buyer=UserFactory(),
        key_prefix="injection-",
    )


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True))
    client.cookies["django_language"] = "en"
    return client


def expected_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def area_query(city: str, district: str) -> dict[str, str]:
    """The period, and the area when the form can choose it (it strips leading whitespace)."""
    return {**QUERY, "area": "" if city[:1].isspace() else f"{city}|{district}"}


@pytest.mark.parametrize("payload", FORMULAS + MARKUP)
def test_csv_export_quotes_formulas_and_keeps_text(staff_client, payload):
    city, district = payload, f"{payload} ~district"
    trades_in(city, district)
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    response = staff_client.get(reverse("city_statistics_export", args=("csv",)), area_query(city, district))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    _header, *rows = list(csv.reader(io.StringIO(text[1:])))
    assert len(rows) == 1
    assert rows[0][4] == expected_cell(city) and rows[0][5] == expected_cell(district)
    if payload in FORMULAS:
        assert rows[0][4].startswith("'") and rows[0][5].startswith("'")


@pytest.mark.parametrize("payload", FORMULAS + MARKUP)
def test_xlsx_export_quotes_formulas_and_keeps_text(staff_client, payload, settings, monkeypatch):
    from openpyxl import load_workbook

    settings.CITY_STATISTICS_PROVIDERS = [f"{__name__}.injected_provider"]
    monkeypatch.setattr(f"{__name__}.INJECTED", [payload, f"{payload} ~row"])
    city, district = payload, f"{payload} ~district"
    trades_in(city, district)
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    response = staff_client.get(reverse("city_statistics_export", args=("xlsx",)), area_query(city, district))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells), [c.value for c in cells if c.data_type == "f"]

    def read_back(value: str) -> str:  # XML reads a carriage return as a line feed
        return value.replace("\r", "\n")

    values = [cell.value for cell in cells]
    place = f"{city} {district}".strip()  # the summary's "City and district"
    for value in (city, district, place, f"{payload} ~row"):
        assert read_back(expected_cell(value)) in values, (value, values)
    for value in values:
        assert not (isinstance(value, str) and value.startswith(FORMULA_STARTS)), value


def test_xlsx_export_shows_control_characters_instead_of_failing(staff_client, settings, monkeypatch):
    """XML 1.0 cannot hold most C0 control characters; a place name carrying one made the
    whole workbook fail with a 500. It is written with U+FFFD in its place."""
    from openpyxl import load_workbook

    payload = "Bad\x01name\x1f"
    settings.CITY_STATISTICS_PROVIDERS = [f"{__name__}.injected_provider"]
    monkeypatch.setattr(f"{__name__}.INJECTED", [payload])
    trades_in(payload, "dis\x0btrict")
    rollup_refresh(first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 2, 28))
    response = staff_client.get(reverse("city_statistics_export", args=("xlsx",)), area_query(payload, "dis\x0btrict"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    values = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert "Bad\ufffdname\ufffd" in values and "dis\ufffdtrict" in values
    assert not any(isinstance(value, str) and XML_ILLEGAL.search(value) for value in values)
