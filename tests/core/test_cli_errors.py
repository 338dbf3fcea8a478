"""The real `liftwatch` command with a dead database, a dead broker, a busy port, a bad file, a
wrong setting: one line on stderr naming the setting or flag that fixes it, exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.settings import get_settings
from liftwatch.cli import main

LIFTWATCH = Path(sys.executable).with_name("liftwatch")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The console script with this environment (LIFTWATCH_* of the test run left out)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIFTWATCH_")}
    return subprocess.run(
        [str(LIFTWATCH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, "LIFTWATCH_LANG": "en", **env},
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error line: the last on stderr, the only one of its kind (progress lines may precede)."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert [line for line in lines if line.startswith(("error", "错误"))] == lines[-1:], lines
    return lines[-1]


@dataclass
class Cli:
    """The same entry point in this process (most checks need no new interpreter)."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        for name in [k for k in os.environ if k.startswith("LIFTWATCH_")]:
            self.monkeypatch.delenv(name)
        for name, value in {"LIFTWATCH_LANG": "en", **env}.items():
            self.monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        self.capsys.readouterr()
        code = main(list(args))
        out = self.capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


@pytest.fixture
def dead_db(tmp_path: Path) -> dict[str, str]:
    return {
        "LIFTWATCH_DATABASE_URL": f"postgresql://liftwatch@127.0.0.1:{_dead_port()}/liftwatch",
        "LIFTWATCH_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.mark.parametrize(
    "command",
    [
        ["db", "info"],
        ["db", "upgrade"],
        ["auth", "list"],
        ["score", "top"],
        ["score", "run", "--no-model"],
        ["report"],
        ["fleet", "import", "examples/register.csv"],
        ["api", "--port", "0"],
    ],
    ids=" ".join,
)
def test_a_dead_database_url_is_one_line_naming_the_setting(
    command: list[str], dead_db: dict[str, str], cli: Cli
) -> None:
    line = _one_line(cli(*command, env=dead_db))
    assert line.startswith("error: cannot reach the database at 127.0.0.1:")
    assert "LIFTWATCH_DATABASE_URL" in line


def test_the_line_is_in_chinese_when_asked(dead_db: dict[str, str], cli: Cli) -> None:
    line = _one_line(run("db", "info", env={**dead_db, "LIFTWATCH_LANG": "zh-CN"}))
    assert line.startswith("错误：") or line.startswith("错误: ")
    assert "无法连接数据库" in line and "LIFTWATCH_DATABASE_URL" in line
    cli.monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    cli.monkeypatch.delenv("LC_ALL", raising=False)
    cli.monkeypatch.delenv("LC_MESSAGES", raising=False)
    by_locale = cli("db", "info", env={**dead_db, "LIFTWATCH_LANG": ""})
    assert "无法连接数据库" in _one_line(by_locale)


def test_debug_shows_the_traceback(dead_db: dict[str, str]) -> None:
    for result in (
        run("--debug", "db", "info", env=dead_db),
        run("db", "info", env={**dead_db, "LIFTWATCH_LOG_LEVEL": "DEBUG"}),
    ):
        assert result.returncode == 2
        assert "Traceback" in result.stderr and "OperationalError" in result.stderr
        assert result.stderr.rstrip().splitlines()[-1].startswith("error: cannot reach")


def test_a_dead_broker_url_is_one_line_naming_the_setting(
    db_url: str, tmp_path: Path, cli: Cli
) -> None:
    env = {
        "LIFTWATCH_DATABASE_URL": db_url,
        "LIFTWATCH_DATA_DIR": str(tmp_path / "data"),
        "LIFTWATCH_BROKER_URL": f"mqtt://127.0.0.1:{_dead_port()}",
    }
    result = cli("simulate", "run", "--scenario", "city", "--units", "3", "--years", "1", env=env)
    line = _one_line(result)
    assert line.startswith("error: cannot reach the MQTT broker at mqtt://127.0.0.1:")
    assert "LIFTWATCH_BROKER_URL" in line


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.mark.parametrize("command", [["api"], ["demo"]])
def test_a_busy_port_is_one_line_before_anything_else(
    command: list[str], busy_port: int, dead_db: dict[str, str], cli: Cli
) -> None:
    # The database is dead too: the port is checked first, before it is even tried.
    runner = run if command == ["api"] else cli
    result = runner(*command, "--host", "127.0.0.1", "--port", str(busy_port), env=dead_db)
    line = _one_line(result)
    assert result.stdout == ""
    assert line.startswith(f"error: cannot serve on 127.0.0.1:{busy_port}")
    assert "--port" in line and "LIFTWATCH_API_PORT" in line


def test_a_wrong_setting_and_a_bad_file_are_one_line(tmp_path: Path, db_url: str, cli: Cli) -> None:
    line = _one_line(cli("db", "info", env={"LIFTWATCH_DB_POOL_MAX": "many"}))
    assert "LIFTWATCH_DB_POOL_MAX" in line
    env = {"LIFTWATCH_DATABASE_URL": db_url, "LIFTWATCH_DATA_DIR": str(tmp_path / "data")}
    folder = tmp_path / "register.csv"
    folder.mkdir()
    assert str(folder) in _one_line(cli("fleet", "import", str(folder), env=env))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "no recognizable header" in _one_line(cli("fleet", "import", str(empty), env=env))


def test_a_bureau_token_without_scope_fails_naming_the_flag(
    db_url: str, tmp_path: Path, cli: Cli
) -> None:
    env = {"LIFTWATCH_DATABASE_URL": db_url, "LIFTWATCH_DATA_DIR": str(tmp_path / "data")}
    result = cli("auth", "create-token", "--role", "bureau", env=env)
    assert result.stdout == ""
    assert _one_line(result) == "error: a bureau token needs --scope <district_id>"


@pytest.mark.parametrize(
    ("as_of", "reason"),
    [
        ("9999-12-31", "between 1900-01-01 and 2100-12-31"),
        ("0001-01-01", "between 1900-01-01 and 2100-12-31"),
        ("0", "not a number"),
    ],
)
def test_a_score_date_outside_the_calendar_is_refused_before_scoring(
    as_of: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["score", "run", "--as-of", as_of])
    assert exit_.value.code == 2
    assert reason in capsys.readouterr().err


def test_broker_management_without_an_admin_address_names_the_setting_in_both_languages(
    cli: Cli,
) -> None:
    english = _one_line(cli("broker", "revoke", "C1", env={}))
    assert "LIFTWATCH_BROKER_ADMIN_URL" in english and "no broker to manage" in english
    chinese = _one_line(cli("broker", "sync", env={"LIFTWATCH_LANG": "zh-CN"}))
    assert chinese.startswith("错误") and "没有可管理的消息服务器" in chinese
    assert "LIFTWATCH_BROKER_ADMIN_URL" in chinese
