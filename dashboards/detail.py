"""The pages about one thing: a unit (timeline, score history, explanation) and a contractor
(its units, data freshness, rejected messages).

Like every page, each returns None when its subject is outside the scope or does not exist.
"""

from __future__ import annotations

from urllib.parse import quote

from core.i18n import Lang, local_name, t
from core.scope import Scope
from dashboards import data, figures
from dashboards.data import Conn
from dashboards.explain import top_reasons
from dashboards.html import (
    BASE,
    Markup,
    esc,
    figure,
    flag_badge,
    link,
    number,
    page,
    section,
    table,
)
from dashboards.pages import as_of_run, unit_link


def unit(conn: Conn, *, scope: Scope, lang: Lang, unit_id: str) -> str | None:
    """One unit: its facts, event timeline, score history and the explanation of its score."""
    info = data.unit_info(
        conn, scope=scope, unit_id=unit_id, as_of=as_of_run(data.latest_run(conn))
    )
    if info is None:
        return None
    events = data.unit_events(conn, unit_id=unit_id)
    scores = data.unit_scores(conn, unit_id=unit_id)
    latest = scores[-1] if scores else None
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
                "col.status",
                "col.contractor",
                "col.flag",
            )
        ],
        [
            [
                info["registration_code"],
                info["building"],
                local_name(info, lang, "community"),
                link(
                    f"{BASE}/street-offices/{quote(info['street_office_id'], safe='')}",
                    local_name(info, lang, "street_office"),
                ),
                info["manufacturer"],
                info["installed_on"],
                info["renewed_on"] or "—",
                number(info["age"], 1),
                t(lang, f"service.{info['service_status']}"),
                link(
                    f"{BASE}/contractors/{quote(info['contractor_id'], safe='')}",
                    local_name(info, lang, "contractor"),
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
    path = f"{BASE}/units/{quote(unit_id, safe='')}"
    body = Markup("".join(esc(p) for p in parts))
    return page(lang=lang, title=t(lang, "unit.title", unit_id=unit_id), body=body, path=path)


def contractor(conn: Conn, *, scope: Scope, lang: Lang, contractor_id: str) -> str | None:
    """A contractor's units, how fresh their data is, and its rejected messages with reasons."""
    found = data.contractor(conn, scope=scope, contractor_id=contractor_id)
    if found is None:
        return None
    run = data.latest_run(conn)
    units = data.contractor_units(
        conn, scope=scope, contractor_id=contractor_id, run_id=run["run_id"] if run else None
    )
    reasons = data.dead_letter_reasons(conn, scope=scope, contractor_id=contractor_id)
    letters = data.dead_letters(conn, scope=scope, contractor_id=contractor_id)
    unit_rows = [
        [
            unit_link(u["unit_id"]),
            u["building"],
            local_name(u, lang, "community"),
            t(lang, f"service.{u['service_status']}"),
            flag_badge(u["flag"], lang),
            t(lang, f"fresh.{u['freshness']}"),
            u["last_message_at"].strftime("%Y-%m-%d %H:%M") if u["last_message_at"] else "—",
        ]
        for u in units
    ]
    unit_table = table(
        [
            t(lang, c)
            for c in (
                "col.unit",
                "col.building",
                "col.community",
                "col.status",
                "col.flag",
                "col.freshness",
                "col.last_message",
            )
        ],
        unit_rows,
        name="contractor-units",
    )
    rejected: list[object] = []
    if letters:
        rejected = [
            figure(figures.rejection_reasons(reasons, lang), "rejections"),
            table(
                [
                    t(lang, c)
                    for c in ("col.received", "col.reason", "col.unit", "col.topic", "col.detail")
                ],
                [
                    [
                        d["received_at"].strftime("%Y-%m-%d %H:%M:%S"),
                        d["reason"],
                        d["unit_id"] or "—",
                        d["topic"] or "—",
                        d["detail"],
                    ]
                    for d in letters
                ],
                name="dead-letters",
            ),
        ]
    else:
        rejected = [Markup(f"<p>{esc(t(lang, 'contractor.rejected_none'))}</p>")]
    body = Markup(
        Markup('<div class="grid">')
        + section(
            t(lang, "contractor.freshness"), figure(figures.freshness(units, lang), "freshness")
        )
        + section(t(lang, "contractor.rejected"), *rejected)
        + Markup("</div>")
        + section(t(lang, "contractor.units"), unit_table)
    )
    path = f"{BASE}/contractors/{quote(contractor_id, safe='')}"
    return page(
        lang=lang,
        title=t(lang, "contractor.title", name=local_name(found, lang)),
        body=body,
        path=path,
    )
