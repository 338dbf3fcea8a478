"""Every word liftwatch shows people (pages, exports, the report, CLI errors, rejection reasons),
in Simplified Chinese and English: the one catalogue.

Pages pick a language from an explicit choice (query or cookie), else the browser's
Accept-Language, else Chinese, the language of the people who use liftwatch most.
"""

from __future__ import annotations

import os
from typing import Literal

Lang = Literal["zh-CN", "en"]
LANGS: tuple[Lang, ...] = ("zh-CN", "en")
DEFAULT_LANG: Lang = "zh-CN"

STRINGS: dict[Lang, dict[str, str]] = {
    "zh-CN": {
        "app": "电梯安全监测",
        "lang.switch": "English",
        "nav.overview": "全区概览",
        "nav.age": "梯龄与故障率",
        "nav.sign_out": "退出",
        "sign_in.title": "登录",
        "sign_in.token": "访问令牌",
        "sign_in.submit": "登录",
        "sign_in.help": "请输入管理员发放的访问令牌（lw_ 开头）。",
        "sign_in.invalid": "令牌无效或已撤销，请重新输入。",
        "overview.title": "全区概览",
        "overview.title_all": "全部辖区概览",
        "overview.units": "电梯总数",
        "overview.stopped": "登记为停用",
        "overview.flagged": "标记：{flag}",
        "overview.all": "全部",
        "download.ranking": "下载完整排名：",
        "download.buildings": "下载楼栋表：",
        "overview.median_age": "梯龄中位数（年）",
        "overview.past_15": "梯龄超过15年",
        "overview.risk_matrix": "风险矩阵：故障概率 × 故障后果",
        "overview.ranking": "风险排名",
        "overview.breakdown": "按街道与社区分布",
        "overview.age_dist": "梯龄分布",
        "overview.no_run": "尚无评分结果：请先运行 liftwatch score run。",
        "overview.run": "评分批次 {run_id}，评估日期 {as_of}",
        "street.title": "街道：{name}",
        "street.buildings": "楼栋需求排名",
        "street.chart": "各楼栋最高风险",
        "unit.title": "电梯 {unit_id}",
        "unit.timeline": "事件时间线",
        "unit.history": "评分历史",
        "unit.waterfall": "评分解释：各因素贡献",
        "unit.no_score": "该电梯尚无评分。",
        "unit.events_none": "暂无事件记录。",
        "contractor.title": "维保单位：{name}",
        "contractor.units": "维保电梯",
        "contractor.freshness": "数据时效",
        "contractor.rejected": "被拒收的消息",
        "contractor.reasons": "拒收原因",
        "contractor.rejected_none": "没有被拒收的消息。",
        "age.title": "梯龄与故障率",
        "age.zone": "大修/更新区（梯龄≥15年且故障率高）",
        "age.filter": "筛选",
        "age.apply": "应用",
        "age.all": "全部",
        "age.equipment_only": "仅计设备原因故障",
        "report.title": "电梯风险排名报告",
        "report.generated": "生成时间 {at}，范围 {scope}",
        "report.flagged": "需关注的电梯",
        "report.none_flagged": "没有被标记的电梯。",
        "col.rank": "排名",
        "col.unit": "电梯",
        "col.registration": "注册代码",
        "col.building": "楼栋",
        "col.community": "社区",
        "col.street_office": "街道",
        "col.flag": "标记",
        "col.risk": "风险",
        "col.health": "健康指数",
        "col.pof": "故障概率",
        "col.cof": "故障后果",
        "col.age": "梯龄（年）",
        "col.reasons": "主要原因",
        "col.households": "户数",
        "col.floors": "层数",
        "col.elderly": "老年人比例",
        "col.in_service": "运行中",
        "col.stopped": "停用",
        "col.fund": "维修资金",
        "col.flagged_units": "被标记电梯",
        "col.status": "状态",
        "col.last_message": "最后消息",
        "col.freshness": "时效",
        "col.received": "接收时间",
        "col.reason": "原因",
        "col.detail": "详情",
        "col.topic": "主题",
        "col.count": "数量",
        "col.units": "电梯数",
        "col.flagged": "被标记数",
        "col.failure_rate": "故障率（次/年）",
        "col.as_of": "评估日期",
        "col.factor": "因素",
        "col.contribution": "贡献",
        "col.time": "时间",
        "col.kind": "类型",
        "col.manufacturer": "制造商",
        "col.installed": "安装日期",
        "col.renewed": "最近更新",
        "col.contractor": "维保单位",
        "axis.units": "电梯数",
        "axis.total": "风险合计",
        "flag.stopped": "停用",
        "flag.replace_or_overhaul": "需大修或更新",
        "flag.safety_assessment": "需安全评估",
        "flag.watch": "关注",
        "flag.ok": "正常",
        "cause.equipment": "设备原因",
        "cause.external": "外部原因",
        "cause.misuse": "使用不当",
        "cause.unknown": "原因不明",
        "event.fault": "故障",
        "event.entrapment": "困人",
        "event.inspection": "检验",
        "event.maintenance": "维保",
        "result.pass": "合格",
        "result.pass_after_rectification": "整改后合格",
        "result.fail": "不合格",
        "visit.routine": "例行保养",
        "visit.repair": "维修",
        "visit.part_replacement": "更换部件",
        "service.in_service": "运行中",
        "service.stopped": "停用",
        "service.under_renewal": "更新改造中",
        "service.retired": "已报废",
        "fund.funded": "资金充足",
        "fund.insufficient": "资金不足",
        "fund.none": "无维修资金",
        "fresh.online": "在线",
        "fresh.offline": "离线",
        "fresh.silent": "无数据",
        "fresh.never": "从未上报",
        "error.not_found": "未找到，或不在您的权限范围内。",
        "error.back": "返回",
        "factor.age": "梯龄（初始健康）",
        "factor.fault_rate": "故障率",
        "factor.serious_rate": "严重故障率",
        "factor.entrapments": "困人",
        "factor.trend": "故障趋势",
        "factor.rectification": "未完成整改",
        "factor.recent_failed_inspection": "近期检验不合格",
        "factor.inspection_overdue": "检验超期",
        "factor.missed_maintenance": "漏保",
        "factor.failed_inspection": "检验不合格（停用）",
        "factor.inspection_result": "最近检验结果",
        "factor.inspection_findings": "检验发现问题",
        "factor.repeated_findings": "问题反复出现",
        "factor.excluded_causes": "外部原因故障（未计入）",
        "factor.certificate_expired": "检验合格证过期",
        "factor.downtime": "停运时长",
        "factor.usage": "使用强度",
        "factor.data_freshness": "数据时效",
        "factor.consequence": "故障后果",
        "factor.model": "学习模型",
        "factor.flag_rule": "标记规则",
        # access and errors: register import rules, register file problems, CLI errors
        "register.outside_district": "不在您的辖区（{district}）内；新建时请使用别处未用的编码",
        "register.move_unasked": "会把{entity} {id} 从 {old} 改到 {new}；确需如此请加 --allow-moves（API：allow_moves=true）",
        "register.contractor_rename": "维保单位 {id} 登记名称为「{name}」；只有管理员可以改维保单位名称，请沿用该名称",
        "register.file_type": "{file}：不支持的文件类型 {suffix}；请使用 .csv 或 .xlsx",
        "register.not_text": "{file}：不是 UTF-8 或 GB18030 编码的文本",
        "register.unreadable": "{file}：无法读取：{error}",
        "register.no_header": "{file}：没有可识别的表头；第一行应为列名，见 docs/register.md",
        "register.no_rows": "{file}：表头下没有数据行",
        "register.entity.street_office": "街道",
        "register.entity.community": "小区",
        "register.entity.building": "楼栋",
        "register.entity.unit": "电梯",
        # end of access and errors
    },
    "en": {
        "app": "liftwatch",
        "lang.switch": "中文",
        "nav.overview": "Overview",
        "nav.age": "Age vs. failures",
        "nav.sign_out": "Sign out",
        "sign_in.title": "Sign in",
        "sign_in.token": "Access token",
        "sign_in.submit": "Sign in",
        "sign_in.help": "Enter the access token you were given (it starts with lw_).",
        "sign_in.invalid": "That token is invalid or revoked; please enter it again.",
        "overview.title": "District overview",
        "overview.title_all": "Overview of all districts",
        "overview.units": "Units",
        "overview.stopped": "Registered as stopped",
        "overview.flagged": "Flagged: {flag}",
        "overview.all": "All",
        "download.ranking": "Download the whole ranking:",
        "download.buildings": "Download the buildings:",
        "overview.median_age": "Median age (years)",
        "overview.past_15": "Older than 15 years",
        "overview.risk_matrix": "Risk matrix: probability × consequence of failure",
        "overview.ranking": "Risk ranking",
        "overview.breakdown": "By street office and community",
        "overview.age_dist": "Fleet age",
        "overview.no_run": "No scores yet: run liftwatch score run first.",
        "overview.run": "Score run {run_id}, as of {as_of}",
        "street.title": "Street office: {name}",
        "street.buildings": "Buildings ranked by need",
        "street.chart": "Highest unit risk per building",
        "unit.title": "Unit {unit_id}",
        "unit.timeline": "Timeline",
        "unit.history": "Score history",
        "unit.waterfall": "Why this score: factor contributions",
        "unit.no_score": "This unit has no score yet.",
        "unit.events_none": "No events recorded.",
        "contractor.title": "Contractor: {name}",
        "contractor.units": "Units maintained",
        "contractor.freshness": "Data freshness",
        "contractor.rejected": "Rejected messages",
        "contractor.reasons": "Why messages were rejected",
        "contractor.rejected_none": "No rejected messages.",
        "age.title": "Age vs. failure rate",
        "age.zone": "Overhaul zone (15+ years and frequent failures)",
        "age.filter": "Filter",
        "age.apply": "Apply",
        "age.all": "All",
        "age.equipment_only": "Equipment faults only",
        "report.title": "Elevator risk ranking",
        "report.generated": "Generated {at}, scope {scope}",
        "report.flagged": "Flagged units",
        "report.none_flagged": "No unit is flagged.",
        "col.rank": "Rank",
        "col.unit": "Unit",
        "col.registration": "Registration code",
        "col.building": "Building",
        "col.community": "Community",
        "col.street_office": "Street office",
        "col.flag": "Flag",
        "col.risk": "Risk",
        "col.health": "Health index",
        "col.pof": "Probability of failure",
        "col.cof": "Consequence of failure",
        "col.age": "Age (years)",
        "col.reasons": "Top reasons",
        "col.households": "Households",
        "col.floors": "Floors",
        "col.elderly": "Elderly share",
        "col.in_service": "In service",
        "col.stopped": "Stopped",
        "col.fund": "Maintenance fund",
        "col.flagged_units": "Flagged units",
        "col.status": "Status",
        "col.last_message": "Last message",
        "col.freshness": "Freshness",
        "col.received": "Received",
        "col.reason": "Reason",
        "col.detail": "Detail",
        "col.topic": "Topic",
        "col.count": "Count",
        "col.units": "Units",
        "col.flagged": "Flagged",
        "col.failure_rate": "Failures per year",
        "col.as_of": "As of",
        "col.factor": "Factor",
        "col.contribution": "Contribution",
        "col.time": "Time",
        "col.kind": "Kind",
        "col.manufacturer": "Manufacturer",
        "col.installed": "Installed",
        "col.renewed": "Last renewal",
        "col.contractor": "Contractor",
        "axis.units": "Units",
        "axis.total": "Total risk",
        "flag.stopped": "Stopped",
        "flag.replace_or_overhaul": "Replace or overhaul",
        "flag.safety_assessment": "Safety assessment",
        "flag.watch": "Watch",
        "flag.ok": "OK",
        "cause.equipment": "Equipment",
        "cause.external": "External",
        "cause.misuse": "Misuse",
        "cause.unknown": "Unknown cause",
        "event.fault": "Fault",
        "event.entrapment": "Entrapment",
        "event.inspection": "Inspection",
        "event.maintenance": "Maintenance",
        "result.pass": "Pass",
        "result.pass_after_rectification": "Pass after rectification",
        "result.fail": "Fail",
        "visit.routine": "Routine",
        "visit.repair": "Repair",
        "visit.part_replacement": "Part replacement",
        "service.in_service": "In service",
        "service.stopped": "Stopped",
        "service.under_renewal": "Under renewal",
        "service.retired": "Retired",
        "fund.funded": "Funded",
        "fund.insufficient": "Insufficient",
        "fund.none": "No fund",
        "fresh.online": "Online",
        "fresh.offline": "Offline",
        "fresh.silent": "Silent",
        "fresh.never": "Never reported",
        "error.not_found": "Not found, or outside what you may see.",
        "error.back": "Back",
        "factor.age": "Age (initial health)",
        "factor.fault_rate": "Fault rate",
        "factor.serious_rate": "Serious fault rate",
        "factor.entrapments": "Entrapments",
        "factor.trend": "Failure trend",
        "factor.rectification": "Open rectification",
        "factor.recent_failed_inspection": "Recent failed inspection",
        "factor.inspection_overdue": "Inspection overdue",
        "factor.missed_maintenance": "Missed maintenance",
        "factor.failed_inspection": "Failed inspection (stopped)",
        "factor.inspection_result": "Last inspection result",
        "factor.inspection_findings": "Inspection findings",
        "factor.repeated_findings": "Repeated findings",
        "factor.excluded_causes": "External faults (not counted)",
        "factor.certificate_expired": "Certificate expired",
        "factor.downtime": "Downtime",
        "factor.usage": "Usage",
        "factor.data_freshness": "Data freshness",
        "factor.consequence": "Consequence of failure",
        "factor.model": "Learned model",
        "factor.flag_rule": "Flag rule",
        # access and errors: register import rules, register file problems, CLI errors
        "register.outside_district": "not in your district ({district}); a new entry needs an id not used elsewhere",
        "register.move_unasked": "would move {entity} {id} from {old} to {new}; if that is intended, add --allow-moves (API: allow_moves=true)",
        "register.contractor_rename": "contractor {id} is registered as {name!r}; only an admin renames a contractor, so use that name",
        "register.file_type": "{file}: unsupported file type {suffix}; use .csv or .xlsx",
        "register.not_text": "{file}: not UTF-8 or GB18030 text",
        "register.unreadable": "{file}: cannot be read: {error}",
        "register.no_header": "{file}: no recognizable header; the first row must name the columns (docs/register.md)",
        "register.no_rows": "{file}: no rows under the header",
        "register.entity.street_office": "street office",
        "register.entity.community": "community",
        "register.entity.building": "building",
        "register.entity.unit": "unit",
        # end of access and errors
    },
}

FLAGS = ("stopped", "replace_or_overhaul", "safety_assessment", "watch", "ok")
"""Flags from the most to the least urgent."""


def t(lang: Lang, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` placeholders filled in."""
    text = STRINGS[lang][key]
    return text.format(**values) if values else text


def pick_lang(*, explicit: str | None, accept_language: str | None) -> Lang:
    """The page language: an explicit choice, else the browser's preference, else Chinese."""
    if explicit in LANGS:
        return explicit
    for lang, _q in _preferences(accept_language or ""):
        if lang.startswith("zh"):
            return "zh-CN"
        if lang.startswith("en"):
            return "en"
    return DEFAULT_LANG


def _preferences(header: str) -> list[tuple[str, float]]:
    items = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            items.append((tag.lower(), quality))
    return sorted(items, key=lambda item: -item[1])


def local_name(row: dict[str, object], lang: Lang, key: str = "name") -> str:
    """A register name in the page language: the English one when there is one and English is asked."""
    english = row.get(f"{key}_en")
    if lang == "en" and english:
        return str(english)
    return str(row.get(key) or "")


def user_lang() -> Lang:
    """The language of a command-line user: ``LIFTWATCH_LANG``, else the locale, else English.

    Read from the environment itself, not the settings: it chooses the language in which a broken
    configuration is reported.
    """
    explicit = os.environ.get("LIFTWATCH_LANG", "").strip()
    if explicit:
        return "zh-CN" if explicit.lower().startswith("zh") else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"
