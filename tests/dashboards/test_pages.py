"""The pages over HTTP: sign-in, scopes (out of scope looks like missing), languages, assets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.assets import plotly_js_path
from tests.dashboards import factories


def _as(client: Any, world: factories.World, role: str) -> Any:
    client.cookies.set("liftwatch_token", world.tokens[role])
    return client


def test_pages_redirect_to_sign_in_without_a_token(client: Any) -> None:
    response = client.get("/dashboards/units/dxy-2-1")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboards/sign-in?next=/dashboards/units/dxy-2-1"


def test_sign_in_checks_the_token_and_sets_an_http_only_cookie(
    client: Any, world: factories.World
) -> None:
    bad = client.post(
        "/dashboards/sign-in",
        content="token=lw_000000000000_nope-nope-nope-nope-nope",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 401
    assert "liftwatch_token" not in bad.headers.get("set-cookie", "")
    good = client.post(
        "/dashboards/sign-in?next=/dashboards/units/dxy-2-1", data={"token": world.tokens["bureau"]}
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/dashboards/units/dxy-2-1"
    cookie = good.headers["set-cookie"]
    assert cookie.startswith("liftwatch_token=") and "HttpOnly" in cookie
    elsewhere = client.post(
        "/dashboards/sign-in?next=https://example.com/", data={"token": world.tokens["bureau"]}
    )
    assert elsewhere.headers["location"] == "/dashboards/"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("bureau", "/dashboards/units/cy-1-1"),
        ("street_office", f"/dashboards/street-offices/{factories.OTHER_STREET_OFFICE}"),
        ("street_office", "/dashboards/units/xs-9-1"),
        ("contractor", f"/dashboards/contractors/{factories.OTHER_CONTRACTOR}"),
        ("contractor", "/dashboards/units/xs-9-1"),
        ("admin", "/dashboards/units/no-such-unit"),
    ],
)
def test_out_of_scope_looks_like_missing(
    client: Any, world: factories.World, role: str, path: str
) -> None:
    response = _as(client, world, role).get(path, params={"lang": "en"})
    assert response.status_code == 404
    assert "Not found, or outside what you may see." in response.text


def test_each_role_lands_on_its_own_page(client: Any, world: factories.World) -> None:
    assert _as(client, world, "street_office").get("/dashboards/?lang=en").headers["location"] == (
        f"/dashboards/street-offices/{factories.STREET_OFFICE}?lang=en"
    )
    assert _as(client, world, "contractor").get("/dashboards/").headers["location"] == (
        f"/dashboards/contractors/{factories.CONTRACTOR}"
    )
    assert _as(client, world, "bureau").get("/dashboards/").status_code == 200


def test_bureau_overview_shows_only_its_district(client: Any, world: factories.World) -> None:
    html = _as(client, world, "bureau").get("/dashboards/", params={"lang": "en"}).text
    ranking = html[html.index('data-table="ranking"') :]
    for unit_id in factories.DXY_UNITS + factories.NEW_UNITS + factories.FAR_UNITS:
        assert f">{unit_id}<" in ranking
    assert "cy-1-1" not in html
    assert re.search(r'<div class="value">12</div><div class="label">Units</div>', html)
    assert re.search(
        r'<div class="value">3</div><div class="label">Registered as stopped</div>', html
    )
    assert re.search(
        r'<div class="value">5</div><div class="label">Replace or overhaul</div>', html
    )


def test_language_from_query_is_remembered_and_otherwise_from_the_browser(
    client: Any, world: factories.World
) -> None:
    c = _as(client, world, "admin")
    zh = c.get("/dashboards/age", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in zh.text and "梯龄与故障率" in zh.text
    en = c.get("/dashboards/age", params={"lang": "en"}, headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in en.text and "liftwatch_lang=en" in en.headers["set-cookie"]
    again = c.get("/dashboards/age", headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in again.text


def test_contractor_page_shows_freshness_and_rejections_escaped(
    client: Any, world: factories.World
) -> None:
    html = (
        _as(client, world, "contractor")
        .get(f"/dashboards/contractors/{factories.CONTRACTOR}", params={"lang": "en"})
        .text
    )
    units = html[html.index('data-table="contractor-units"') :]
    rows = {
        m[0]: m[1]
        for m in re.findall(
            r">([a-z]+-\d-\d)</a></td>.*?<td>(Online|Offline|Silent|Never reported)</td>", units
        )
    }
    assert rows["ly-1-1"] == "Online"
    assert rows["ly-1-2"] == "Offline"
    assert rows["ly-3-1"] == "Silent"
    assert rows["dxy-2-1"] == "Never reported"
    assert "cy-1-1" in rows  # its own unit in another district
    assert "the register has no such unit" in html and "ghost-1" in html
    assert ">unknown_unit<" not in html
    zh = (
        _as(client, world, "contractor")
        .get(f"/dashboards/contractors/{factories.CONTRACTOR}", params={"lang": "zh-CN"})
        .text
    )
    assert "台账中没有该电梯" in zh and "请核对编号" in zh
    assert "+08:00" in zh
    admin = (
        _as(client, world, "admin")
        .get(f"/dashboards/contractors/{factories.OTHER_CONTRACTOR}")
        .text
    )
    assert "&lt;script&gt;x&lt;/script&gt;" in admin and "<script>x</script>" not in admin


def test_unit_page_explains_the_score(client: Any, world: factories.World) -> None:
    html = (
        _as(client, world, "street_office")
        .get("/dashboards/units/dxy-2-1", params={"lang": "zh-CN"})
        .text
    )
    assert "定期检验不合格且尚未复检合格，须停止使用" in html
    assert 'data-figure="waterfall"' in html and 'data-figure="timeline"' in html
    assert 'data-figure="score-history"' in html


def test_plotly_js_comes_from_the_installed_package_and_nothing_from_elsewhere(
    client: Any, world: factories.World
) -> None:
    js = client.get("/dashboards/static/plotly.min.js")
    assert js.status_code == 200 and js.content == plotly_js_path().read_bytes()
    assert client.get("/dashboards/static/dashboards.css").status_code == 200
    c = _as(client, world, "admin")
    for path in (
        "/dashboards/",
        f"/dashboards/street-offices/{factories.STREET_OFFICE}",
        "/dashboards/units/dxy-2-1",
        f"/dashboards/contractors/{factories.CONTRACTOR}",
        "/dashboards/age",
        "/dashboards/sign-in",
    ):
        html = c.get(path).text
        assert re.findall(r'(?:src|href)="(https?:)?//', html) == [], path


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("bureau", "/dashboards/", "dxy-2-1"),
        ("street_office", f"/dashboards/street-offices/{factories.STREET_OFFICE}", "2号楼"),
    ],
)
def test_download_links_work_with_the_page_cookie(
    client: Any, world: factories.World, role: str, path: str, expected: str
) -> None:
    c = _as(client, world, role)
    html = c.get(path, params={"lang": "zh-CN"}).text
    links = re.findall(r'<a href="(/v1/[^"]+)" download="">', html)
    assert [link.split("?")[0].rsplit(".", 1)[1] for link in links] == ["csv", "xlsx"]
    for link in links:
        response = c.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, (link, response.text[:300])
        if link.split("?")[0].endswith(".csv"):
            assert expected in response.content.decode("utf-8-sig")


def test_a_contractor_is_offered_no_building_export(client: Any, world: factories.World) -> None:
    html = (
        _as(client, world, "contractor")
        .get(f"/dashboards/street-offices/{factories.STREET_OFFICE}")
        .text
    )
    assert "buildings.csv" not in html


def test_bureau_page_names_its_district_and_says_stopped_units_come_first(
    client: Any, world: factories.World
) -> None:
    zh = _as(client, world, "bureau").get("/dashboards/", params={"lang": "zh-CN"}).text
    assert "<h1>海淀区概览</h1>" in zh
    assert "停用的电梯" in zh[zh.index('id="order-note"') :][:200]
    en = _as(client, world, "bureau").get("/dashboards/", params={"lang": "en", "top": 2}).text
    fund_first = en[en.index('data-table="fund-first"') :]
    fund_first = fund_first[: fund_first.index("</table>")]
    assert fund_first.count("<tr>") == 3  # the header and the two asked for
    assert "Fund these first: the top 2 units" in en


def test_a_matrix_cell_lists_its_units(client: Any, world: factories.World) -> None:
    html = (
        _as(client, world, "bureau")
        .get("/dashboards/overview", params={"lang": "en", "cell": "5-4"})
        .text
    )
    listed = html[html.index('data-table="matrix-units"') :]
    listed = listed[: listed.index("</table>")]
    assert sorted(re.findall(r">((?:dxy|ly|xs)-\d-\d)</a>", listed)) == sorted(factories.DXY_UNITS)
    assert 'data-cell="5-4" class="selected"' in html
    empty = (
        _as(client, world, "bureau")
        .get("/dashboards/overview", params={"cell": "1-1", "lang": "zh-CN"})
        .text
    )
    assert "这一格没有电梯" in empty


def test_street_office_page_filters_by_compound_and_flag(
    client: Any, world: factories.World
) -> None:
    c = _as(client, world, "street_office")
    path = f"/dashboards/street-offices/{factories.STREET_OFFICE}"
    stopped = c.get(path, params={"lang": "en", "flag": "stopped"}).text
    table = stopped[stopped.index('data-table="buildings"') :]
    assert sorted(re.findall(r'href="/dashboards/buildings/([^"]+)"', table)) == [
        "dxy-2",
        "dxy-4",
        "dxy-5",
    ]
    assert "Page 1 of 1, 3 buildings" in stopped
    liuyin = c.get(path, params={"lang": "en", "community_id": "liuyin"}).text
    table = liuyin[liuyin.index('data-table="buildings"') :]
    assert sorted(re.findall(r'href="/dashboards/buildings/([^"]+)"', table)) == ["ly-1", "ly-3"]


def test_drill_down_pages_have_breadcrumbs_and_stay_in_scope(
    client: Any, world: factories.World
) -> None:
    c = _as(client, world, "street_office")
    building = c.get("/dashboards/buildings/dxy-2", params={"lang": "zh-CN"})
    crumbs = building.text[building.text.index('<nav class="crumbs">') :]
    crumbs = crumbs[: crumbs.index("</nav>")]
    assert re.findall(r'href="([^"]+)"', crumbs) == [
        "/dashboards/",
        f"/dashboards/street-offices/{factories.STREET_OFFICE}",
        "/dashboards/compounds/dxy-west",
    ]
    assert "楼栋：稻香园西里 2号楼" in building.text
    assert c.get("/dashboards/compounds/dxy-west").status_code == 200
    assert c.get("/dashboards/buildings/xs-9").status_code == 404  # another street office
    assert c.get("/dashboards/compounds/xs").status_code == 404
    hits = c.get("/dashboards/search", params={"q": "9号楼", "lang": "en"}).text
    assert "No unit, building or community matches." in hits


def test_age_page_draws_the_fleet_wide_line_for_every_scope(
    client: Any, world: factories.World
) -> None:
    def reference(role: str) -> str:
        html = _as(client, world, role).get("/dashboards/age", params={"lang": "en"}).text
        return re.findall(r"The overhaul zone is[^<]*", html)[0]

    assert reference("admin") == reference("street_office") == reference("contractor")
