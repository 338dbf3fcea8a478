"""One error shape on every endpoint; exports in both languages; the CLI around tokens."""

from __future__ import annotations

import csv
import gc
import io
import re
from typing import Any

import openpyxl
import psycopg
import pytest

from api.problems import TYPE_BASE
from core.i18n import FLAGS, t
from liftwatch.cli import main
from tests.api.conftest import Api

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _assert_problem(response: Any, status: int | None = None) -> None:
    assert response.headers["content-type"] == "application/problem+json", response.text
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["type"].startswith(TYPE_BASE)
    assert body["status"] == response.status_code
    assert body["instance"] == response.request.url.path
    if status is not None:
        assert response.status_code == status


def test_every_endpoint_answers_401_as_a_problem(shared_api: Api) -> None:
    schema = shared_api.client.get("/openapi.json").json()
    open_paths = {"/healthz", "/readyz", "/metrics"}
    checked = 0
    for path, operations in schema["paths"].items():
        if path in open_paths:
            continue
        for method in operations:
            response = shared_api.client.request(method.upper(), _fill(path))
            _assert_problem(response, 401)
            checked += 1
    assert checked >= 30


def test_every_endpoint_answers_bad_input_as_a_problem(shared_api: Api) -> None:
    schema = shared_api.client.get("/openapi.json").json()
    headers = shared_api.as_("admin")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            params = {
                p["name"]: "x" * 300 for p in operation.get("parameters", []) if p["in"] == "query"
            }
            if not params and "{" not in path and "requestBody" not in operation:
                continue  # takes no input that could be bad
            url = re.sub(r"\{[^}]+\}", "%%%", path)
            kwargs: dict[str, Any] = {"params": params, "headers": headers}
            if "requestBody" in operation:
                kwargs["content"] = b'[{"not": "what is expected"'
                kwargs["headers"] = {**headers, "Content-Type": "application/json"}
            response = shared_api.client.request(method.upper(), url, **kwargs)
            if path in ("/healthz", "/readyz", "/metrics"):
                assert response.status_code == 200
                continue
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
            _assert_problem(response)


def test_unknown_paths_and_methods_are_problems(shared_api: Api) -> None:
    _assert_problem(shared_api.get("admin", "/v1/nothing-here"), 404)
    _assert_problem(shared_api.client.delete("/v1/units", headers=shared_api.as_("admin")), 405)
    response = shared_api.get("admin", "/v1/units", params={"limit": 0})
    _assert_problem(response, 422)
    assert response.json()["problems"][0]["field"] == "query.limit"


def test_health_ready_metrics(shared_api: Api) -> None:
    assert shared_api.client.get("/healthz").json() == {"status": "ok"}
    assert shared_api.client.get("/readyz").json()["status"] == "ready"
    shared_api.get("admin", "/v1/units")
    text = shared_api.client.get("/metrics").text
    assert 'liftwatch_api_requests_total{method="GET",route="/v1/units",status="200"}' in text
    assert "liftwatch_api_request_seconds_bucket" in text


def test_a_started_app_leaves_its_startup_objects_out_of_garbage_collection(
    shared_api: Api,
) -> None:
    # Full collections walked them all, a pause of 50-130 ms each under load (benchmarks/api.py).
    assert gc.get_freeze_count() > 50_000


@pytest.mark.parametrize(
    ("lang", "header", "unit", "flag", "flag_label"),
    [
        ("zh-CN", "本辖区排名", "电梯", "标记", "停用"),
        ("en", "Rank here", "Unit", "Flag", "Stopped"),
    ],
)
def test_ranking_exports_in_both_languages(
    shared_api: Api, lang: str, header: str, unit: str, flag: str, flag_label: str
) -> None:
    response = shared_api.get("bureau", "/v1/exports/rankings.csv", params={"lang": lang})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert next(iter(rows[0])) == header
    assert {r[unit] for r in rows} == {"U1", "U2", "U3"}
    # The page's labels, from the one catalogue: never a raw code.
    assert flag_label in {r[flag] for r in rows}
    assert {r[flag] for r in rows} <= {t(lang, f"flag.{f}") for f in FLAGS}  # type: ignore[arg-type]
    assert [r[header] for r in rows] == ["1", "2", "3"]
    xlsx = shared_api.get("bureau", "/v1/exports/rankings.xlsx", params={"lang": lang})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == header and len(values) == 4
    assert sheet.auto_filter.ref == sheet.dimensions
    widths = {sheet.column_dimensions[c].width for c in "ABCDEFGH"}
    assert len(widths) > 1, "columns are sized to their content, not all alike"


def test_ranking_export_names_places_and_gives_what_a_bureau_hands_out(shared_api: Api) -> None:
    response = shared_api.get("bureau", "/v1/exports/rankings.csv", params={"lang": "zh-CN"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    first = rows[0]
    for column in (
        "区",
        "区编码",
        "街道",
        "街道编码",
        "社区",
        "维保单位",
        "户数",
        "安装日期",
        "梯龄（年）",
    ):
        assert first[column], column
    assert first["区"] != first["区编码"]


def test_export_language_follows_accept_language(shared_api: Api) -> None:
    headers = {**shared_api.as_("admin"), "Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}
    english = shared_api.client.get("/v1/exports/rankings.csv", headers=headers)
    assert english.content.decode("utf-8-sig").startswith("Rank here,")
    default = shared_api.get("admin", "/v1/exports/rankings.csv")
    assert default.content.decode("utf-8-sig").startswith("本辖区排名,")


def test_street_office_building_list(shared_api: Api) -> None:
    response = shared_api.get(
        "street_office", "/v1/street-offices/S1/buildings.csv", params={"lang": "en"}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["Building code"] for r in rows] == ["B1", "B4"]
    assert rows[0]["Another elevator still serves"] == "yes" and rows[0]["Units"] == "2"
    assert rows[1]["Units"] == "0" and rows[1]["Fleet rank"] == ""
    zh = shared_api.get(
        "street_office", "/v1/street-offices/S1/buildings.xlsx", params={"lang": "zh-CN"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(zh.content)).active
    assert sheet is not None and sheet["E1"].value == "楼栋编码"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert shared_api.get("street_office", "/v1/street-offices/S2/buildings.csv").status_code == 404
    assert shared_api.get("bureau", "/v1/street-offices/S3/buildings.csv").status_code == 404
    assert shared_api.get("contractor", "/v1/street-offices/S1/buildings.csv").status_code == 403


def test_auth_commands(conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    conn.execute("INSERT INTO district (district_id, name) VALUES ('D1', '海淀区')")
    assert (
        main(["auth", "create-token", "--role", "bureau", "--scope", "D1", "--name", "meeting"])
        == 0
    )
    token = capsys.readouterr().out.strip()
    assert re.fullmatch(r"lw_[0-9a-f]{12}_[A-Za-z0-9_-]+", token)
    stored = conn.execute("SELECT secret_sha256 FROM api_token").fetchone()
    assert stored is not None and token.split("_", 2)[2].encode() not in bytes(
        stored["secret_sha256"]
    )
    assert main(["auth", "list"]) == 0
    assert "meeting" in capsys.readouterr().out
    assert main(["auth", "create-token", "--role", "bureau", "--scope", "D404"]) == 2
    assert main(["auth", "create-token", "--role", "admin", "--scope", "D1"]) == 2
    assert main(["auth", "revoke", token.split("_")[1]]) == 0
    assert main(["auth", "list"]) == 0
    assert "meeting" not in capsys.readouterr().out
