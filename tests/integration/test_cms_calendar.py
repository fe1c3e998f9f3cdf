"""The iCal feed of community events parses back as valid RFC 5545, and the vendor list
of a market date prints as a PDF with Chinese names."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cms.models import FleaMarketDate
from cms.services.flea import stall_application_approve, stall_apply, stall_fee_record_offline
from tests.cms import make_consignment_event, make_market, organiser_org
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_ical(body: bytes) -> list[dict]:
    """A strict reader: CRLF line ends, physical lines of at most 75 octets, folding,
    balanced BEGIN/END, TEXT escapes. Returns the components as dicts."""
    assert body.endswith(b"\r\n")
    physical = body[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    logical: list[str] = []
    for line in physical:
        if line.startswith(b" "):
            logical[-1] += line[1:].decode("utf-8")
        else:
            logical.append(line.decode("utf-8"))
    stack: list[dict] = []
    components: list[dict] = []
    for line in logical:
        name, _, value = line.partition(":")
        assert re.fullmatch(r"[A-Z-]+(;[A-Z-]+=[^;:]+)*", name), line
        if name == "BEGIN":
            stack.append({"type": value})
        elif name == "END":
            component = stack.pop()
            assert component["type"] == value
            components.append(component)
        else:
            stack[-1][name] = re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)
    assert stack == []
    return components


def utc_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def test_calendar_feed_is_valid_icalendar_with_every_event(client):
    org, _ = organiser_org()
    day = timezone.localdate() + dt.timedelta(days=12)
    market = make_market(
        org,
        dates=[day],
        title="滨江跳蚤市场, Riverside; flea market",
        intro="A long description that certainly needs folding: " + "二手好物交换 " * 12,
    )
    FleaMarketDate.objects.create(market=market, date=day + dt.timedelta(days=14), cancelled=True)
    event = make_consignment_event(org)

    response = client.get("/events/calendar.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    components = parse_ical(response.content)
    calendar = components[-1]
    assert (calendar["type"], calendar["VERSION"]) == ("VCALENDAR", "2.0")
    assert calendar["PRODID"]
    events = [c for c in components if c["type"] == "VEVENT"]
    assert len(events) == 3
    assert len({e["UID"] for e in events}) == 3
    for item in events:
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= item.keys()
        assert utc_time(item["DTSTART"]) < utc_time(item["DTEND"])
    first, cancelled = (e for e in events if e["SUMMARY"] == market.title)
    assert first["SUMMARY"] == "滨江跳蚤市场, Riverside; flea market"  # escapes undone
    assert utc_time(first["DTSTART"]) == dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI)
    assert first["STATUS"] == "CONFIRMED" and cancelled["STATUS"] == "CANCELLED"
    assert first["GEO"] == "31.176512;121.462345"
    assert first["DESCRIPTION"] == market.intro  # folded and unfolded intact
    assert first["URL"].endswith(market.url)
    sale = next(e for e in events if e["SUMMARY"] == event.title)
    assert utc_time(sale["DTSTART"]) == event.sale_starts.replace(microsecond=0)


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF: literal strings of the (deflated) content streams, with
    the CID font's UTF-16 decoded."""
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        stream = stream.strip()
        if stream.endswith(b"~>"):  # reportlab wraps deflated streams in ASCII85
            stream = base64.a85decode(stream[:-2].replace(b"\n", b"").replace(b"\r", b""))
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)", content, re.S):
            raw = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: bytes([int(m.group(1), 8)]) if m.group(1).isdigit() else m.group(1),
                literal,
            )
            try:
                texts.append(raw.decode("utf-16-be") if len(raw) % 2 == 0 else raw.decode("latin-1"))
            except UnicodeDecodeError:
                texts.append(raw.decode("latin-1"))
    return " ".join(texts)


def test_vendor_list_pdf_lists_approved_vendors(client):
    org, organiser = organiser_org()
    market = make_market(org, title="滨江跳蚤市场")
    market_date = market.dates.get()
    stall = market.stall_types.get(name="Standard stall")
    vendor = UserFactory(display_name="王卖家")
    pending = UserFactory(display_name="李等待")
    application = stall_apply(user=vendor, market_date_id=market_date.pk, stall_type_id=stall.pk)
    stall_apply(user=pending, market_date_id=market_date.pk, stall_type_id=stall.pk)
    stall_application_approve(organiser=organiser, application_id=application.pk)
    stall_fee_record_offline(organiser=organiser, application_id=application.pk, reference="R-9")
    client.force_login(organiser)
    client.cookies["django_language"] = "en"

    response = client.get(f"/cms-admin/community/markets/dates/{market_date.pk}/vendors.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"STSong-Light" in response.content
    text = pdf_text(response.content)
    assert "王卖家" in text
    assert "李等待" not in text  # only approved vendors
    assert "滨江跳蚤市场" in text and "Vendor list" in text and "R-9" in text


def test_the_vendor_list_is_for_the_markets_organisers_only(client):
    org, _ = organiser_org()
    market = make_market(org)
    client.force_login(UserFactory())
    response = client.get(f"/cms-admin/community/markets/dates/{market.dates.get().pk}/vendors.pdf")
    assert response.status_code in {302, 403, 404}
