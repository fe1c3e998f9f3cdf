"""The printable erasure certificate: what was erased and how, with masked identifiers,
the payload's SHA-256 fingerprint and a QR code leading to the public verification page.

Chinese text uses reportlab's built-in CID font STSong-Light (no font files needed; the
few characters it lacks, such as "·", are swapped for look-alikes it has: see
marketplace.documents.cid_text); identifiers, the fingerprint and the URL use the
standard Latin fonts. Page streams are left uncompressed so the fingerprint can be found
in the file with any text search."""

from __future__ import annotations

import io
from typing import Any

import segno
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from marketplace.documents import cid_text, para_text
from wipe_cert.models import ErasureCertificate
from wipe_cert.presentation import MASK, STATUS_LABELS, device_display, medium_rows, parse_time, plain_payload
from wipe_cert.services import revocation_text

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
MONO_FONT = "Courier"
QR_SIZE = 38 * mm


def _register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def qr_png(url: str) -> bytes:
    """The verification URL as a QR code (PNG)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


class QRCode(Flowable):
    def __init__(self, png: bytes, size: float):
        super().__init__()
        self.image = ImageReader(io.BytesIO(png))
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        self.canv.drawImage(self.image, 0, 0, width=self.size, height=self.size)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=CJK_FONT, fontSize=9.5, leading=13, wordWrap="CJK")
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, spaceAfter=4),
        "status": ParagraphStyle("status", parent=base, fontSize=13, leading=18, spaceAfter=6),
        "label": ParagraphStyle("label", parent=base, textColor=colors.HexColor("#56635c")),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "latin": ParagraphStyle("latin", parent=base, fontName=LATIN_FONT, wordWrap=None),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO_FONT, fontSize=8.5, wordWrap=None),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """Every paragraph of the certificate is plain text: no markup, shown literally; in
    the Chinese font, with the dots it lacks replaced by one it has."""
    shown = para_text(text)
    return Paragraph(cid_text(shown) if style.fontName == CJK_FONT else shown, style)


def _latin(text: Any) -> str:
    """Masked identifiers in the Latin fonts, whose encoding has no "•"."""
    return str(text).replace(MASK, "****")


def _when(value: Any) -> str:
    moment = parse_time(value) if isinstance(value, str) else value
    if moment is None:
        return "—"
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def certificate_pdf(certificate: ErasureCertificate, *, status: str, verify_url: str) -> bytes:
    """The certificate as a one-page PDF. `status` is the public status to print (see
    wipe_cert.presentation.display_status)."""
    _register_fonts()
    styles = _styles()
    payload = plain_payload(certificate)
    provider = payload.get("provider") or {}
    technician = payload.get("technician") or {}
    device = device_display(payload.get("device") or {}, full=False)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("Data-erasure certificate"),
        author=str(provider.get("name", "")),
        invariant=1,
        pageCompression=0,
    )
    heading = Table(
        [
            [
                [
                    _p(_("Data-erasure certificate"), styles["title"]),
                    _p(
                        _("Status: %(status)s") % {"status": STATUS_LABELS.get(status, status)},
                        styles["status"],
                    ),
                    _p(_("Certificate %(id)s") % {"id": certificate.pk}, styles["small"]),
                    *([_p(revocation, styles["body"])] if (revocation := revocation_text(certificate)) else []),
                ],
                QRCode(qr_png(verify_url), QR_SIZE),
            ]
        ],
        colWidths=[None, QR_SIZE + 4 * mm],
    )
    heading.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))

    identifiers = [
        (_("Serial number"), device.get("serial")),
        (_("IMEI"), ", ".join(device.get("imeis") or [])),
        (_("MEID"), device.get("meid")),
    ]
    facts: list[list[Any]] = [
        [_p(_("Erasure provider"), styles["label"]), _p(provider.get("name", ""), styles["body"])],
        [
            _p(_("Unified social credit code"), styles["label"]),
            _p(provider.get("uscc", ""), styles["latin"]),
        ],
        [
            _p(_("Technician"), styles["label"]),
            _p(f"{technician.get('name', '')} · {technician.get('credential', '')}", styles["body"]),
        ],
        [_p(_("Issued"), styles["label"]), _p(_when(payload.get("issued_at")), styles["body"])],
        [
            _p(_("Device"), styles["label"]),
            _p(" ".join(str(device.get(key, "")) for key in ("maker", "model")).strip(), styles["body"]),
        ],
        *[[_p(label, styles["label"]), _p(_latin(value), styles["latin"])] for label, value in identifiers if value],
    ]
    facts_table = Table(facts, colWidths=[48 * mm, None])
    facts_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))

    media_head = [
        _p(text, styles["label"])
        for text in (_("Medium"), _("Technique"), _("Method and passes"), _("Verification"), _("Tool"), _("Ended"))
    ]
    media_rows = [media_head]
    for medium in medium_rows(payload.get("media") or [], full=False):
        passes = medium.get("passes")
        method = " · ".join(
            str(part)
            for part in (
                medium.get("method_name"),
                ngettext("%(count)s pass", "%(count)s passes", passes) % {"count": passes}
                if passes is not None
                else None,
            )
            if part
        )
        media_rows.append(
            [
                _p(_latin(" ".join(str(p) for p in (medium.get("type"), medium.get("serial")) if p)), styles["latin"]),
                _p(f"{medium['technique_label']} ({medium['nist_label']})", styles["body"]),
                _p(method or "—", styles["body"]),
                _p(f"{medium['verification_method_label']}: {medium['verification_result_label']}", styles["body"]),
                _p(medium["tool_label"] or "—", styles["body"]),
                _p(_when(medium.get("ended")), styles["body"]),
            ]
        )
    media_table = Table(media_rows, repeatRows=1, colWidths=[34 * mm, 30 * mm, 32 * mm, 28 * mm, 26 * mm, None])
    media_table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#56635c")),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#d5ddd8")),
            ]
        )
    )

    story: list[Flowable] = [
        heading,
        Spacer(1, 6 * mm),
        facts_table,
        Spacer(1, 6 * mm),
        _p(_("Storage media"), styles["status"]),
        media_table,
        Spacer(1, 8 * mm),
        _p(_("Payload fingerprint (SHA-256 of the RFC 8785 canonical JSON)"), styles["label"]),
        _p(certificate.payload_sha256 or "—", styles["mono"]),
        Spacer(1, 3 * mm),
        _p(_("Verify this certificate"), styles["label"]),
        _p(verify_url, styles["mono"]),
        Spacer(1, 3 * mm),
        _p(
            _(
                "Scan the QR code or open the address to see the current status. Serial numbers and IMEIs are "
                "shown with their last four characters only. The provider, the seller and staff can download the "
                "signed bundle and check it offline with: python -m wipe_cert.verify FILE.json"
            ),
            styles["small"],
        ),
    ]
    document.build(story)
    return out.getvalue()
