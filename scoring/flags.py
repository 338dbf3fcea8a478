"""Flags from the policy's rules: the first flag (in priority order) whose rule holds is the unit's."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.errors import ConfigError
from scoring.policy import FlagRule, Policy


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
