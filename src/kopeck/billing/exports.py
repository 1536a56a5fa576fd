"""The XLSX export of a billing run: a workbook with the sheet "Lines" (one row per item line, the
columns of the CSV export: :data:`kopeck.billing.services.CSV_COLUMNS`) and the sheet "Summary"
(the run and its stored summary: counts, totals by currency and charges by VAT rate).

The workbook is written with openpyxl in write-only mode: rows are streamed from
:func:`kopeck.billing.services.run_lines` (one chunk of items in memory) to openpyxl's temporary
files, so memory stays flat however many lines a run has. Amounts are numbers (``Decimal``, never
float) formatted with the currency's minor units (2 decimals for RUB, USD, EUR), period dates are
dates, ids are integers. Headers and labels follow the active language (Russian or English); the
sheet names and the cells' values (statuses, kinds, codes) are the same in both.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.services import CSV_COLUMNS, run_lines
from kopeck.core.money import Currency, MoneyError

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINES_SHEET = "Lines"
SUMMARY_SHEET = "Summary"
DATE_FORMAT = "yyyy-mm-dd"
MAX_TEXT = 32767  # Excel's limit for one cell
SPOOL_BYTES = 8 * 1024 * 1024  # an export up to this size stays in memory, a larger one goes to disk

COLUMN_LABELS: dict[str, Promise] = {
    "client_id": _("client id"),
    "client": _("client"),
    "subscription_id": _("subscription id"),
    "status": _("status"),
    "kind": _("kind"),
    "component": _("component"),
    "period_start": _("period start"),
    "period_end": _("period end (exclusive)"),
    "amount": _("amount"),
    "currency": _("currency"),
    "vat_rate": _("VAT rate"),
    "explanation_ru": _("explanation (Russian)"),
    "explanation_en": _("explanation (English)"),
    "error": _("error"),
}
INT_COLUMNS = frozenset({"client_id", "subscription_id"})
DATE_COLUMNS = frozenset({"period_start", "period_end"})
WIDTHS = {"client": 30, "component": 18, "period_start": 12, "period_end": 12, "amount": 14,
          "explanation_ru": 60, "explanation_en": 60, "error": 40}
BOLD = Font(bold=True)


def xlsx_filename(run: BillingRun) -> str:
    return f"billing-run-{run.pk}.xlsx"


def amount_format(currency: str) -> str:
    """The number format of an amount in ``currency``: its minor units (2 when unknown)."""
    try:
        digits = Currency.of(currency).minor_units
    except MoneyError:
        digits = 2
    return "#,##0." + "0" * digits if digits else "#,##0"


def _text(value: Any) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:MAX_TEXT]


def _cell(ws: WriteOnlyWorksheet, value: Any, number_format: str | None = None, *, bold: bool = False) -> Cell:
    """A cell holding ``value``: text is always text (a leading ``=`` never becomes a formula)."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        value = _text(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"
    elif isinstance(value, Decimal) and value.is_finite():
        # openpyxl writes numbers with "%.16g", through a float (99999999999.99 -> 99999999999.99001):
        # keep the number type and write the exact decimal text instead.
        cell._value = format(value, "f")  # type: ignore[attr-defined]
    if number_format is not None:
        cell.number_format = number_format
    if bold:
        cell.font = BOLD
    return cell


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _line_cells(ws: WriteOnlyWorksheet, row: Mapping[str, Any], columns: list[str]) -> list[Cell]:
    cells = []
    for column in columns:
        value = row.get(column, "")
        if value in (None, ""):
            cells.append(_cell(ws, None))
        elif column in INT_COLUMNS and str(value).isdigit():
            cells.append(_cell(ws, int(value)))
        elif column in DATE_COLUMNS:
            try:
                cells.append(_cell(ws, dt.date.fromisoformat(str(value)), DATE_FORMAT))
            except ValueError:
                cells.append(_cell(ws, value))
        elif column == "amount" and (amount := _decimal(value)) is not None:
            cells.append(_cell(ws, amount, amount_format(str(row.get("currency") or ""))))
        else:
            cells.append(_cell(ws, value))
    return cells


def _write_lines(wb: Workbook, rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    ws = wb.create_sheet(LINES_SHEET)
    for index, column in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column, 10)
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, COLUMN_LABELS.get(column, column), bold=True) for column in columns])
    for row in rows:
        ws.append(_line_cells(ws, row, columns))


def _write_summary(wb: Workbook, run: BillingRun) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 16
    summary = run.summary or {}

    def label(text: Promise) -> Cell:
        return _cell(ws, text, bold=True)

    ws.append([label(_("billing run")), _cell(ws, run.pk)])
    ws.append([label(_("billing date")), _cell(ws, run.billing_date, DATE_FORMAT)])
    ws.append([label(_("mode")), _cell(ws, RunMode(run.mode).label if run.mode in RunMode.values else run.mode)])
    ws.append([label(_("status")),
               _cell(ws, RunStatus(run.status).label if run.status in RunStatus.values else run.status)])
    for key, text in (("clients", _("clients")), ("subscriptions", _("subscriptions")), ("charges", _("charges")),
                      ("credits", _("credits")), ("errors", _("errors"))):
        ws.append([label(text), _cell(ws, int(summary.get(key, 0) or 0))])
    ws.append([])
    ws.append([label(_("totals by currency"))])
    ws.append([label(_("currency")), label(_("amount"))])
    for currency, total in dict(summary.get("totals_by_currency") or {}).items():
        ws.append([_cell(ws, currency), _cell(ws, _decimal(total), amount_format(currency))])
    ws.append([])
    ws.append([label(_("charges by VAT rate"))])
    ws.append([label(_("currency")), label(_("VAT rate")), label(_("amount"))])
    for currency, rates in dict(summary.get("totals_by_vat_rate") or {}).items():
        for rate, total in dict(rates).items():
            ws.append([_cell(ws, currency), _cell(ws, rate), _cell(ws, _decimal(total), amount_format(currency))])


def write_xlsx(run: BillingRun, target: IO[bytes], rows: Iterable[Mapping[str, Any]] | None = None) -> None:
    """Write the run's workbook to the binary file-like ``target`` (``rows``: the lines, default
    :func:`run_lines` of the run — streamed, never held in memory)."""
    wb = Workbook(write_only=True)
    _write_lines(wb, run_lines(run) if rows is None else rows, list(CSV_COLUMNS))
    _write_summary(wb, run)
    wb.save(target)


def run_export_xlsx_file(run: BillingRun) -> IO[bytes]:
    """The run's workbook in a temporary file (in memory up to :data:`SPOOL_BYTES`, then on
    disk), positioned at its start; the caller closes it (a ``FileResponse`` does)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    try:
        write_xlsx(run, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def run_export_xlsx(run: BillingRun) -> bytes:
    """The run's workbook as bytes (see :func:`write_xlsx`)."""
    with run_export_xlsx_file(run) as fh:
        return fh.read()
