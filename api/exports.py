"""Tables for meetings: CSV (UTF-8 with a BOM, so Excel shows Chinese) and XLSX, zh-CN or English.

Headers and coded values (flags, funding, yes/no) come from the one catalogue, ``core/i18n.py``,
so an export says exactly what the pages say; names are given in the reader's language beside the
codes. The rows are what ``queries`` returns, in its order.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.i18n import Lang, t

Format = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    """One exported column: the row's field, its header's catalogue key, and how values read.

    ``labels`` is the catalogue prefix of coded values (``flag`` for ``flag.stopped``); ``english``
    the field holding the English name, used in English when the register has one.
    """

    field: str
    header: str
    labels: str | None = None
    english: str | None = None


def pick_lang(lang: str | None, accept_language: str | None) -> Lang:
    """The explicit choice, else the best of zh/en in Accept-Language, else zh-CN."""
    if lang in ("zh-CN", "en"):
        return lang  # type: ignore[return-value]
    best: tuple[float, Lang] = (0.0, "zh-CN")
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        try:
            weight = float(params.strip().removeprefix("q=")) if params else 1.0
        except ValueError:
            continue
        tag = tag.strip().lower()
        choice: Lang | None = (
            "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        )
        if choice and weight > best[0]:
            best = (weight, choice)
    return best[1]


def _cell(column: Column, row: Mapping[str, Any], lang: Lang) -> Any:
    value = row.get(column.field)
    if column.english and lang == "en" and row.get(column.english):
        return row[column.english]
    if column.labels == "yes_no" and value is not None:
        return t(lang, "yes" if value else "no")
    if column.labels and value is not None:
        return t(lang, f"{column.labels}.{value}")
    if column.field == "reasons" and isinstance(value, list):
        sep, field = ("；", "zh") if lang == "zh-CN" else ("; ", "en")
        return sep.join(str(r.get(field) or "") for r in value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], lang: Lang
) -> tuple[list[str], list[list[Any]]]:
    """Headers in the language, and each row's cells with names and coded values translated."""
    headers = [t(lang, c.header) for c in columns]
    return headers, [[_cell(c, row, lang) for c in columns] for row in rows]


# What a spreadsheet reads as the start of a formula, including the full-width forms a Chinese
# input method types (OWASP, "CSV Injection"): a tab and a carriage return too.
_FORMULA_START = tuple("=+-@\t\r＝＋－＠")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should show it: text that would start a formula gets a leading
    single quote, so Excel, WPS and LibreOffice show it as text and never evaluate it. Register
    names come from files and forms anyone with a write token can fill."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    """CSV bytes in UTF-8 with a byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(["" if v is None else safe_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _display_width(value: Any) -> int:
    # Chinese characters take two columns of a spreadsheet's width unit, Latin ones one.
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def to_xlsx(headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """An XLSX workbook of one sheet: bold frozen header, an autofilter, columns sized to fit."""
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, header in enumerate(headers, start=1):
        # The header plus room for the filter button; values sampled from the first 200 rows.
        widest = max(
            [_display_width(header) + 4]
            + [_display_width(row[index - 1]) + 2 for row in rows[:200]]
        )
        sheet.column_dimensions[get_column_letter(index)].width = max(8, min(60, widest))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(fmt: Format, headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """The table in the chosen format."""
    return to_csv(headers, rows) if fmt == "csv" else to_xlsx(headers, rows, title=title)
