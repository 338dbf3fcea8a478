"""The fleet register file: one row per elevator unit, as a housing bureau keeps it in a spreadsheet.

Headers may be English or Chinese (both are listed below and in docs/register.md). Building,
community, street office and district facts repeat on every row of a unit in them; they must agree.
A row whose unit columns (UNIT_KEYS) are all empty describes a building alone: a walk-up with no
elevator yet, which the retrofit ranking reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.contracts import is_identifier
from core.i18n import Lang, t


class CellError(ValueError):
    """A cell that cannot be read: ``key`` names the reason in core/i18n.py ("register.cell.*"),
    ``values`` fill it in."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(t("en", f"register.cell.{key}", **values))
        self.key = key
        self.values = values


def _text(value: Any) -> str:
    return str(value).strip()


def _identifier(value: Any) -> str:
    text = _text(value)
    if not is_identifier(text):
        raise CellError("identifier")
    return text


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise CellError("whole_number", lo=lo, hi=hi) from None
        if number != number.to_integral_value() or not lo <= number <= hi:
            raise CellError("whole_number", lo=lo, hi=hi)
        return int(number)

    return parse


def _decimal(lo: float, hi: float) -> Callable[[Any], Decimal]:
    def parse(value: Any) -> Decimal:
        text = str(value).strip().replace(",", "").removeprefix("¥")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError("number", lo=lo, hi=hi) from None
        if not lo <= number <= hi:
            raise CellError("number", lo=lo, hi=hi)
        return number

    return parse


def _share(value: Any) -> Decimal:
    """A share as 0.35, 35% or 35 (read as percent when above 1)."""
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise CellError("share") from None
    if percent or number > 1:
        number = number / 100
    if not 0 <= number <= 1:
        raise CellError("share_range")
    return number.quantize(Decimal("0.001"))


_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_RE.match(_text(value))
    if not match:
        raise CellError("date")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError("real_date") from None


def _degrees(limit: int, reason: str) -> Callable[[Any], Decimal]:
    def parse(value: Any) -> Decimal:
        try:
            number = Decimal(str(value).strip().rstrip("°"))
        except InvalidOperation:
            raise CellError(reason, limit=limit) from None
        if not number.is_finite() or not -limit <= number <= limit:
            raise CellError(reason, limit=limit)
        return number.quantize(Decimal("0.000001"))

    return parse


def _choice(options: dict[str, str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        key = _text(value).lower()
        if key not in options:
            shown = sorted(
                {k for k in options if k.isascii()} | {k for k in options if not k.isascii()}
            )
            raise CellError("choice", options=", ".join(shown))
        return options[key]

    return parse


FUND_STATUS = {
    "funded": "funded",
    "充足": "funded",
    "已缴": "funded",
    "insufficient": "insufficient",
    "不足": "insufficient",
    "none": "none",
    "无": "none",
    "未缴": "none",
    "用尽": "none",
}
DRIVE_TYPE = {
    "traction": "traction",
    "曳引": "traction",
    "曳引式": "traction",
    "hydraulic": "hydraulic",
    "液压": "hydraulic",
    "液压式": "hydraulic",
    "other": "other",
    "其他": "other",
}
SERVICE_STATUS = {
    "in_service": "in_service",
    "在用": "in_service",
    "stopped": "stopped",
    "停用": "stopped",
    "under_renewal": "under_renewal",
    "改造中": "under_renewal",
    "更新改造中": "under_renewal",
    "retired": "retired",
    "报废": "retired",
}


@dataclass(frozen=True)
class Column:
    """One register column: its key, English and Chinese headers, whether required, its parser."""

    key: str
    zh: str
    required: bool
    parse: Callable[[Any], Any]
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("district_id", "区编码", True, _identifier, "district code, e.g. 110108"),
    Column("district", "区", True, _text, "district name, e.g. 海淀区"),
    Column("street_office_id", "街道编码", True, _identifier, "street office code"),
    Column("street_office", "街道", True, _text, "street office name"),
    Column("community_id", "小区编码", True, _identifier, "community (compound) code"),
    Column("community", "小区", True, _text, "community name"),
    Column("building_id", "楼栋编码", True, _identifier, "building code, unique in the district"),
    Column("building", "楼栋", True, _text, "building name, e.g. 2号楼"),
    Column("floors", "层数", True, _int(1, 200), "floors above ground"),
    Column("households", "户数", True, _int(0, 100000), "households in the building"),
    Column("residents", "居民人数", False, _int(0, 1000000), "residents in the building"),
    Column("elderly_share", "60岁以上占比", False, _share, "share of residents aged 60+"),
    Column("year_built", "建成年份", False, _int(1900, 2100), "year the building was built"),
    Column("property_unit", "产权单位", False, _text, "property-rights unit"),
    Column(
        "fund_status", "维修资金状态", False, _choice(FUND_STATUS), "funded / insufficient / none"
    ),
    Column(
        "fund_balance", "维修资金余额", False, _decimal(0, 1e12), "maintenance fund balance, yuan"
    ),
    Column("unit_id", "电梯编号", True, _identifier, "unit id used in MQTT topics"),
    Column("registration_code", "注册代码", True, _identifier, "registration code (使用登记)"),
    Column("manufacturer", "制造单位", True, _text, "manufacturer"),
    Column("model", "型号", False, _text, "model"),
    Column("installed_on", "安装日期", True, _date, "installation date"),
    Column("renewed_on", "最近大修改造日期", False, _date, "last major renewal, if any"),
    Column("rated_load_kg", "额定载重量", False, _int(50, 20000), "rated load, kg"),
    Column("rated_speed_mps", "额定速度", False, _decimal(0.05, 20), "rated speed, m/s"),
    Column("stops", "层站数", False, _int(1, 200), "number of stops"),
    Column("drive_type", "驱动方式", False, _choice(DRIVE_TYPE), "traction / hydraulic / other"),
    Column("contractor_id", "维保单位编码", True, _identifier, "maintaining contractor code"),
    Column("contractor", "维保单位", True, _text, "maintaining contractor name"),
    Column("contractor_since", "维保起始日期", False, _date, "when this contractor took over"),
    Column(
        "service_status",
        "使用状态",
        False,
        _choice(SERVICE_STATUS),
        "in_service / stopped / under_renewal / retired",
    ),
)

# Optional facts the renewal planner reads (funding, consent, the latest safety assessment).
ASSESSMENT_ACTION = {
    "replace": "replace",
    "更新": "replace",
    "整梯更新": "replace",
    "modernize": "modernize",
    "改造": "modernize",
    "overhaul": "overhaul",
    "大修": "overhaul",
}
PLANNING_COLUMNS: tuple[Column, ...] = (
    Column("floor_area_m2", "建筑面积", False, _decimal(1, 1e8), "building floor area, m²"),
    Column("collection_rate", "业主缴费比例", False, _share, "share of households that have paid"),
    Column(
        "collection_expected_on",
        "预计缴费达标日期",
        False,
        _date,
        "when collection is expected to pass the threshold",
    ),
    Column(
        "fund_vote_on",
        "维修资金表决日期",
        False,
        _date,
        "owners' vote to use the maintenance fund: passed on, or expected on",
    ),
    Column("consent_share", "加装电梯同意比例", False, _share, "residents' consent to a retrofit"),
    Column("assessment_on", "安全评估日期", False, _date, "latest safety assessment (GB/T 42615)"),
    Column(
        "assessment_action",
        "评估建议措施",
        False,
        _choice(ASSESSMENT_ACTION),
        "replace / modernize / overhaul, as the assessment recommends",
    ),
)
# Where a building stands, for the map: degrees, both or neither (docs/register.md says which datum).
MAP_COLUMNS: tuple[Column, ...] = (
    Column("lat", "纬度", False, _degrees(90, "latitude"), "building latitude, degrees north"),
    Column("lon", "经度", False, _degrees(180, "longitude"), "building longitude, degrees east"),
)
COLUMNS = COLUMNS + PLANNING_COLUMNS + MAP_COLUMNS

# The columns of a unit: a row with all of them empty describes its building only.
UNIT_KEYS = frozenset(
    {
        "unit_id",
        "registration_code",
        "manufacturer",
        "model",
        "installed_on",
        "renewed_on",
        "rated_load_kg",
        "rated_speed_mps",
        "stops",
        "drive_type",
        "contractor_id",
        "contractor",
        "contractor_since",
        "service_status",
        "assessment_on",
        "assessment_action",
    }
)

BY_HEADER: dict[str, Column] = {c.key: c for c in COLUMNS} | {c.zh: c for c in COLUMNS}
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}


def header_lang(headers: Iterable[Any]) -> Lang | None:
    """The language of a file's headers: zh-CN when most known ones are Chinese; None if none is."""
    names = [str(h).strip() for h in headers if h is not None]
    chinese = sum(1 for n in names if n in _ZH)
    english = sum(1 for n in names if n.lower() in _EN)
    if chinese == english == 0:
        return None
    return "zh-CN" if chinese > english else "en"


_ZH = {c.zh for c in COLUMNS}
_EN = {c.key for c in COLUMNS}
