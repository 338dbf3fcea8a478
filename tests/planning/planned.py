"""A database holding a stored plan: Daoxiangyuan West and Runfeng Xinshang scored, Haidian
(Daoxiangyuan) planned with the national 2024 policy; a token per role."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from api.tokens import create_token
from liftwatch.cli import main
from tests.planning.factories import score_run, seed_register, set_building, set_unit

EXAMPLES = Path(__file__).parents[2] / "examples" / "funding"
ROLES = {
    "admin": ("admin", None),
    "bureau": ("bureau", "110108"),
    "street_office": ("street_office", "110108-HD"),
    "contractor": ("contractor", "BJ-JX-WB"),
}


def build(conn: psycopg.Connection[Any], tmp: Path) -> tuple[int, dict[str, str]]:
    """Register, score run and one stored plan (a Haidian walk-up too); its id and the tokens."""
    rows = seed_register(conn, "DXYX") + seed_register(conn, "RFXS")
    for r in rows:
        set_unit(conn, r["unit_id"], assessment_on=date(2023, 1, 10), assessment_action="replace")
        set_building(
            conn, r["building_id"], collection_rate=0.3, collection_expected_on=date(2024, 3, 1)
        )
    set_building(conn, "DXYX-B02", fund_vote_on=date(2023, 3, 1))
    set_building(conn, "DXYX-B04", name="4号楼<b>东</b>")  # register text is never markup
    conn.execute(
        "INSERT INTO building (building_id, community_id, name, floors, households, residents,"
        " elderly_share, consent_share) VALUES ('DXYX-B09', 'DXYX', '9号楼', 6, 36, 90,"
        " 0.7, 0.8)"
    )
    score_run(conn, {r["unit_id"]: 0.1 + 0.01 * (i % 5) for i, r in enumerate(rows)})
    budgets = tmp / "budgets.yaml"
    budgets.write_text("bond: [900000]\nadvance: [420000, 0]\n", encoding="utf-8")
    code = main(
        [
            "plan",
            "make",
            "--policy",
            str(EXAMPLES / "national-2024.yaml"),
            "--budgets",
            str(budgets),
            "--start",
            "2023-06-01",
            "--years",
            "3",
            "--district",
            "110108",
        ]
    )
    assert code == 0
    plan_id = conn.execute("SELECT max(plan_id) AS id FROM plan_run").fetchone()["id"]
    tokens = {
        name: create_token(conn, role=role, bound_to=bound, name=name)[0]
        for name, (role, bound) in ROLES.items()
    }
    return int(plan_id), tokens
