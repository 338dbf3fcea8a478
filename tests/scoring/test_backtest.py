"""Backtests on stored history: metrics against hand-computed values, nothing read after the as-of
date, stored figures, the CLI, the API's scope and the printable page in both languages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from api.app import create_app
from core.errors import Invalid
from core.settings import get_settings
from liftwatch.cli import main
from scoring import backtests
from scoring.backtest import (
    add_months,
    backtest,
    baseline_orders,
    default_as_of,
    liftwatch_orders,
    parse_horizon,
)
from scoring.evaluate import joint_resampler
from scoring.metrics import METRICS, Outcome, assess, metrics
from scoring.policy import load_policy
from tests.api.conftest import TestClient, make_tokens
from tests.scoring import factories as f

POLICY = load_policy()
AS_OF = date(2023, 6, 30)
UNITS = 40


def _by_name(values: np.ndarray) -> dict[str, float]:
    return dict(zip(METRICS, values.tolist(), strict=True))


def test_metrics_match_hand_computed_values() -> None:
    score = np.array([4.0, 3.0, 2.0, 1.0])
    outcome = Outcome(value=np.array([2.0, 0.0, 1.0, 0.0]), event=np.array([1, 0, 1, 0]) > 0)
    got = _by_name(metrics(score, outcome, np.zeros(4)))
    # Value ranks (ties averaged) are 4, 1.5, 3, 1.5: Pearson with 4, 3, 2, 1 is 3 / sqrt(22.5).
    assert got["spearman"] == pytest.approx(3 / np.sqrt(22.5))
    # Positive-negative pairs ordered right: (4>3, 4>1, 2>1) of four.
    assert got["roc_auc"] == pytest.approx(0.75)
    # Top 5% and 10% of four units is the top unit: an event, 2 faults against a mean of 0.75.
    assert got["precision_top5"] == got["precision_top10"] == 1.0
    assert got["lift_top5"] == got["lift_top10"] == pytest.approx(2 / 0.75)


def test_ties_and_missing_scores_give_no_order_an_advantage() -> None:
    outcome = Outcome(value=np.array([1.0, 0.0, 1.0, 0.0]), event=np.array([1, 0, 1, 0]) > 0)
    flat = _by_name(metrics(np.zeros(4), outcome, np.array([0.5, 0.1, 0.6, 0.9])))
    assert np.isnan(flat["spearman"])
    assert flat["roc_auc"] == pytest.approx(0.5)
    # Ties are broken by the random tiebreak (lowest first): unit 1, which had no event.
    assert flat["precision_top10"] == 0.0
    # A missing score sorts below every known one: both events end up last.
    missing = _by_name(metrics(np.array([np.nan, 1.0, np.nan, 0.0]), outcome, np.zeros(4)))
    assert missing["roc_auc"] == 0.0


def test_bootstrap_intervals_hold_the_figure_and_separate_signal_from_noise() -> None:
    rng = np.random.default_rng(1)
    risk = rng.gamma(2.0, 1.0, size=2000)
    counts = rng.poisson(risk).astype(float)
    figures = assess(
        {"informed": risk, "random": rng.random(2000)},
        {"faults": Outcome(counts, counts > 0)},
        bootstrap=100,
    )
    informed = figures[("informed", "faults")].summary()
    noise = figures[("random", "faults")].summary()
    for value, low, high in informed.values():
        assert low <= value <= high
    assert informed["spearman"][1] > 0.4
    assert noise["spearman"][1] < 0 < noise["spearman"][2]
    assert noise["lift_top10"][1] < 1 < noise["lift_top10"][2]


def test_dates_resample_the_same_units(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B0")
    for unit_id in "ABCDE":
        f.unit(conn, unit_id, building_id="B0")
    resample = joint_resampler(conn, bootstrap=50, seed=3)
    first, second = ["A", "B", "C"], ["B", "C", "D", "E"]
    for one, two in zip(resample(first), resample(second), strict=True):
        drawn_first = sorted(first[i] for i in one)
        drawn_second = sorted(second[i] for i in two)
        # A unit both dates scored is drawn as often on each (here B and C).
        assert [u for u in drawn_first if u in "BC"] == [u for u in drawn_second if u in "BC"]
    assert len({tuple(s) for s in resample(first)}) > 10


@pytest.mark.parametrize(("text", "months"), [("12m", 12), ("18M", 18), ("1y", 12), ("2y", 24)])
def test_horizons(text: str, months: int) -> None:
    assert parse_horizon(text) == months


@pytest.mark.parametrize("text", ["", "0m", "12", "twelve months", "3w"])
def test_bad_horizons_say_what_is_expected(text: str) -> None:
    with pytest.raises(Invalid, match="12m or 1y"):
        parse_horizon(text)


def test_months_are_added_to_the_calendar() -> None:
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 6, 30), 12) == date(2024, 6, 30)
    assert add_months(date(2024, 3, 31), -13) == date(2023, 2, 28)


def _fleet(conn: psycopg.Connection[Any]) -> None:
    """Forty units: unit n has n % 8 equipment faults in the year before AS_OF and the same number
    in the six months after it (a fleet where the past predicts the future exactly), plus a
    power cut each (not the equipment's fault) and one entrapment before and one after AS_OF on
    every fifth."""
    f.place(conn)
    for b in range(UNITS // 4):
        f.building(conn, f"B{b}", floors=6 + 2 * b)
        for k in range(4):
            n = 4 * b + k
            unit_id = f"U{n:02d}"
            f.unit(conn, unit_id, building_id=f"B{b}", installed_on=f"{1990 + n % 25}-03-01")
            for j in range(n % 8):
                f.fault(conn, unit_id, f.at("2022-08-01") + timedelta(days=40 * j))
                f.fault(conn, unit_id, f.at("2023-07-05") + timedelta(days=20 * j))
            f.fault(conn, unit_id, f.at("2023-03-01"), code="41", cause="external")
            f.inspection(conn, unit_id, f.at("2022-11-01"), result="pass")
            if n % 5 == 0:
                f.fault(conn, unit_id, f.at("2023-01-10"), code="93", entrapment=True)
                f.fault(conn, unit_id, f.at("2023-10-01"), code="93", entrapment=True)
    # The history reaches past the horizon's end.
    f.fault(conn, "U01", f.at("2024-01-03"))


def _backtest(conn: psycopg.Connection[Any], **kw: Any) -> Any:
    return backtest(
        conn,
        as_of=AS_OF,
        horizon_months=6,
        policy=POLICY,
        expected_life_years=18.0,
        bootstrap=kw.pop("bootstrap", 30),
        **kw,
    )


def test_backtest_compares_every_order_with_what_happened(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    result = _backtest(conn)
    assert result.unit_count == UNITS
    # n % 8 faults per unit, and the entrapment of every fifth unit (an equipment fault too).
    expected_faults = np.mean([n % 8 + (n % 5 == 0) for n in range(UNITS)])
    assert result.outcomes["faults"]["mean"] == pytest.approx(expected_faults)
    assert result.outcomes["serious"]["share"] == pytest.approx(8 / UNITS)
    rows = {(r["method"], r["outcome"]): r for r in result.results}
    assert {m for m, _ in rows} == {
        "pof",
        "priority",
        "fault_rate_1y",
        "fault_rate_3y",
        "age",
        "last_inspection",
        "random",
    }
    # The past equals the future here, so the past fault rate orders the units perfectly.
    assert rows[("fault_rate_1y", "faults")]["spearman"]["value"] == pytest.approx(1.0)
    assert rows[("pof", "faults")]["spearman"]["value"] > 0.5
    # Scoring as of the date was rolled back: no run is left behind.
    assert conn.execute("SELECT count(*) AS n FROM score_run").fetchone() == {"n": 0}


def test_backtest_reads_nothing_after_the_as_of_date(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    ids, before = liftwatch_orders(conn, as_of=AS_OF, policy=POLICY, expected_life_years=18.0)
    baselines = baseline_orders(conn, unit_ids=ids, as_of=AS_OF, seed=0)
    # What happens after the date: the quietest units fail badly and fail their inspections.
    for n in range(0, UNITS, 8):
        unit_id = f"U{n:02d}"
        for j in range(6):
            f.fault(
                conn, unit_id, f.at("2023-07-01", hour=2) + timedelta(days=j), severity="critical"
            )
        f.fault(conn, unit_id, f.at("2023-07-01", hour=1), code="93", entrapment=True)
        f.inspection(conn, unit_id, f.at("2023-07-01", hour=3), result="fail", items=5)
    ids_after, after = liftwatch_orders(conn, as_of=AS_OF, policy=POLICY, expected_life_years=18.0)
    assert ids_after == ids
    np.testing.assert_array_equal(after["pof"], before["pof"])
    np.testing.assert_array_equal(after["priority"], before["priority"])
    again = baseline_orders(conn, unit_ids=ids, as_of=AS_OF, seed=0)
    for name, values in baselines.items():
        np.testing.assert_array_equal(again[name], values, err_msg=name)
    # The same events do change a score made after them (the check above can fail).
    _, later = liftwatch_orders(
        conn, as_of=date(2023, 7, 31), policy=POLICY, expected_life_years=18.0
    )
    assert not np.array_equal(later["pof"], before["pof"])


def test_age_counts_from_a_renewal_known_on_the_date(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B0")
    f.unit(conn, "R1", building_id="B0", installed_on="1995-06-30", renewed_on="2020-06-30")
    f.unit(conn, "R2", building_id="B0", installed_on="1995-06-30", renewed_on="2024-01-01")
    orders = baseline_orders(conn, unit_ids=["R1", "R2"], as_of=AS_OF, seed=0)
    assert orders["age"] == pytest.approx([3.0, 28.0], abs=0.01)


def test_a_horizon_past_the_stored_history_is_refused(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    assert default_as_of(conn, horizon_months=6) == date(2023, 7, 3)
    with pytest.raises(Invalid, match=r"on or before 2023-07-03"):
        backtest(
            conn,
            as_of=date(2023, 9, 30),
            horizon_months=6,
            policy=POLICY,
            expected_life_years=18.0,
        )


def test_the_cli_stores_the_backtest(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _fleet(conn)
    conn.commit()
    argv = ["score", "backtest", "--as-of", "2023-06-30", "--horizon", "6m", "--bootstrap", "20"]
    assert main([*argv, "--note", "first look"]) == 0
    out = capsys.readouterr()
    assert "fault_rate_3y" in out.out and "backtest 1" in out.out
    assert "rolled back" in out.err
    stored = backtests.get(conn)
    assert stored is not None
    assert (stored["as_of"], stored["horizon_months"], stored["note"]) == (
        AS_OF,
        6,
        "first look",
    )
    assert stored["unit_count"] == UNITS and stored["bootstrap"] == 20


def test_the_cli_explains_a_bad_horizon(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["score", "backtest", "--horizon", "soon"])
    assert "12m or 1y" in capsys.readouterr().err


@pytest.fixture
def served(conn: psycopg.Connection[Any], db_url: str) -> Any:
    """A stored backtest, tokens for every role, and a client of the app."""
    _fleet(conn)
    result = _backtest(conn, bootstrap=10)
    backtest_id = backtests.save(conn, result=result, note="<b>spring</b>")
    f.place(conn, contractor="K2")  # every role's token needs its register id
    tokens = make_tokens(conn)
    conn.commit()
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client, tokens, backtest_id


def _as(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_the_api_shows_backtests_to_the_bureau_only(served: Any) -> None:
    client, tokens, backtest_id = served
    listed = client.get("/v1/backtests", headers=_as(tokens, "bureau"))
    assert listed.status_code == 200
    assert [b["backtest_id"] for b in listed.json()] == [backtest_id]
    one = client.get(f"/v1/backtests/{backtest_id}", headers=_as(tokens, "admin")).json()
    assert one["as_of"] == "2023-06-30" and one["unit_count"] == UNITS
    pof = next(r for r in one["results"] if (r["method"], r["outcome"]) == ("pof", "faults"))
    assert set(METRICS) <= set(pof)
    latest = client.get("/v1/backtests/latest", headers=_as(tokens, "bureau")).json()
    assert latest["backtest_id"] == backtest_id
    for role in tokens:
        if role.startswith(("street", "contractor")):
            denied = client.get("/v1/backtests", headers=_as(tokens, role))
            assert denied.status_code == 403, role
            assert denied.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/backtests").status_code == 401
    missing = client.get("/v1/backtests/99999", headers=_as(tokens, "admin"))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ("排名检验", "liftwatch 故障可能性", "仅看梯龄", "前10%提升倍数", "2023-06-30")),
        ("en", ("How good is this ranking", "Age only", "Lift, top 10%", "2023-06-30")),
    ],
)
def test_the_page_renders_in_both_languages(served: Any, lang: str, words: tuple[str, ...]) -> None:
    client, tokens, backtest_id = served
    page = client.get(
        f"/dashboards/backtest?lang={lang}&backtest_id={backtest_id}",
        headers=_as(tokens, "bureau"),
    )
    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    assert "window.print()" in page.text
    # The note is the user's text: shown, never run as markup.
    assert "&lt;b&gt;spring&lt;/b&gt;" in page.text and "<b>spring</b>" not in page.text
    other = "en" if lang == "zh-CN" else "zh-CN"
    assert f"lang={other}" in page.text


def test_the_page_is_not_shown_outside_the_bureau(served: Any) -> None:
    client, tokens, _ = served
    contractor = next(r for r in tokens if r.startswith("contractor"))
    assert client.get("/dashboards/backtest", headers=_as(tokens, contractor)).status_code == 404
    assert (
        client.get(
            "/dashboards/backtest?backtest_id=99999", headers=_as(tokens, "admin")
        ).status_code
        == 404
    )
    signed_out = client.get("/dashboards/backtest", follow_redirects=False)
    assert signed_out.status_code == 303
