"""`liftwatch plan`: make a renewal plan from a score run, list and show stored plans, export one."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from core.db import connect
from core.errors import ConfigError, Invalid, NotFound
from core.i18n import t
from core.scope import ADMIN, Scope
from planning import store
from planning.catalogue import load_catalogue
from planning.funding import Budgets, load_policy, parse_budgets
from planning.inputs import latest_run_id, load_fleet
from planning.model import Options
from planning.plan import METHODS, make_plan
from planning.retrofit import attach_retrofits, rank_retrofits, walkups
from queries import plans as plan_queries


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _exclusion(text: str) -> tuple[str, str]:
    unit, sep, reason = text.partition("=")
    if not sep or not unit.strip() or not reason.strip():
        raise argparse.ArgumentTypeError(
            f"expected UNIT=REASON, e.g. DXYX-02-1='building to be demolished', got {text!r}"
        )
    return unit.strip(), reason.strip()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser(
        "plan",
        help="renewal plans: which units to renew in which year, with which money",
        description="Plan renewals under budgets and funding rules (exact MILP, or a greedy "
        "heuristic for very large fleets), store the plan run, list, show and export plans.",
    )
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    m = psub.add_parser(
        "make",
        help="make and store a plan from a score run",
        description="Read a score run and the register, choose each unit's action, year and "
        "funding under the budgets and the funding policy, and store the plan run.",
    )
    m.add_argument(
        "--policy", type=Path, required=True, help="funding policy YAML (examples/funding/)"
    )
    m.add_argument(
        "--budgets", type=Path, required=True, help="budgets YAML: yuan per source per year"
    )
    m.add_argument(
        "--actions", type=Path, default=None, help="action catalogue YAML (default: shipped)"
    )
    m.add_argument("--run", type=int, default=None, help="score run id (default: latest)")
    m.add_argument("--district", default=None, help="plan one district (default: every unit)")
    m.add_argument(
        "--start", type=_day, default=None, help="first day of the plan (default: next month)"
    )
    m.add_argument("--years", type=int, default=2, help="horizon in years, 1-5 (default: 2)")
    m.add_argument(
        "--period-months",
        type=int,
        default=12,
        help="months per period: 1, 2, 3, 4, 6 or 12 (default: 12)",
    )
    m.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="auto (milp up to 20,000 candidates, else decomposition), milp (exact), "
        "decomposition (proven gap) or greedy",
    )
    m.add_argument(
        "--time-limit", type=float, default=60.0, help="solver time limit, s (default: 60)"
    )
    m.add_argument(
        "--one-per-building",
        action="store_true",
        help="at most one unit per building per period (default: k-1 of k)",
    )
    m.add_argument(
        "--exclude",
        type=_exclusion,
        action="append",
        default=[],
        metavar="UNIT=REASON",
        help="leave a unit out of the plan, with the reason (repeatable)",
    )
    m.add_argument(
        "--min-interval",
        type=int,
        default=None,
        metavar="YEARS",
        help="allow a second action on a unit this many years (1-5) after the first "
        "(default: one action per unit over the horizon)",
    )
    m.add_argument(
        "--retrofit-rate",
        type=float,
        default=None,
        metavar="X",
        help="choose retrofits beside renewals, one resident served counting as X of risk "
        "avoided (default: retrofits take the bond money renewals leave)",
    )
    m.add_argument("--no-scenarios", action="store_true", help="skip the budget scenarios")
    m.add_argument("--note", default=None, help="a note stored with the plan")
    m.set_defaults(func=_make)

    ls = psub.add_parser("list", help="list stored plan runs")
    ls.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    ls.set_defaults(func=_list)

    sh = psub.add_parser("show", help="a plan's rows, buildings' phases and trajectory")
    sh.add_argument("plan_id", type=int, help="the plan run's id")
    sh.set_defaults(func=_show)

    ev = psub.add_parser(
        "evaluate",
        help="compare the planner with age-first and greedy-by-risk on a simulated city's truth",
        description="Simulate a city into a separate database (the configured one's name + "
        "_planeval, recreated), score it as of a date, plan the following years with the MILP, "
        "the age-first rule and greedy-by-risk on the same budget, and count the serious failures "
        "and stranded household-days each avoids under the simulator's hidden model.",
    )
    ev.add_argument("--units", type=int, default=2000, help="units in the city (default: 2000)")
    ev.add_argument("--seed", type=int, default=7, help="simulation seed (default: 7)")
    ev.add_argument(
        "--start", type=_day, default=date(2017, 1, 1), help="history start (default: 2017-01-01)"
    )
    ev.add_argument(
        "--as-of",
        type=_day,
        default=date(2023, 1, 1),
        help="score and plan from (default: 2023-01-01)",
    )
    ev.add_argument("--years", type=int, default=3, help="years compared, 1-5 (default: 3)")
    ev.add_argument("--out", type=Path, default=None, help="write the table as Markdown here")
    ev.set_defaults(func=_evaluate)

    ex = psub.add_parser("export", help="write a plan as XLSX (zh-CN or en)")
    ex.add_argument("plan_id", type=int, help="the plan run's id")
    ex.add_argument("out", type=Path, help="the .xlsx file to write")
    ex.add_argument(
        "--lang", choices=("zh-CN", "en"), default="zh-CN", help="language (default: zh-CN)"
    )
    ex.set_defaults(func=_export)


def _budgets_file(path: Path, years: int) -> Budgets:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the budgets {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_budgets(raw, years=years, where=str(path))


def _make(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    catalogue = load_catalogue(args.actions)
    budgets = _budgets_file(args.budgets, args.years)
    today = date.today()
    start = args.start or date(today.year + today.month // 12, today.month % 12 + 1, 1)
    options = Options(
        start=start,
        years=args.years,
        period_months=args.period_months,
        one_per_building_per_phase=args.one_per_building,
        excluded=dict(args.exclude),
        min_interval_years=args.min_interval,
        retrofit_rate=args.retrofit_rate,
    )
    scope = Scope("bureau", args.district) if args.district else ADMIN
    with connect() as conn:
        run_id = latest_run_id(conn, run_id=args.run)
        fleet = load_fleet(conn, run_id=run_id, scope=scope, start=start)
        if not fleet.unit_ids:
            raise Invalid(f"score run {run_id} holds no units in {args.district or 'the register'}")
        _say(f"planning {len(fleet.unit_ids)} units of score run {run_id} ({args.method})")
        retrofits = None
        if options.retrofit_rate is not None:
            retrofits = rank_retrofits(
                walkups(conn, scope=scope), catalogue=catalogue, policy=policy
            )
        plan = make_plan(
            fleet,
            catalogue=catalogue,
            policy=policy,
            budgets=budgets,
            options=options,
            method=args.method,
            time_limit=args.time_limit,
            scenarios=not args.no_scenarios,
            retrofits=retrofits,
        )
        if retrofits is None:
            attach_retrofits(
                conn, plan, scope=scope, catalogue=catalogue, policy=policy, budgets=budgets
            )
        plan_id = store.write_plan(
            conn,
            plan,
            score_run_id=run_id,
            district_id=args.district,
            policy=policy,
            catalogue=catalogue,
            budgets=budgets,
            note=args.note,
        )
        conn.commit()
    s = plan.summary
    gap = "" if s["gap"] is None else f", gap {s['gap']:.3%}"
    print(
        f"plan {plan_id}: {s['planned']} units, ¥{s['cost']:,.0f} ({s['method']}, {s['status']}"
        f"{gap}, {s['seconds']:.1f} s)"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    with connect() as conn:
        for r in plan_queries.plan_runs(conn=conn, scope=ADMIN, limit=args.limit):
            print(
                f"{r['plan_id']:>5}  {r['created_at']:%Y-%m-%d %H:%M}  score run {r['score_run_id']}"
                f"  from {r['starts_on']} {r['years']}y  {r['method']}  {r['planned']} units"
                f"  ¥{float(r['cost'] or 0):,.0f}  {r['policy_version']}"
            )
    return 0


def _show(args: argparse.Namespace) -> int:
    with connect() as conn:
        run = plan_queries.plan_run(conn=conn, scope=ADMIN, plan_id=args.plan_id)
        if run is None:
            raise NotFound(f"no plan run {args.plan_id}; see `liftwatch plan list`")
        rows = plan_queries.plan_rows(conn=conn, scope=ADMIN, plan_id=args.plan_id)
        buildings = plan_queries.plan_buildings(conn=conn, scope=ADMIN, plan_id=args.plan_id)
    print(f"plan {run['plan_id']} from {run['starts_on']}, {run['years']} years, {run['method']}")
    for r in rows:
        print(
            f"  {r['starts_on']}  phase {r['phase']}  {r['unit_id']:<14} {r['action']:<9}"
            f" ¥{r['cost']:>9,.0f}  bond {r['bond']:>8,.0f}  district {r['district']:>8,.0f}"
            f"  fund {r['maintenance_fund']:>8,.0f}  owners {r['owners']:>8,.0f}"
            f"  advance {r['advance']:>8,.0f}{'  (stopped)' if r['mandatory'] else ''}"
        )
    for b in buildings:
        for w in b["waits"]:
            print(f"  {b['building_id']} waits for {w['kind']}: {_wait_detail(w)}")
    trajectory = run["trajectory"]
    for name in ("plan", "do_nothing", "age_first"):
        series = trajectory[name]
        print(
            f"  {name:<10} failures {series['failures']}  stranded household-days {series['stranded_household_days']}"
        )
    return 0


def _wait_detail(wait: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in wait.items() if k != "kind")


def _export(args: argparse.Namespace) -> int:
    from planning.export import plan_xlsx

    with connect() as conn:
        whole = plan_queries.plan_whole(conn=conn, scope=ADMIN, plan_id=args.plan_id)
    if whole is None:
        raise NotFound(t(args.lang, "plan.not_found", plan_id=args.plan_id))
    data = plan_xlsx(
        run=whole.run,
        rows=whole.rows,
        buildings=whole.buildings,
        retrofits=whole.retrofits,
        lang=args.lang,
    )
    args.out.write_bytes(data)
    print(f"wrote {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import psycopg

    from core.settings import get_settings
    from liftwatch import planeval
    from liftwatch.commands.backtest import _recreate, evaluation_url, simulate_into
    from scoring.policy import load_policy as load_scoring_policy
    from scoring.run import run as score_run
    from simulators.model import simulate
    from simulators.scenario import load_scenario

    base = evaluation_url("age")
    name = f"{psycopg.conninfo.conninfo_to_dict(base)['dbname']}".removesuffix("_eval_age")
    url = psycopg.conninfo.make_conninfo(base, dbname=f"{name}_planeval")
    end = planeval.end_of(args.as_of, args.years)
    settings = get_settings()
    truth = settings.data_dir / "evaluation" / f"plan-{args.units}-{args.seed}-truth.csv"
    truth.parent.mkdir(parents=True, exist_ok=True)
    _recreate(url)
    _say(f"simulating a city of {args.units} units {args.start} .. {end}")
    simulate_into(
        url,
        scenario="city",
        world_name="age",
        units=args.units,
        start=args.start,
        end=end,
        register_dates=[args.as_of],
        seed=args.seed,
        truth=truth,
        status_every=None,
    )
    policy = load_scoring_policy(settings.scoring_policy)
    life = settings.scoring_expected_life or policy.section("health")["expected_life_years"]
    with connect(url) as conn:
        run_id = score_run(
            conn, as_of=args.as_of, policy=policy, expected_life_years=float(life), progress=_say
        )
        conn.commit()
        fleet = load_fleet(conn, run_id=run_id, scope=ADMIN, start=args.as_of)
    spec = load_scenario("city", units=args.units)
    sim = simulate(spec, start=args.start, end=end, seed=args.seed)
    histories = {h.unit.unit_id: h for h in sim.histories()}
    _say(f"planning {len(fleet.unit_ids)} units {args.years} years from {args.as_of}")
    outcomes = planeval.compare(
        fleet, histories, origin=args.start, start=args.as_of, years=args.years
    )
    text = planeval.table(outcomes)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0
