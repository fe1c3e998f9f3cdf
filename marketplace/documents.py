"""User text in generated documents, made inert: every PDF and spreadsheet export of every
app passes user-controlled values through these two helpers (no Django, no ReportLab).

- `para_text` for ReportLab `Paragraph`s, whose text is a mini-markup language: a name
  like `<img src="private-media/…"/>` would embed any file the server can read, and
  `<font name=x>` or an unclosed `<b>` makes the document fail. Escape the user parts
  only when a template wants markup of its own (bold etc.). Text drawn with the canvas'
  `drawString` is not parsed and needs no escaping.
- `csv_cell` for CSV and XLSX cells: text starting with = + - @ (or a tab or carriage
  return) would be run as a formula by spreadsheet programs, and openpyxl itself stores
  a string starting with = as a formula (OWASP "CSV injection").
- `xlsx_cell` for XLSX cells: `csv_cell`, and the control characters XML 1.0 cannot hold
  (openpyxl refuses them, which made the whole export fail) shown as U+FFFD."""

from __future__ import annotations

import re
from typing import TypeVar
from xml.sax.saxutils import escape

T = TypeVar("T")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The characters openpyxl's ILLEGAL_CHARACTERS_RE refuses: C0 controls but tab, LF and CR.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def para_text(value: object) -> str:
    """`value` as text for a ReportLab Paragraph, shown literally; None is empty."""
    if value is None:
        return ""
    return escape(str(value))


# ReportLab's built-in Chinese font STSong-Light (a CID font: no font file, nothing
# embedded) has no glyph for these dots: viewers draw a box. Its katakana middle dot
# looks the same and reads back as "·" when the text is copied or extracted.
CID_FONT_SUBSTITUTES = str.maketrans({"\u00b7": "\u30fb", "\u2022": "\u30fb", "\u2027": "\u30fb", "\u22c5": "\u30fb"})


def cid_text(value: str) -> str:
    """`value` with the characters STSong-Light lacks replaced by ones it has."""
    return value.translate(CID_FONT_SUBSTITUTES)


def csv_cell(value: T) -> T | str:
    """A spreadsheet cell that is never a formula: text starting with one of
    `FORMULA_STARTS` gets a leading single quote; other values are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_cell(value: T) -> T | str:
    """`csv_cell` for an XLSX cell, with characters XML cannot hold replaced by U+FFFD so
    the reader sees that something was there and the workbook can still be written."""
    if isinstance(value, str):
        value = XML_ILLEGAL.sub("\ufffd", value)  # type: ignore[assignment]
    return csv_cell(value)
