"""A register file's problems are told in the file's language, naming its columns as it writes
them; a file with nothing to import is an error, not "0 rows"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.errors import Invalid, ProblemList
from core.register import import_file, import_rows
from core.register_format import COLUMNS
from liftwatch.cli import main
from tests.core.factories import unit_row
from tests.core.test_register import _write_csv


@pytest.fixture(autouse=True)
def _english_user(monkeypatch: pytest.MonkeyPatch) -> None:
    # The person is English-speaking: what is Chinese below comes from the file.
    monkeypatch.setenv("LIFTWATCH_LANG", "en")


def test_chinese_headers_give_chinese_problems_named_as_in_the_file(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rows = [unit_row(1), unit_row(2)]
    rows[0]["installed_on"] = "去年"
    rows[1]["floors"] = "0"
    with pytest.raises(ProblemList) as caught:
        import_file(conn, _write_csv(tmp_path / "zh.csv", rows, zh=True))
    found = {(p.row, p.field, p.reason) for p in caught.value.problems}
    assert found == {
        (2, "安装日期", "应为日期，如 2006-05-01（或 2006/5/1、2006年5月1日）"),
        (3, "层数", "应为 1 到 200 之间的整数"),
    }
    assert caught.value.lang == "zh-CN"


def test_english_headers_give_english_problems(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    row = unit_row(1, installed_on="last year")
    with pytest.raises(ProblemList) as caught:
        import_file(conn, _write_csv(tmp_path / "en.csv", [row]))
    [problem] = caught.value.problems
    assert (problem.field, problem.reason) == (
        "installed_on",
        "expected a date such as 2006-05-01 (or 2006/5/1, 2006年5月1日)",
    )


def test_the_cli_tells_a_chinese_file_in_chinese(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_csv(tmp_path / "zh.csv", [unit_row(1, stops="-1")], zh=True)
    assert main(["fleet", "import", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["错误: 文件中有 1 处问题", "  第 2 行，层站数：应为 1 到 200 之间的整数"]


def test_a_move_in_a_chinese_file_is_refused_in_chinese(conn: psycopg.Connection[Any]) -> None:
    import_rows(conn, [unit_row(1)], source="first")
    zh = {c.key: c.zh for c in COLUMNS}
    moved = {zh[k]: v for k, v in unit_row(1, contractor_id="M9", contractor="新维保").items()}
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, [moved], source="second")
    [problem] = caught.value.problems
    assert problem.field == "维保单位编码"
    assert "--allow-moves" in problem.reason and problem.reason.startswith("会把电梯")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty.csv: no recognizable header"),
        ("colour,size\n", "empty.csv: no recognizable header"),
        ("电梯编号,安装日期\n", "empty.csv：表头下没有数据行"),
        ("unit_id,installed_on\n", "empty.csv: no rows under the header"),
    ],
)
def test_a_file_with_nothing_to_import_is_an_error(
    conn: psycopg.Connection[Any], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(Invalid) as caught:
        import_file(conn, path)
    assert caught.value.detail.startswith(message)
