"""The commerce bureau's report (重点联系企业报表) as CSV and XLSX: every trade of the period
and area, one row per completed order, with no personal data; the XLSX adds a summary
sheet and the figures of the statistics providers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from marketplace.city.models import item_type_label
from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection
from marketplace.city.selectors import ExportRow, TradeSummary
from marketplace.documents import csv_cell, xlsx_cell
from marketplace.models import Category, DeliveryMethod


def yuan(amount: int) -> str:
    """Minor units as a decimal string, integer arithmetic only: 4500 → "45.00"."""
    sign = "-" if amount < 0 else ""
    whole, fen = divmod(abs(amount), 100)
    return f"{sign}{whole}.{fen:02d}"


def trade_headers() -> list[str]:
    return [
        _("Order"),
        _("Completed on"),
        _("Category"),
        _("Item type"),
        _("City"),
        _("District"),
        _("Amount (minor units)"),
        _("Amount"),
        _("Currency"),
        _("Seller"),
        _("Delivery"),
    ]


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def trade_cells(row: ExportRow) -> list[Any]:
    return [
        row.order_id,
        row.completed_on.isoformat(),
        _label(Category, row.category),
        item_type_label(row.category, row.item_type),
        row.city,
        row.district,
        row.amount,
        yuan(row.amount),
        row.currency,
        _("Organisation") if row.seller_kind == "organisation" else pgettext("seller kind", "Individual"),
        _label(DeliveryMethod, row.delivery),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[ExportRow]) -> Iterator[str]:
    """The trades as CSV, a line at a time (for a streaming response). A byte-order mark
    first, so spreadsheet programs read the Chinese text as UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(trade_headers())
    for row in rows:
        yield writer.writerow([csv_cell(cell) for cell in trade_cells(row)])


MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


def _xlsx_money(sheet: Any, amount: int) -> Any:
    """Minor units as a number of yuan (exact: a Decimal, never a float in our code) shown
    with two decimals, so a spreadsheet can add the column up."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=Decimal(amount) / 100)
    cell.number_format = MONEY_FORMAT
    return cell


def _xlsx_date(sheet: Any, day: dt.date) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=day)
    cell.number_format = DATE_FORMAT
    return cell


def _xlsx_trade_cells(sheet: Any, row: ExportRow) -> list[Any]:
    """The CSV's cells with the date a date and the amount in yuan a number."""
    cells: list[Any] = [xlsx_cell(cell) for cell in trade_cells(row)]
    cells[1] = _xlsx_date(sheet, row.completed_on)
    cells[7] = _xlsx_money(sheet, row.amount)
    return cells


def xlsx_bytes(
    *, period: Period, area: Area, summary: TradeSummary, rows: Iterable[ExportRow], sections: list[StatsSection]
) -> bytes:
    """Sheets: Summary (totals by category, month and place computed from the trades
    themselves, so they always agree; rates from the nightly figures), Trades, then one
    sheet per statistics provider."""
    from openpyxl import Workbook

    trades = list(rows)
    by_category: dict[str, list[int]] = {}
    by_month: dict[str, list[int]] = {}
    by_place: dict[str, list[int]] = {}
    totals: dict[str, int] = {}
    for row in trades:
        for table, key in (
            (by_category, _label(Category, row.category)),
            (by_month, row.completed_on.strftime("%Y-%m")),
            (by_place, f"{row.city} {row.district}".strip()),
        ):
            cell = table.setdefault(key, [0, 0])
            cell[0] += 1
            cell[1] += row.amount if row.currency == "CNY" else 0
        totals[row.currency] = totals.get(row.currency, 0) + row.amount

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Summary")[:31])
    sheet.append([_("Period"), _xlsx_date(sheet, period.start), _xlsx_date(sheet, period.end)])
    sheet.append([_("Area"), xlsx_cell(str(area)) or _("Everywhere")])
    sheet.append([_("Trades"), len(trades)])
    for currency, value in sorted(totals.items()):
        sheet.append([_("Value (%(currency)s)") % {"currency": currency}, _xlsx_money(sheet, value)])
    for title, table in ((_("Category"), by_category), (_("Month"), by_month), (_("City and district"), by_place)):
        sheet.append([])
        sheet.append([title, _("Trades"), _("Value (CNY)")])
        for key, (count, value) in sorted(table.items()):
            sheet.append([xlsx_cell(key), count, _xlsx_money(sheet, value)])
    sheet.append([])
    sheet.append([_("From the nightly figures")])
    sheet.append([_("Category"), _("Median days to sell"), _("Return rate %"), _("Dispute rate %")])
    for figures in summary.by_category:
        sheet.append([xlsx_cell(figures.label), figures.median_days_to_sell, figures.return_rate, figures.dispute_rate])

    trade_sheet = book.create_sheet(_("Trades")[:31])
    trade_sheet.append(trade_headers())
    for row in trades:
        trade_sheet.append(_xlsx_trade_cells(trade_sheet, row))

    for section in sections:
        extra = book.create_sheet(section.title[:31])
        for provided in section.tables:
            extra.append([xlsx_cell(provided.title)])
            extra.append([xlsx_cell(header) for header in provided.headers])
            for cells in provided.rows:
                extra.append(
                    [
                        cell if isinstance(cell, int | float | Decimal | dt.date) else xlsx_cell(str(cell))
                        for cell in cells
                    ]
                )
            extra.append([])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
