"""`liftwatch score run --every`: the long-running scorer of a deployment (no cron container)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from core.errors import ConfigError
from liftwatch.cli import main
from liftwatch.commands.schedule import every
from tests.scoring import factories as f


def _runs(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM score_run").fetchone()
    return int(row["n"]) if row else 0


def test_every_scores_now_and_again_after_each_period(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    f.place(conn)
    f.building(conn, "B1", floors=7)
    f.unit(conn, "U1", building_id="B1", installed_on="2001-05-01", manufacturer="M")
    env = {**os.environ, "LIFTWATCH_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liftwatch.cli", "score", "run", "--no-model", "--every", "2s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _runs(conn) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert _runs(conn) >= 2
        assert proc.poll() is None  # still running, waiting for the next tick
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err
    units = conn.execute("SELECT DISTINCT unit_count FROM score_run").fetchall()
    assert units == [{"unit_count": 1}]


@pytest.mark.parametrize("period", ["0h", "24", "1w", "soon"])
def test_a_period_it_cannot_read_is_refused_with_examples(
    period: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["score", "run", "--every", period])
    assert exit_.value.code == 2
    assert "expected a period such as 24h" in capsys.readouterr().err


def test_every_with_a_fixed_date_is_refused(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "run", "--every", "24h", "--as-of", "2024-01-01"]) == 2
    assert "leave out --as-of" in capsys.readouterr().err


def test_a_failed_turn_is_reported_and_the_next_one_still_comes() -> None:
    calls: list[int] = []
    said: list[str] = []

    def action() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConfigError("the database is away")
        if len(calls) == 3:
            raise KeyboardInterrupt  # what stops the loop: the process being stopped

    with pytest.raises(KeyboardInterrupt):
        every(timedelta(milliseconds=1), action, say=said.append)
    assert calls == [0, 1, 2]
    assert said == ["error: the database is away; next attempt in 0:00:00.001000"]
