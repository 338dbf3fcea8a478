"""The `liftwatch` command. Each command group lives in its own module under liftwatch.commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from pydantic import ValidationError

from core.errors import Problem, ProblemList
from core.i18n import LANGS, Lang, t, user_lang
from core.logs import setup_logging
from liftwatch import __version__
from liftwatch.failures import describe

# Modules under liftwatch.commands; each has `register(subparsers)` adding its commands.
COMMAND_MODULES = (
    "db",
    "fleet",
    "contract",
    "simulate",
    "ingest",
    "broker",
    "score",
    "plan",
    "auth",
    "api",
    "report",
    "alerts",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="liftwatch",
        description="Watch a fleet of elevators and rank which ones to overhaul or replace first.",
    )
    parser.add_argument("--version", action="version", version=f"liftwatch {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an error after its one-line message "
        "(so does LIFTWATCH_LOG_LEVEL=DEBUG)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"liftwatch.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing: building the parser reads the settings, which may be what is wrong.
    debug = "--debug" in words or os.environ.get("LIFTWATCH_LOG_LEVEL", "").upper() == "DEBUG"
    lang = user_lang()
    try:
        args = build_parser().parse_args(words)
        setup_logging()
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        logging.getLogger("liftwatch").info("interrupted")
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _explain(exc, lang)
        return 2


def _explain(exc: Exception, lang: Lang) -> None:
    """The error in one line on stderr (and, for bad input, each problem under it)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        setting = f"LIFTWATCH_{str(first['loc'][0]).upper()}" if first["loc"] else "LIFTWATCH_*"
        message = t(lang, "cli.setting", setting=setting, reason=first["msg"])
    elif isinstance(exc, ProblemList) and exc.lang in LANGS:
        # A register file's problems are told in the file's language, from the first word.
        lang = exc.lang
        message = t(lang, "register.problems", n=len(exc.problems))
    else:
        message = describe(exc, lang=lang)
    print(f"{t(lang, 'cli.error')}: {message}", file=sys.stderr)
    if isinstance(exc, ProblemList):
        for problem in exc.problems:
            print(f"  {where(problem, lang)}", file=sys.stderr)


def where(problem: Problem, lang: Lang) -> str:
    """A problem as one line: its row, the column as the file names it, the reason."""
    if problem.row is None:
        return f"{problem.field}: {problem.reason}"
    return t(lang, "register.where", row=problem.row, field=problem.field, reason=problem.reason)


if __name__ == "__main__":
    sys.exit(main())
