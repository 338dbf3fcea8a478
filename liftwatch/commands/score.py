"""`liftwatch score`: score runs, the learned model, and (in liftwatch/commands/backtest.py) the
backtests on stored and simulated history."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from core.dates import OutOfRange, parse_day
from core.db import connect
from core.errors import Invalid, NotFound
from core.scope import ADMIN
from core.settings import get_settings
from liftwatch.commands import backtest as backtest_commands
from liftwatch.commands.schedule import every, period
from queries import ranking as ranking_q
from queries import runs as runs_q
from queries import units as units_q
from scoring.model import load_model, save_model
from scoring.policy import Policy, load_policy
from scoring.run import run
from scoring.training import train_model


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _day(text: str) -> date:
    # The API's bounds (core/dates.py): scoring far outside them would overflow its date arithmetic.
    try:
        return parse_day(text)
    except OutOfRange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = sub.add_parser(
        "score",
        help="risk ranking: score runs, explanations, the learned model, evaluation",
        description="Score every unit (deterioration index, probability and consequence of failure, risk, "
        "flags and reasons), train the learned second opinion, and backtest the ranking.",
    )
    ssub = score.add_subparsers(dest="score_command", metavar="ACTION", required=True)

    r = ssub.add_parser(
        "run",
        help="score every unit as of a date and store the run",
        description="Compute features from stored events as of the end of a day (China time), the "
        "deterioration index, PoF, CoF, risk and flags, and store them as a new score run.",
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
        "--flag", default=None, choices=ranking_q.FLAGS, help="only units with this flag"
    )
    top.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons")
    top.add_argument(
        "--sort",
        choices=("risk", "pof"),
        default="risk",
        help="risk: priority (PoF x consequence, what a bureau funds; default); "
        "pof: likelihood of failure (what maintenance acts on)",
    )
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

    backtest_commands.add_parsers(ssub, policy_args=_policy_args, policy_of=_policy)


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
            f"no learned model at {settings.scoring_model_path}; scoring with the deterioration index only"
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
        for r in runs_q.runs(conn=conn, limit=args.limit):
            print(
                f"{r['run_id']:>6}  as of {r['as_of']}  {r['unit_count']:>8} units  policy "
                f"{r['policy_version']} ({r['policy_hash']})  model {r['model_version'] or '-'}  "
                f"created {r['created_at']:%Y-%m-%d %H:%M}"
            )
    return 0


def _top(args: argparse.Namespace) -> int:
    with connect() as conn:
        page = ranking_q.ranking(
            conn=conn,
            scope=ADMIN,
            run_id=args.run,
            flag=args.flag,
            limit=args.limit,
            sort=args.sort,
        )
    if page.run is None:
        raise NotFound("no score run stored yet; run `liftwatch score run`")
    position = "pof_rank" if args.sort == "pof" else "rank"
    for item in page.items:
        reasons = "; ".join(r[args.lang] for r in item["reasons"])
        print(
            f"{item[position]:>6} {item['unit_id']:<16} {item['flag']:<20} "
            f"deterioration {item['health']:.2f} PoF {item['pof']:.3f} "
            f"priority {item['risk']:.3f}  {reasons}"
        )
    return 0


def _explain(args: argparse.Namespace) -> int:
    with connect() as conn:
        found = units_q.explanation(conn=conn, scope=ADMIN, unit_id=args.unit_id, run_id=args.run)
    if found is None:
        raise NotFound(
            f"unit {args.unit_id} has no score" + (f" in run {args.run}" if args.run else "")
        )
    print(json.dumps(found, ensure_ascii=False, indent=2, default=str))
    return 0


def _compare(args: argparse.Namespace) -> int:
    with connect() as conn:
        result = runs_q.compare_runs(
            conn=conn, scope=ADMIN, run_a=args.run_a, run_b=args.run_b, limit=args.limit
        )
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
