"""Flags from the policy's rules: the first flag (in priority order) whose rule holds is the unit's."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

from core.errors import ConfigError
from scoring.policy import FlagRule, Policy


def set_against_fleet(columns: dict[str, np.ndarray], evidence: Mapping[str, float]) -> None:
    """Add the columns that set each unit against its fleet: ``pof_percentile`` (share of the
    fleet, in percent, at or below its likelihood of failure) and ``condition_evidence`` (1 when
    its own record, not its age, shows wear: faults, serious faults or entrapments well above the
    fleet, a rising trend, a failed inspection, open or repeated inspection findings)."""
    pof = columns["pof"]
    count = len(pof)
    columns["pof_percentile"] = (
        stats.rankdata(pof, method="max") / count * 100.0 if count else np.zeros(0)
    )
    with np.errstate(invalid="ignore"):
        shown = (
            (columns["fault_rate_ratio"] >= evidence["fault_rate_ratio"])
            | (columns["serious_rate_ratio"] >= evidence["serious_rate_ratio"])
            | (columns["entrapments_365d"] >= evidence["entrapments_365d"])
            | (
                (columns["trend_faults"] >= evidence["trend_min_faults"])
                & (columns["trend_beta"] >= evidence["trend_beta"])
            )
            | (columns["failed_inspections_3y"] >= 1)
            | (columns["open_rectification"] >= evidence["open_rectification"])
            | (columns["defect_inspections_3y"] >= evidence["defect_inspections_3y"])
        )
    columns["condition_evidence"] = shown.astype(float)


def assign_flags(
    columns: Mapping[str, np.ndarray], policy: Policy, count: int
) -> tuple[np.ndarray, list[FlagRule | None]]:
    """Each unit's flag and the rule that raised it (None for ``ok``)."""
    flag = np.full(count, "ok", dtype=object)
    rules: list[FlagRule | None] = [None] * count
    for rule in policy.rules:
        try:
            hit = rule.matches(columns)
        except KeyError as exc:
            known = ", ".join(sorted(columns))
            raise ConfigError(
                f"scoring policy rule {rule.qualified_name} uses unknown column {exc}; "
                f"known columns: {known}"
            ) from None
        for i in np.flatnonzero(hit & (flag == "ok")):
            flag[i] = rule.flag
            rules[i] = rule
    return flag, rules


def rule_name(rule: FlagRule | None) -> str:
    """The name stored with a score: the rule's qualified name, or ``ok.no_rule``."""
    return rule.qualified_name if rule is not None else "ok.no_rule"
