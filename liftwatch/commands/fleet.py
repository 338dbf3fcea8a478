"""`liftwatch fleet`: import the register of units from a bureau's CSV or XLSX file."""

from __future__ import annotations

import argparse
from pathlib import Path

from core import migrate
from core.db import connect, database_url
from core.errors import Invalid
from core.i18n import user_lang
from core.register import import_file
from core.register_format import header_lang


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fleet = sub.add_parser("fleet", help="the fleet register: import")
    fsub = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    imp = fsub.add_parser(
        "import",
        help="import a register file (CSV or XLSX, English or Chinese headers)",
        description="Import units with their buildings, communities, street offices, districts "
        "and contractors. All or nothing by default: every bad row is reported (row, column, "
        "reason) and nothing is written. Re-importing the same file changes nothing. Columns: "
        "docs/register.md; example: examples/register.csv.",
    )
    imp.add_argument("file", type=Path, help="the .csv or .xlsx file")
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the good rows and write the rejected ones to --rejects",
    )
    imp.add_argument(
        "--rejects",
        type=Path,
        default=None,
        help="where --skip-invalid writes rejected rows (default: FILE.rejects.csv)",
    )
    imp.add_argument(
        "--allow-moves",
        action="store_true",
        help="let the file move street offices, communities, buildings or units to another "
        "district, street office, community or building, or change units' contractors (each move "
        "is recorded); without it such rows are rejected",
    )
    imp.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    from liftwatch.cli import where

    if not args.file.exists():
        raise Invalid(f"{args.file} does not exist")
    url = database_url()
    migrate.upgrade(url)
    rejects = args.rejects or args.file.with_suffix(".rejects.csv")
    with connect(url) as conn:
        report = import_file(
            conn,
            args.file,
            skip_invalid=args.skip_invalid,
            rejects_path=rejects,
            allow_moves=args.allow_moves,
        )
    print(report.summary())
    if report.problems:
        print(f"{report.rejected} row(s) rejected, written to {rejects}:")
        lang = header_lang(p.field for p in report.problems) or user_lang()
        for p in report.problems[:20]:
            print(f"  {where(p, lang)}")
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more in {rejects}")
    return 0
