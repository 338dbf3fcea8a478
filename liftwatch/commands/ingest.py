"""`liftwatch ingest`: the MQTT worker, CSV fault-log imports, dead-letter replays and figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.db import connect, database_url
from core.errors import Invalid, NotFound
from core.settings import get_settings
from ingest.authorize import RegisterCache
from ingest.decode import REASONS
from ingest.pipeline import IngestResult, ingest_messages
from ingest.replay import ReplayReport, replay
from ingest.stats import db_totals, scrape

_FILE_BATCH = 5000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = sub.add_parser(
        "ingest",
        help="run the MQTT ingest worker; import CSV fault logs; replay dead letters; show figures",
        description="Without an action, run the ingest worker: subscribe to liftwatch/# (QoS 1, "
        "persistent session), store every valid event once and dead-letter the rest with a reason, "
        "acknowledging each message only after its transaction committed. Stop with SIGTERM or "
        "Ctrl-C: what was received is stored and acknowledged first. It exits non-zero at once if "
        "a thread it needs dies or the broker refuses its credentials (LIFTWATCH_BROKER_URL="
        "mqtt://USER:PASSWORD@host:port), for a supervisor to restart it.",
    )
    ingest.set_defaults(func=_run)
    actions = ingest.add_subparsers(dest="ingest_command", metavar="ACTION")

    run = actions.add_parser("run", help="run the ingest worker (the default action)")
    run.set_defaults(func=_run)

    file = actions.add_parser(
        "file",
        help="import a contractor's historical fault log (CSV)",
        description="Import fault records from a CSV file (columns in docs/ingestion.md) for one "
        "contractor, with the same validation, authorization and dead letters as MQTT. Rows "
        "without an event_id get a stable one, so importing a file twice stores it once.",
    )
    file.add_argument(
        "path", type=Path, metavar="FILE", help="CSV file, UTF-8 (Excel's BOM is fine)"
    )
    file.add_argument(
        "--contractor", required=True, help="id of the contractor the records come from"
    )
    file.add_argument(
        "--show", type=int, default=20, metavar="N", help="rejected rows to print (default 20)"
    )
    file.set_defaults(func=_file)

    rep = actions.add_parser(
        "replay",
        help="re-process dead letters after their cause was fixed",
        description="Send pending dead letters of one reason through the pipeline again, e.g. "
        "unknown_unit after the register was imported. Stored or duplicate ones are marked "
        "replayed; still-rejected ones stay pending with the new verdict in replay_outcome.",
    )
    rep.add_argument(
        "--reason", required=True, choices=REASONS, help="which dead letters to replay"
    )
    rep.set_defaults(func=_replay)

    stats = actions.add_parser(
        "stats",
        help="print a running worker's metrics and the database's totals",
        description="Scrape the worker's Prometheus endpoint (received, stored, duplicates, "
        "rejected by reason, queue depth, oldest unacknowledged message) and count what the "
        "database holds.",
    )
    stats.add_argument(
        "--url",
        help="metrics URL (default http://127.0.0.1:$LIFTWATCH_INGEST_METRICS_PORT/metrics)",
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of text")
    stats.set_defaults(func=_stats)


def _run(args: argparse.Namespace) -> int:
    from core.broker import broker_url
    from ingest.worker import Worker

    settings = get_settings()
    return Worker(
        settings, database_url=database_url(settings), broker_url=broker_url(settings)
    ).run()


def _file(args: argparse.Namespace) -> int:
    from ingest.csvfile import read_rows

    if not args.path.is_file():
        raise NotFound(f"no such file: {args.path}")
    total, register = IngestResult(), RegisterCache()
    shown = 0
    with connect(autocommit=True) as conn:
        rows = read_rows(args.path, contractor_id=args.contractor)
        while batch := [row for _, row in zip(range(_FILE_BATCH), rows, strict=False)]:
            result = ingest_messages(
                conn, [r.message for r in batch], source="file", register=register
            )
            total.add(result)
            for row, item in zip(batch, result.items, strict=True):
                if item.outcome == "rejected" and shown < args.show:
                    shown += 1
                    print(f"  line {row.line}: {item.reason}: {item.detail}", file=sys.stderr)
            print(f"{total.total} rows: {total.stored} stored, {total.duplicates} duplicates, "
                  f"{sum(total.rejected.values())} rejected", file=sys.stderr)  # fmt: skip
    if total.total == 0:
        raise Invalid(f"{args.path} has no data rows")
    for reason, n in sorted(total.rejected.items()):
        print(f"rejected {reason}: {n} (kept in dead_letter, source 'file')")
    print(
        f"stored {total.stored}, duplicates {total.duplicates}, rejected {sum(total.rejected.values())}"
    )
    return 0 if not total.rejected else 1


def _replay(args: argparse.Namespace) -> int:
    def progress(report: ReplayReport) -> None:
        print(f"replayed {report.replayed} ...", file=sys.stderr)

    with connect(autocommit=True) as conn:
        report = replay(conn, reason=args.reason, progress=progress)
    if not report.replayed:
        print(f"no pending dead letters with reason {args.reason}")
        return 0
    for outcome, n in sorted(report.outcomes.items()):
        print(f"{outcome}: {n}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    url = args.url or f"http://127.0.0.1:{get_settings().ingest_metrics_port}/metrics"
    facts: dict[str, object] = {"metrics_url": url}
    try:
        facts["worker"] = scrape(url)
    except OSError as exc:
        facts["worker"] = None
        facts["worker_error"] = f"no worker metrics at {url}: {exc}"
    with connect() as conn:
        facts["database"] = db_totals(conn)
    if args.json:
        print(json.dumps(facts, indent=2, default=str))
        return 0
    if facts["worker"] is None:
        print(facts["worker_error"])
    else:
        print(f"worker ({url}):")
        for name, value in facts["worker"].items():  # type: ignore[attr-defined]
            print(f"  {name:60} {value:g}")
    database = facts["database"]
    assert isinstance(database, dict)
    print("database:")
    for table, n in database["stored"].items():
        print(f"  {table:24} {n} stored")
    for reason, n in database["dead_letters"].items():
        print(f"  dead letters {reason:17} {n['pending']} pending, {n['replayed']} replayed")
    return 0
