"""The scoring policy: parameters of the deterioration index and the rules that raise flags, from YAML.

The shipped ``scoring/policy.yaml`` holds Chinese defaults; a user's own file replaces it whole.
Rules are plain comparisons over score columns (``age_years >= 15``), so a policy reads like the
regulation it encodes and cannot run code.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.errors import ConfigError

FLAGS = ("stopped", "replace_or_overhaul", "safety_assessment", "watch", "ok")
_CONDITION = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SECTIONS = ("features", "shrinkage", "health", "pof", "consequence", "flags")


@dataclass(frozen=True)
class Condition:
    """One comparison of a score column with a number."""

    column: str
    op: str
    value: float

    def evaluate(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Where the comparison holds; missing values never satisfy it."""
        values = np.asarray(columns[self.column], dtype=float)
        with np.errstate(invalid="ignore"):
            return np.asarray(_OPS[self.op](values, self.value)) & ~np.isnan(values)


@dataclass(frozen=True)
class FlagRule:
    """A named rule raising one flag, with its reason in Chinese and English."""

    flag: str
    name: str
    zh: str
    en: str
    mode: str
    conditions: tuple[Condition, ...]

    @property
    def qualified_name(self) -> str:
        """The rule's name as stored with a score, e.g. ``stopped.failed_inspection``."""
        return f"{self.flag}.{self.name}"

    def matches(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Where every (``all``) or any (``any``) condition holds."""
        results = [c.evaluate(columns) for c in self.conditions]
        return (
            np.logical_and.reduce(results) if self.mode == "all" else np.logical_or.reduce(results)
        )


@dataclass(frozen=True)
class Policy:
    """A loaded policy: its parameters, its flag rules in priority order, version and hash."""

    version: str
    hash: str
    source: str
    params: Mapping[str, Any]
    rules: tuple[FlagRule, ...]

    def section(self, name: str) -> Mapping[str, Any]:
        """One parameter section, e.g. ``health``."""
        return self.params[name]

    def rule(self, qualified_name: str) -> FlagRule:
        """A rule by its qualified name."""
        for rule in self.rules:
            if rule.qualified_name == qualified_name:
                return rule
        raise KeyError(qualified_name)


def default_policy_path() -> Path:
    """The shipped policy with Chinese defaults."""
    return Path(__file__).with_name("policy.yaml")


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and check a policy file (the shipped default when no path is given)."""
    path = Path(path) if path else default_policy_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read scoring policy {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"scoring policy {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"scoring policy {path} must be a mapping of sections")
    missing = [s for s in ("version", *_SECTIONS) if s not in data]
    if missing:
        raise ConfigError(f"scoring policy {path} lacks section(s): {', '.join(missing)}")
    return Policy(
        version=str(data["version"]),
        hash=hashlib.sha256(raw).hexdigest()[:16],
        source=str(path),
        params=data,
        rules=_rules(data["flags"], path),
    )


def _rules(flags: Any, path: Path) -> tuple[FlagRule, ...]:
    if not isinstance(flags, dict):
        raise ConfigError(f"{path}: 'flags' must map flag names to lists of rules")
    unknown = [f for f in flags if f not in FLAGS or f == "ok"]
    if unknown:
        raise ConfigError(
            f"{path}: unknown flag(s) {', '.join(unknown)}; expected {', '.join(FLAGS[:-1])}"
        )
    rules = []
    for flag in FLAGS[:-1]:
        for entry in flags.get(flag) or []:
            try:
                mode = "all" if "all" in entry else "any"
                conditions = tuple(_condition(text) for text in entry[mode])
                rules.append(
                    FlagRule(
                        flag,
                        str(entry["name"]),
                        str(entry["zh"]),
                        str(entry["en"]),
                        mode,
                        conditions,
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{path}: bad rule under '{flag}': {entry!r} ({exc})") from None
    return tuple(rules)


def _condition(text: str) -> Condition:
    match = _CONDITION.match(str(text))
    if not match:
        raise ValueError(f"expected 'column >= number', got {text!r}")
    return Condition(match[1], match[2], float(match[3]))
