"""Reading a score's stored factors: each factor's contribution and its reason in the page language.

Scoring stores a unit's factors as a JSON list of ``{"factor", "value", "modifier",
"contribution", "zh", "en"}``, most important first. Factors with a contribution add up to the
unit's deterioration index; the others are notes, and the flag's rule (factor ``flag_rule``) closes the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.i18n import STRINGS, Lang

FLAG_RULE = "flag_rule"


@dataclass(frozen=True)
class Contribution:
    """One factor of a score: its label, how many health points it adds, and why."""

    name: str
    label: str
    contribution: float
    reason: str


def _entries(factors: Any) -> list[Mapping[str, Any]]:
    if not isinstance(factors, list):
        return []
    return [f for f in factors if isinstance(f, Mapping)]


def reason(entry: Mapping[str, Any], lang: Lang) -> str:
    """A factor's sentence in the page language."""
    return str(entry.get("zh" if lang == "zh-CN" else "en") or "")


def contributions(factors: Any, lang: Lang) -> list[Contribution]:
    """The factors that add to the deterioration index, in stored order, labelled in ``lang``."""
    result = []
    for entry in _entries(factors):
        value = entry.get("contribution")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name = str(entry.get("factor", ""))
        result.append(
            Contribution(name, factor_label(name, lang), float(value), reason(entry, lang))
        )
    return result


def top_reasons(factors: Any, lang: Lang, *, n: int = 3) -> list[str]:
    """The flag's reason, then the reasons of the factors adding the most: ``n`` sentences at most."""
    entries = _entries(factors)
    rule = [reason(e, lang) for e in entries if e.get("factor") == FLAG_RULE]
    ranked = sorted(contributions(factors, lang), key=lambda c: -c.contribution)
    found = rule + [c.reason or c.label for c in ranked if c.contribution > 0]
    return [r for r in found if r][:n]


def factor_label(name: str, lang: Lang) -> str:
    """A factor's display name, or the stored name when none is known."""
    return STRINGS[lang].get(f"factor.{name}", name)
