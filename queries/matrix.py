"""The 5×5 risk matrix: units counted by likelihood band (probability of failure) and consequence
band (consequence of failure), and the units of one cell.

The bands are fixed, so a cell means the same in every district and every run. Probability of
failure grows steeply with the health index (from about 0.3% for a new unit to about 70% at the
worst health), so its bands are geometric; consequence is a product of factors around 1 (a
building of 60 households, 12 floors, no elderly residents, one other unit in service).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from psycopg.rows import class_row

from core.errors import Invalid
from core.scope import Scope
from queries.common import Conn

LIKELIHOOD_EDGES = (0.01, 0.03, 0.1, 0.3)
"""Lower edges of likelihood bands 2 to 5 (band 1 is below 1%)."""
CONSEQUENCE_EDGES = (0.5, 1.0, 2.0, 4.0)
"""Lower edges of consequence bands 2 to 5 (band 1 is below 0.5)."""
BANDS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class MatrixCell:
    """How many units of the run fall in one (likelihood, consequence) cell, and how many of them
    need action (stopped, replace or overhaul, safety assessment; not those only watched)."""

    likelihood: int
    consequence: int
    units: int
    flagged: int


@dataclass(frozen=True)
class CellUnit:
    """A unit of one cell, in ranking order."""

    unit_id: str
    rank: int
    building_name: str
    community: str
    community_en: str | None
    pof: float
    cof: float
    risk: float
    flag: str


def _band(column: str, edges: tuple[float, ...]) -> sql.Composable:
    # width_bucket over the lower edges: below the first edge is 0, so add 1 for bands 1-5.
    return sql.SQL("(width_bucket({}, {}::float8[]) + 1)").format(
        sql.SQL(column), sql.Literal(list(edges))
    )


def risk_matrix(*, conn: Conn, scope: Scope, run_id: int) -> list[MatrixCell]:
    """All 25 cells of the run's matrix in the scope, likelihood 5 (top row) first, empty ones too."""
    query = sql.SQL(
        "SELECT l.band AS likelihood, c.band AS consequence,"
        " coalesce(n.units, 0)::int AS units, coalesce(n.flagged, 0)::int AS flagged"
        " FROM generate_series(1, 5) l(band) CROSS JOIN generate_series(1, 5) c(band)"
        " LEFT JOIN (SELECT {lb} AS lb, {cb} AS cb, count(*) AS units,"
        "  count(*) FILTER (WHERE s.flag IN ('stopped', 'replace_or_overhaul', 'safety_assessment'))"
        "  AS flagged"
        "  FROM unit_score s JOIN unit_place p USING (unit_id)"
        "  WHERE s.run_id = %(run)s AND {scope} GROUP BY 1, 2) n"
        " ON n.lb = l.band AND n.cb = c.band"
        " ORDER BY l.band DESC, c.band"
    ).format(
        lb=_band("s.pof", LIKELIHOOD_EDGES),
        cb=_band("s.cof", CONSEQUENCE_EDGES),
        scope=scope.condition("p"),
    )
    with conn.cursor(row_factory=class_row(MatrixCell)) as cur:
        return cur.execute(query, {"run": run_id}).fetchall()


def cell_units(
    *, conn: Conn, scope: Scope, run_id: int, likelihood: int, consequence: int, limit: int = 200
) -> list[CellUnit]:
    """The units of one cell in the scope, in the run's ranking order."""
    if likelihood not in BANDS or consequence not in BANDS:
        raise Invalid("likelihood and consequence bands are 1 to 5", field="cell")
    query = sql.SQL(
        "SELECT s.unit_id, s.rank, b.name AS building_name, c.name AS community,"
        " c.name_en AS community_en, s.pof, s.cof, s.risk, s.flag"
        " FROM unit_score s JOIN unit_place p USING (unit_id)"
        " JOIN building b ON b.building_id = p.building_id"
        " JOIN community c ON c.community_id = p.community_id"
        " WHERE s.run_id = %(run)s AND {scope} AND {lb} = %(l)s AND {cb} = %(c)s"
        " ORDER BY s.rank LIMIT %(limit)s"
    ).format(
        lb=_band("s.pof", LIKELIHOOD_EDGES),
        cb=_band("s.cof", CONSEQUENCE_EDGES),
        scope=scope.condition("p"),
    )
    params = {"run": run_id, "l": likelihood, "c": consequence, "limit": limit}
    with conn.cursor(row_factory=class_row(CellUnit)) as cur:
        return cur.execute(query, params).fetchall()
