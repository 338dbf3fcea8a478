"""TimescaleDB compression per event table, and what a re-delivered duplicate costs once compressed.

Needs a TimescaleDB 2.x server (the extension preloaded). Creates a database of its own on it
(`lw_bench_compression`, recreated), migrates it in TimescaleDB mode, fills the four event tables
with a synthetic fleet in SQL, compresses every chunk, and reports per table the size before and
after compression (`hypertable_compression_stats`, the raw baseline being the uncompressed table
of the same run) and the ratio. Then it re-delivers events already stored, as the ingest worker
does (`INSERT ... ON CONFLICT DO NOTHING`), into the compressed chunks and reports the time and
the batches TimescaleDB decompressed to check them (EXPLAIN ANALYZE).

`--segmentby unit_id` compresses the sparse tables (faults, inspections, maintenance) segmented by
unit instead of the shipped settings, to compare the two in one place:

    .venv/bin/python benchmarks/timescale_compression.py --url postgresql://USER@HOST/postgres \\
        [--units 5000] [--faults 60000] [--status-days 1] [--redeliver 300] [--segmentby unit_id]
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from core.settings import Settings  # noqa: E402

DATABASE = "lw_bench_compression"
SPARSE = ("fault_event", "inspection_event", "maintenance_event")
TABLES = (*SPARSE, "status_sample")

FILL_SQL = """
INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause, severity,
                         entrapment, ended_at, description)
SELECT gen_random_uuid(), 'U' || (i % {units}), 'K' || (i % 50),
       timestamptz '2021-01-01' + i * (interval '1460 days' / {faults}),
       lpad((i % 40)::text, 2, '0'), (ARRAY['equipment', 'external', 'misuse', 'unknown'])[1 + i % 4],
       (ARRAY['minor', 'major', 'critical'])[1 + i % 3], i % 17 = 0,
       timestamptz '2021-01-01' + i * (interval '1460 days' / {faults})
           + (i % 300) * interval '1 minute',
       CASE WHEN i % 5 = 0 THEN '门锁回路故障' END
FROM generate_series(1, {faults}) i;

INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at, inspection_body,
                              result, defects, rectification_items, certificate_expiry)
SELECT gen_random_uuid(), 'U' || u, 'K' || (u % 50),
       make_timestamptz(y, 1 + u % 12, 1 + u % 28, 10, 0, 0, 'Asia/Shanghai'), '市特检院',
       (ARRAY['pass', 'pass', 'pass_after_rectification', 'fail'])[1 + (u + y) % 4],
       CASE WHEN (u + y) % 3 = 0 THEN '[{{"item": "2.8 制动器", "severity": "minor"}}]'::jsonb
            ELSE '[]'::jsonb END,
       (u + y) % 3, make_date(y + 1, 1 + u % 12, 1 + u % 28)
FROM generate_series(0, {units} - 1) u, generate_series(2021, 2025) y;

INSERT INTO maintenance_event (event_id, unit_id, contractor_id, occurred_at, visit_type, parts,
                               duration_minutes, technician)
SELECT gen_random_uuid(), 'U' || u, 'K' || (u % 50),
       timestamptz '2021-01-01' + (d * 15 + u % 15) * interval '1 day' + interval '9 hours',
       (ARRAY['routine', 'routine', 'routine', 'repair', 'part_replacement'])[1 + (u + d) % 5],
       CASE WHEN (u + d) % 5 = 4 THEN ARRAY['门刀'] ELSE '{{}}' END, 30 + (u + d) % 60, '张师傅'
FROM generate_series(0, {units} - 1) u, generate_series(0, 24 * 5 - 1) d;

INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online, in_service,
                           trips, door_cycles, running_hours)
SELECT gen_random_uuid(), 'U' || u, 'K' || (u % 50),
       timestamptz '2025-06-02' + m * interval '1 minute', m % 997 <> 0, true,
       100000 + u * 10 + m / 3, 200000 + u * 20 + m / 2, 3000 + m / 60.0
FROM generate_series(0, {units} - 1) u, generate_series(0, {status_minutes} - 1) m;
"""


def _recreate(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = sql.Identifier(DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return psycopg.conninfo.make_conninfo(admin_url, dbname=DATABASE)


def _segment_by_unit(conn: psycopg.Connection[tuple]) -> None:
    for table in SPARSE:
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} SET (timescaledb.compress, timescaledb.compress_segmentby = "
                "'unit_id', timescaledb.compress_orderby = 'occurred_at DESC')"
            ).format(sql.Identifier(table))
        )


def _sizes(conn: psycopg.Connection[tuple]) -> dict[str, tuple[int, int, int]]:
    """Per table: rows, bytes before and after compression."""
    found = {}
    for table in TABLES:
        row = conn.execute(
            sql.SQL(
                "SELECT (SELECT count(*) FROM {}), before_compression_total_bytes,"
                " after_compression_total_bytes FROM hypertable_compression_stats(%s)"
            ).format(sql.Identifier(table)),
            (table,),
        ).fetchone()
        assert row is not None
        found[table] = (int(row[0]), int(row[1] or 0), int(row[2] or 0))
    return found


def _redeliver(conn: psycopg.Connection[tuple], count: int) -> tuple[float, int]:
    """Re-insert ``count`` stored faults: seconds taken, batches decompressed to check them."""
    conn.execute(
        "CREATE TEMP TABLE again AS SELECT * FROM fault_event ORDER BY random() LIMIT %s", (count,)
    )
    started = time.perf_counter()
    plan = conn.execute(
        "EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO fault_event SELECT * FROM again"
        " ON CONFLICT DO NOTHING"
    ).fetchall()
    seconds = time.perf_counter() - started
    text = "\n".join(r[0] for r in plan)
    batches = sum(int(n) for n in re.findall(r"Batches decompressed: (\d+)", text))
    return seconds, batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="admin URL of a TimescaleDB 2.x server")
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--faults", type=int, default=60000)
    parser.add_argument(
        "--status-days", type=int, default=1, help="days of status samples, one a minute per unit"
    )
    parser.add_argument("--redeliver", type=int, default=300)
    parser.add_argument("--segmentby", choices=("unit_id",), default=None)
    args = parser.parse_args()

    url = _recreate(args.url)
    migrate.upgrade(url, Settings(timescale="on"))
    with psycopg.connect(url, autocommit=True) as conn:
        version = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        server = conn.execute("SHOW server_version").fetchone()
        print(
            f"TimescaleDB {version[0] if version else '?'} on PostgreSQL {server[0] if server else '?'}"
        )
        print(f"{platform.machine()}, Python {platform.python_version()}")
        # Nothing compresses or refreshes behind the benchmark's back.
        conn.execute(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
            " WHERE hypertable_name IS NOT NULL"
        )
        if args.segmentby:
            _segment_by_unit(conn)
        started = time.perf_counter()
        conn.execute(
            sql.SQL(FILL_SQL).format(
                units=sql.Literal(args.units),
                faults=sql.Literal(args.faults),
                status_minutes=sql.Literal(args.status_days * 1440),
            )
        )
        conn.execute("VACUUM ANALYZE")
        print(f"filled in {time.perf_counter() - started:.1f} s")
        for table in TABLES:
            conn.execute(
                "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks(%s) c",
                (table,),
            )
        settings = "segmentby unit_id" if args.segmentby else "shipped settings (migration 0012)"
        print(f"\n| table ({settings}) | rows | before | after | after/before |")
        print("|---|---:|---:|---:|---:|")
        for table, (rows, before, after) in _sizes(conn).items():
            ratio = after / before if before else float("nan")
            print(
                f"| `{table}` | {rows:,} | {before / 1e6:.2f} MB | {after / 1e6:.2f} MB | {ratio:.3f} |"
            )
        seconds, batches = _redeliver(conn, args.redeliver)
        print(
            f"\nre-delivering {args.redeliver} stored faults into compressed chunks: "
            f"{seconds * 1000:.0f} ms, {batches:,} batches decompressed"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
