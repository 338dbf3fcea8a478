"""The HTML around the figures: page layout, tables, headline cards and embedded figures.

Values are escaped here, once, so page code composes safe fragments and never builds markup
from raw register text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

import plotly.graph_objects as go
import plotly.io as pio

from core.i18n import LANGS, Lang, local_name, t
from queries.common import LOCAL_TZ
from queries.places import Crumb

BASE = "/dashboards"
STATIC = f"{BASE}/static"

_ids = itertools.count(1)


class Markup(str):
    """Text that is already HTML and must not be escaped again."""


def esc(value: object) -> Markup:
    """Escape a value for HTML unless it is already markup."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if value is None else str(value)))


def link(href: str, text: object, **attrs: str) -> Markup:
    """An anchor with escaped text and attributes."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return Markup(f'<a href="{escape(href)}"{extra}>{esc(text)}</a>')


# Points whose customdata starts with a unit id open that unit's page when clicked.
UNIT_CLICK = (
    "document.getElementById('{plot_id}').on('plotly_click', function (e) {"
    " var p = e.points[0]; if (p && p.customdata) {"
    f" window.location = '{BASE}/units/' + encodeURIComponent(p.customdata[0]); }} }});"
)


def figure(fig: go.Figure, name: str, *, post_script: str | None = None) -> Markup:
    """A figure as a div and the script that draws it with the page's plotly.js."""
    div_id = f"fig-{name}-{next(_ids)}"
    html = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        post_script=post_script,
    )
    return Markup(f'<div class="figure" data-figure="{escape(name)}">{html}</div>')


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    name: str = "",
    numeric: Sequence[int] = (),
) -> Markup:
    """A table whose cells are escaped unless they are markup; ``numeric`` columns align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return Markup(
        f'<table data-table="{escape(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def downloads(label: str, base_href: str, lang: Lang) -> Markup:
    """Links to a table as CSV and XLSX files from the API, in the page language."""
    query = urlencode({"lang": lang})
    files = " · ".join(
        str(link(f"{base_href}.{fmt}?{query}", fmt.upper(), download="")) for fmt in ("csv", "xlsx")
    )
    return Markup(f'<p class="downloads">{esc(label)} {files}</p>')


def cards(items: Sequence[tuple[str, object]]) -> Markup:
    """Headline figures: a label and a big number each."""
    parts = "".join(
        f'<div class="card"><div class="value">{esc(v)}</div><div class="label">{esc(k)}</div></div>'
        for k, v in items
    )
    return Markup(f'<div class="cards">{parts}</div>')


def flag_badge(flag: str | None, lang: Lang) -> Markup:
    """A coloured label for a flag."""
    if flag is None:
        return Markup("—")
    return Markup(f'<span class="flag flag-{escape(flag)}">{esc(t(lang, "flag." + flag))}</span>')


def section(title: str, *content: object) -> Markup:
    """A titled block of the page."""
    heading = f"<h2>{esc(title)}</h2>" if title else ""
    return Markup(f"<section>{heading}{''.join(esc(c) for c in content)}</section>")


def number(value: object, digits: int = 2) -> str:
    """A number for a table cell, or a dash when missing."""
    if value is None:
        return "—"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def when(value: datetime | None) -> str:
    """A time as its users read it: in Asia/Shanghai, with the offset said."""
    if value is None:
        return "—"
    local = value.astimezone(LOCAL_TZ)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


_CRUMB_PATHS = {
    "district": None,
    "street_office": "street-offices",
    "community": "compounds",
    "building": "buildings",
}


def place_href(level: str, place_id: str) -> str:
    """The page of a street office, compound or building."""
    return f"{BASE}/{_CRUMB_PATHS[level]}/{quote(place_id, safe='')}"


def breadcrumbs(path: Sequence[Crumb], lang: Lang, *, last: str | None = None) -> Markup:
    """Overview > district > street office > compound > building (> ``last``), each a link."""
    parts = [link(f"{BASE}/", t(lang, "nav.overview"))]
    for crumb in path:
        name = local_name({"name": crumb.name, "name_en": crumb.name_en}, lang)
        target = _CRUMB_PATHS[crumb.level]
        parts.append(link(place_href(crumb.level, crumb.id), name) if target else esc(name))
    if last is not None:
        parts.append(esc(last))
    return Markup(f'<nav class="crumbs">{" › ".join(parts)}</nav>')


def search_box(lang: Lang, text: str = "") -> Markup:
    """The search form every page carries in its header."""
    return Markup(
        f'<form class="search" method="get" action="{BASE}/search" role="search">'
        f'<input type="search" name="q" value="{escape(text)}" aria-label="{esc(t(lang, "search.label"))}"'
        f' placeholder="{esc(t(lang, "search.placeholder"))}">'
        f'<button type="submit">{esc(t(lang, "search.label"))}</button></form>'
    )


def page(
    *,
    lang: Lang,
    title: str,
    body: object,
    path: str,
    nav: bool = True,
    crumbs: Markup | None = None,
) -> str:
    """A whole page: head with the served plotly.js, navigation, search, language switch and body."""
    other = next(code for code in LANGS if code != lang)
    joiner = "&" if "?" in path else "?"
    switch = link(
        f"{path}{joiner}{urlencode({'lang': other})}", t(lang, "lang.switch"), id="lang-switch"
    )
    links = ""
    search = ""
    if nav:
        links = "".join(
            [
                link(f"{BASE}/", t(lang, "nav.overview")),
                link(f"{BASE}/age", t(lang, "nav.age")),
                link(f"{BASE}/alerts", t(lang, "nav.alerts")),
                link(f"{BASE}/sign-out", t(lang, "nav.sign_out")),
            ]
        )
        search = search_box(lang)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {esc(t(lang, "app"))}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STATIC}/dashboards.css">
<script src="{STATIC}/plotly.min.js"></script>
</head>
<body>
<header><span class="brand">{esc(t(lang, "app"))}</span><nav>{links}</nav>{search}{switch}</header>
<main>{crumbs or ""}<h1>{esc(title)}</h1>
{esc(body)}
</main>
</body>
</html>
"""
