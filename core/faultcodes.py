"""GB/T 24476-2017 fault, event and alarm codes, with the cause class and severity liftwatch assumes
when a producer does not say.

Codes 01-08, 40-47 and 90 are the ones the standard's IoT records commonly carry; 91-93 are added by
many platforms; 94-99 are liftwatch's own extensions for what terminals also report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cause = Literal["equipment", "external", "misuse", "unknown"]
Severity = Literal["minor", "major", "critical"]
Category = Literal["fault", "event", "alarm"]

CAUSES: tuple[Cause, ...] = ("equipment", "external", "misuse", "unknown")
SEVERITIES: tuple[Severity, ...] = ("minor", "major", "critical")


@dataclass(frozen=True)
class FaultCode:
    """One code: what it means and how it counts by default."""

    code: str
    name_zh: str
    name_en: str
    category: Category
    cause: Cause
    severity: Severity
    source: Literal["GB/T 24476", "platform", "liftwatch"]


_CODES = [
    FaultCode(
        "01", "安全回路断路", "safety circuit open", "fault", "equipment", "major", "GB/T 24476"
    ),
    FaultCode("02", "关门故障", "door close fault", "fault", "equipment", "minor", "GB/T 24476"),
    FaultCode("03", "开门故障", "door open fault", "fault", "equipment", "minor", "GB/T 24476"),
    FaultCode(
        "04",
        "轿厢在开锁区域外停止",
        "stopped outside unlocking zone",
        "fault",
        "equipment",
        "major",
        "GB/T 24476",
    ),
    FaultCode(
        "05",
        "轿厢意外移动",
        "unintended car movement",
        "fault",
        "equipment",
        "critical",
        "GB/T 24476",
    ),
    FaultCode(
        "06",
        "电动机运转时间限制器动作",
        "motor run-time limiter tripped",
        "fault",
        "equipment",
        "major",
        "GB/T 24476",
    ),
    FaultCode(
        "07", "楼层位置丢失", "floor position lost", "fault", "equipment", "minor", "GB/T 24476"
    ),
    FaultCode(
        "08",
        "防止电梯再运行的故障",
        "restart prevented",
        "fault",
        "equipment",
        "major",
        "GB/T 24476",
    ),
    FaultCode("40", "恢复正常", "back to normal", "event", "unknown", "minor", "GB/T 24476"),
    FaultCode("41", "主电源断电", "main power off", "event", "external", "minor", "GB/T 24476"),
    FaultCode("42", "停止服务", "out of service", "event", "unknown", "minor", "GB/T 24476"),
    FaultCode(
        "43", "检修运行", "inspection (maintenance) mode", "event", "unknown", "minor", "GB/T 24476"
    ),
    FaultCode("44", "消防返回", "fire return", "event", "external", "minor", "GB/T 24476"),
    FaultCode(
        "45", "消防员运行", "firefighter operation", "event", "external", "minor", "GB/T 24476"
    ),
    FaultCode("46", "应急电源运行", "emergency power", "event", "external", "minor", "GB/T 24476"),
    FaultCode("47", "地震运行", "earthquake operation", "event", "external", "minor", "GB/T 24476"),
    FaultCode(
        "90", "报警按钮动作", "alarm button pressed", "alarm", "unknown", "minor", "GB/T 24476"
    ),
    FaultCode(
        "91", "蹲底", "buffer strike (car bottomed)", "fault", "equipment", "critical", "platform"
    ),
    FaultCode("92", "冲顶", "overtravel at top", "fault", "equipment", "critical", "platform"),
    FaultCode(
        "93",
        "平层关人",
        "passengers trapped at floor level",
        "fault",
        "equipment",
        "major",
        "platform",
    ),
    FaultCode(
        "94",
        "非平层关人",
        "passengers trapped off floor level",
        "fault",
        "equipment",
        "critical",
        "liftwatch",
    ),
    FaultCode(
        "95", "运行中开门", "door open while moving", "fault", "equipment", "critical", "liftwatch"
    ),
    FaultCode("96", "超速", "overspeed", "fault", "equipment", "critical", "liftwatch"),
    FaultCode(
        "97", "反复开关门", "repeated door cycling", "fault", "equipment", "minor", "liftwatch"
    ),
    FaultCode("98", "长时间阻挡门", "door held open", "event", "misuse", "minor", "liftwatch"),
    FaultCode("99", "电动车进入轿厢", "e-bike in car", "event", "misuse", "minor", "liftwatch"),
]

FAULT_CODES: dict[str, FaultCode] = {c.code: c for c in _CODES}
