"""Each score stores its unit's place and first reasons (migration 0007), kept equal to the register.

The stored place only chooses an index: scope and filters are still checked on the register's
``unit_place``, so a stored place that disagreed with it could hide a unit, never show one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from core.scope import ADMIN, Scope
from queries import ranking as ranking_q
from scoring.policy import load_policy
from scoring.reasons import summary
from scoring.run import run
from tests.scoring import factories as f

POLICY = load_policy()


def _fleet(conn: psycopg.Connection[Any]) -> None:
    """Two districts of four units each, every unit with a fault; spare places to move them to."""
    for d in ("D1", "D2"):
        f.place(conn, district=d, street=f"{d}-S", community=f"{d}-C", contractor=f"{d}-K")
        for b in range(2):
            f.building(conn, f"{d}-B{b}", community=f"{d}-C")
            for n in range(2):
                unit_id = f"{d}-U{b}{n}"
                f.unit(conn, unit_id, building_id=f"{d}-B{b}", contractor=f"{d}-K")
                for k in range(n + b + 1):
                    f.fault(conn, unit_id, f.at(f"2023-0{k + 1}-03"), contractor=f"{d}-K")
    f.place(conn, district="D2", street="D2-S2", community="D2-C2", contractor="D2-K2")


def _run(conn: psycopg.Connection[Any], day: date = date(2023, 5, 1)) -> int:
    return run(conn, as_of=day, policy=POLICY, expected_life_years=18.0)


def _stale(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Scores whose stored place differs from the register's."""
    return conn.execute(
        "SELECT s.run_id, s.unit_id FROM unit_score s JOIN unit_place p USING (unit_id)"
        " WHERE (s.district_id, s.street_office_id, s.contractor_id)"
        " IS DISTINCT FROM (p.district_id, p.street_office_id, p.contractor_id)"
    ).fetchall()


def test_a_run_stores_each_units_place_and_first_reasons(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    run_id = _run(conn)
    rows = conn.execute(
        "SELECT s.district_id, s.street_office_id, s.contractor_id, s.reasons, s.factors,"
        " score_reasons(s.factors) AS in_sql FROM unit_score s WHERE run_id = %s",
        (run_id,),
    ).fetchall()
    assert len(rows) == 8
    assert _stale(conn) == []
    assert {(r["district_id"], r["street_office_id"]) for r in rows} == {
        ("D1", "D1-S"),
        ("D2", "D2-S"),
    }
    for r in rows:
        # What the writer stores, what the SQL function computes and the summary's definition agree.
        assert r["reasons"] == summary(r["factors"]) == r["in_sql"]
        assert 1 <= len(r["reasons"]) <= 3
        assert all(x["factor"] not in ("consequence", "flag_rule", "model") for x in r["reasons"])


def test_register_changes_move_the_scores_of_every_run(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    first, second = _run(conn, date(2023, 4, 1)), _run(conn)
    moves = [
        "UPDATE unit SET contractor_id = 'D2-K2' WHERE unit_id = 'D1-U00'",
        "UPDATE unit SET building_id = 'D2-B0' WHERE unit_id = 'D1-U01'",
        "UPDATE building SET community_id = 'D2-C2' WHERE building_id = 'D1-B1'",
        "UPDATE community SET street_office_id = 'D2-S2' WHERE community_id = 'D2-C'",
        "UPDATE street_office SET district_id = 'D1' WHERE street_office_id = 'D2-S2'",
        # Updates that move nothing leave the scores alone.
        "UPDATE unit SET service_status = 'stopped' WHERE unit_id = 'D1-U10'",
        "UPDATE unit SET contractor_id = contractor_id",
    ]
    for move in moves:
        conn.execute(move)
        assert _stale(conn) == [], move
    moved = conn.execute(
        "SELECT run_id, district_id, street_office_id, contractor_id FROM unit_score"
        " WHERE unit_id = 'D1-U00' ORDER BY run_id"
    ).fetchall()
    assert [r["run_id"] for r in moved] == [first, second]
    assert {r["contractor_id"] for r in moved} == {"D2-K2"}
    # D1-B1 moved to D2-C2, whose street office moved to D1: its units are D1's again.
    assert {
        r["street_office_id"]
        for r in conn.execute("SELECT street_office_id FROM unit_score WHERE unit_id LIKE 'D1-U1%'")
    } == {"D2-S2"}


def test_writers_that_leave_place_and_reasons_out_get_them(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    run_id = _run(conn)
    factors = conn.execute(
        "SELECT factors FROM unit_score WHERE run_id = %s AND unit_id = 'D2-U11'", (run_id,)
    ).fetchone()
    assert factors is not None
    conn.execute(
        "INSERT INTO score_run (as_of, policy_version, policy_hash) VALUES ('2023-06-01', 't', 't')"
    )
    conn.execute(
        "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag, flag_rule,"
        " factors) SELECT max(run_id), 'D2-U11', 1, 5, 0.1, 1, 0.1, 'ok', 'r', %s FROM score_run",
        (orjson.dumps(factors["factors"]).decode(),),
    )
    assert _stale(conn) == []
    row = conn.execute(
        "SELECT reasons FROM unit_score WHERE unit_id = 'D2-U11' ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    assert row is not None and row["reasons"] == summary(factors["factors"])


def test_a_stale_stored_place_hides_a_unit_and_never_shows_one(
    conn: psycopg.Connection[Any],
) -> None:
    _fleet(conn)
    _run(conn)
    d1, d2 = Scope("street_office", "D1-S"), Scope("street_office", "D2-S")
    assert len(ranking_q.ranking(conn=conn, scope=d1, limit=100).items) == 4
    # As if a trigger had been bypassed: the score says D2-S, the register D1-S.
    conn.execute(
        "UPDATE unit_score SET district_id = 'D2', street_office_id = 'D2-S'"
        " WHERE unit_id = 'D1-U00'"
    )
    assert len(ranking_q.ranking(conn=conn, scope=d1, limit=100).items) == 3
    for scope in (d2, ADMIN):
        for page in (
            ranking_q.ranking(conn=conn, scope=scope, limit=100, street_office_id="D2-S"),
            ranking_q.ranking(conn=conn, scope=scope, limit=100, district_id="D2"),
        ):
            assert "D1-U00" not in {i["unit_id"] for i in page.items}
    assert "D1-U00" not in {
        i["unit_id"] for i in ranking_q.ranking(conn=conn, scope=d2, limit=100).items
    }
    body = ranking_q.ranking_json(conn=conn, scope=d2, limit=100)
    assert body is not None and b"D1-U00" not in body


def test_listed_place_is_unit_place(conn: psycopg.Connection[Any]) -> None:
    """The ranking inlines unit_place's joins (to read names with them); both must agree."""
    _fleet(conn)
    columns = "unit_id, building_id, community_id, street_office_id, district_id, contractor_id"
    for a, b in (
        (ranking_q._LISTED_PLACE, sql.SQL("unit_place")),
        (sql.SQL("unit_place"), ranking_q._LISTED_PLACE),
    ):
        extra = conn.execute(
            sql.SQL("SELECT {c} FROM {a} p EXCEPT SELECT {c} FROM {b} q").format(
                c=sql.SQL(columns), a=a, b=b
            )
        ).fetchall()
        assert extra == []


def _same_instants(page: dict[str, Any]) -> dict[str, Any]:
    """The page with the run's timestamp as a datetime: PostgreSQL writes 12:00:00.12345+00:00
    where Python writes 12:00:00.123450+00:00, the same instant."""
    if page["run"] is not None:
        page["run"]["created_at"] = datetime.fromisoformat(page["run"]["created_at"])
    return page


def test_ranking_json_is_the_ranking(conn: psycopg.Connection[Any]) -> None:
    """The API's JSON page (written by PostgreSQL) holds what ``ranking`` returns, page by page."""
    _fleet(conn)
    first = _run(conn, date(2023, 4, 1))
    _run(conn)
    # A microsecond count ending in 0 is where the two writers' texts differ.
    conn.execute("UPDATE score_run SET created_at = '2023-05-02 08:00:00.12345+00'")
    cases: list[dict[str, Any]] = [
        {},
        {"run_id": first},
        {"as_of": date(2023, 4, 15)},
        {"street_office_id": "D1-S"},
        {"contractor_id": "D2-K", "sort": "health"},
        {"flag": "ok", "sort": "pof"},
        {"building_id": "D1-B1", "sort": "cof"},
        {"district_id": "D9"},
    ]
    for scope in (ADMIN, Scope("bureau", "D1"), Scope("contractor", "D2-K")):
        for case in cases:
            cursor = None
            while True:
                page = ranking_q.ranking(conn=conn, scope=scope, limit=3, cursor=cursor, **case)
                body = ranking_q.ranking_json(
                    conn=conn, scope=scope, limit=3, cursor=cursor, **case
                )
                assert body is not None
                expected = {"run": page.run, "items": page.items, "next_cursor": page.next_cursor}
                assert _same_instants(orjson.loads(body)) == _same_instants(
                    orjson.loads(orjson.dumps(expected))
                ), (scope, case)
                cursor = page.next_cursor
                if cursor is None:
                    break
    assert ranking_q.ranking_json(conn=conn, scope=ADMIN, run_id=999) is None
