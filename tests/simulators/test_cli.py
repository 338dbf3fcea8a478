"""`liftwatch simulate register` and `liftwatch simulate run`, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from core.register import parse_rows, read_file
from liftwatch.cli import main
from tests.support.servers import Mosquitto


def test_register_command_writes_an_importable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.csv"
    assert (
        main(
            [
                "simulate",
                "register",
                "--scenario",
                "city",
                "--units",
                "120",
                "--out",
                str(out),
                "--lang",
                "zh-CN",
            ]
        )
        == 0
    )
    assert "wrote 120 units" in capsys.readouterr().out
    good, problems = parse_rows(read_file(out))
    assert len(good) == 120 and not problems
    assert out.read_text(encoding="utf-8").startswith("区编码,")


def test_run_dry_writes_events_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, truth = tmp_path / "events.ndjson", tmp_path / "out" / "truth.csv"
    argv = [
        "simulate",
        "run",
        "--scenario",
        "city",
        "--units",
        "20",
        "--start",
        "2021-01-01",
        "--years",
        "1",
        "--seed",
        "4",
        "--dry-run",
        "--events-out",
        str(events),
        "--truth",
        str(truth),
    ]
    assert main(argv) == 0
    lines = events.read_bytes().splitlines()
    assert lines and all(orjson.loads(line)["topic"].startswith("liftwatch/v1/") for line in lines)
    with truth.open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 20 * 12
    assert "events simulated:" in capsys.readouterr().out


def test_run_publishes_with_injected_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broker = Mosquitto(tmp_path / "mq").start()
    try:
        argv = [
            "simulate",
            "run",
            "--scenario",
            "seed-cases",
            "--start",
            "2023-01-01",
            "--end",
            "2023-03-01",
            "--broker",
            broker.url,
            "--inject",
            "duplicates=7,malformed=3",
            "--status-every",
            "1d",
        ]
        assert main(argv) == 0
    finally:
        broker.stop()
    out = capsys.readouterr().out
    assert "duplicates: 7" in out and "malformed 3" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "fast"], "--speed"),
        (["--status-every", "often"], "--status-every"),
        (["--inject", "gremlins=1"], "NAME=COUNT"),
        (["--scenario", "nowhere.yaml"], "no scenario"),
    ],
)
def test_bad_options_are_explained(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "run", "--dry-run", "--years", "0.1", *argv]) == 2
    assert message in capsys.readouterr().err
