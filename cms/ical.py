"""An iCalendar (RFC 5545) feed of community events, written by hand: CRLF line ends,
lines folded at 75 octets without splitting a UTF-8 character, TEXT values escaped,
times in UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cms.selectors import EventItem

PRODID = "-//Xunhuan//Community events//ZH"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets; continuation lines start
    with one space (which counts towards their 75)."""
    pieces: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, MAX_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(item: EventItem, *, host: str, stamp: dt.datetime, base_url: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{item.uid}@{host}",
        f"DTSTAMP:{utc(stamp)}",
        f"DTSTART:{utc(item.starts)}",
        f"DTEND:{utc(item.ends)}",
        f"SUMMARY:{escape_text(item.title)}",
        f"STATUS:{'CANCELLED' if item.cancelled else 'CONFIRMED'}",
    ]
    if item.updated is not None:
        lines.append(f"LAST-MODIFIED:{utc(item.updated)}")
    location = ", ".join(part for part in (item.venue, item.address) if part)
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if item.latitude is not None and item.longitude is not None:
        lines.append(f"GEO:{item.latitude:f};{item.longitude:f}")
    if item.description:
        lines.append(f"DESCRIPTION:{escape_text(item.description)}")
    if item.url:
        lines.append(f"URL:{base_url}{item.url}" if item.url.startswith("/") else f"URL:{item.url}")
    lines.append("END:VEVENT")
    return lines


def calendar(items: Iterable[EventItem], *, host: str, base_url: str, name: str, now: dt.datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for item in items:
        lines.extend(_event_lines(item, host=host, stamp=now, base_url=base_url))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
