"""Charts as server-rendered SVG: no JavaScript, no chart library, nothing inline that a
strict Content Security Policy would refuse (presentation attributes only, no style="").
Pure: labels and numbers in, escaped SVG markup out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

BAR_COLOUR = "#2f7d5b"
AXIS_COLOUR = "#6b7280"
TEXT_COLOUR = "#1f2937"


def _fmt(value: int) -> str:
    return f"{value:,}"


def bar_chart(
    rows: Sequence[tuple[str, int]],
    *,
    title: str,
    value_label: Callable[[int], str] = _fmt,
    width: int = 560,
    bar_height: int = 22,
) -> str:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    label_width = 150
    value_width = 110
    gap = 6
    top = 8
    height = top + max(len(rows), 1) * (bar_height + gap) + 4
    usable = width - label_width - value_width
    largest = max((value for _, value in rows), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="city-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text x="0" y="{top + 14}" fill="{AXIS_COLOUR}" font-size="13">–</text>')
    for index, (label, value) in enumerate(rows):
        y = top + index * (bar_height + gap)
        length = 0 if largest <= 0 else max(round(usable * value / largest), 1 if value > 0 else 0)
        text_y = y + bar_height * 0.7
        parts.append(
            f'<text x="{label_width - 6}" y="{text_y:.1f}" text-anchor="end" fill="{TEXT_COLOUR}" '
            f'font-size="13">{escape(str(label))}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" fill="{BAR_COLOUR}">'
            f"<title>{escape(str(label))}: {escape(value_label(value))}</title></rect>"
        )
        parts.append(
            f'<text x="{label_width + length + 6}" y="{text_y:.1f}" fill="{TEXT_COLOUR}" '
            f'font-size="12">{escape(value_label(value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    rows: Sequence[tuple[str, int]],
    *,
    title: str,
    value_label: Callable[[int], str] = _fmt,
    height: int = 220,
    column_width: int = 34,
) -> str:
    """Vertical columns in order (months), labels underneath."""
    gap = 10
    left = 8
    bottom = 36
    top = 22
    width = left + max(len(rows), 1) * (column_width + gap) + 8
    usable = height - top - bottom
    largest = max((value for _, value in rows), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="city-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" stroke="{AXIS_COLOUR}"/>',
    ]
    for index, (label, value) in enumerate(rows):
        x = left + index * (column_width + gap)
        length = 0 if largest <= 0 else max(round(usable * value / largest), 1 if value > 0 else 0)
        y = height - bottom - length
        centre = x + column_width / 2
        parts.append(
            f'<rect x="{x}" y="{y}" width="{column_width}" height="{length}" fill="{BAR_COLOUR}">'
            f"<title>{escape(str(label))}: {escape(value_label(value))}</title></rect>"
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{y - 4}" text-anchor="middle" fill="{TEXT_COLOUR}" '
            f'font-size="10">{escape(value_label(value))}</text>'
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{height - bottom + 14}" text-anchor="middle" fill="{TEXT_COLOUR}" '
            f'font-size="11">{escape(str(label))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
