"""A small district built with SQL: Daoxiangyuan West's eight old units beside newer ones, with events,
a score run, rejected messages and tokens for each role."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from api.tokens import create_token

DISTRICT = "haidian"
STREET_OFFICE = "shuguang"
OTHER_STREET_OFFICE = "xisanqi"
CONTRACTOR = "jingdian-lift"
OTHER_CONTRACTOR = "yongan-lift"
OTHER_DISTRICT = "chaoyang"

# Daoxiangyuan West: buildings 2, 4, 5 and 7, two units each, renewed 2006; three failed the
# inspection of 2023-04-12 and stopped, the other five are old with hazards.
DXY_FAILED = ("dxy-2-1", "dxy-4-1", "dxy-5-1")
DXY_OTHERS = ("dxy-2-2", "dxy-4-2", "dxy-5-2", "dxy-7-1", "dxy-7-2")
DXY_UNITS = DXY_FAILED + DXY_OTHERS
NEW_UNITS = ("ly-1-1", "ly-1-2", "ly-3-1")
FAR_UNITS = ("xs-9-1",)
OUT_OF_SCOPE_UNITS = ("cy-1-1",)


@dataclass
class World:
    """What the factory built: the run id and a token per role."""

    run_id: int
    tokens: dict[str, str] = field(default_factory=dict)


def _factors(unit_id: str, flag: str, health: float) -> list[dict[str, Any]]:
    age = 20.0 if unit_id.startswith("dxy") else 6.0
    h0 = min(5.5, 0.5 * 11 ** (age / 25))
    out = [
        {
            "factor": "age",
            "value": age,
            "modifier": None,
            "contribution": round(h0, 4),
            "zh": f"距上次大修改造已{age:.0f}年（2006-06-01），预期寿命25年",
            "en": f"{age:.0f} years since last renewal (2006-06-01), expected life 25 years",
        },
        {
            "factor": "fault_rate",
            "value": 9,
            "modifier": 1.4,
            "contribution": round(max(health - h0, 0.0), 4),
            "zh": "365天内设备故障9次",
            "en": "9 equipment faults in 365 days",
        },
        {
            "factor": "consequence",
            "value": {"households": 1.2},
            "modifier": 2.0,
            "contribution": None,
            "zh": "本楼173户、18层、2部电梯，老年人占比62%",
            "en": "building of 173 households, 18 floors, 2 elevator(s), elderly share 62%",
        },
    ]
    if flag == "stopped":
        out.append(
            {
                "factor": "flag_rule",
                "value": "stopped.failed_inspection",
                "modifier": None,
                "contribution": None,
                "zh": "定期检验不合格且尚未复检合格，须停止使用",
                "en": "failed periodic inspection not yet followed by a pass; must not run",
            }
        )
    elif flag == "replace_or_overhaul":
        out.append(
            {
                "factor": "flag_rule",
                "value": "replace_or_overhaul.old_and_poor_health",
                "modifier": None,
                "contribution": None,
                "zh": "使用15年以上且健康指数差（≥6）",
                "en": "15+ years in service and poor health index (>= 6)",
            }
        )
    return out


def _register(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "INSERT INTO district VALUES (%s, '海淀区', 'Haidian'), (%s, '朝阳区', 'Chaoyang')",
        (DISTRICT, OTHER_DISTRICT),
    )
    conn.execute(
        "INSERT INTO street_office VALUES (%s, %s, '曙光街道', 'Shuguang'),"
        " (%s, %s, '西三旗街道', 'Xisanqi'), ('cy-so', %s, '麦子店街道', 'Maizidian')",
        (STREET_OFFICE, DISTRICT, OTHER_STREET_OFFICE, DISTRICT, OTHER_DISTRICT),
    )
    conn.execute(
        "INSERT INTO community VALUES ('dxy-west', %s, '稻香园西里', 'Daoxiangyuan West'),"
        " ('liuyin', %s, '柳荫家园', 'Liuyin'), ('xs', %s, '西三旗小区', NULL),"
        " ('cy', 'cy-so', '麦子店小区', NULL)",
        (STREET_OFFICE, STREET_OFFICE, OTHER_STREET_OFFICE),
    )
    conn.execute(
        "INSERT INTO contractor VALUES (%s, '京电电梯维保', 'Jingdian Lift'),"
        " (%s, '永安电梯', 'Yongan Lift')",
        (CONTRACTOR, OTHER_CONTRACTOR),
    )
    buildings = [
        ("dxy-2", "dxy-west", "2号楼", 18, 173, 0.62, 1992, "funded"),
        ("dxy-4", "dxy-west", "4号楼", 18, 173, 0.58, 1992, "none"),
        ("dxy-5", "dxy-west", "5号楼", 18, 173, 0.66, 1992, "insufficient"),
        ("dxy-7", "dxy-west", "7号楼", 18, 173, 0.55, 1992, "funded"),
        ("ly-1", "liuyin", "1号楼", 11, 88, 0.20, 2012, "funded"),
        ("ly-3", "liuyin", "3号楼", 11, 66, 0.25, 2012, "funded"),
        ("xs-9", "xs", "9号楼", 7, 42, 0.40, 2008, "none"),
        ("cy-1", "cy", "1号楼", 16, 120, 0.30, 1998, "none"),
    ]
    conn.cursor().executemany(
        "INSERT INTO building (building_id, community_id, name, floors, households, elderly_share,"
        " year_built, fund_status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        buildings,
    )
    units = []
    for uid in DXY_UNITS:
        status = "stopped" if uid in DXY_FAILED else "in_service"
        units.append((uid, uid[:5], "1992-10-01", "2006-06-01", CONTRACTOR, status))
    for uid in NEW_UNITS:
        units.append((uid, uid[:4], "2020-05-01", None, CONTRACTOR, "in_service"))
    units.append(("xs-9-1", "xs-9", "2010-03-01", None, OTHER_CONTRACTOR, "in_service"))
    units.append(("cy-1-1", "cy-1", "1998-03-01", None, CONTRACTOR, "in_service"))
    conn.cursor().executemany(
        "INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on,"
        " renewed_on, contractor_id, service_status) VALUES (%s, 'REG-' || %s, %s, '奥的斯', %s, %s,"
        " %s, %s)",
        [(u[0], u[0], u[1], u[2], u[3], u[4], u[5]) for u in units],
    )


def _events(conn: psycopg.Connection[Any], now: datetime) -> None:
    faults = []
    for i, uid in enumerate(DXY_UNITS):
        for k in range(6 + i):
            at = now - timedelta(days=20 + 40 * k + i)
            cause = ("equipment", "equipment", "external", "misuse")[k % 4]
            faults.append(
                (
                    uuid.uuid4(),
                    uid,
                    CONTRACTOR,
                    at,
                    "01" if k % 2 else "93",
                    cause,
                    "major",
                    k % 3 == 0,
                )
            )
    for uid in NEW_UNITS:
        faults.append(
            (
                uuid.uuid4(),
                uid,
                CONTRACTOR,
                now - timedelta(days=100),
                "02",
                "equipment",
                "minor",
                False,
            )
        )
    conn.cursor().executemany(
        "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
        " severity, entrapment) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        faults,
    )
    inspections = [
        (
            uuid.uuid4(),
            uid,
            CONTRACTOR,
            datetime(2023, 4, 12, 2, tzinfo=UTC),
            "fail" if uid in DXY_FAILED else "pass_after_rectification",
        )
        for uid in DXY_UNITS
    ]
    conn.cursor().executemany(
        "INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at,"
        " inspection_body, result) VALUES (%s, %s, %s, %s, '北京市特种设备检测中心', %s)",
        inspections,
    )
    visits = [
        (
            uuid.uuid4(),
            uid,
            CONTRACTOR,
            now - timedelta(days=15 * k + 3),
            "routine" if k else "repair",
        )
        for uid in DXY_UNITS + NEW_UNITS
        for k in range(4)
    ]
    conn.cursor().executemany(
        "INSERT INTO maintenance_event (event_id, unit_id, contractor_id, occurred_at, visit_type)"
        " VALUES (%s, %s, %s, %s, %s)",
        visits,
    )
    # ly-1-1 online, ly-1-2 offline, ly-3-1 silent for ten days, the Daoxiangyuan units never report.
    samples = [
        (uuid.uuid4(), "ly-1-1", CONTRACTOR, now - timedelta(hours=1), True),
        (uuid.uuid4(), "ly-1-2", CONTRACTOR, now - timedelta(hours=2), False),
        (uuid.uuid4(), "ly-3-1", CONTRACTOR, now - timedelta(days=10), True),
    ]
    conn.cursor().executemany(
        "INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online)"
        " VALUES (%s, %s, %s, %s, %s)",
        samples,
    )
    letters = [
        (
            "mqtt",
            f"liftwatch/v1/{CONTRACTOR}/ghost-1/fault",
            CONTRACTOR,
            "ghost-1",
            "fault",
            "unknown_unit",
            "unit ghost-1 is not in the register",
        ),
        (
            "mqtt",
            f"liftwatch/v1/{CONTRACTOR}/ly-1-1/fault",
            CONTRACTOR,
            "ly-1-1",
            "fault",
            "invalid_payload",
            "code: expected one of the GB/T 24476 codes, got '7x'",
        ),
        (
            "mqtt",
            f"liftwatch/v1/{CONTRACTOR}/ly-1-1/fault",
            CONTRACTOR,
            "ly-1-1",
            "fault",
            "invalid_payload",
            "occurred_at: missing",
        ),
        ("http", None, OTHER_CONTRACTOR, "xs-9-1", "status", "invalid_json", "<script>x</script>"),
    ]
    conn.cursor().executemany(
        "INSERT INTO dead_letter (source, topic, contractor_id, unit_id, kind, reason, detail, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, '\\x7b7d')",
        letters,
    )


def _scores(conn: psycopg.Connection[Any], as_of: date) -> int:
    runs = []
    for back in (365, 0):
        row = conn.execute(
            "INSERT INTO score_run (as_of, policy_version, policy_hash, unit_count)"
            " VALUES (%s, 'test', 'test', %s) RETURNING run_id",
            (as_of - timedelta(days=back), 13),
        ).fetchone()
        assert row is not None
        runs.append(row["run_id"])
    for run_id, worse in zip(runs, (0.0, 1.0), strict=True):
        rows = []
        for uid in DXY_FAILED:
            rows.append((uid, "stopped", 7.5 + worse, 0.6, 2.4))
        for uid in DXY_OTHERS:
            rows.append((uid, "replace_or_overhaul", 6.4 + worse, 0.4, 2.1))
        rows += [(u, "ok", 1.5, 0.05, 1.0) for u in NEW_UNITS + FAR_UNITS + OUT_OF_SCOPE_UNITS]
        order = sorted(rows, key=lambda r: (r[1] != "stopped", -r[3] * r[4], r[0]))
        conn.cursor().executemany(
            "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag, flag_rule,"
            " factors) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    run_id,
                    uid,
                    order.index(r) + 1,
                    health,
                    pof,
                    cof,
                    pof * cof,
                    flag,
                    f"{flag}.test",
                    json.dumps(_factors(uid, flag, health)),
                )
                for r in rows
                for uid, flag, health, pof, cof in [r]
            ],
        )
        rank_likelihood(conn, run_id)
    return runs[-1]


def rank_likelihood(conn: psycopg.Connection[Any], run_id: int) -> None:
    """Number a run's likelihood order as the score writer does: stopped first, then by PoF."""
    conn.execute("UPDATE unit_score SET pof_rank = NULL WHERE run_id = %s", (run_id,))
    conn.execute(
        "UPDATE unit_score s SET pof_rank = o.n FROM (SELECT unit_id, row_number() OVER"
        " (ORDER BY (flag = 'stopped') DESC, pof DESC, unit_id) AS n FROM unit_score"
        " WHERE run_id = %(run)s) o WHERE s.run_id = %(run)s AND s.unit_id = o.unit_id",
        {"run": run_id},
    )


def build(conn: psycopg.Connection[Any], *, with_tokens: bool = True) -> World:
    """Fill an empty migrated database with the small district and return its run and tokens."""
    now = datetime.now(UTC)
    _register(conn)
    _events(conn, now)
    world = World(run_id=_scores(conn, now.date()))
    if with_tokens:
        for role, bound in (
            ("admin", None),
            ("bureau", DISTRICT),
            ("street_office", STREET_OFFICE),
            ("contractor", CONTRACTOR),
        ):
            world.tokens[role], _info = create_token(conn, role=role, bound_to=bound)
    return world


# Where the small district's buildings stand. Liuyin's have no coordinates (they stay off the map);
# a walk-up of Liuyin with no elevator yet does.
POINTS = {
    "dxy-2": (39.9765, 116.3052),
    "dxy-4": (39.9765, 116.3059),
    "dxy-5": (39.9760, 116.3052),
    "dxy-7": (39.9760, 116.3059),
    "xs-9": (40.0560, 116.3400),
    "cy-1": (39.9450, 116.4700),
}
WALKUP = "ly-5"


def add_coordinates(conn: psycopg.Connection[Any]) -> None:
    """Give the buildings of POINTS their coordinates and add the walk-up WALKUP."""
    conn.execute(
        "INSERT INTO building (building_id, community_id, name, floors, households, elderly_share,"
        " fund_status, consent_share, lat, lon)"
        " VALUES (%s, 'liuyin', '5号楼', 6, 36, 0.48, 'none', 0.8, 39.9790, 116.3100)",
        (WALKUP,),
    )
    conn.cursor().executemany(
        "UPDATE building SET lat = %s, lon = %s WHERE building_id = %s",
        [(lat, lon, building_id) for building_id, (lat, lon) in POINTS.items()],
    )
