"""The feature rows leave the server as binary COPY, every column encoded as a number: decoded,
they are the values a plain fetch of the feature query returns, NULLs, dates and instants included."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from scoring import features as feats
from scoring.features import COLUMN_KINDS, FEATURES_SQL, NUMERIC
from scoring.policy import load_policy
from tests.scoring import factories as f

POLICY = load_policy()
AS_OF = date(2023, 5, 1)


def _fleet(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.building(conn, "B2", elderly_share=None)
    f.unit(conn, "U1", building_id="B1")
    f.unit(conn, "U2", building_id="B1", renewed_on="2020-06-30", manufacturer="M2")
    f.unit(conn, "U3", building_id="B2", installed_on="2022-11-15")
    f.unit(conn, "U4", building_id="B2", status="stopped")
    f.fault(conn, "U1", f.at("2023-03-01"), hours=3.0, entrapment=True)
    f.fault(conn, "U1", f.at("2022-07-01"), hours=None, severity="critical")
    f.fault(conn, "U2", f.at("2023-04-20"), cause="external")
    f.inspection(conn, "U1", f.at("2022-04-01"), result="fail")
    f.inspection(conn, "U2", f.at("2022-03-01"), result="pass_after_rectification", items=2)
    f.maintenance(conn, "U2", "2022-06-01", "2023-04-30")
    f.status(conn, "U2", "2023-03-01", "2023-04-30")


def _params() -> dict[str, Any]:
    t = datetime.combine(AS_OF + timedelta(days=1), time(), feats.CST)
    spec = POLICY.section("features")
    return {
        "d": AS_OF,
        "t": t,
        "from_90": t - timedelta(days=90),
        "from_365": t - timedelta(days=365),
        "trend_from": t - timedelta(days=int(spec["trend_window_days"])),
        "history_from": t - timedelta(days=int(spec.get("history_window_days", 3650))),
        "fault_from": t - timedelta(days=3650),
        "inspection_from": t - timedelta(days=feats.INSPECTION_YEARS_DAYS),
        "visit_days": float(spec["maintenance_interval_days"]),
        "findings_decay_days": float(spec.get("findings_decay_days", 730)),
        "fault_decay_days": float(spec.get("fault_decay_days", 180)),
    }


def _plain(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """The feature query fetched row by row, as it was read before."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        units = psycopg.ClientCursor(conn).mogrify(
            feats.UNITS_SQL.replace("/*share*/", "true"), _params()
        )
        cur.execute(units)
        cur.execute(FEATURES_SQL, _params())
        names = [d.name for d in cur.description or ()]
        rows = cur.fetchall()
    return {name: [row[k] for row in rows] for k, name in enumerate(names)}


def test_decoded_features_equal_a_plain_fetch(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    plain = _plain(conn)
    assert set(plain) == set(COLUMN_KINDS)
    names, got = feats._run_part(conn, _params(), "true")
    assert set(names) == set(got) == set(plain)
    assert got["unit_id"] == plain["unit_id"] == ["U1", "U2", "U3", "U4"]
    for name in names:
        if name in NUMERIC:
            for a, b in zip(got[name].tolist(), plain[name], strict=True):
                assert math.isnan(a) if b is None else a == float(b), name
        else:
            assert got[name] == plain[name], name
    # The fleet exercises NULLs and values of every kind.
    assert plain["last_inspection_at"][0] is not None and plain["last_inspection_at"][2] is None
    assert plain["certificate_expiry"][1] is not None and plain["online"][0] is None
    assert plain["renewed"] == [False, True, False, False]
