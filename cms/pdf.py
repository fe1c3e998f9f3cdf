"""The printable vendor list of a market date (PDF, A4). Chinese text uses reportlab's
built-in CID font STSong-Light, so no font file is needed."""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cms.models import FleaMarketDate, StallApplication
from marketplace.documents import para_text
from marketplace.templatetags.listing_tags import format_money

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def vendor_list_pdf(
    *, market_date: FleaMarketDate, vendors: Sequence[StallApplication], compress: bool = True
) -> bytes:
    font = _font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4)
    text_style = ParagraphStyle("text", fontName=font, fontSize=9.5, leading=12)
    market = market_date.market
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{market.title} {market_date.date:%Y-%m-%d}",
        author="Xunhuan",
        pageCompression=1 if compress else 0,
    )
    heading = _("Vendor list")
    when = f"{market_date.date:%Y-%m-%d} {market_date.opens:%H:%M}–{market_date.closes:%H:%M}"
    story = [
        Paragraph(f"{para_text(market.title)} · {para_text(heading)}", title_style),
        Paragraph(f"{when} · {para_text(market.venue or market.address)}", text_style),
        Spacer(1, 6 * mm),
    ]
    rows = [[_("Stall"), _("Vendor"), _("Stall type"), _("Add-ons"), _("Fee"), _("Paid"), _("Signature")]]
    for application in vendors:
        rows.append(
            [
                f"{application.stall_number or '—'}",
                Paragraph(para_text(application.vendor_name), text_style),
                Paragraph(para_text(application.stall_type), text_style),
                Paragraph(para_text(", ".join(add_on.name for add_on in application.add_ons.all()) or "—"), text_style),
                format_money(application.fee),
                (_("yes") + f" ({application.payment_reference})") if application.is_paid else _("no"),
                "",
            ]
        )
    if len(rows) == 1:
        rows.append(["", _("No approved vendors yet."), "", "", "", "", ""])
    table = Table(rows, colWidths=[14 * mm, 44 * mm, 32 * mm, 28 * mm, 20 * mm, 24 * mm, 18 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8efe9")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#7a8a7d")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f8f6")]),
            ]
        )
    )
    story.append(table)
    printed = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    story += [Spacer(1, 4 * mm), Paragraph(para_text(_("Printed %(when)s") % {"when": printed}), text_style)]
    document.build(story)
    return buffer.getvalue()
