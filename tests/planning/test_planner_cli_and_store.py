"""`liftwatch plan make/list/show/export` on a real database, and what each scope may read."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest

from core.scope import ADMIN, Scope
from liftwatch.cli import main
from queries import plans as plan_queries
from tests.planning.factories import score_run, seed_register, set_building, set_unit

EXAMPLES = Path(__file__).parents[2] / "examples" / "funding"


@pytest.fixture
def two_districts(conn: psycopg.Connection[Any]) -> int:
    """Daoxiangyuan West (Haidian) and Runfeng Xinshang (Changping) scored in one run."""
    rows = seed_register(conn, "DXYX") + seed_register(conn, "RFXS")
    for r in rows:
        set_unit(conn, r["unit_id"], assessment_on=date(2023, 1, 10), assessment_action="replace")
        set_building(conn, r["building_id"], collection_rate=0.8, floor_area_m2=15000)
    return score_run(conn, {r["unit_id"]: 0.1 + 0.01 * (i % 7) for i, r in enumerate(rows)})


def test_make_stores_a_plan_that_show_and_export_read(
    two_districts: int,
    conn: psycopg.Connection[Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("bond: [1500000]\n", encoding="utf-8")
    code = main(
        [
            "plan",
            "make",
            "--policy",
            str(EXAMPLES / "national-2024.yaml"),
            "--budgets",
            str(budgets),
            "--start",
            "2023-06-01",
            "--years",
            "2",
            "--note",
            "test",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("plan ")
    plan_id = plan_queries.latest_plan_id(conn=conn, scope=ADMIN)
    assert plan_id is not None
    rows = plan_queries.plan_rows(conn=conn, plan_id=plan_id, scope=ADMIN)
    # ¥1.5m of bond subsidy a year pays ten replacements' subsidy; the three stopped come first.
    by_year: dict[int, int] = {}
    for r in rows:
        by_year[r["year"]] = by_year.get(r["year"], 0) + (1 if r["bond"] > 0 else 0)
    assert all(n <= 10 for n in by_year.values())
    stopped = {
        r["unit_id"]
        for r in conn.execute("SELECT unit_id FROM unit WHERE service_status = 'stopped'")
    }
    assert len(stopped) == 3
    assert {r["unit_id"] for r in rows if r["mandatory"]} == stopped
    assert all(r["year"] == 2023 for r in rows if r["mandatory"])
    run = plan_queries.plan_run(conn=conn, plan_id=plan_id, scope=ADMIN)
    assert run is not None and run["note"] == "test" and run["method"] == "milp"
    assert len(run["scenarios"]) == 3
    assert main(["plan", "show", str(plan_id)]) == 0
    shown = capsys.readouterr().out
    assert "do_nothing" in shown and rows[0]["unit_id"] in shown
    assert main(["plan", "list"]) == 0
    assert f"{plan_id:>5}" in capsys.readouterr().out
    for lang, header in (("zh-CN", "电梯编号"), ("en", "Unit")):
        out_file = tmp_path / f"plan-{lang}.xlsx"
        assert main(["plan", "export", str(plan_id), str(out_file), "--lang", lang]) == 0
        book = openpyxl.load_workbook(out_file)
        sheet = book.worksheets[0]
        assert sheet.cell(1, 1).value == header
        assert sheet.max_row == len(rows) + 1
        assert len(book.worksheets) == 4


def test_street_office_reads_only_its_own_buildings(
    two_districts: int, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("bond: [3000000]\n", encoding="utf-8")
    assert (
        main(
            [
                "plan",
                "make",
                "--policy",
                str(EXAMPLES / "national-2024.yaml"),
                "--budgets",
                str(budgets),
                "--start",
                "2023-06-01",
                "--no-scenarios",
            ]
        )
        == 0
    )
    plan_id = plan_queries.latest_plan_id(conn=conn, scope=ADMIN)
    assert plan_id is not None
    haidian = Scope("street_office", "110108-HD")
    rows = plan_queries.plan_rows(conn=conn, plan_id=plan_id, scope=haidian)
    assert rows and all(r["unit_id"].startswith("DXYX") for r in rows)
    assert all(
        b["street_office_id"] == "110108-HD"
        for b in plan_queries.plan_buildings(conn=conn, plan_id=plan_id, scope=haidian)
    )
    run = plan_queries.plan_run(conn=conn, plan_id=plan_id, scope=haidian)
    assert run is not None and run["trajectory"] is None  # district totals are not its own
    other = Scope("bureau", "110114")
    assert (
        plan_queries.plan_run(conn=conn, plan_id=plan_id, scope=other) is None
    )  # an all-district plan
    assert (
        plan_queries.plan_run(conn=conn, plan_id=plan_id, scope=Scope("contractor", "BJ-JX-WB"))
        is None
    )
    assert (
        plan_queries.plan_rows(conn=conn, plan_id=plan_id, scope=Scope("contractor", "BJ-JX-WB"))
        == []
    )


def test_bad_inputs_are_named_not_tracebacks(
    two_districts: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("bonds: [100]\n", encoding="utf-8")
    policy = str(EXAMPLES / "national-2024.yaml")
    assert main(["plan", "make", "--policy", policy, "--budgets", str(budgets)]) == 2
    assert "unknown sources ['bonds']" in capsys.readouterr().err
    budgets.write_text("bond: [0]\n", encoding="utf-8")
    # No bond money: owners pay in full where they can, and every stopped unit is still planned.
    assert (
        main(
            [
                "plan",
                "make",
                "--policy",
                policy,
                "--budgets",
                str(budgets),
                "--start",
                "2023-06-01",
                "--exclude",
                "DXYX-02-1=to be demolished",
                "--no-scenarios",
            ]
        )
        == 0
    )
    assert (
        main(["plan", "make", "--policy", policy, "--budgets", str(budgets), "--exclude", "NOPE=x"])
        == 2
    )
    assert "excluded units not in the plan's fleet: NOPE" in capsys.readouterr().err


def test_a_minimum_interval_stores_a_units_second_action_as_a_row_of_its_own(
    two_districts: int, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("bond: [5000000]\ndistrict: [5000000]\n", encoding="utf-8")
    args = ["plan", "make", "--policy", str(EXAMPLES / "chengdu-2025.yaml")]
    args += ["--budgets", str(budgets), "--start", "2023-06-01", "--years", "4", "--no-scenarios"]
    assert main([*args, "--min-interval", "2"]) == 0
    plan_id = plan_queries.latest_plan_id(conn=conn, scope=ADMIN)
    assert plan_id is not None
    rows = plan_queries.plan_rows(conn=conn, plan_id=plan_id, scope=ADMIN)
    years: dict[str, list[int]] = {}
    for r in rows:
        years.setdefault(r["unit_id"], []).append(r["year"])
    twice = {u: sorted(y) for u, y in years.items() if len(y) == 2}
    assert twice and all(y[1] - y[0] >= 2 for y in twice.values())
    assert all(len(y) <= 2 for y in years.values())
    run = plan_queries.plan_run(conn=conn, plan_id=plan_id, scope=ADMIN)
    assert run is not None and run["options"]["min_interval_years"] == 2
