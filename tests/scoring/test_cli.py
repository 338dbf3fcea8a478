"""`liftwatch score` end to end on a small fleet: train, run, list, show, explain, compare."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from liftwatch.cli import main
from tests.scoring import factories as f


def _fleet_with_history(conn: psycopg.Connection[Any]) -> None:
    """60 units; older ones fail more often, over 2019-2023 (generated in SQL, deterministic)."""
    f.place(conn)
    for b in range(20):
        f.building(conn, f"B{b}", floors=6 + b)
        for n in range(3):
            f.unit(
                conn,
                f"U{b:02d}{n}",
                building_id=f"B{b}",
                installed_on=f"{1990 + b}-05-01",
                manufacturer=f"M{n}",
            )
    conn.execute(
        """INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,
                                    severity, entrapment, ended_at)
           SELECT gen_random_uuid(), u.unit_id, 'K1', ts, '01', 'equipment',
                  CASE WHEN h % 10 < 3 THEN 'critical' ELSE 'minor' END, h % 5 = 0,
                  ts + interval '2 hours'
           FROM unit u,
                generate_series(timestamptz '2019-01-01 10:00+08', '2023-04-30', interval '1 day') ts,
                abs(hashtext(u.unit_id || ts::text)) h
           WHERE h % 4000 < 2035 - extract(year FROM u.installed_on)"""
    )
    conn.execute(
        """INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at,
                                         inspection_body, result, certificate_expiry)
           SELECT gen_random_uuid(), unit_id, 'K1', ts, '特检院', 'pass', (ts + interval '1 year')::date
           FROM unit, generate_series(timestamptz '2019-06-01 10:00+08', '2023-04-30', interval '1 year') ts"""
    )


def test_train_run_and_read_back(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _fleet_with_history(conn)
    assert main(["score", "train", "--as-of", "2023-05-01", "--years", "1.5"]) == 0
    out = capsys.readouterr()
    assert "model 2023-05-01-" in out.out
    assert "snapshot 2022-" in out.err
    assert main(["score", "run", "--as-of", "2023-03-01"]) == 0
    assert main(["score", "run", "--as-of", "2023-05-01", "--note", "bureau meeting"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == ["1", "2"]
    assert "60 units scored" in out.err
    row = conn.execute("SELECT model_version, note FROM score_run WHERE run_id = 2").fetchone()
    assert row is not None
    assert row["model_version"].startswith("2023-05-01-")
    assert row["note"] == "bureau meeting"
    probability = conn.execute(
        "SELECT count(model_probability) AS n FROM unit_score WHERE run_id = 2"
    ).fetchone()
    assert probability == {"n": 60}

    assert main(["score", "runs"]) == 0
    assert "as of 2023-05-01" in capsys.readouterr().out
    assert main(["score", "top", "--limit", "5", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    assert "years since installation" in lines[0]
    assert main(["score", "top", "--limit", "60", "--sort", "pof"]) == 0
    by_likelihood = capsys.readouterr().out.strip().splitlines()
    assert [int(line.split()[0]) for line in by_likelihood] == list(range(1, 61))
    # Stopped units first, then the rest by likelihood of failure.
    flags = [line.split()[2] for line in by_likelihood]
    running = [
        float(line.split("PoF ")[1].split()[0]) for line in by_likelihood if " stopped " not in line
    ]
    assert flags == sorted(flags, key=lambda flag: flag != "stopped")
    assert running == sorted(running, reverse=True)
    assert main(["score", "explain", "U190"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["unit_id"] == "U190"
    assert explained["run_id"] == 2
    assert any(x["factor"] == "model" for x in explained["factors"])
    assert main(["score", "compare", "1", "2"]) == 0
    assert "moved_up" in json.loads(capsys.readouterr().out)


def test_errors_are_clear(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "explain", "NOPE"]) == 2
    assert "unit NOPE has no score" in capsys.readouterr().err
    assert main(["score", "top"]) == 2
    assert "no score run stored yet" in capsys.readouterr().err
    assert main(["score", "train", "--as-of", "2023-05-01"]) == 2
    assert "cannot train" in capsys.readouterr().err
    assert main(["score", "run", "--policy", "/nonexistent/policy.yaml"]) == 2
    assert "cannot read scoring policy" in capsys.readouterr().err
