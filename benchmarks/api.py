"""API load benchmark: rankings and unit explanations on a 200,000-unit fleet, driven by wrk.

Builds a register and one score run of 200,000 units with SQL in a database of its own, serves
the API with uvicorn in another process, and drives it with wrk (a C load generator, also another
process) at 1, 16 and 64 connections. Reports throughput and p50/p95/p99 latency, and as baselines
measured in the same run: the same ranking query straight through psycopg, and GET /healthz (the
framework's floor). Target: p99 under 100 ms at 16 clients for a ranking page of 50 units.

Two servers run side by side: one as configured by default, whose ranking pages come from its page
cache after the first read of each (``LIFTWATCH_API_PAGE_CACHE_SECONDS``), and one with the page
cache off, which reads every page from the database (the "no page cache" points).

Each point follows an unmeasured warm-up of a couple of seconds at the same concurrency (the
pool grows to its size, statements get prepared). Each request of the street-office ranking asks
for one of the 20 offices at random, each
explanation for a random unit. "CPU ms/req" is the CPU time of the server's processes, "DB ms/req"
that of the PostgreSQL backends serving the benchmark's database, per request answered: unlike
latency, neither depends much on what else the machine is doing. "other CPU" is the share of the
machine's CPUs that went to anything else during the point (other jobs sharing the machine); the
load average printed after each point counts the benchmark's own processes too.

    .venv/bin/python benchmarks/api.py [--units 200000] [--seconds 10] [--workers 1] [--loop asyncio]
        [--only TEXT]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import api_conninfo  # noqa: E402
from api.server import EVENT_LOOP  # noqa: E402
from api.tokens import create_token  # noqa: E402
from core import migrate  # noqa: E402
from core.db import connect, database_url  # noqa: E402
from core.scope import Scope  # noqa: E402
from queries import ranking as ranking_q  # noqa: E402

CONCURRENCY = (1, 16, 64)

FLEET_SQL = """
INSERT INTO district VALUES ('D1', '海淀区', 'Haidian');
INSERT INTO street_office SELECT 'S' || i, 'D1', '街道' || i, NULL FROM generate_series(1, 20) i;
INSERT INTO community SELECT 'C' || i, 'S' || (1 + i % 20), '小区' || i, NULL FROM generate_series(1, 2000) i;
INSERT INTO contractor SELECT 'K' || i, '维保' || i, NULL FROM generate_series(1, 50) i;
INSERT INTO building (building_id, community_id, name, floors, households, elderly_share, fund_status)
SELECT 'B' || i, 'C' || (1 + i % 2000), i || '号楼', 6 + i % 25, 24 + i % 200, (i % 60) / 100.0,
       (ARRAY['funded', 'insufficient', 'none'])[1 + i % 3]
FROM generate_series(1, %(buildings)s) i;
INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on, contractor_id)
SELECT 'U' || i, 'RC' || i, 'B' || (1 + i % %(buildings)s), 'Maker' || (i % 7),
       date '1990-01-01' + (i % 10000), 'K' || (1 + i % 50)
FROM generate_series(1, %(units)s) i;
INSERT INTO score_run (as_of, policy_version, policy_hash, unit_count)
VALUES ('2023-05-01', 'bench', 'bench', %(units)s);
INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag, flag_rule, factors,
                        reasons, district_id, street_office_id, contractor_id)
SELECT 1, unit_id, row_number() OVER (ORDER BY risk DESC, unit_id), health, pof, cof, risk,
       (ARRAY['stopped', 'replace_or_overhaul', 'safety_assessment', 'watch', 'ok'])[1 + (abs(h) % 5)],
       'bench.rule', %(factors)s::jsonb, score_reasons(%(factors)s::jsonb), p.district_id,
       p.street_office_id, p.contractor_id
FROM (SELECT 'U' || i AS unit_id, hashtext('u' || i) AS h, 0.5 + (abs(hashtext('h' || i)) % 950) / 100.0 AS health,
             (abs(hashtext('p' || i)) % 1000) / 1000.0 AS pof, 1 + (abs(hashtext('c' || i)) % 1000) / 100.0 AS cof,
             (abs(hashtext('r' || i)) % 1000000) / 1000.0 AS risk
      FROM generate_series(1, %(units)s) i) s
JOIN unit_place p USING (unit_id);
"""

FACTORS = (
    "["
    + ", ".join(
        f'{{"factor": "{name}", "value": 1, "modifier": 1.0, "contribution": 0.5,'
        f' "zh": "因素{name}的说明，约三十个汉字，用来模拟真实解释的长度", "en": "an explanation of {name} of a typical length"}}'
        for name in (
            "failed_inspection",
            "age",
            "missed_maintenance",
            "fault_rate",
            "serious_rate",
            "excluded_causes",
            "downtime",
            "data_freshness",
            "consequence",
            "flag_rule",
        )
    )
    + "]"
)

LUA = """
math.randomseed(%(seed)d)
request = function()
  local path = "%(path)s"
  if string.find(path, "UNIT") then
    path = string.gsub(path, "UNIT", "U" .. math.random(1, %(units)d))
  end
  if string.find(path, "OFFICE") then
    path = string.gsub(path, "OFFICE", "S" .. math.random(1, 20))
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer %(token)s"})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f %%f %%d\\n", summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.duration / 1e6, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_fleet(url: str, units: int) -> str:
    """Register, one score run and a bureau token; returns the token."""
    started = time.perf_counter()
    migrate.upgrade(url)
    with connect(url) as conn:
        for statement in FLEET_SQL.split(";\n"):
            text = statement.replace("%(buildings)s", str(units // 10)).replace(
                "%(units)s", str(units)
            )
            if "%(factors)s" in text:
                conn.execute(text.replace(" % ", " %% "), {"factors": FACTORS})
            elif text.strip():
                conn.execute(text)
        token, _ = create_token(conn, role="bureau", bound_to="D1", name="bench")
        conn.commit()
    # What autovacuum would do to freshly loaded tables anyway, done before the clock starts.
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print(
        f"fleet of {units} units and one score run built in {time.perf_counter() - started:.1f} s"
    )
    return token


def sql_baseline(url: str, rounds: int = 200) -> float:
    """Median ms of the ranking page's query through psycopg (the statement the API runs, with
    the same session options, in autocommit), no HTTP."""
    times = []
    with connect(api_conninfo(url), autocommit=True) as conn:
        for _ in range(rounds):
            t = time.perf_counter()
            ranking_q.ranking_json(conn=conn, scope=Scope("bureau", "D1"), limit=50)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _stat(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its children (uvicorn's workers) have used
    (Linux)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
                if int(entry.name) == pid or int(fields[1]) == pid:
                    total += _cpu(fields)
            except (OSError, IndexError, ValueError):
                continue
    return total


def database_cpu_seconds(database: str) -> float:
    """CPU time used by the PostgreSQL backends serving clients of a database (local server,
    Linux; autovacuum workers are not counted)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if (
                    title.startswith("postgres: ")
                    and f" {database} " in title
                    and "autovacuum" not in title
                ):
                    total += _cpu(_stat(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent running processes (user, nice and system), all CPUs."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[0]) + int(fields[1]) + int(fields[2])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    base: str, path: str, token: str, clients: int, seconds: int, units: int
) -> dict[str, float]:
    """Run wrk on one path; throughput and latency percentiles in ms."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"seed": clients, "path": path, "units": units, "token": token})
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(clients, 2)}",
                f"-c{clients}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    n, p50, p95, p99, duration, errors = line.split()[1:]
    return {
        "rps": int(n) / float(duration),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "errors": int(errors),
    }


def start_server(
    url: str, args: argparse.Namespace, *, page_cache_seconds: float | None
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the API on the benchmark's database, on a free port: the process and its
    base URL. ``page_cache_seconds`` None keeps the default of ``LIFTWATCH_API_PAGE_CACHE_SECONDS``."""
    port = _free_port()
    env = {
        **os.environ,
        "LIFTWATCH_DATABASE_URL": url,
        "LIFTWATCH_DB_POOL_MIN": str(args.pool_min),
        "LIFTWATCH_DB_POOL_MAX": str(args.pool_max),
        "LIFTWATCH_LOG_LEVEL": "WARNING",
    }
    env.pop("LIFTWATCH_API_PAGE_CACHE_SECONDS", None)
    if page_cache_seconds is not None:
        env["LIFTWATCH_API_PAGE_CACHE_SECONDS"] = str(page_cache_seconds)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            args.loop,
        ],
        cwd=ROOT,
        env=env,
    )
    return server, f"http://127.0.0.1:{port}"


def wait_until_serving(server: tuple[subprocess.Popen[bytes], str]) -> None:
    """Return once the server answers GET /healthz (at most three minutes)."""
    process, base = server
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API server did not start") from None
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per point")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="unmeasured wrk run before each point (pool growth, prepared statements)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default=EVENT_LOOP,
        help=f"uvicorn's event loop (default: {EVENT_LOOP}, as `liftwatch api` runs)",
    )
    parser.add_argument("--pool-min", type=int, default=4, help="pool connections per worker, min")
    parser.add_argument("--pool-max", type=int, default=16, help="pool connections per worker, max")
    parser.add_argument(
        "--only", default="", help="run only the endpoints whose label contains this text"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    server_url = os.environ.get("LIFTWATCH_TEST_DATABASE_URL") or database_url()
    name = f"lw_bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        token = build_fleet(url, args.units)
        # The server as configured by default, and one that reads every ranking page from the
        # database (page cache off): the benchmark reports both.
        servers["cached"] = start_server(url, args, page_cache_seconds=None)
        servers["uncached"] = start_server(url, args, page_cache_seconds=0)
        for server in servers.values():
            wait_until_serving(server)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, {platform.platform()}"
        )
        print(
            f"server: uvicorn, {args.workers} worker(s), {args.loop} loop, "
            f"pool {args.pool_min}-{args.pool_max}"
            f" each; load: wrk, "
            f"{args.seconds} s per point after {args.warmup} s of warm-up; "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        baseline = sql_baseline(url)
        print(f"baseline: ranking query through psycopg, median {baseline:.2f} ms")
        scenarios = {
            "healthz (floor)": ("cached", "/healthz"),
            "ranking page of 50": ("cached", "/v1/rankings?limit=50"),
            "ranking, one street office": (
                "cached",
                "/v1/rankings?limit=50&street_office_id=OFFICE",
            ),
            "ranking, no page cache": ("uncached", "/v1/rankings?limit=50"),
            "street office, no cache": (
                "uncached",
                "/v1/rankings?limit=50&street_office_id=OFFICE",
            ),
            "unit explanation": ("cached", "/v1/units/UNIT/explanation"),
        }
        print(
            f"{'endpoint':<28}{'clients':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            f"{'p50/SQL':>9}{'errors':>8}{'CPU ms/req':>12}{'DB ms/req':>11}{'other CPU':>11}"
        )
        ncpu = os.cpu_count() or 1
        scenarios = {k: v for k, v in scenarios.items() if args.only in k}
        for label, (which, path) in scenarios.items():
            server, base = servers[which]
            for clients in CONCURRENCY:
                if args.warmup > 0:
                    wrk(base, path, token, clients, args.warmup, args.units)
                server_cpu, db_cpu = cpu_seconds(server.pid), database_cpu_seconds(name)
                wrk_cpu, busy, started = children_cpu_seconds(), machine_busy_seconds(), time.time()
                r = wrk(base, path, token, clients, args.seconds, args.units)
                server_cpu = cpu_seconds(server.pid) - server_cpu
                db_cpu = database_cpu_seconds(name) - db_cpu
                wrk_cpu = children_cpu_seconds() - wrk_cpu
                elapsed, busy = time.time() - started, machine_busy_seconds() - busy
                answered = max(1, r["rps"] * args.seconds)
                # The share of the machine's CPUs that went to anything but this benchmark's
                # server, its database backends and wrk: other work sharing the machine.
                other = max(0.0, busy - server_cpu - db_cpu - wrk_cpu) / (elapsed * ncpu)
                print(
                    f"{label:<28}{clients:>8}{r['rps']:>10.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
                    f"{r['p99']:>9.1f}{r['p50'] / baseline:>9.1f}{r['errors']:>8}"
                    f"{server_cpu * 1000 / answered:>12.2f}{db_cpu * 1000 / answered:>11.2f}"
                    f"{other:>10.0%}   load {os.getloadavg()[0]:.1f}"
                )
    finally:
        for server, _ in servers.values():
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
