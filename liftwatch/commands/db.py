"""`liftwatch db`: create or upgrade the schema, and report what the database holds."""

from __future__ import annotations

import argparse
import json

from core import migrate
from core.db import connect, database_url


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema: upgrade, info")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    up = dbsub.add_parser(
        "upgrade",
        help="apply pending migrations (idempotent, safe to run concurrently)",
        description="Create or upgrade the liftwatch schema. Chooses TimescaleDB mode when the "
        "server has the timescaledb extension (see LIFTWATCH_TIMESCALE), plain PostgreSQL "
        "partitioning otherwise, and records the choice.",
    )
    up.set_defaults(func=_upgrade)

    inf = dbsub.add_parser("info", help="show the storage mode, versions, migrations, partitions")
    inf.add_argument("--json", action="store_true", help="print JSON instead of text")
    inf.set_defaults(func=_info)


def _upgrade(args: argparse.Namespace) -> int:
    url = database_url()
    applied = migrate.upgrade(url)
    if applied:
        for m in applied:
            print(f"applied {m.version:04d}_{m.name}")
    else:
        print("schema is up to date")
    with connect(url) as conn:
        print(f"mode: {migrate.info(conn)['mode']}")
    return 0


def _info(args: argparse.Namespace) -> int:
    with connect() as conn:
        facts = migrate.info(conn)
    if facts["timescaledb_available"] and not facts["timescaledb_version"]:
        # Installed is not usable: say why the extension cannot be created (not preloaded, say).
        facts["timescaledb_refusal"] = migrate.timescale_refusal(database_url())
    if args.json:
        print(json.dumps(facts, indent=2, default=str))
        return 0
    print(f"mode:               {facts['mode']}")
    print(f"server:             PostgreSQL {facts['server_version']}")
    print(
        f"timescaledb:        {facts['timescaledb_version'] or 'not installed'}"
        f" (available on server: {'yes' if facts['timescaledb_available'] else 'no'})"
    )
    if facts.get("timescaledb_refusal"):
        print(f"                    cannot be created here: {facts['timescaledb_refusal']}")
    print(f"migrations applied: {', '.join(map(str, facts['migrations_applied'])) or 'none'}")
    print(f"pending:            {', '.join(map(str, facts['migrations_pending'])) or 'none'}")
    for key in ("partitions", "chunks"):
        for table, count in facts.get(key, {}).items():
            print(f"{key[:-1]}s of {table}: {count}")
    return 0
