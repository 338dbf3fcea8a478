"""The `liftwatch` command. Each command group lives in its own module under liftwatch.commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core.errors import LiftwatchError, ProblemList
from core.logs import setup_logging
from liftwatch import __version__

# Modules under liftwatch.commands; each has `register(subparsers)` adding its commands.
COMMAND_MODULES = (
    "db",
    "fleet",
    "contract",
    "simulate",
    "ingest",
    "score",
    "plan",
    "auth",
    "api",
    "report",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="liftwatch",
        description="Watch a fleet of elevators and rank which ones to overhaul or replace first.",
    )
    parser.add_argument("--version", action="version", version=f"liftwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"liftwatch.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    setup_logging()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ProblemList as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for problem in exc.problems:
            where = f"row {problem.row}, " if problem.row is not None else ""
            print(f"  {where}{problem.field}: {problem.reason}", file=sys.stderr)
        return 2
    except LiftwatchError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        logging.getLogger("liftwatch").info("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
