"""The backtest through the CLI on a simulated city: liftwatch must beat every single-factor baseline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from liftwatch.cli import main
from liftwatch.commands.score import evaluation_url


@pytest.fixture
def eval_database(db_url: str) -> Iterator[str]:
    """The evaluation database the command creates, dropped afterwards."""
    url = evaluation_url()
    yield url
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_liftwatch_beats_every_single_factor_baseline(eval_database: str, tmp_path: Path) -> None:
    out = tmp_path / "evaluation"
    assert main(["score", "evaluate", "--units", "3000", "--seed", "3", "--out", str(out)]) == 0
    result = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    methods = {row["method"] for row in result["rows"]}
    assert {"liftwatch health index", "age only", "last inspection only", "random"} <= methods
    assert result["margins"]["spearman"]["mean"] > 0.05
    assert result["margins"]["precision_top10"]["mean"] > 0
    assert (out / "evaluation.md").read_text(encoding="utf-8").startswith("| method |")
