"""The alert feed as a page section and as a page of its own, in the reader's language.

``feed`` renders what ``queries.alerts.alerts`` returns, so a page that shows alerts shows exactly
what the API's ``GET /v1/alerts`` lists for the same caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from core.i18n import Lang, t
from core.scope import Scope
from dashboards.html import BASE, Markup, esc, link, page, section, table
from queries.alerts import Alert, alerts

BEIJING = ZoneInfo("Asia/Shanghai")


def local_time(at: datetime | str | None) -> str:
    """A time in Beijing time with its offset, as people in China read it."""
    if at is None:
        return "—"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M %z").replace("+0800", "+08:00")


def describe(item: Alert, lang: Lang) -> str:
    """The alert's detail as a sentence."""
    d: dict[str, Any] = item.detail
    if item.kind == "entrapment":
        return t(
            lang,
            "alert.detail.entrapment",
            passengers=d.get("passengers_trapped", 0),
            code=d.get("code", "—"),
        )
    if item.kind == "silent":
        usual = round(float(d.get("usual_seconds", 0)) / 60)
        return t(lang, "alert.detail.silent", last=local_time(d.get("last_at")), usual=usual)
    if item.kind == "rejection_rate":
        return t(
            lang,
            "alert.detail.rejection_rate",
            rate=f"{float(d.get('rate', 0)):.0%}",
            usual=f"{float(d.get('usual_rate', 0)):.0%}",
            messages=d.get("messages", 0),
        )
    previous = d.get("previous_flag")
    shown = t(lang, f"flag.{previous}") if previous else "—"
    return t(lang, "alert.detail.flag", run_id=d.get("run_id", "—"), previous=shown)


def feed(items: list[Alert], lang: Lang) -> Markup:
    """The alerts as a table: kind, where, since when, how often, what."""
    if not items:
        return Markup(f'<p class="alerts-none">{esc(t(lang, "alerts.none"))}</p>')
    rows = []
    for item in items:
        where = (
            link(f"{BASE}/units/{quote(item.unit_id, safe='')}", item.unit_id)
            if item.unit_id
            else "—"
        )
        place = " ".join(p for p in (item.community_name, item.building_name) if p) or "—"
        rows.append(
            [
                Markup(
                    f'<span class="alert alert-{esc(item.kind)}">{esc(t(lang, "alert.kind." + item.kind))}</span>'
                ),
                where,
                place,
                item.contractor_name,
                local_time(item.occurred_at),
                item.occurrences,
                describe(item, lang),
            ]
        )
    headers = [
        t(lang, "col.kind"),
        t(lang, "col.unit"),
        t(lang, "col.building"),
        t(lang, "col.contractor"),
        t(lang, "alerts.col.since"),
        t(lang, "alerts.col.occurrences"),
        t(lang, "col.detail"),
    ]
    return table(headers, rows, name="alerts", numeric=(5,))


def alerts_page(conn: Any, *, scope: Scope, lang: Lang) -> str:
    """The open alerts of the caller's scope, newest first."""
    body = section(t(lang, "alerts.open"), feed(alerts(conn=conn, scope=scope), lang))
    return page(lang=lang, title=t(lang, "alerts.title"), body=body, path=f"{BASE}/alerts")
