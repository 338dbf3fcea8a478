"""`liftwatch simulate`: write a simulated fleet register, and run a simulated fleet's controllers
that publish their events over MQTT, with optional fault injection and the ground truth."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import orjson

from core.broker import redact
from core.errors import Invalid
from core.settings import get_settings
from simulators.faults import FaultPlan
from simulators.model import simulate
from simulators.publish import publish
from simulators.scenario import Scenario, load_scenario
from simulators.worlds import WORLDS

SCENARIO_HELP = "seed-cases (the five published cases), city (a synthetic district) or a YAML file"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser(
        "simulate",
        help="simulated fleets: registers, event streams over MQTT, ground truth",
        description="Simulate a fleet of elevators with a hidden degradation model: write its "
        "register, publish its controllers' events over MQTT and write the ground truth the "
        "scoring can be checked against. The same seed always gives the same output.",
    )
    simsub = sim.add_subparsers(dest="simulate_command", metavar="ACTION", required=True)

    reg = simsub.add_parser(
        "register",
        help="write a scenario's fleet register (CSV) for `liftwatch fleet import`",
        description="Write the fleet register of a scenario as CSV (UTF-8), one row per unit, "
        "in the format `liftwatch fleet import` reads.",
    )
    _scenario_args(reg, "--seed", "--scenario-seed")
    reg.add_argument("--out", type=Path, required=True, help="CSV file to write")
    reg.add_argument(
        "--lang", choices=("en", "zh-CN"), default="en", help="header language (default en)"
    )
    reg.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="the register as held on this date (default: the scenario's register date)",
    )
    reg.set_defaults(func=_register)

    run = simsub.add_parser(
        "run",
        help="simulate a period and publish every event over MQTT (QoS 1)",
        description="Simulate the scenario's units from --start to --end and publish their "
        "fault, inspection, maintenance and status events to liftwatch/v1/{contractor}/{unit}/"
        "{kind}, waiting for every acknowledgement. Prints what was published, by category.",
        epilog="example: liftwatch simulate run --scenario city --units 500 --start 2021-01-01 "
        "--years 2 --seed 1 --inject duplicates=50,malformed=10 --truth truth.csv",
    )
    _scenario_args(run, "--scenario-seed")
    run.add_argument(
        "--start", type=date.fromisoformat, default=date(2018, 1, 1), help="first day (2018-01-01)"
    )
    period = run.add_mutually_exclusive_group()
    period.add_argument(
        "--end", type=date.fromisoformat, help="day after the last one (default 2023-06-01)"
    )
    period.add_argument(
        "--years", type=float, help="length of the period in years instead of --end"
    )
    run.add_argument("--seed", type=int, default=1, help="seed of the event draws (default 1)")
    run.add_argument(
        "--world",
        default="age",
        choices=tuple(WORLDS),
        help="hidden truth: age (wear grows with age, default), frailty (persistent per-unit "
        "proneness, age nearly irrelevant), inspection (defects found at inspection drive "
        "failure), sparse (frailty-like, faults only, dated to the month), mixed",
    )
    run.add_argument(
        "--broker",
        help="mqtt://host:port (default: LIFTWATCH_BROKER_URL, else mqtt://127.0.0.1:1883)",
    )
    run.add_argument(
        "--speed",
        default="max",
        help="max (as fast as possible, default), realtime, or a factor of event time per wall "
        "time (e.g. 3600: an hour of events per second)",
    )
    run.add_argument(
        "--status-every",
        default="7d",
        help="status sample interval per unit: 30s, 15m, 1h, 1d, 7d (default) or 'none'",
    )
    run.add_argument(
        "--inject",
        default="",
        help="faults to inject, e.g. duplicates=50,out_of_order=20,late=5,malformed=10,"
        "schema_violations=10,unknown_units=5,wrong_contractor=5,oversized=2,offline=3",
    )
    run.add_argument("--processes", type=int, default=1, help="publisher processes (default 1)")
    run.add_argument(
        "--max-inflight", type=int, default=1000, help="unacknowledged messages per publisher"
    )
    run.add_argument("--truth", type=Path, help="write the ground truth CSV here")
    run.add_argument("--events-out", type=Path, help="write the clean event stream as NDJSON here")
    run.add_argument(
        "--dry-run", action="store_true", help="simulate and write files, publish nothing"
    )
    run.set_defaults(func=_run)


def _scenario_args(parser: argparse.ArgumentParser, *seed_flags: str) -> None:
    parser.add_argument("--scenario", default="seed-cases", help=SCENARIO_HELP)
    parser.add_argument("--units", type=int, help="number of units (city only; default 5000)")
    parser.add_argument(
        *seed_flags,
        dest="scenario_seed",
        type=int,
        help="seed of the generated fleet (city only; default 1)",
    )


def _load(args: argparse.Namespace) -> Scenario:
    overrides = {"units": args.units, "seed": args.scenario_seed}
    return load_scenario(args.scenario, **{k: v for k, v in overrides.items() if v is not None})


def _register(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    scenario = _load(args)
    n = scenario.write_register(args.out, lang=args.lang, as_of=args.as_of)
    print(
        f"wrote {n} units of scenario {scenario.name} to {args.out} ({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    end = args.end or (
        args.start + timedelta(days=round(args.years * 365.25)) if args.years else date(2023, 6, 1)
    )
    plan = FaultPlan.parse(args.inject) if args.inject else None
    speed = _speed(args.speed)
    scenario = _load(args)
    sim = simulate(
        scenario,
        start=args.start,
        end=end,
        seed=args.seed,
        status_every=_interval(args.status_every),
        world=WORLDS[args.world],
    )
    print(
        f"simulating {len(scenario.units)} units of {scenario.name} in the {args.world} world, "
        f"{args.start} to {end}, seed {args.seed}",
        file=sys.stderr,
    )
    sim.histories(progress=_every(1000, "units simulated"))
    if args.events_out:
        with args.events_out.open("wb") as fh:
            for event in sim.events():
                fh.write(orjson.dumps({"topic": event.topic, "payload": event.payload}) + b"\n")
        print(f"wrote {sum(sim.counts.values())} events to {args.events_out}", file=sys.stderr)
    if args.truth:
        args.truth.parent.mkdir(parents=True, exist_ok=True)
        rows = sim.write_ground_truth(args.truth)
        print(f"wrote {rows} ground-truth rows to {args.truth}", file=sys.stderr)
    if args.dry_run:
        if not args.events_out:
            sum(1 for _ in sim.events())
        print(_counts(sim.counts))
        return 0
    if plan is not None and plan.horizon is None:
        plan = replace(plan, horizon=sim.count_events())  # spread the faults over the whole run
    broker = args.broker or get_settings().broker_url or "mqtt://127.0.0.1:1883"
    print(f"publishing to {redact(broker)}", file=sys.stderr)
    report = publish(
        sim.events(),
        broker,
        max_inflight=args.max_inflight,
        speed=speed,
        inject=plan,
        progress=_every(1, "messages published", acked=True),
        processes=args.processes,
    )
    print(_counts(sim.counts))
    print(report.summary())
    return 0


def _counts(counts: dict[str, int]) -> str:
    return "events simulated: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    if text == "realtime":
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"--speed {text!r}: use max, realtime or a positive number") from None
    if value <= 0:
        raise Invalid(f"--speed {text!r}: use max, realtime or a positive number")
    return value


def _interval(text: str) -> timedelta | None:
    if text.lower() == "none":
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value = float(text[:-1])
        seconds = value * units[text[-1].lower()]
    except (KeyError, ValueError, IndexError):
        raise Invalid(f"--status-every {text!r}: use e.g. 30s, 15m, 1h, 7d or none") from None
    if seconds < 1:
        raise Invalid(f"--status-every {text!r}: at least one second")
    return timedelta(seconds=seconds)


def _every(step: int, what: str, *, acked: bool = False) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if done % step == 0:
            tail = f" ({total} acknowledged)" if acked else f" of {total}"
            print(f"  {done} {what}{tail}", file=sys.stderr, flush=True)

    return report
