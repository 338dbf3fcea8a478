"""Documentation that must stay true: every setting is in the README, every command has help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import Settings
from liftwatch.cli import build_parser

ROOT = Path(__file__).parents[1]


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(LIFTWATCH_[A-Z0-9_]+)`", readme))
    missing = {f"LIFTWATCH_{name.upper()}" for name in Settings.model_fields} - documented
    assert not missing, f"settings missing from README.md's configuration table: {sorted(missing)}"


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    targets = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", targets, re.M) and re.search(r"^test:", targets, re.M)


def _commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(parser: object, path: list[str]) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, child in choices.items():
                    found.append([*path, name])
                    walk(child, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: liftwatch " + " ".join(command))


def test_register_columns_are_documented() -> None:
    from core.register_format import COLUMNS

    doc = (ROOT / "docs" / "register.md").read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"| `{column.key}` | {column.zh} |" in doc, column.key
