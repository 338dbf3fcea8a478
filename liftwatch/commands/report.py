"""`liftwatch report`: a self-contained HTML report of a scope's short list and ranking, for meetings."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from psycopg import sql

from core.db import connect
from core.errors import Invalid, NotFound
from core.i18n import LANGS
from core.scope import ROLES, Scope
from dashboards import report

_TABLES = {
    "bureau": ("district", "district_id"),
    "street_office": ("street_office", "street_office_id"),
    "contractor": ("contractor", "contractor_id"),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "report",
        help="write a self-contained HTML report of the scope's short list and ranking",
        description="Write one HTML file from the latest score run: the units to fund first, "
        "counts by flag and street office, the 5x5 risk matrix, and the scope's whole ranking in "
        "pages of 100. Only tables and the inlined stylesheet, so the file opens with no network "
        "(e.g. in a meeting room) and stays small.",
    )
    parser.add_argument(
        "--scope",
        default="admin",
        metavar="SCOPE",
        help="what the report covers: bureau:<district_id>, street_office:<id>, "
        "contractor:<id> or admin (everything; the default)",
    )
    parser.add_argument(
        "--lang", choices=LANGS, default="zh-CN", help="language of the report (default zh-CN)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("liftwatch-report.html"),
        help="file to write (default liftwatch-report.html)",
    )
    parser.set_defaults(func=_report)


def parse_scope(text: str) -> Scope:
    """A scope from its command-line form, e.g. ``bureau:haidian`` or ``admin``."""
    role, _, bound = text.strip().partition(":")
    if role not in ROLES:
        raise Invalid(
            f"unknown scope {text!r}; expected bureau:<district_id>, street_office:<id>, "
            "contractor:<id> or admin"
        )
    if role == "admin":
        if bound:
            raise Invalid("the admin scope is bound to nothing; write just 'admin'")
        return Scope("admin")
    if not bound:
        raise Invalid(f"scope {role} needs an id: {role}:<{_TABLES[role][1]}>")
    return Scope(role, bound)


def _report(args: argparse.Namespace) -> int:
    scope = parse_scope(args.scope)
    with connect() as conn:
        if scope.bound_to is not None:
            table, column = _TABLES[scope.role]
            query = sql.SQL("SELECT 1 FROM {} WHERE {} = %s").format(
                sql.Identifier(table), sql.Identifier(column)
            )
            if conn.execute(query, (scope.bound_to,)).fetchone() is None:
                raise NotFound(f"no {table.replace('_', ' ')} {scope.bound_to!r} in the register")
        html = report.render(
            conn, scope=scope, lang=args.lang, generated_at=datetime.now().astimezone()
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(html, encoding="utf-8")
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, {report.scope_label(scope)}, {args.lang})")
    return 0
