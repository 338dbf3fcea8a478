"""Backtests: how well each ranking anticipated what happened next, on the fleet's own history.

Only the bureau (and admins) may read them: they are figures about the whole fleet's ranking.
"""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.deps import ConnDep, require
from api.problems import responses
from api.tokens import Principal
from core.errors import NotFound
from scoring import backtests as q

router = APIRouter(prefix="/v1", tags=["backtests"])

BureauDep = Annotated[Principal, Depends(require("admin", "bureau"))]


class BacktestSummary(BaseModel):
    """A stored backtest without its figures."""

    backtest_id: int
    created_at: datetime
    as_of: date = Field(
        description="The fleet was scored with what was known by the end of this day."
    )
    horizon_months: int = Field(description="How many months after as_of were compared.")
    unit_count: int
    bootstrap: int = Field(description="Resamples behind each 95% interval (0: no interval).")
    policy_version: str
    policy_hash: str
    note: str | None = None


class Backtest(BacktestSummary):
    """A stored backtest with its figures."""

    outcomes: dict[str, dict[str, float]] = Field(
        description="Per outcome (faults, serious, and true_risk on simulated fleets): mean per "
        "unit and share of units with an event."
    )
    results: list[dict[str, Any]] = Field(
        description="One entry per method (pof, priority, fault_rate_1y, fault_rate_3y, age, "
        "last_inspection, random) and outcome: each metric (spearman, roc_auc, precision_top5, "
        "lift_top5, precision_top10, lift_top10) as {value, low, high}; null where undefined."
    )


@router.get(
    "/backtests",
    response_model=list[BacktestSummary],
    summary="List stored backtests, newest first (bureau and admin)",
    responses=responses(401, 403, 422),
)
def list_backtests(
    conn: ConnDep,
    _principal: BureauDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Stored backtests, newest first."""
    return q.listing(conn, limit=limit)


@router.get(
    "/backtests/latest",
    response_model=Backtest,
    summary="The latest stored backtest with its figures (bureau and admin)",
    responses=responses(401, 403, 404),
)
def latest_backtest(conn: ConnDep, _principal: BureauDep) -> dict[str, Any]:
    """The latest backtest."""
    found = q.get(conn)
    if found is None:
        raise NotFound("no backtest stored yet; run `liftwatch score backtest`")
    return found


@router.get(
    "/backtests/{backtest_id}",
    response_model=Backtest,
    summary="One stored backtest with its figures (bureau and admin)",
    responses=responses(401, 403, 404, 422),
)
def get_backtest(
    conn: ConnDep,
    _principal: BureauDep,
    backtest_id: Annotated[int, Path(ge=1, le=2**62)],
) -> dict[str, Any]:
    """One backtest by id."""
    found = q.get(conn, backtest_id=backtest_id)
    if found is None:
        raise NotFound(f"no backtest {backtest_id}")
    return found
