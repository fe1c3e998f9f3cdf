"""Printable price tags of an intake batch (PDF, A4, 3 × 7 labels): item code, title,
price, grade and other badges when there are any, and a QR code to the listing page.
Chinese text uses reportlab's built-in CID font STSong-Light (no font file needed)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import segno
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from marketplace.consignment.models import ConsignmentItem
from marketplace.templatetags.listing_tags import format_money

FONT = "STSong-Light"
COLUMNS, ROWS = 3, 7
MARGIN_X, MARGIN_Y = 8 * mm, 10 * mm


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _qr_png(url: str) -> ImageReader:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=4, border=1)
    buffer.seek(0)
    return ImageReader(buffer)


def _fit(text: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def tags_pdf(
    *,
    items: Sequence[ConsignmentItem],
    listing_url: Callable[[ConsignmentItem], str],
    badges: dict[int, list[str]],
    shop_name: str,
    compress: bool = True,
) -> bytes:
    font = _font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1 if compress else 0)
    pdf.setTitle(_("Price tags"))
    pdf.setAuthor("Xunhuan")
    page_width, page_height = A4
    cell_w = (page_width - 2 * MARGIN_X) / COLUMNS
    cell_h = (page_height - 2 * MARGIN_Y) / ROWS
    qr_size = cell_h - 8 * mm
    for index, item in enumerate(items):
        slot = index % (COLUMNS * ROWS)
        if index and slot == 0:
            pdf.showPage()
        col, row = slot % COLUMNS, slot // COLUMNS
        x = MARGIN_X + col * cell_w
        y = page_height - MARGIN_Y - (row + 1) * cell_h
        pdf.setDash(2, 2)
        pdf.rect(x + 1 * mm, y + 1 * mm, cell_w - 2 * mm, cell_h - 2 * mm)
        pdf.setDash()
        pdf.drawImage(_qr_png(listing_url(item)), x + 3 * mm, y + 4 * mm, qr_size, qr_size)
        text_x = x + 5 * mm + qr_size
        text_w = cell_w - qr_size - 8 * mm
        top = y + cell_h - 7 * mm
        pdf.setFont(font, 8)
        pdf.drawString(text_x, top, _fit(shop_name, font, 8, text_w))
        pdf.setFont(font, 10)
        pdf.drawString(text_x, top - 5 * mm, item.item_code)
        pdf.setFont(font, 8.5)
        pdf.drawString(text_x, top - 10 * mm, _fit(item.listing.title, font, 8.5, text_w))
        pdf.setFont(font, 14)
        pdf.drawString(text_x, top - 17 * mm, format_money(item.listing.price, item.listing.currency))
        pdf.setFont(font, 7.5)
        labels = badges.get(item.listing_id, [])
        if labels:
            pdf.drawString(text_x, top - 22 * mm, _fit(" · ".join(labels), font, 7.5, text_w))
        if item.listing.price < item.original_price:
            was = _("was %(price)s") % {"price": format_money(item.original_price, item.listing.currency)}
            pdf.drawString(text_x, top - 26 * mm, _fit(was, font, 7.5, text_w))
    if not items:
        pdf.setFont(font, 12)
        pdf.drawString(MARGIN_X, page_height - MARGIN_Y - 10 * mm, _("No items in this batch."))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
