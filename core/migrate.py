"""Numbered SQL migrations, applied once each, under a lock, in TimescaleDB or plain PostgreSQL mode.

A migration is ``core/migrations/NNNN_name.sql``. Blocks between ``-- @if timescale`` (or
``-- @if postgres``) and ``-- @endif`` apply only in that mode, so each table is declared once and
both modes keep the same names and columns. The mode is chosen on the first upgrade and recorded.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg.rows import tuple_row

from core.errors import ConfigError
from core.i18n import t
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

Mode = Literal["timescale", "postgres"]
_LOCK_KEY = 0x6C69667477  # "liftw": one key for every liftwatch migrator
_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BLOCK_RE = re.compile(r"^-- @if (timescale|postgres)\n(.*?)^-- @endif\n", re.S | re.M)
FIRST_PARTITION_YEAR = 1990


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def sql_for(self, mode: Mode, settings: Settings) -> str:
        """The migration's SQL with the other mode's blocks removed and parameters filled in."""
        sql = _BLOCK_RE.sub(lambda m: m.group(2) if m.group(1) == mode else "", self.text)
        return sql.replace(":compress_after_days", str(int(settings.compress_after_days))).replace(
            ":status_retention_days", str(int(settings.status_retention_days))
        )


def migrations() -> list[Migration]:
    """Every migration shipped with liftwatch, in order."""
    found = []
    for entry in resources.files("core.migrations").iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"duplicate migration numbers in core/migrations: {versions}")
    return found


def _rows(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Tuple rows whatever the connection's row factory."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(sql, params).fetchall()


def _timescale_available(conn: psycopg.Connection[Any]) -> bool:
    return bool(_rows(conn, "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"))


def _recorded_mode(conn: psycopg.Connection[Any]) -> Mode | None:
    if _rows(conn, "SELECT to_regclass('liftwatch_meta')")[0][0] is None:
        return None
    rows = _rows(conn, "SELECT value FROM liftwatch_meta WHERE key = 'mode'")
    return rows[0][0] if rows else None


def timescale_refusal(url: str) -> str | None:
    """Why ``CREATE EXTENSION timescaledb`` fails on this database, or None when it works.

    Being listed in pg_available_extensions only means the package is installed: TimescaleDB also
    has to be in shared_preload_libraries, and without it the extension's script ends the session
    (FATAL "must be preloaded"). So the probe creates the extension on a connection of its own, in
    a transaction that is rolled back, and the caller's connection and advisory lock survive it.
    """
    try:
        with psycopg.connect(url, autocommit=True) as probe, probe.transaction(force_rollback=True):
            probe.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def _choose_mode(conn: psycopg.Connection[Any], url: str, settings: Settings) -> Mode:
    if settings.timescale == "off":
        return "postgres"
    if not _timescale_available(conn):
        if settings.timescale == "on":
            raise ConfigError(t("en", "migrate.timescale_missing"))
        return "postgres"
    refusal = timescale_refusal(url)
    if refusal is None:
        return "timescale"
    sentence = t("en", "migrate.timescale_not_preloaded", error=refusal)
    if settings.timescale == "on":
        raise ConfigError(sentence)
    log.warning("%s; %s", sentence, t("en", "migrate.using_postgres"))
    return "postgres"


def upgrade(url: str, settings: Settings | None = None) -> list[Migration]:
    """Apply pending migrations; safe to run twice or from several processes at once."""
    settings = settings or get_settings()
    applied: list[Migration] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            mode = _recorded_mode(conn)
            if mode is None:
                mode = _choose_mode(conn, url, settings)
                with conn.transaction():
                    if mode == "timescale":
                        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                    conn.execute(
                        "CREATE TABLE liftwatch_meta (key text PRIMARY KEY, value text NOT NULL)"
                    )
                    conn.execute(
                        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
                        "name text NOT NULL, checksum text NOT NULL, "
                        "applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                    conn.execute("INSERT INTO liftwatch_meta VALUES ('mode', %s)", (mode,))
                log.info("new database: %s mode", mode)
            done = dict(_rows(conn, "SELECT version, checksum FROM schema_migrations"))
            for migration in migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        log.warning(
                            "migration %04d_%s changed since it was applied; "
                            "ship changes as a new migration",
                            migration.version,
                            migration.name,
                        )
                    continue
                log.info("applying migration %04d_%s", migration.version, migration.name)
                with conn.transaction():
                    conn.execute(migration.sql_for(mode, settings).encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied.append(migration)
            if mode == "postgres":
                ensure_partitions(conn)
        finally:
            # A session that died (a FATAL error, a server restart) has released the lock
            # already; unlocking it would raise "the connection is closed" over the real error.
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def ensure_partitions(conn: psycopg.Connection[Any], *, ahead_years: int = 1) -> None:
    """Plain-PostgreSQL mode: make sure yearly/monthly partitions exist through next year."""
    conn.execute(
        "SELECT liftwatch_ensure_partitions(%s, %s)",
        (FIRST_PARTITION_YEAR, date.today().year + ahead_years),
    )


def info(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """What the database holds: mode, server and extension versions, migrations, partitions."""
    mode = _recorded_mode(conn)
    server = _rows(conn, "SHOW server_version")[0][0]
    ts = _rows(conn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    known = migrations()
    applied = (
        {r[0] for r in _rows(conn, "SELECT version FROM schema_migrations")} if mode else set()
    )
    result: dict[str, Any] = {
        "mode": mode or "uninitialized",
        "server_version": server,
        "timescaledb_version": ts[0][0] if ts else None,
        "timescaledb_available": _timescale_available(conn),
        "migrations_applied": sorted(applied),
        "migrations_pending": [m.version for m in known if m.version not in applied],
    }
    if mode == "timescale":
        result["chunks"] = dict(
            _rows(
                conn,
                "SELECT hypertable_name, count(*) FROM timescaledb_information.chunks "
                "GROUP BY 1 ORDER BY 1",
            )
        )
    elif mode == "postgres":
        result["partitions"] = dict(
            _rows(
                conn,
                "SELECT parent.relname, count(*) FROM pg_inherits "
                "JOIN pg_class parent ON parent.oid = inhparent "
                "WHERE parent.relkind = 'p' GROUP BY 1 ORDER BY 1",
            )
        )
    return result
