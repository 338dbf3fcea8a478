"""Tables for meetings: CSV (UTF-8 with a BOM, so Excel shows Chinese) and XLSX, zh-CN or English."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Lang = Literal["zh-CN", "en"]
Format = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# column key -> (zh-CN header, English header)
HEADERS: dict[str, tuple[str, str]] = {
    "rank": ("排名", "Rank"),
    "unit_id": ("电梯编号", "Unit"),
    "registration_code": ("注册代码", "Registration code"),
    "district_id": ("区编码", "District"),
    "street_office_id": ("街道编码", "Street office"),
    "community_id": ("小区编码", "Community"),
    "community": ("小区", "Community name"),
    "building_id": ("楼栋编码", "Building"),
    "building_name": ("楼栋", "Building name"),
    "contractor_id": ("维保单位编码", "Contractor"),
    "flag": ("处置建议", "Flag"),
    "risk": ("风险值", "Risk"),
    "health": ("劣化指数", "Deterioration index"),
    "pof": ("故障概率", "Probability of failure"),
    "cof": ("失效后果", "Consequence of failure"),
    "reasons": ("主要原因", "Main reasons"),
    "floors": ("层数", "Floors"),
    "households": ("户数", "Households"),
    "residents": ("居民人数", "Residents"),
    "elderly_share": ("60岁以上占比", "Share aged 60+"),
    "units": ("电梯数", "Units"),
    "units_in_service": ("在用电梯数", "Units in service"),
    "another_serves": ("停一台后仍有电梯", "Another elevator still serves"),
    "fund_status": ("维修资金状态", "Maintenance fund"),
    "fund_balance": ("维修资金余额(元)", "Fund balance (yuan)"),
    "top_rank": ("最高排名", "Best rank"),
    "max_risk": ("最高风险值", "Highest risk"),
    "worst_flag": ("最严重处置建议", "Most serious flag"),
}

VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "flag": {
        "stopped": ("已停用", "stopped"),
        "replace_or_overhaul": ("建议更新或大修", "replace or overhaul"),
        "safety_assessment": ("建议安全评估", "safety assessment"),
        "watch": ("重点关注", "watch"),
        "ok": ("正常", "ok"),
    },
    "fund_status": {
        "funded": ("充足", "funded"),
        "insufficient": ("不足", "insufficient"),
        "none": ("无", "none"),
    },
    "another_serves": {"True": ("是", "yes"), "False": ("否", "no")},
}
VALUES["worst_flag"] = VALUES["flag"]


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


def _cell(key: str, value: Any, lang: Lang) -> Any:
    i = 0 if lang == "zh-CN" else 1
    if key in VALUES and value is not None:
        names = VALUES[key].get(str(value))
        return names[i] if names else value
    if key == "reasons" and isinstance(value, list):
        sep, field = ("；", "zh") if lang == "zh-CN" else ("; ", "en")
        return sep.join(str(r.get(field) or "") for r in value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], lang: Lang
) -> tuple[list[str], list[list[Any]]]:
    """Headers in the language, and each row's cells with coded values translated."""
    i = 0 if lang == "zh-CN" else 1
    headers = [HEADERS[c][i] for c in columns]
    return headers, [[_cell(c, row.get(c), lang) for c in columns] for row in rows]


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


def to_xlsx(headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """An XLSX workbook of one sheet with a frozen, bold header row."""
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
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(
            10, min(40, len(header) * 2 + 2)
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(fmt: Format, headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """The table in the chosen format."""
    return to_csv(headers, rows) if fmt == "csv" else to_xlsx(headers, rows, title=title)
