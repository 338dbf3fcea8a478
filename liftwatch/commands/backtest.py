"""`liftwatch score backtest` and `liftwatch score evaluate`: how good the ranking is, on the fleet's
own stored history and on simulated worlds with a known truth. Both run the same backtest code."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from core import migrate
from core.db import connect, database_url
from core.settings import get_settings
from scoring import backtests
from scoring import evaluate as evaluation
from scoring.backtest import Backtest, backtest, default_as_of, parse_horizon
from scoring.policy import Policy
from simulators.worlds import WORLDS, world

PolicyOf = Callable[[argparse.Namespace], tuple[Policy, float]]
HEADLINE = (("faults", "spearman"), ("faults", "lift_top10"), ("serious", "roc_auc"))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _horizon(text: str) -> int:
    try:
        return parse_horizon(text)
    except Exception as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _interval(text: str) -> timedelta | None:
    if text.strip().lower() == "none":
        return None
    found = re.fullmatch(r"\s*(\d{1,4})\s*([hd])\s*", text.lower())
    if not found or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"expected an interval such as 7d, 30d or none, got {text!r}"
        )
    hours = int(found.group(1)) * (24 if found.group(2) == "d" else 1)
    return timedelta(hours=hours)


def _worlds(text: str) -> list[str]:
    names = list(WORLDS) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    try:
        return [world(n).name for n in names]
    except Exception as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(
    ssub: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    policy_args: Callable[[argparse.ArgumentParser], None],
    policy_of: PolicyOf,
) -> None:
    """The `backtest` and `evaluate` actions of `liftwatch score`."""
    bt = ssub.add_parser(
        "backtest",
        help="how good the ranking is on the fleet's own stored history",
        description="Score the stored fleet as of a past date using only what was known then "
        "(the score run is rolled back, nothing is left behind), read the equipment faults and "
        "the serious ones (entrapments, critical faults) of the following months, and compare "
        "liftwatch's likelihood of failure (PoF) and priority with single-factor orders (past "
        "fault rate over 1 and 3 years, age, last inspection, random): Spearman, ROC AUC, "
        "precision and lift in the top 5%% and 10%%, each with a 95%% bootstrap interval. The "
        "figures are stored; the API (/v1/backtests) and the page /dashboards/backtest show them.",
        epilog="example: liftwatch score backtest --as-of 2023-01-31 --horizon 12m",
    )
    bt.add_argument(
        "--as-of",
        type=_day,
        default=None,
        help="score as of the end of this day (default: the last stored fault's day minus the "
        "horizon, the latest date whose whole horizon is stored)",
    )
    bt.add_argument(
        "--horizon",
        type=_horizon,
        default=12,
        help="how far after --as-of to look, e.g. 12m, 18m, 1y (default: 12m)",
    )
    bt.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="resamples for the intervals (default: 200; 0 for figures without intervals)",
    )
    bt.add_argument("--seed", type=int, default=0, help="seed of resamples and ties (default: 0)")
    bt.add_argument("--note", default=None, help="a note stored with the backtest")
    policy_args(bt)
    bt.set_defaults(func=lambda args: _backtest(args, policy_of))

    ev = ssub.add_parser(
        "evaluate",
        help="the backtest on simulated worlds, also against their ground truth",
        description="Simulate a city's history in one or more worlds (hidden truths: age, "
        "frailty, inspection, sparse, mixed) into a separate database per world (the configured "
        "one's name + _eval_<world>, on the same server, recreated), then run the same backtest "
        "as `liftwatch score backtest` on several dates, with the simulator's true 12-month risk "
        "as one more outcome, and average the figures over the dates (95%% bootstrap intervals "
        "of the average). Every world runs the same code and policy: nothing is tuned per world.",
        epilog="example: liftwatch score evaluate --world all --units 4000 --out var/evaluation",
    )
    ev.add_argument(
        "--world",
        type=_worlds,
        default=["age"],
        help=f"world(s) to simulate: {', '.join(WORLDS)}, a comma list, or all (default: age)",
    )
    ev.add_argument("--scenario", default="city", help="simulator scenario (default: city)")
    ev.add_argument(
        "--units", type=int, default=4000, help="units in the simulated city (default: 4000)"
    )
    ev.add_argument(
        "--start", type=_day, default=date(2017, 1, 1), help="history start (default: 2017-01-01)"
    )
    ev.add_argument(
        "--as-of",
        type=_day,
        default=date(2022, 12, 31),
        help="last backtest date, a month's last day (default: 2022-12-31)",
    )
    ev.add_argument(
        "--dates",
        type=int,
        default=4,
        help="backtest dates a quarter apart, ending at --as-of (default: 4)",
    )
    ev.add_argument("--seed", type=int, default=7, help="simulation seed (default: 7)")
    ev.add_argument(
        "--bootstrap", type=int, default=200, help="resamples for the intervals (default: 200)"
    )
    ev.add_argument(
        "--status-every",
        type=_interval,
        default=timedelta(days=30),
        help="status sample interval per unit: 1d, 7d, 30d (default) or none",
    )
    ev.add_argument(
        "--reuse",
        action="store_true",
        help="reuse each world's evaluation database and truth from a previous run with the same "
        "scenario, units, seed and dates (to judge new scoring code on the same history)",
    )
    ev.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write each world's table and figures as Markdown and JSON here",
    )
    policy_args(ev)
    ev.set_defaults(func=lambda args: _evaluate(args, policy_of))


def _backtest(args: argparse.Namespace, policy_of: PolicyOf) -> int:
    policy, life = policy_of(args)
    started = time.perf_counter()
    with connect() as conn:
        as_of = args.as_of or default_as_of(conn, horizon_months=args.horizon)
        _say(f"backtest as of {as_of}, horizon {args.horizon} months")
        result = backtest(
            conn,
            as_of=as_of,
            horizon_months=args.horizon,
            policy=policy,
            expected_life_years=life,
            bootstrap=max(0, args.bootstrap),
            seed=args.seed,
            progress=_say,
        )
        backtest_id = backtests.save(conn, result=result, note=args.note)
        conn.commit()
    _say(f"backtest {backtest_id} stored ({time.perf_counter() - started:.1f}s)")
    print(summary(result))
    print(f"backtest {backtest_id}")
    return 0


def summary(result: Backtest) -> str:
    """The backtest's headline figures as plain text, one line per method."""
    faults, serious = result.outcomes["faults"], result.outcomes["serious"]
    lines = [
        f"{result.unit_count} units scored as of {result.as_of}; in the following "
        f"{result.horizon_months} months {faults['share']:.0%} had an equipment fault "
        f"({faults['mean']:.2f} per unit), {serious['share']:.0%} a serious one",
        f"{'method':<16} {'Spearman faults':>24} {'lift top 10% faults':>24} "
        f"{'ROC AUC serious':>24}",
    ]
    for method in dict.fromkeys(r["method"] for r in result.results):
        cells = []
        for outcome, metric in HEADLINE:
            row = next(
                r for r in result.results if (r["method"], r["outcome"]) == (method, outcome)
            )
            f = row[metric]
            cells.append(f"{f['value']:.2f} [{f['low']:.2f}, {f['high']:.2f}]".rjust(24))
        lines.append(f"{method:<16} " + " ".join(cells))
    return "\n".join(lines)


def evaluation_url(world_name: str) -> str:
    """A world's evaluation database: the configured one's name + ``_eval_<world>``, on the same
    server (one per world, so `--reuse` can judge new scoring code on every world's history)."""
    base = database_url()
    stem = psycopg.conninfo.conninfo_to_dict(base).get("dbname") or "liftwatch"
    return psycopg.conninfo.make_conninfo(base, dbname=f"{stem}_eval_{world_name}")


def _recreate(url: str) -> None:
    name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(url)


def simulate_into(
    url: str,
    *,
    scenario: str,
    world_name: str,
    units: int,
    start: date,
    end: date,
    register_dates: list[date],
    seed: int,
    truth: Path,
    status_every: timedelta | None,
) -> None:
    """Simulate a scenario's history in a world into a database: the register as the bureau held
    it on each date (so renewals accumulate), every event through ingestion, and the ground truth
    file."""
    from core.register import import_rows
    from liftwatch.history import ingest_events
    from simulators.model import simulate
    from simulators.scenario import load_scenario

    overrides = {"units": units} if scenario == "city" else {}
    spec = load_scenario(scenario, **overrides)
    started = time.perf_counter()
    with connect(url) as conn:
        for day in register_dates:
            report = import_rows(conn, spec.register_rows(day), source=f"simulator {day}")
            conn.commit()
            _say(f"register as of {day}: {report.summary()}")
    sim = simulate(
        spec, start=start, end=end, seed=seed, world=world(world_name), status_every=status_every
    )
    with connect(url) as conn:
        totals = ingest_events(
            conn,
            sim.events(),
            dead_letters=False,
            progress=lambda t: _say(
                f"  {t.total} events through ingestion ({time.perf_counter() - started:.0f}s)"
            ),
        )
    sim.write_ground_truth(truth)
    rejected = ", ".join(f"{k} {v}" for k, v in totals.rejected.items()) or "none"
    _say(f"stored {totals.stored}, duplicates {totals.duplicates}, rejected: {rejected}")
    _say(f"ground truth written to {truth}")


def _evaluate(args: argparse.Namespace, policy_of: PolicyOf) -> int:
    policy, life = policy_of(args)
    dates = evaluation.month_end_dates(args.as_of, args.dates)
    # The history runs past the last date by the horizon (and a day for the truth's 1st).
    end = dates[-1] + timedelta(days=370)
    for name in args.world:
        url = evaluation_url(name)
        tag = f"{args.scenario}-{name}-{args.units}-{args.seed}-{args.start}-{dates[-1]}"
        truth = get_settings().data_dir / "evaluation" / f"{tag}-truth.csv"
        if args.reuse and truth.exists():
            migrate.upgrade(url)  # scoring code newer than the history may bring migrations
        else:
            _recreate(url)
            truth.parent.mkdir(parents=True, exist_ok=True)
            _say(
                f"simulating {args.scenario} in the {name} world ({args.units} units) "
                f"{args.start} .. {end} into database "
                f"{psycopg.conninfo.conninfo_to_dict(url)['dbname']}"
            )
            simulate_into(
                url,
                scenario=args.scenario,
                world_name=name,
                units=args.units,
                start=args.start,
                end=end,
                register_dates=dates,
                seed=args.seed,
                truth=truth,
                status_every=args.status_every,
            )
        with connect(url) as conn:
            result = evaluation.evaluate(
                conn,
                ground_truth=truth,
                dates=dates,
                policy=policy,
                expected_life_years=life,
                bootstrap=max(0, args.bootstrap),
                progress=_say,
            )
            for b in result.backtests:
                backtests.save(conn, result=b, note=f"simulated world {name}")
            conn.commit()
        _report(args, name, dates, result)
    return 0


def _report(
    args: argparse.Namespace, name: str, dates: list[date], result: evaluation.Evaluation
) -> None:
    text = evaluation.table(result.results)
    true_risk = result.outcomes[evaluation.TRUE_RISK]
    print(
        f"\nworld {name}: {len(dates)} backtest dates ({dates[0]} .. {dates[-1]}), "
        f"{result.units} units on average; {result.outcomes['faults']['share']:.0%} had an "
        f"equipment fault within 12 months, {true_risk['share']:.1%} a serious failure or failed "
        "inspection\n"
    )
    print(text)
    lead = evaluation.leads(result)
    print("\nlead of liftwatch PoF over the best single-factor baseline (95% interval):")
    for label, f in lead.items():
        print(
            f"  {label:<26} {f['value']:+.3f} [{f['low']:+.3f}, {f['high']:+.3f}] over {f['best']}"
        )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"evaluation-{name}.md").write_text(text + "\n", encoding="utf-8")
        payload: dict[str, Any] = {
            "world": name,
            "dates": dates,
            "units": result.units,
            "outcomes": result.outcomes,
            "results": result.results,
            "leads": lead,
            "scenario": args.scenario,
            "seed": args.seed,
        }
        (args.out / f"evaluation-{name}.json").write_bytes(
            orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
        )
