"""The site reads as if written in Chinese: the main public pages of the demo, rendered in
zh-hans, show no stray English word — no untranslated label and no raw key such as `good`,
`laptop`, `nwipe_log` or `electronics-mobile`. What people typed (titles, descriptions,
brands, names) may be in any language, and so may brand names, units and codes."""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils.html import strip_tags

from marketplace.models import Category, Listing, ListingStatus, Order, User

# Words that stay as they are in a Chinese text: brands and programs, units, codes and
# standards' abbreviations, and our own name.
ALLOWED = {
    "xunhuan",
    "english",  # the language switcher names each language in itself
    "isbn",
    "imei",
    "meid",
    "vin",
    "id",
    "sn",
    "uscc",
    "gb",
    "iso",
    "ieee",
    "nist",
    "sp",
    "co2e",
    "kg",
    "km",
    "cm",
    "mm",
    "tb",
    "mb",
    "cny",
    "pdf",
    "json",
    "csv",
    "xlsx",
    "api",
    "url",
    "qr",
    "ssd",
    "hdd",
    "nvme",
    "usb",
    "emmc",
    "ufs",
    "wi-fi",
    "wifi",
    "suv",
    "nwipe",
    "shred",
    "blancco",
    "stripe",
    "visa",
    "sha-256",
    "ed25519",
    "totp",
    "ical",  # the calendar format's name
    "m",
    # grade letters of the electronics standards ("B 级")
    "s",
    "a",
    "b",
    "c",
    "d",
    # body-defect codes of GB/T 30323-2013 ("HH 划痕")
    "hh",
    "bx",
    "xs",
    "lw",
    "ax",
    "xf",
    "rfc",
    # an erasure tool's product name
    "mobile",
    "diagnostics",
    "erasure",
}
# What the demo's people typed: any language goes there.
TYPED_BY_PEOPLE = [
    "marketplace.Listing",
    "marketplace.ElectronicsAttributes",
    "marketplace.FurnitureAttributes",
    "marketplace.BookAttributes",
    "marketplace.VehicleAttributes",
    "marketplace.Organisation",
    "marketplace.User",
    "wagtailcore.Page",
    "cms.HomePage",
    "cms.StandardPage",
    "cms.EventIndexPage",
    "cms.GradingStandardsPage",
    "cms.CreditPolicyPage",
    "cms.FleaMarketPage",
    "cms.FleaMarketDate",
    "cms.StallCapacity",
    "cms.StallType",
    "cms.StallAddOn",
    "cms.StallApplication",
    "cms.BookSwapPage",
    "cms.SwapDay",
    "cms.SwapBook",
    "cms.ConsignmentShopPage",
    "cms.ConsignmentEventPage",
]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")


class VisibleText(HTMLParser):
    """The text a reader sees (and hears: titles, alt texts, labels), without scripts."""

    SKIP = frozenset({"script", "style", "template", "svg", "noscript", "code", "pre", "kbd", "samp"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in {"title", "alt", "aria-label", "placeholder"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def words_typed_by_people() -> set[str]:
    words: set[str] = set()
    for label in TYPED_BY_PEOPLE:
        model = apps.get_model(label)
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if not field.choices and isinstance(field, models.CharField | models.TextField)
        ] + [field.attname for field in model._meta.concrete_fields if type(field).__name__ == "StreamField"]
        for row in model.objects.values_list(*fields):
            for value in row:
                words.update(word.lower() for word in WORD.findall(strip_tags(str(value or ""))))
    return words


def stray_english(html: str, allowed: set[str]) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    # URLs and e-mail addresses shown as text are addresses, not words.
    text = re.sub(r"\S+@\S+|https?://\S+|/[\w./-]+", " ", text)
    # Command-line options quoted in help texts (--trust) are code.
    text = re.sub(r"--[\w-]+(=\S*)?", " ", text)
    # Words with digits are codes: serial numbers, hashes, key ids, standards' numbers.
    return {word for word in WORD.findall(text) if word.lower() not in allowed and not any(c.isdigit() for c in word)}


def words_of_standard_sources() -> set[str]:
    """The standards' source notes cite foreign standards by their own names (CTIA
    "Wireless Device Grading Scales", AB Bookman's Weekly): allowed on the standards pages only."""
    words: set[str] = set()
    for document in apps.get_model("grading", "RuleSetVersion").objects.values_list("document", flat=True):
        words.update(word.lower() for word in WORD.findall((document.get("source") or {}).get("zh", "")))
        for citation in citations(document):
            if not citation.startswith("Platform rule"):  # ours: shown in the reader's language
                words.update(word.lower() for word in WORD.findall(citation))
    return words


def citations(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["citation"]] if isinstance(node.get("citation"), str) else []
        return found + [c for value in node.values() for c in citations(value)]
    if isinstance(node, list):
        return [c for value in node for c in citations(value)]
    return []


@pytest.mark.django_db
def test_the_main_pages_have_no_stray_english_in_chinese():
    call_command("seed_demo")
    cache.clear()
    allowed = ALLOWED | words_typed_by_people()
    buyer = User.objects.get(email="buyer@example.com")
    visitor, reader = Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    reader.force_login(buyer)

    pages: list[tuple[Client, str]] = [
        (visitor, "/"),
        (visitor, "/browse/"),
        (visitor, "/search/?q=%E6%89%8B%E6%9C%BA"),
        (visitor, "/grading/standards/"),
        (visitor, "/grading/standards/books/"),
        (visitor, "/grading/standards/furniture/"),
    ]
    for category in Category.values:
        listing = Listing.objects.filter(category=category, status=ListingStatus.PUBLISHED).order_by("pk").first()
        assert listing is not None, category
        pages.append((visitor, f"/listings/{listing.pk}/"))
        pages.append((visitor, f"/browse/?category={category}"))
    certificate = (
        apps.get_model("wipe_cert", "ErasureCertificate")
        .objects.exclude(provider_signature="")
        .filter(status="accepted")
        .first()
    )
    if certificate is not None:
        pages.append((visitor, f"/verify/{certificate.pk}/"))
    flea = apps.get_model("cms", "FleaMarketPage").objects.live().first()
    if flea is not None:
        pages.append((visitor, flea.url))
    order = Order.objects.filter(buyer=buyer).order_by("pk").first()
    if order is not None:
        pages.append((reader, f"/orders/{order.pk}/"))
    pages.append((reader, "/notifications/"))
    pages.append((reader, "/my/orders/"))

    found: dict[str, set[str]] = defaultdict(set)
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        here = allowed | words_of_standard_sources() if path.startswith("/grading/standards/") else allowed
        for word in stray_english(response.content.decode(), here):
            found[path].add(word)
    assert not found, "English on zh-hans pages:\n" + "\n".join(
        f"{path}: {', '.join(sorted(words))}" for path, words in sorted(found.items())
    )


@pytest.mark.parametrize(
    "html",
    [
        "<p>信用等级 good</p>",
        "<dd>laptop</dd>",
        "<td>nwipe_log</td>",
        '<a title="依据 electronics-mobile 1 评级">B 级</a>',
        '<span class="badge">很好 Very Good</span>',
        "<li>erased</li>",
    ],
)
def test_the_check_catches_raw_keys_and_untranslated_labels(html):
    assert stray_english(html, ALLOWED)


def test_the_check_lets_codes_units_and_addresses_through():
    html = (
        "<p>ISBN 978-7-02-000220-7 · 3 m · 12 kg · iCal · B 级</p><pre>python -m wipe_cert.verify</pre>"
        "<p>buyer@example.com /listings/1/ 核验（--trust）</p>"
    )
    assert stray_english(html, ALLOWED) == set()
