"""The backtest page: how good the ranking is on the fleet's own data, in a form a bureau can print.

A pure function from a stored backtest (scoring/backtests.py) to HTML. It stands alone (its own
small stylesheet, no script but the print button) so it prints the same from any browser.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from core.i18n import LANGS, Lang, t

PATH = "/dashboards/backtest"
METRIC_ORDER = (
    "spearman",
    "roc_auc",
    "precision_top5",
    "lift_top5",
    "precision_top10",
    "lift_top10",
)
LIFTWATCH = ("pof", "priority")
_CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2rem auto; max-width: 62rem; color: #1b1f24; line-height: 1.5; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border: 1px solid #c8ccd1; padding: 0.3rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.ours td { font-weight: 600; background: #eef4fb; }
.ci { color: #57606a; font-size: 0.8rem; white-space: nowrap; }
.meta, .how { color: #57606a; font-size: 0.85rem; }
nav { display: flex; gap: 1rem; justify-content: flex-end; }
@media print { nav, .others { display: none; } body { margin: 0; } }
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _figure(cell: dict[str, Any] | None, lang: Lang, *, percent: bool) -> str:
    if not cell or cell.get("value") is None:
        return f"<td>{_e(t(lang, 'backtest.undefined'))}</td>"
    fmt = "{:.0%}" if percent else "{:.2f}"
    low, high = cell.get("low"), cell.get("high")
    interval = (
        f' <span class="ci">[{fmt.format(low)}, {fmt.format(high)}]</span>'
        if low is not None and high is not None
        else ""
    )
    return f"<td>{_e(fmt.format(cell['value']))}{interval}</td>"


def _table(results: list[dict[str, Any]], outcome: str, lang: Lang) -> str:
    rows = [r for r in results if r["outcome"] == outcome]
    head = "".join(f"<th>{_e(t(lang, f'backtest.metric.{m}'))}</th>" for m in METRIC_ORDER)
    body = []
    for row in rows:
        cells = "".join(
            _figure(row.get(m), lang, percent=m.startswith("precision")) for m in METRIC_ORDER
        )
        css = ' class="ours"' if row["method"] in LIFTWATCH else ""
        label = t(lang, "backtest.method." + row["method"])
        body.append(f"<tr{css}><td>{_e(label)}</td>{cells}</tr>")
    title = t(lang, "backtest.table", outcome=t(lang, f"backtest.outcome.{outcome}"))
    return (
        f"<h2>{_e(title)}</h2><table><thead><tr><th>{_e(t(lang, 'backtest.method'))}</th>"
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _verdict(results: list[dict[str, Any]], lang: Lang) -> str:
    rows = [r for r in results if r["outcome"] == "faults" and r["lift_top10"].get("value")]
    ours = next((r for r in rows if r["method"] == "pof"), None)
    others = [r for r in rows if r["method"] not in LIFTWATCH]
    if ours is None or not others:
        return ""
    best = max(others, key=lambda r: r["lift_top10"]["value"])
    text = t(
        lang,
        "backtest.verdict",
        ours=f"{ours['lift_top10']['value']:.2f}",
        best=t(lang, f"backtest.method.{best['method']}"),
        theirs=f"{best['lift_top10']['value']:.2f}",
    )
    return f"<p><strong>{_e(text)}</strong></p>"


def _href(lang: Lang, backtest_id: int | None) -> str:
    query = {"lang": lang, **({"backtest_id": backtest_id} if backtest_id else {})}
    return f"{PATH}?{urlencode(query)}"


def page(backtest: dict[str, Any] | None, others: list[dict[str, Any]], *, lang: Lang) -> str:
    """The whole page for one stored backtest (or the note that there is none yet)."""
    current = backtest["backtest_id"] if backtest else None
    other_lang = next(code for code in LANGS if code != lang)
    nav = (
        f'<nav><a href="{_e(_href(other_lang, current))}">{_e(t(lang, "lang.switch"))}</a>'
        f'<a href="#" onclick="window.print(); return false;">{_e(t(lang, "backtest.print"))}</a>'
        "</nav>"
    )
    parts = [nav, f"<h1>{_e(t(lang, 'backtest.title'))}</h1>"]
    if backtest is None:
        parts.append(f"<p>{_e(t(lang, 'backtest.none'))}</p>")
    else:
        parts.append(_body(backtest, lang))
        listed = [o for o in others if o["backtest_id"] != current]
        if listed:
            items = "".join(
                f'<li><a href="{_e(_href(lang, o["backtest_id"]))}">#{_e(o["backtest_id"])} '
                f"{_e(o['as_of'])} (+{_e(o['horizon_months'])})</a> {_e(o.get('note') or '')}</li>"
                for o in listed
            )
            parts.append(
                f'<div class="others"><h2>{_e(t(lang, "backtest.others"))}</h2><ul>{items}</ul></div>'
            )
    return (
        f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f"<title>{_e(t(lang, 'backtest.title'))}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def _body(backtest: dict[str, Any], lang: Lang) -> str:
    results = backtest["results"]
    created = backtest["created_at"]
    meta = t(
        lang,
        "backtest.meta",
        backtest_id=backtest["backtest_id"],
        policy=f"{backtest['policy_version']} ({backtest['policy_hash']})",
        created=created.strftime("%Y-%m-%d %H:%M") if hasattr(created, "strftime") else created,
    )
    parts = [
        f'<p class="meta">{_e(meta)}</p>',
        f"<p>{_e(t(lang, 'backtest.intro', as_of=backtest['as_of'], months=backtest['horizon_months']))}</p>",
        f"<p>{_e(t(lang, 'backtest.units', count=backtest['unit_count']))}</p>",
    ]
    if backtest.get("note"):
        parts.append(f'<p class="meta">{_e(t(lang, "backtest.note", note=backtest["note"]))}</p>')
    lines = []
    for name, figures in backtest["outcomes"].items():
        line = t(
            lang,
            "backtest.outcome_line",
            outcome=t(lang, f"backtest.outcome.{name}"),
            mean=f"{figures['mean']:.2f}",
            share=f"{figures['share']:.0%}",
        )
        lines.append(f"<li>{_e(line)}</li>")
    parts.append(f"<ul>{''.join(lines)}</ul>")
    parts.append(_verdict(results, lang))
    for outcome in backtest["outcomes"]:
        parts.append(_table(results, outcome, lang))
    how = t(lang, "backtest.how_to_read", resamples=backtest["bootstrap"])
    parts.append(f'<p class="how">{_e(how)}</p>')
    return "".join(parts)
