"""`liftwatch report`: one self-contained HTML file, scoped, in either language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.db import connect
from core.errors import NotFound
from core.scope import ADMIN
from dashboards import report
from dashboards.assets import plotly_js
from liftwatch.cli import main
from tests.dashboards import factories


@pytest.fixture
def on_small_district(
    small_district: tuple[str, factories.World], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTWATCH_DATABASE_URL", small_district[0])


def _table(html: str, name: str) -> str:
    start = html.index(f'data-table="{name}"')
    return html[start : html.index("</table>", start)]


@pytest.mark.usefixtures("on_small_district")
def test_bureau_report_is_self_contained_and_leads_with_its_short_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "meeting" / "report.html"
    assert (
        main(
            [
                "report",
                "--scope",
                f"bureau:{factories.DISTRICT}",
                "--lang",
                "zh-CN",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert f"wrote {out}" in capsys.readouterr().out
    html = out.read_text("utf-8")
    assert '<html lang="zh-CN">' in html and "电梯风险排名报告 · 海淀区" in html
    assert "bureau:" not in html  # the district is named, not coded
    # Tables only: no plotly.js, nothing to fetch, small enough to mail.
    assert plotly_js()[:200] not in html
    assert re.findall(r'(?:src|href)="', html) == []
    assert len(html.encode()) < 200_000
    short = _table(html, "fund-first")
    ids = re.findall(r'<span class="id">([a-z0-9-]+)</span>', short)
    assert set(ids[:3]) == set(factories.DXY_FAILED)  # stopped first
    assert set(factories.DXY_UNITS) <= set(ids)
    assert "365天内设备故障9次" in short  # the stored reasons, as the exports list them
    assert "cy-1-1" not in html  # another district
    matrix = _table(html, "matrix")
    assert sum(int(n) for n in re.findall(r'data-cell="\d-\d">(\d+)', matrix)) == 12
    full = html[html.index("<details") :]
    assert all(f">{u}<" in full for u in factories.DXY_UNITS + factories.NEW_UNITS)


@pytest.mark.usefixtures("on_small_district")
def test_street_office_report_in_english_covers_only_its_units(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "--scope",
                f"street_office:{factories.OTHER_STREET_OFFICE}",
                "--lang",
                "en",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    html = out.read_text("utf-8")
    assert "Elevator risk ranking · Xisanqi" in html and "scope Xisanqi" in html
    assert ">xs-9-1<" in _table(html, "fund-first") and "dxy-2-1" not in html


@pytest.mark.usefixtures("on_small_district")
@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("mayor:x", "unknown scope 'mayor:x'"),
        ("bureau", "scope bureau needs an id"),
        ("admin:x", "the admin scope is bound to nothing"),
        ("bureau:nowhere", "no district 'nowhere' in the register"),
    ],
)
def test_bad_scopes_are_named(
    scope: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--scope", scope, "--out", str(tmp_path / "r.html")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_before_any_scoring_says_what_to_do(
    small_district: tuple[str, factories.World],
) -> None:
    with connect(small_district[0]) as conn:  # rolled back on leaving: the module's data stays
        conn.execute("DELETE FROM score_run")
        with pytest.raises(NotFound, match="liftwatch score run"):
            report.render(conn, scope=ADMIN, lang="en", generated_at=datetime.now(UTC))
        conn.rollback()
