"""The evaluation on every simulated world through the CLI: the same code, no per-world tuning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from liftwatch.cli import main
from liftwatch.commands.backtest import evaluation_url
from simulators.worlds import WORLDS


@pytest.fixture
def eval_databases(db_url: str) -> Iterator[None]:
    """The evaluation databases the command creates (one per world), dropped afterwards."""
    yield
    for name in WORLDS:
        url = evaluation_url(name)
        dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(str(dbname))
                )
            )


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_world_is_evaluated_by_the_same_backtest(
    eval_databases: None, tmp_path: Path
) -> None:
    out = tmp_path / "evaluation"
    args = ["score", "evaluate", "--world", "all", "--units", "1500", "--dates", "2"]
    assert main([*args, "--bootstrap", "50", "--out", str(out)]) == 0
    for name in WORLDS:
        result = json.loads((out / f"evaluation-{name}.json").read_text(encoding="utf-8"))
        methods = {row["method"] for row in result["results"]}
        assert {"pof", "priority", "fault_rate_3y", "age", "last_inspection", "random"} <= methods
        random = next(
            r for r in result["results"] if (r["method"], r["outcome"]) == ("random", "true_risk")
        )
        # A random order carries no information: its interval must hold zero.
        assert random["spearman"]["low"] < 0 < random["spearman"]["high"]
        lead = result["leads"]["Spearman, true risk"]
        assert lead["low"] <= lead["value"] <= lead["high"]
        assert (out / f"evaluation-{name}.md").read_text(encoding="utf-8").startswith("| method |")
