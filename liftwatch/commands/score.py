"""`liftwatch score`: score runs, the learned model, and the backtest against simulated truth."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

from core import migrate
from core.db import connect, database_url
from core.errors import ConfigError, Invalid, NotFound
from core.scope import ADMIN
from core.settings import get_settings
from liftwatch.commands.schedule import every, period
from scoring import evaluate as evaluation
from scoring import queries
from scoring.model import load_model, save_model
from scoring.policy import Policy, load_policy
from scoring.run import run
from scoring.training import train_model


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = sub.add_parser(
        "score",
        help="risk ranking: score runs, explanations, the learned model, evaluation",
        description="Score every unit (health index, probability and consequence of failure, risk, "
        "flags and reasons), train the learned second opinion, and backtest the ranking.",
    )
    ssub = score.add_subparsers(dest="score_command", metavar="ACTION", required=True)

    r = ssub.add_parser(
        "run",
        help="score every unit as of a date and store the run",
        description="Compute features from stored events as of the end of a day (China time), the "
        "health index, PoF, CoF, risk and flags, and store them as a new score run.",
    )
    r.add_argument("--as-of", type=_day, default=None, help="date to score as of (default: today)")
    _policy_args(r)
    r.add_argument("--no-model", action="store_true", help="leave out the learned model's opinion")
    r.add_argument("--note", default=None, help="a note stored with the run")
    r.add_argument(
        "--every",
        type=period,
        default=None,
        metavar="PERIOD",
        help="keep running: score now and then every PERIOD (e.g. 24h, 30m, 7d), each run as of "
        "its own day; a failed run is reported and the next one still happens",
    )
    r.set_defaults(func=_run_or_repeat)

    t = ssub.add_parser(
        "train",
        help="train and calibrate the learned model on stored history",
        description="Fit the model on quarterly snapshots whose 12-month outcome is known by the "
        "as-of date, calibrate it on the latest of them, and save it with library versions.",
    )
    t.add_argument(
        "--as-of",
        type=_day,
        default=None,
        help="train on history known by this date (default: today)",
    )
    t.add_argument(
        "--years", type=float, default=3.0, help="years of snapshots to learn from (default: 3)"
    )
    _policy_args(t)
    t.set_defaults(func=_train)

    ls = ssub.add_parser("runs", help="list stored score runs")
    ls.add_argument("--limit", type=int, default=20, help="how many runs (default: 20)")
    ls.set_defaults(func=_runs)

    top = ssub.add_parser("top", help="show the top of a run's ranking with reasons")
    top.add_argument("--run", type=int, default=None, help="run id (default: latest)")
    top.add_argument("--limit", type=int, default=20, help="how many units (default: 20)")
    top.add_argument(
        "--flag", default=None, choices=queries.FLAGS, help="only units with this flag"
    )
    top.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons")
    top.set_defaults(func=_top)

    ex = ssub.add_parser("explain", help="one unit's score, factors and reasons as JSON")
    ex.add_argument("unit_id", help="the unit's id")
    ex.add_argument(
        "--run", type=int, default=None, help="run id (default: latest holding the unit)"
    )
    ex.set_defaults(func=_explain)

    cmp = ssub.add_parser("compare", help="what moved up or down between two runs, and why")
    cmp.add_argument("run_a", type=int, help="the earlier run")
    cmp.add_argument("run_b", type=int, help="the later run")
    cmp.add_argument(
        "--limit", type=int, default=10, help="units listed per direction (default: 10)"
    )
    cmp.set_defaults(func=_compare)

    ev = ssub.add_parser(
        "evaluate",
        help="backtest the ranking on a simulated city against its ground truth",
        description="Simulate a city's history into a separate database (the configured one's "
        "name + _eval, on the same server, recreated), train the model on the years before the as-of date, score as of that "
        "date and compare liftwatch and single-factor baselines with the simulator's ground truth: "
        "ROC AUC, precision and lift in the top 5%% and 10%%, Spearman with the true 12-month risk.",
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
        default=date(2023, 1, 1),
        help="last backtest date (default: 2023-01-01)",
    )
    ev.add_argument(
        "--dates",
        type=int,
        default=4,
        help="backtest dates a quarter apart, ending at --as-of (default: 4)",
    )
    ev.add_argument("--seed", type=int, default=7, help="simulation seed (default: 7)")
    ev.add_argument(
        "--train-years", type=float, default=2.0, help="years of training snapshots (default: 2)"
    )
    ev.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the evaluation database and truth of a previous run",
    )
    ev.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the table and figures as JSON and Markdown here",
    )
    _policy_args(ev)
    ev.set_defaults(func=_evaluate)


def _policy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help="policy YAML (default: LIFTWATCH_SCORING_POLICY or the shipped one)",
    )
    parser.add_argument(
        "--expected-life",
        type=float,
        default=None,
        help="expected life in years (default: setting, else the policy's)",
    )


def _policy(args: argparse.Namespace) -> tuple[Policy, float]:
    settings = get_settings()
    policy = load_policy(args.policy or settings.scoring_policy)
    life = (
        args.expected_life
        or settings.scoring_expected_life
        or policy.section("health")["expected_life_years"]
    )
    return policy, float(life)


def _run_or_repeat(args: argparse.Namespace) -> int:
    if args.every is None:
        return _run(args)
    if args.as_of is not None:
        raise Invalid("--every scores each run as of its own day: leave out --as-of")
    every(args.every, lambda: _run(args), say=_say)


def _run(args: argparse.Namespace) -> int:
    settings = get_settings()
    policy, life = _policy(args)
    artifact = None
    if not args.no_model and settings.scoring_use_model and settings.scoring_model_path.exists():
        artifact = load_model(settings.scoring_model_path)
    elif not args.no_model and settings.scoring_use_model:
        _say(
            f"no learned model at {settings.scoring_model_path}; scoring with the health index only"
        )
    with connect() as conn:
        run_id = run(
            conn,
            as_of=args.as_of or date.today(),
            policy=policy,
            expected_life_years=life,
            model_artifact=artifact,
            progress=_say,
            note=args.note,
        )
        conn.commit()
    print(run_id)
    return 0


def _train(args: argparse.Namespace) -> int:
    policy, life = _policy(args)
    as_of = args.as_of or date.today()
    path = get_settings().scoring_model_path
    with connect() as conn:
        try:
            model, facts = train_model(
                conn,
                as_of=as_of,
                policy=policy,
                expected_life_years=life,
                years=args.years,
                progress=_say,
            )
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    version = save_model(model, path, trained_as_of=as_of.isoformat(), metrics=facts)
    _say(f"trained on {facts['rows']} unit-snapshots ({facts['positives']} with an event)")
    print(f"model {version} saved to {path}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    with connect() as conn:
        for r in queries.runs(conn, limit=args.limit):
            print(
                f"{r['run_id']:>6}  as of {r['as_of']}  {r['unit_count']:>8} units  policy "
                f"{r['policy_version']} ({r['policy_hash']})  model {r['model_version'] or '-'}  "
                f"created {r['created_at']:%Y-%m-%d %H:%M}"
            )
    return 0


def _top(args: argparse.Namespace) -> int:
    with connect() as conn:
        page = queries.ranking(conn, scope=ADMIN, run_id=args.run, flag=args.flag, limit=args.limit)
    if page.run is None:
        raise NotFound("no score run stored yet; run `liftwatch score run`")
    for item in page.items:
        reasons = "; ".join(r[args.lang] for r in item["reasons"])
        print(
            f"{item['rank']:>6} {item['unit_id']:<16} {item['flag']:<20} health {item['health']:.2f} "
            f"risk {item['risk']:.3f}  {reasons}"
        )
    return 0


def _explain(args: argparse.Namespace) -> int:
    with connect() as conn:
        found = queries.explanation(conn, scope=ADMIN, unit_id=args.unit_id, run_id=args.run)
    if found is None:
        raise NotFound(
            f"unit {args.unit_id} has no score" + (f" in run {args.run}" if args.run else "")
        )
    print(json.dumps(found, ensure_ascii=False, indent=2, default=str))
    return 0


def _compare(args: argparse.Namespace) -> int:
    with connect() as conn:
        result = queries.compare_runs(
            conn, scope=ADMIN, run_a=args.run_a, run_b=args.run_b, limit=args.limit
        )
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


def evaluation_url() -> str:
    """The backtest's own database: the configured one's name + ``_eval``, on the same server."""
    base = database_url()
    name = f"{psycopg.conninfo.conninfo_to_dict(base).get('dbname') or 'liftwatch'}_eval"
    return psycopg.conninfo.make_conninfo(base, dbname=name)


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
    units: int,
    start: date,
    end: date,
    register_dates: list[date],
    seed: int,
    truth: Path,
) -> None:
    """Simulate a scenario's history into a database: the register as the bureau held it on each
    date (so renewals accumulate), every event through ingestion, and the ground truth file."""
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
    sim = simulate(spec, start=start, end=end, seed=seed)
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


def _evaluate(args: argparse.Namespace) -> int:
    policy, life = _policy(args)
    url = evaluation_url()
    name = f"{args.scenario}-{args.units}-{args.seed}-{args.start}-{args.as_of}"
    truth = get_settings().data_dir / "evaluation" / f"{name}-truth.csv"
    dates = [args.as_of - timedelta(days=91 * k) for k in reversed(range(args.dates))]
    end = args.as_of + timedelta(days=366)
    if not (args.reuse and truth.exists()):
        _recreate(url)
        truth.parent.mkdir(parents=True, exist_ok=True)
        _say(
            f"simulating {args.scenario} ({args.units} units) {args.start} .. {end} into database "
            f"{psycopg.conninfo.conninfo_to_dict(url)['dbname']}"
        )
        simulate_into(
            url,
            scenario=args.scenario,
            units=args.units,
            start=args.start,
            end=end,
            register_dates=dates,
            seed=args.seed,
            truth=truth,
        )
    with connect(url) as conn:
        # Trained only on outcomes known by the first backtest date: nothing leaks from later.
        _say(f"training the model on snapshots whose outcome was known by {dates[0]}")
        try:
            model, facts = train_model(
                conn,
                as_of=dates[0],
                policy=policy,
                expected_life_years=life,
                years=args.train_years,
                progress=_say,
            )
        except ValueError as exc:
            raise ConfigError(f"cannot train on this history: {exc}") from None
        _say(f"scoring as of {', '.join(map(str, dates))} and comparing with the ground truth")
        result = evaluation.evaluate(
            conn,
            ground_truth=truth,
            dates=dates,
            policy=policy,
            expected_life_years=life,
            model=model,
        )
    text = evaluation.table(result)
    margin = evaluation.margins(result)
    print(
        f"{len(dates)} as-of dates ({dates[0]} .. {dates[-1]}), {result.units} units on average, "
        f"{result.base_rate:.1%} had a serious failure or failed inspection within 12 months; "
        f"model trained on {facts['rows']} unit-snapshots\n"
    )
    print(text)
    print("\nlead of the liftwatch health index over the best single-factor baseline:")
    for key, m in margin.items():
        print(
            f"  {key:<16} mean {m['mean']:+.3f}, worst date {m['min']:+.3f}, "
            f"ahead on {m['dates_ahead']} of {m['dates']} dates"
        )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evaluation.md").write_text(text + "\n", encoding="utf-8")
        payload = {
            "dates": dates,
            "units": result.units,
            "base_rate": result.base_rate,
            "rows": result.rows,
            "per_date": result.per_date,
            "margins": margin,
            "training": facts,
            "scenario": args.scenario,
            "seed": args.seed,
        }
        (args.out / "evaluation.json").write_bytes(
            orjson.dumps(payload, option=orjson.OPT_INDENT_2)
        )
    return 0
