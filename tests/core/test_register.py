"""Register import: all or nothing, every problem named, idempotent, history kept."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest

from core.errors import ProblemList
from core.register import import_file, import_rows
from core.register_format import COLUMNS
from liftwatch.cli import main
from tests.core.factories import unit_row

EXAMPLE = Path(__file__).parents[2] / "examples" / "register.csv"


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])


def _write_csv(path: Path, rows: list[dict[str, Any]], zh: bool = False) -> Path:
    names = {c.key: (c.zh if zh else c.key) for c in COLUMNS}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[names[k] for k in rows[0]])
        writer.writeheader()
        for row in rows:
            writer.writerow({names[k]: v for k, v in row.items()})
    return path


def test_example_file_imports_and_reimport_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    first = import_file(conn, EXAMPLE)
    assert (first.created, first.updated, first.rejected) == (4, 0, 0)
    snapshot = conn.execute("SELECT * FROM unit ORDER BY unit_id").fetchall()
    again = import_file(conn, EXAMPLE)
    assert (again.created, again.updated, again.unchanged, again.changes_logged) == (0, 0, 4, 0)
    assert conn.execute("SELECT * FROM unit ORDER BY unit_id").fetchall() == snapshot
    building = conn.execute(
        "SELECT floors, households, elderly_share, fund_status FROM building "
        "WHERE building_id = 'EX-C01-B01'"
    ).fetchone()
    assert building is not None
    assert (
        building["floors"],
        building["households"],
        float(building["elderly_share"]),
        building["fund_status"],
    ) == (18, 144, 0.38, "insufficient")
    assert _count(conn, "unit_renewal") == 2
    status = conn.execute("SELECT service_status FROM unit WHERE unit_id = 'EX-U0004'").fetchone()
    assert status is not None and status["service_status"] == "stopped"


def test_bad_rows_are_all_named_and_nothing_is_written(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rows = [unit_row(i) for i in range(8)]
    rows[1]["installed_on"] = "1992-13-01"
    rows[2]["floors"] = "many"
    rows[3]["registration_code"] = rows[0]["registration_code"]
    rows[4]["elderly_share"] = "140%"
    rows[7]["households"] = "999"  # same building as unit 6, different households
    with pytest.raises(ProblemList) as caught:
        import_file(conn, _write_csv(tmp_path / "bad.csv", rows))
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {
        (3, "installed_on"),
        (4, "floors"),
        (5, "registration_code"),
        (6, "elderly_share"),
        (9, "households"),
    }
    assert _count(conn, "unit") == 0 and _count(conn, "building") == 0


def test_skip_invalid_imports_good_rows_and_writes_rejects(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rows = [unit_row(i) for i in range(4)]
    rows[2]["manufacturer"] = ""
    rejects = tmp_path / "rejects.csv"
    report = import_file(
        conn, _write_csv(tmp_path / "r.csv", rows, zh=True), skip_invalid=True, rejects_path=rejects
    )
    assert (report.created, report.rejected) == (3, 1)
    rejected = list(csv.DictReader(rejects.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["row"] for r in rejected] == ["4"]
    # The file has Chinese headers: its problems are told in Chinese, by its own column names.
    assert "制造单位: 缺少必填值" in rejected[0]["errors"]


def test_unknown_and_missing_columns_are_reported(conn: psycopg.Connection[Any]) -> None:
    row = unit_row(1)
    del row["manufacturer"]
    row["colour"] = "red"
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, [row], source="test")
    reasons = {(p.field, p.reason.split(" (")[0]) for p in caught.value.problems}
    assert ("colour", "unknown column") in reasons
    assert ("manufacturer", "required column missing") in reasons


def test_renewal_and_contractor_change_keep_history(conn: psycopg.Connection[Any]) -> None:
    import_rows(conn, [unit_row(1)], source="first")
    changed = unit_row(
        1,
        renewed_on="2024-03-01",
        contractor_id="M2",
        contractor="维保二",
        contractor_since="2024-01-01",
    )
    # A new contractor is a move: refused unless asked for.
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, [changed], source="second")
    assert [p.field for p in caught.value.problems] == ["contractor_id"]
    report = import_rows(conn, [changed], source="second", allow_moves=True)
    assert (report.updated, report.changes_logged) == (1, 2)
    fields = {
        r["field"]: (r["old_value"], r["new_value"])
        for r in conn.execute(
            "SELECT field, old_value, new_value FROM unit_change WHERE unit_id = 'U000001'"
        )
    }
    assert fields == {"renewed_on": ("2006-05-01", "2024-03-01"), "contractor_id": ("M1", "M2")}
    renewals = [
        r["renewed_on"].isoformat()
        for r in conn.execute(
            "SELECT renewed_on FROM unit_renewal WHERE unit_id = 'U000001' ORDER BY 1"
        )
    ]
    assert renewals == ["2006-05-01", "2024-03-01"]
    periods = conn.execute(
        "SELECT contractor_id, (valid_from AT TIME ZONE 'Asia/Shanghai')::text AS f,"
        " (valid_to AT TIME ZONE 'Asia/Shanghai')::date::text AS t FROM unit_contract "
        "WHERE unit_id = 'U000001' ORDER BY valid_from"
    ).fetchall()
    assert [(p["contractor_id"], p["t"]) for p in periods] == [("M1", "2024-01-01"), ("M2", None)]
    assert periods[0]["f"] == "1992-06-01 00:00:00"  # since installation, Beijing time


def test_xlsx_with_chinese_headers(conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    rows = [unit_row(i) for i in range(3)]
    sheet.append([next(c.zh for c in COLUMNS if c.key == k) for k in rows[0]])
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "register.xlsx"
    book.save(path)
    assert import_file(conn, path).created == 3


def test_ten_thousand_units_import_and_report_timing(
    conn: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_csv(tmp_path / "big.csv", [unit_row(i) for i in range(10_000)])
    started = time.perf_counter()
    assert main(["fleet", "import", str(path)]) == 0
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    assert "10000 rows: 10000 units created" in out and " s)" in out
    assert _count(conn, "unit") == 10_000 and _count(conn, "building") == 5_000
    print(f"10,000-unit register imported in {elapsed:.2f} s")


def test_cli_reports_every_problem_and_exit_code(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [unit_row(i) for i in range(3)]
    rows[0]["stops"] = "-1"
    rows[2]["drive_type"] = "steam"
    assert main(["fleet", "import", str(_write_csv(tmp_path / "b.csv", rows))]) == 2
    err = capsys.readouterr().err
    assert "row 2, stops" in err and "row 4, drive_type" in err


def test_cli_names_a_missing_file(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fleet", "import", str(tmp_path / "nowhere.csv")]) == 2
    assert "nowhere.csv does not exist" in capsys.readouterr().err
