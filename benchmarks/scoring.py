"""Scoring a city-sized fleet as of a date: the target is 1,000,000 units in under 60 seconds.

Generates a register and two and a half years of events in SQL (faults, inspections, half-monthly
maintenance, weekly status samples) into a separate database, then times one score run step by
step (learning the weights, feature SQL, deterioration index, learned model, flags and rank,
writing the run) next to a raw
baseline measured in the same run: one plain pass over the same event rows (count per unit).

    .venv/bin/python benchmarks/scoring.py [--units 200000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# scoring package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import numpy as np
import psycopg
from psycopg import sql

from core import migrate
from core.db import connect, database_url
from scoring.learning import learn
from scoring.model import FailureModel, design_matrix
from scoring.policy import load_policy
from scoring.run import score, write_run

DATABASE = "liftwatch_bench_scoring"
AS_OF = date(2024, 1, 1)
LIMIT_SECONDS = 60.0

GENERATE = [
    "INSERT INTO district VALUES ('BD', '基准区')",
    "INSERT INTO street_office SELECT 'BS' || s, 'BD', '街道' || s FROM generate_series(1, 40) s",
    "INSERT INTO community SELECT 'BC' || c, 'BS' || (c % 40 + 1), '社区' || c FROM generate_series(1, 2000) c",
    "INSERT INTO contractor SELECT 'BK' || k, '维保' || k FROM generate_series(1, 60) k",
    """INSERT INTO building (building_id, community_id, name, floors, households, elderly_share)
       SELECT 'BB' || b, 'BC' || (b %% 2000 + 1), b || '号楼', 6 + b %% 28, 20 + b %% 200,
              (b %% 70) / 100.0
       FROM generate_series(1, %(buildings)s) b""",
    """INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on,
                        renewed_on, contractor_id, service_status)
       SELECT 'BU' || u, 'R' || u, 'BB' || (u %% %(buildings)s + 1), 'M' || (u %% 7),
              date '1985-01-01' + (u::bigint * 7919 %% 13000)::int,
              CASE WHEN u %% 9 = 0 AND u::bigint * 7919 %% 13000 < 7000
                   THEN date '1985-01-01' + (u::bigint * 7919 %% 13000)::int + 5500 + u %% 1500 END,
              'BK' || (u %% 60 + 1), CASE WHEN u %% 997 = 0 THEN 'stopped' ELSE 'in_service' END
       FROM generate_series(1, %(units)s) u""",
    "INSERT INTO unit_renewal (unit_id, renewed_on) SELECT unit_id, renewed_on FROM unit WHERE renewed_on IS NOT NULL",
    # Faults: older units fail more; one in ten is an external or misuse event.
    """INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause, severity,
                               entrapment, ended_at)
       SELECT gen_random_uuid(), u.unit_id, u.contractor_id, ts,
              CASE WHEN r < 0.1 THEN '41' ELSE '02' END,
              CASE WHEN r < 0.1 THEN 'external' ELSE 'equipment' END,
              CASE WHEN r > 0.95 THEN 'critical' WHEN r > 0.8 THEN 'major' ELSE 'minor' END,
              r > 0.97, ts + interval '90 minutes'
       FROM unit u
       CROSS JOIN LATERAL generate_series(1, 2 + (2024 - extract(year FROM u.installed_on))::int / 4) k
       CROSS JOIN LATERAL (SELECT random() AS r,
                                  timestamptz '2022-01-01 00:00+08' + random() * interval '912 days' AS ts) x""",
    """INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at, inspection_body,
                                    result, rectification_items, certificate_expiry)
       SELECT gen_random_uuid(), unit_id, contractor_id, ts, '特检院',
              CASE WHEN random() < 0.03 THEN 'fail' WHEN random() < 0.3 THEN 'pass_after_rectification'
                   ELSE 'pass' END,
              (random() * 3)::int, (ts + interval '1 year')::date
       FROM unit, generate_series(timestamptz '2022-03-01 10:00+08', '2024-06-30', interval '1 year') ts""",
    """INSERT INTO maintenance_event (event_id, unit_id, contractor_id, occurred_at, visit_type)
       SELECT gen_random_uuid(), unit_id, contractor_id, ts + (random() * 4 - 2) * interval '1 day', 'routine'
       FROM unit, generate_series(timestamptz '2023-01-01 09:00+08', '2024-03-31', interval '15 days') ts
       WHERE random() > 0.06""",
    """INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online, trips)
       SELECT gen_random_uuid(), unit_id, contractor_id, ts, true,
              (extract(epoch FROM ts - timestamptz '2023-01-01') / 86400
               * (500 + hashtext(unit_id) % 400))::bigint
       FROM unit, generate_series(timestamptz '2023-10-01 12:00+08', '2024-01-31', interval '7 days') ts""",
]

RAW_BASELINE = """
SELECT unit_id, count(*) FROM fault_event GROUP BY unit_id
UNION ALL SELECT unit_id, count(*) FROM inspection_event GROUP BY unit_id
UNION ALL SELECT unit_id, count(*) FROM maintenance_event GROUP BY unit_id
UNION ALL SELECT unit_id, count(*) FROM status_sample WHERE occurred_at >= timestamptz '2023-10-01' GROUP BY unit_id
"""


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="postgres"), autocommit=True)


def _generate(url: str, units: int) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with _admin(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(url)
    params = {"units": units, "buildings": max(1, units * 2 // 5)}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.42)")
        for statement in GENERATE:
            started = time.perf_counter()
            cur = conn.execute(statement, params if "%(" in statement else None)
            print(
                f"  generated {cur.rowcount:>10,} rows in {time.perf_counter() - started:5.1f}s: "
                f"{statement.split('(')[0].strip()[:40]}"
            )
        conn.execute("VACUUM ANALYZE")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--units", type=int, default=200_000, help="units to generate (default 200,000)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database afterwards"
    )
    parser.add_argument("--reuse", action="store_true", help="reuse a database generated earlier")
    parser.add_argument(
        "--database", default=DATABASE, help=f"benchmark database name (default {DATABASE})"
    )
    args = parser.parse_args()
    url = psycopg.conninfo.make_conninfo(database_url(), dbname=args.database)
    print(f"machine: {_machine()}")
    if not args.reuse:
        print(f"generating {args.units:,} units and their events in {args.database} ...")
        _generate(url, args.units)
    policy = load_policy()
    with connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
        events = conn.execute(
            "SELECT (SELECT count(*) FROM fault_event) + (SELECT count(*) FROM inspection_event)"
            " + (SELECT count(*) FROM maintenance_event) + (SELECT count(*) FROM status_sample) AS n"
        ).fetchone()
        print(
            f"PostgreSQL {server['server_version'] if server else '?'}; "
            f"{events['n'] if events else 0:,} events stored"
        )
        started = time.perf_counter()
        conn.execute(RAW_BASELINE).fetchall()
        raw = time.perf_counter() - started
        # A model to time: fitted on the fleet as of the date against the next six months.
        fit_on = score(conn, as_of=AS_OF, policy=policy, expected_life_years=18.0)
        later = {
            r["unit_id"]
            for r in conn.execute(
                "SELECT DISTINCT unit_id FROM fault_event WHERE occurred_at >= %s AND severity = 'critical'",
                (AS_OF,),
            ).fetchall()
        }
        y = np.array([u in later for u in fit_on.features.unit_ids], dtype=int)
        sample = np.random.default_rng(0).random(len(y)) < 0.2
        model = FailureModel(max_iter=100).fit(design_matrix(fit_on.columns)[sample], y[sample])

        started = time.perf_counter()
        fitted = learn(conn, as_of=AS_OF, policy=policy, expected_life_years=18.0)
        learning = time.perf_counter() - started
        scored = score(
            conn, as_of=AS_OF, policy=policy, expected_life_years=18.0, model=model, fitted=fitted
        )
        scored.timings = {"learning": learning, **scored.timings}
        write_run(conn, scored, policy=policy, model_version="benchmark")
        conn.commit()
        total = time.perf_counter() - started
    units = len(scored.features)
    print(
        f"\nscoring {units:,} units as of {AS_OF}: {total:.1f}s "
        f"({units / total:,.0f} units/s; limit {LIMIT_SECONDS:.0f}s)"
    )
    for step, seconds in scored.timings.items():
        print(f"  {step:<16} {seconds:6.1f}s  {seconds / total:5.1%}")
    print(
        f"learning the weights: {learning:.1f}s, {learning / (total - learning):.0%} of the rest "
        f"of the run ({'fitted' if fitted else 'too little history: policy weights kept'})"
    )
    print(
        f"raw baseline (one GROUP BY pass over the same event tables): {raw:.1f}s; "
        f"feature SQL / raw = {scored.timings['features_sql'] / raw:.1f}x, total / raw = {total / raw:.1f}x"
    )
    if not args.keep:
        with _admin(url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(args.database)
                )
            )
    return 0 if total < LIMIT_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
