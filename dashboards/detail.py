"""The pages about one thing: a unit (timeline, score history, explanation) and a contractor
(the health of its data, its rejected messages and why they were rejected).

Like every page, each returns None when its subject is outside the scope or does not exist.
"""

from __future__ import annotations

from urllib.parse import quote

from core.i18n import STRINGS, Lang, local_name, t
from core.scope import Scope
from dashboards import figures
from dashboards.explain import top_reasons
from dashboards.html import (
    BASE,
    Markup,
    breadcrumbs,
    esc,
    figure,
    flag_badge,
    link,
    number,
    page,
    place_href,
    section,
    table,
    when,
)
from dashboards.pages import as_of_run
from dashboards.tables import alert_section, unit_link
from queries import deadletters, health, places, units
from queries.common import LOCAL_TZ, Conn
from queries.runs import resolve_run


def unit(conn: Conn, *, scope: Scope, lang: Lang, unit_id: str) -> str | None:
    """One unit: its facts, event timeline, score history and the explanation of its score."""
    info = units.unit(
        conn=conn, scope=scope, unit_id=unit_id, as_of=as_of_run(resolve_run(conn=conn))
    )
    if info is None:
        return None
    # Shown as the users' wall-clock time: plotly draws a time as written.
    events = [
        {**e.__dict__, "occurred_at": e.occurred_at.astimezone(LOCAL_TZ)}
        for e in units.unit_events(conn=conn, unit_id=unit_id)
    ]
    latest = units.explanation(conn=conn, scope=scope, unit_id=unit_id)
    scores = units.score_history(conn=conn, scope=scope, unit_id=unit_id)
    facts = table(
        [
            t(lang, c)
            for c in (
                "col.registration",
                "col.building",
                "col.community",
                "col.street_office",
                "col.manufacturer",
                "col.installed",
                "col.renewed",
                "col.age",
                "col.status_registered",
                "col.contractor",
                "col.flag",
            )
        ],
        [
            [
                info.registration_code,
                link(place_href("building", info.building_id), info.building),
                link(
                    place_href("community", info.community_id),
                    local_name(info.__dict__, lang, "community"),
                ),
                link(
                    place_href("street_office", info.street_office_id),
                    local_name(info.__dict__, lang, "street_office"),
                ),
                info.manufacturer,
                info.installed_on,
                info.renewed_on or "—",
                number(info.age, 1),
                t(lang, f"service.{info.service_status}"),
                link(
                    f"{BASE}/contractors/{quote(info.contractor_id, safe='')}",
                    local_name(info.__dict__, lang, "contractor"),
                ),
                flag_badge(latest["flag"] if latest else None, lang),
            ]
        ],
        name="unit-facts",
    )
    parts: list[object] = [section("", facts)]
    if events:
        parts.append(
            section(t(lang, "unit.timeline"), figure(figures.timeline(events, lang), "timeline"))
        )
    else:
        parts.append(
            section(t(lang, "unit.timeline"), Markup(f"<p>{esc(t(lang, 'unit.events_none'))}</p>"))
        )
    if latest is None:
        parts.append(
            section(t(lang, "unit.waterfall"), Markup(f"<p>{esc(t(lang, 'unit.no_score'))}</p>"))
        )
    else:
        reasons = Markup(
            "<ul>"
            + "".join(f"<li>{esc(r)}</li>" for r in top_reasons(latest["factors"], lang, n=5))
            + "</ul>"
        )
        parts += [
            section(
                t(lang, "unit.waterfall"),
                flag_badge(latest["flag"], lang),
                reasons,
                figure(
                    figures.waterfall(latest["factors"], lang, total_label=t(lang, "col.health")),
                    "waterfall",
                ),
            ),
            section(
                t(lang, "unit.history"),
                figure(figures.score_history(scores, lang), "score-history"),
            ),
        ]
    crumbs = [
        places.Crumb("district", info.district_id, info.district, info.district_en),
        places.Crumb(
            "street_office", info.street_office_id, info.street_office, info.street_office_en
        ),
        places.Crumb("community", info.community_id, info.community, info.community_en),
        places.Crumb("building", info.building_id, info.building, None),
    ]
    return page(
        lang=lang,
        title=t(lang, "unit.title", unit_id=unit_id),
        body=Markup("".join(esc(p) for p in parts)),
        path=f"{BASE}/units/{quote(unit_id, safe='')}",
        crumbs=breadcrumbs(crumbs, lang),
    )


def contractor(conn: Conn, *, scope: Scope, lang: Lang, contractor_id: str) -> str | None:
    """A contractor's units and the health of their data, and its rejected messages explained."""
    found = health.contractor(conn=conn, scope=scope, contractor_id=contractor_id)
    if found is None:
        return None
    run = resolve_run(conn=conn)
    unit_health = health.contractor_units(
        conn=conn, scope=scope, contractor_id=contractor_id, run_id=run["run_id"] if run else None
    )
    latest = health.data_latest(conn=conn)
    reasons = deadletters.reason_counts(conn=conn, scope=scope, contractor_id=contractor_id)
    letters = deadletters.latest_rejections(conn=conn, scope=scope, contractor_id=contractor_id)
    unit_rows = [
        [
            unit_link(u.unit_id),
            u.building,
            local_name(u.__dict__, lang, "community"),
            t(lang, f"service.{u.service_status}"),
            flag_badge(u.flag, lang),
            t(lang, f"fresh.{u.freshness}"),
            number(u.interval_hours, 1),
            when(u.last_message_at),
        ]
        for u in unit_health
    ]
    unit_headers = [
        t(lang, c)
        for c in (
            "col.unit",
            "col.building",
            "col.community",
            "col.status_registered",
            "col.flag",
            "col.freshness",
            "col.interval",
            "col.last_message",
        )
    ]
    silent = [
        r for r, u in zip(unit_rows, unit_health, strict=True) if u.freshness in ("late", "silent")
    ]
    rejected: list[object]
    if letters:
        rejected = [
            figure(figures.rejection_reasons(reasons, lang), "rejections"),
            table(
                [t(lang, c) for c in ("col.reason", "col.count", "col.reason_help")],
                [
                    [figures.reason_label(r.reason, lang), r.n, _reason_help(r.reason, lang)]
                    for r in reasons
                ],
                name="rejection-reasons",
                numeric=(1,),
            ),
            table(
                [
                    t(lang, c)
                    for c in ("col.received", "col.reason", "col.unit", "col.topic", "col.detail")
                ],
                [
                    [
                        when(d.received_at),
                        figures.reason_label(d.reason, lang),
                        d.unit_id or "—",
                        d.topic or "—",
                        d.detail,
                    ]
                    for d in letters
                ],
                name="dead-letters",
            ),
        ]
    else:
        rejected = [Markup(f"<p>{esc(t(lang, 'contractor.rejected_none'))}</p>")]
    note = Markup(
        f'<p class="muted">{esc(t(lang, "contractor.freshness_note", at=when(latest)))}</p>'
    )
    feed_scope = Scope("contractor", contractor_id) if scope.role == "admin" else scope
    body = Markup(
        alert_section(conn, scope=feed_scope, lang=lang, contractor_id=contractor_id)
        + Markup('<div class="grid">')
        + section(
            t(lang, "contractor.freshness"),
            note,
            figure(figures.freshness(unit_health, lang), "freshness"),
        )
        + section(t(lang, "contractor.rejected"), *rejected)
        + Markup("</div>")
        + section(
            t(lang, "contractor.going_silent"),
            table(unit_headers, silent, name="going-silent")
            if silent
            else Markup(f"<p>{esc(t(lang, 'contractor.going_silent_none'))}</p>"),
        )
        + section(
            t(lang, "contractor.units"),
            table(unit_headers, unit_rows, name="contractor-units", numeric=(6,)),
        )
    )
    return page(
        lang=lang,
        title=t(lang, "contractor.title", name=local_name(found.__dict__, lang)),
        body=body,
        path=f"{BASE}/contractors/{quote(contractor_id, safe='')}",
    )


def _reason_help(reason: str, lang: Lang) -> str:
    key = f"reason_help.{reason}"
    return t(lang, key) if key in STRINGS[lang] else "—"
