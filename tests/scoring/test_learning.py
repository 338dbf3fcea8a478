"""The condition model learned from the fleet's own history, and the two orders of a run."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from html import escape
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row, tuple_row

from api.app import create_app
from core import migrate
from core.i18n import t
from core.scope import ADMIN
from core.settings import get_settings
from queries import ranking as ranking_q
from scoring.glm import fit_poisson
from scoring.health import soft_cap
from scoring.learning import learn, snapshot_days
from scoring.policy import load_policy
from scoring.run import run
from tests.api.conftest import TestClient, make_tokens
from tests.scoring import factories as f

POLICY = load_policy()
NAMES = ("a", "b", "c")
PRIOR = {"a": 1.0, "b": 1.0, "c": 1.0}


def _synthetic(rows: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Terms and counts from a known log-rate: a does not matter, b matters more than the prior
    says, c exactly as the prior says."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 0.6, size=(rows, 3))
    y = rng.poisson(np.exp(-1.0 + 0.0 * z[:, 0] + 1.6 * z[:, 1] + 1.0 * z[:, 2]))
    return z, y.astype(float)


def test_a_long_history_gets_its_own_weights_with_intervals_around_them() -> None:
    z, y = _synthetic(40_000)
    fitted = fit_poisson(z, y, names=NAMES, prior=PRIOR, strength=200.0)
    assert abs(fitted.weights["a"] - 0.0) < 0.05
    assert abs(fitted.weights["b"] - 1.6) < 0.08
    assert abs(fitted.weights["c"] - 1.0) < 0.08
    for name, truth in (("b", 1.6), ("c", 1.0)):
        assert fitted.low[name] - 0.05 < truth < fitted.high[name] + 0.05
        assert fitted.high[name] - fitted.low[name] < 0.2


def test_a_short_history_stays_near_the_prior() -> None:
    z, y = _synthetic(150)
    assert y.sum() < 200
    fitted = fit_poisson(z, y, names=NAMES, prior=PRIOR, strength=200.0)
    long = fit_poisson(*_synthetic(40_000), names=NAMES, prior=PRIOR, strength=200.0)
    # The pull toward the prior weighs more than the data: the weight of the factor that does
    # not matter moves less than half way to 0.
    assert fitted.weights["a"] > 0.5 > long.weights["a"]


def test_weights_never_turn_a_factor_around() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 0.6, size=(20_000, 3))
    y = rng.poisson(np.exp(-1.0 - 1.0 * z[:, 0] + z[:, 1])).astype(float)
    fitted = fit_poisson(z, y, names=NAMES, prior=PRIOR, strength=50.0)
    assert fitted.weights["a"] == 0.0
    assert fitted.weights["b"] > 0.8


def test_snapshots_are_every_quarter_from_two_years_to_one_before_the_date() -> None:
    days = snapshot_days(as_of=date(2024, 3, 31), spec={})
    assert days == [
        date(2022, 3, 31),
        date(2022, 6, 30),
        date(2022, 9, 30),
        date(2022, 12, 31),
        date(2023, 3, 31),
    ]


def test_the_index_keeps_order_past_its_scale_and_few_units_reach_the_top() -> None:
    rng = np.random.default_rng(1)
    # A long right tail of raw condition, as a city's worst units have.
    raw = np.exp(rng.normal(np.log(2.5), 0.9, size=100_000))
    h = POLICY.section("health")
    capped = soft_cap(raw, knee=h["knee"], top=h["bounds"][1], scale=h["cap_scale"])
    assert np.mean(capped >= 9.9) <= 0.01
    order = np.argsort(raw)
    assert np.all(np.diff(capped[order]) >= 0)
    assert np.all(np.diff(capped[order][-1000:]) > 0)


def _frail_fleet(conn: psycopg.Connection[Any], *, units: int = 160) -> None:
    """Units whose faults come from a persistent per-unit proneness; age says nothing."""
    rng = np.random.default_rng(11)
    f.place(conn)
    rows = []
    start = date(2019, 1, 1)
    for n in range(units):
        building = f"B{n // 2}"
        if n % 2 == 0:
            f.building(conn, building)
        unit_id = f"U{n:03d}"
        f.unit(
            conn,
            unit_id,
            building_id=building,
            installed_on=f"{int(rng.integers(1995, 2015))}-06-01",
        )
        rate = float(rng.gamma(1.5, 2.0))
        for _ in range(int(rng.poisson(rate * 5))):
            when = f.at((start + timedelta(days=int(rng.integers(0, 5 * 365)))).isoformat())
            rows.append((uuid.uuid4(), unit_id, "K1", when, "01", "equipment", "minor", False, 0))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
            " severity, entrapment, passengers_trapped, ended_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s, %s + interval '2 hours')",
            [(*r, r[3]) for r in rows],
        )


def test_a_run_learns_the_fleets_weights_and_stores_them(conn: psycopg.Connection[Any]) -> None:
    _frail_fleet(conn)
    run_id = run(conn, as_of=date(2023, 12, 31), policy=POLICY, expected_life_years=18.0)
    with conn.cursor(row_factory=tuple_row) as cur:
        stored = cur.execute(
            "SELECT fitted_weights FROM score_run WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert stored is not None and stored[0] is not None
    record = stored[0]
    assert record["window"]["snapshots"][0] == "2021-12-31"
    assert record["window"]["snapshots"][-1] == "2022-12-31"
    weights = {x["factor"]: x for x in record["factors"]}
    # In this fleet faults come from proneness: the past fault rate outweighs age.
    assert weights["fault_rate"]["weight"] > weights["age"]["weight"]
    assert weights["age"]["weight"] < weights["age"]["prior"]
    assert weights["fault_rate"]["low"] <= weights["fault_rate"]["weight"]
    assert record["events"] > 200


def test_a_fleet_without_history_keeps_the_policy_weights(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1")
    f.fault(conn, "U1", f.at("2023-04-01"))
    said: list[str] = []
    fitted = learn(
        conn,
        as_of=date(2023, 5, 1),
        policy=POLICY,
        expected_life_years=18.0,
        progress=said.append,
    )
    assert fitted is None
    assert "policy weights kept" in said[0]


def test_both_orders_are_stored_unique_and_sortable(conn: psycopg.Connection[Any]) -> None:
    _frail_fleet(conn, units=40)
    f.inspection(conn, "U039", f.at("2023-12-01"), result="fail")
    run_id = run(conn, as_of=date(2023, 12, 31), policy=POLICY, expected_life_years=18.0)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT unit_id, rank, pof_rank, pof, flag FROM unit_score WHERE run_id = %s",
            (run_id,),
        ).fetchall()
    assert sorted(r["pof_rank"] for r in rows) == list(range(1, len(rows) + 1))
    by_likelihood = sorted(rows, key=lambda r: r["pof_rank"])
    assert by_likelihood[0]["unit_id"] == "U039"
    pofs = [r["pof"] for r in by_likelihood[1:]]
    assert pofs == sorted(pofs, reverse=True)
    seen, cursor = [], None
    while True:
        page = ranking_q.ranking(
            conn=conn, scope=ADMIN, run_id=run_id, sort="pof", limit=7, cursor=cursor
        )
        seen += [(i["unit_id"], i["pof_rank"]) for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [u for u, _ in seen] == [r["unit_id"] for r in by_likelihood]


def test_a_factor_without_spread_keeps_its_prior_and_has_no_interval() -> None:
    z, y = _synthetic(5_000)
    z[:, 2] = 0.0953  # every unit alike, as inspection_overdue in a fleet with no inspections
    fitted = fit_poisson(z, y, names=NAMES, prior=PRIOR, strength=200.0)
    assert fitted.weights["c"] == 1.0
    assert np.isnan(fitted.low["c"]) and np.isnan(fitted.high["c"])
    assert fitted.as_json()["factors"][2]["high"] is None


@pytest.fixture
def served(conn: psycopg.Connection[Any], db_url: str) -> Any:
    """A learned run and an unlearned one, tokens for every role, and a client of the app."""
    _frail_fleet(conn, units=60)
    learned = run(conn, as_of=date(2023, 12, 31), policy=POLICY, expected_life_years=18.0)
    plain = run(conn, as_of=date(2019, 6, 30), policy=POLICY, expected_life_years=18.0)
    f.place(conn, contractor="K2")  # every role's token needs its register id
    tokens = make_tokens(conn)
    conn.commit()
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client, tokens, learned, plain


def _as(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_the_api_returns_a_runs_weights(served: Any) -> None:
    client, tokens, learned, plain = served
    body = client.get(f"/v1/score-runs/{learned}/weights", headers=_as(tokens, "bureau")).json()
    factors = {x["factor"]: x for x in body["fitted_weights"]["factors"]}
    assert factors["fault_rate"]["weight"] > factors["age"]["weight"]
    assert body["fitted_weights"]["window"]["snapshots"][-1] == "2022-12-31"
    none = client.get(f"/v1/score-runs/{plain}/weights", headers=_as(tokens, "admin")).json()
    assert none["fitted_weights"] is None
    missing = client.get("/v1/score-runs/99999/weights", headers=_as(tokens, "admin"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/score-runs/{learned}/weights").status_code == 401


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ("本辖区电梯故障的预测因素", "拟合权重", "故障率", "梯龄（基础劣化）")),
        (
            "en",
            ("What predicts failure in this fleet", "Fitted weight", "Fault rate", "90% interval"),
        ),
    ],
)
def test_the_weights_page_renders_in_both_languages(
    served: Any, lang: str, words: tuple[str, ...]
) -> None:
    client, tokens, learned, plain = served
    page = client.get(
        f"/dashboards/weights?run_id={learned}&lang={lang}", headers=_as(tokens, "bureau")
    )
    assert page.status_code == 200
    for word in words:
        assert word in page.text
    assert 'data-figure="weights"' in page.text
    kept = client.get(
        f"/dashboards/weights?run_id={plain}&lang={lang}", headers=_as(tokens, "bureau")
    )
    assert escape(t(lang, "weights.none")) in kept.text  # type: ignore[arg-type]
    assert "data-figure" not in kept.text
    assert (
        client.get("/dashboards/weights?run_id=99999", headers=_as(tokens, "bureau")).status_code
        == 404
    )
    assert client.get("/dashboards/weights", follow_redirects=False).status_code in (302, 303, 307)


def test_the_likelihood_order_is_filled_in_for_runs_already_stored(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = migrate.migrations()
    monkeypatch.setattr(migrate, "migrations", lambda: [m for m in every if m.version < 10])
    migrate.upgrade(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO score_run (as_of, policy_version, policy_hash) VALUES ('2023-05-01', 'p', 'h')"
        )
        for rank, (unit_id, pof, flag) in enumerate(
            (("A", 0.05, "stopped"), ("B", 0.02, "ok"), ("C", 0.30, "watch"), ("D", 0.10, "ok")), 1
        ):
            conn.execute(
                "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag,"
                " flag_rule, factors, reasons) VALUES (1, %s, %s, 5, %s, 1, %s, %s, 'r', '[]', '[]')",
                (unit_id, rank, pof, pof, flag),
            )
    monkeypatch.setattr(migrate, "migrations", lambda: [m for m in every if m.version <= 10])
    assert [m.version for m in migrate.upgrade(empty_db_url)] == [10]
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute("SELECT unit_id FROM unit_score ORDER BY pof_rank").fetchall()
        assert [r[0] for r in rows] == ["A", "C", "D", "B"]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE unit_score SET pof_rank = 1 WHERE unit_id = 'B'")
