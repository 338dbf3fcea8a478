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
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core import vocab
from core.errors import ConfigError

FLAGS = vocab.FLAGS
_CONDITION = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


Bounds = Annotated[tuple[float, float], Field(description="lower and upper bound")]


def _ordered(bounds: tuple[float, float]) -> tuple[float, float]:
    if bounds[0] > bounds[1]:
        raise ValueError(f"the lower bound {bounds[0]} is above the upper bound {bounds[1]}")
    return bounds


OrderedBounds = Annotated[Bounds, AfterValidator(_ordered)]
Weight = Annotated[float, Field(ge=0)]


class Features(_Section):
    trend_window_days: int = Field(gt=0)
    history_window_days: int = Field(default=3650, gt=0)
    findings_decay_days: float = Field(default=730.0, gt=0)
    fault_decay_days: float = Field(default=180.0, gt=0)
    trend_min_faults: int = Field(ge=2)
    maintenance_interval_days: float = Field(gt=0)
    inspection_interval_days: float = Field(gt=0)
    feed_min_share: float = Field(default=0.5, ge=0, le=1)
    silent_missed_reports: float = Field(default=3.0, gt=0)
    silent_min_days: float = Field(default=1.0, ge=0)
    silent_after_days: float = Field(gt=0)


class Shrinkage(_Section):
    age_bands: list[float]
    min_cohort_units: int = Field(ge=1)
    interval: float = Field(gt=0, lt=1)


class Ratio(_Section):
    exponent: float
    bounds: OrderedBounds
    prior_weight: Weight = 1.0


class PerEvent(_Section):
    per_event: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


class PerItem(_Section):
    per_item: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


class Trend(_Section):
    per_beta: float
    bounds: OrderedBounds
    prior_weight: Weight = 1.0


class InspectionResult(_Section):
    pass_after_rectification: float = Field(gt=0)
    fail: float = Field(gt=0)
    prior_weight: Weight = 1.0


class InspectionFindings(_Section):
    per_item: float = Field(ge=0)
    per_serious_item: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


class RepeatedFindings(_Section):
    min_inspections: int = Field(ge=1)
    per_inspection: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


class Value(_Section):
    value: float = Field(gt=0)
    within_days: int | None = None
    prior_weight: Weight = 1.0


class PerVisit(_Section):
    per_visit: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


def _recent_window() -> Ratio:
    return Ratio(exponent=1.0, bounds=(0.2, 8.0), prior_weight=0.0)


class BatchShare(_Section):
    per_share: float = Field(ge=0)
    max: float = Field(ge=1)
    prior_weight: Weight = 1.0


def _batch_failures() -> BatchShare:
    return BatchShare(per_share=2.0, max=3.0)


def _failed_inspection() -> Value:
    return Value(value=3.0)


def _findings_load() -> InspectionFindings:
    return InspectionFindings(per_item=0.1, per_serious_item=0.2, max=4.0, prior_weight=0.0)


def _history_window() -> Ratio:
    return Ratio(exponent=1.0, bounds=(0.05, 20.0), prior_weight=0.0)


class Modifiers(_Section):
    fault_rate: Ratio
    fault_rate_1y: Ratio = Field(default_factory=_recent_window)
    fault_rate_90d: Ratio = Field(default_factory=_recent_window)
    fault_rate_history: Ratio = Field(default_factory=_history_window)
    fault_rate_decayed: Ratio = Field(default_factory=_history_window)
    serious_rate: Ratio
    entrapments: PerEvent
    trend: Trend
    rectification: PerItem
    inspection_result: InspectionResult
    inspection_findings: InspectionFindings
    repeated_findings: RepeatedFindings
    findings_load: InspectionFindings = Field(default_factory=_findings_load)
    batch_failures: BatchShare = Field(default_factory=_batch_failures)
    failed_inspection: Value = Field(default_factory=_failed_inspection)
    recent_failed_inspection: Value
    usage: Ratio
    inspection_overdue: Value
    missed_maintenance: PerVisit


class Health(_Section):
    expected_life_years: float = Field(gt=0)
    reference_trips_per_day: float = Field(gt=0)
    duty_exponent: float
    duty_bounds: OrderedBounds
    max_initial_health: float = Field(gt=0)
    bounds: OrderedBounds
    knee: float = Field(gt=0)
    cap_scale: float = Field(default=1.0, gt=0)
    age_prior_weight: Weight = 1.0
    # A floor under the index of a unit whose failed inspection is not yet followed by a pass;
    # none by default (the open failure is a learned factor, ``modifiers.failed_inspection``).
    failed_inspection_collar: float | None = Field(default=None, gt=0)
    modifiers: Modifiers


class Learning(_Section):
    enabled: bool = True
    first_months_back: int = Field(default=24, ge=1)
    step_months: int = Field(default=3, ge=1)
    horizon_months: int = Field(default=12, ge=1)
    prior_strength: float = Field(default=200.0, ge=0)
    min_events: float = Field(default=30.0, ge=0)
    sample_units: int = Field(default=4_000, ge=100)

    @model_validator(mode="after")
    def _outcomes_end_before_the_date(self) -> Learning:
        if self.first_months_back < self.horizon_months:
            raise ValueError(
                f"first_months_back ({self.first_months_back}) must be at least horizon_months "
                f"({self.horizon_months}), or outcomes would run past the scoring date"
            )
        return self


class Pof(_Section):
    k: float = Field(gt=0)
    c: float = Field(gt=0)


class Redundancy(_Section):
    none: float = Field(gt=0)
    one: float = Field(gt=0)
    more: float = Field(gt=0)


class Consequence(_Section):
    reference_households: float = Field(gt=0)
    households_bounds: OrderedBounds
    reference_floors: float = Field(gt=0)
    floors_bounds: OrderedBounds
    elderly_weight: float = Field(ge=0)
    elderly_unknown_share: float = Field(default=0.2, ge=0, le=1)
    redundancy: Redundancy


class Evidence(_Section):
    fault_rate_ratio: float = 1.5
    serious_rate_ratio: float = 1.5
    entrapments_365d: float = 2
    trend_min_faults: float = 4
    trend_beta: float = 1.5
    open_rectification: float = 1
    defect_inspections_3y: float = 2


class RuleSpec(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    all_: list[str] | None = Field(default=None, alias="all", min_length=1)
    any_: list[str] | None = Field(default=None, alias="any", min_length=1)

    @model_validator(mode="after")
    def _one_combination(self) -> RuleSpec:
        if (self.all_ is None) == (self.any_ is None):
            raise ValueError(f"rule {self.name!r} needs exactly one of 'all' or 'any'")
        for text in self.all_ or self.any_ or ():
            if not _CONDITION.match(str(text)):
                raise ValueError(
                    f"rule {self.name!r}: expected a condition such as 'age_years >= 15', "
                    f"got {text!r}"
                )
        return self


class PolicyFile(_Section):
    """A policy file as written: every section typed, unknown settings refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: str = Field(min_length=1)
    features: Features
    shrinkage: Shrinkage
    health: Health
    learning: Learning = Field(default_factory=Learning)
    pof: Pof
    consequence: Consequence
    evidence: Evidence = Field(default_factory=Evidence)
    flags: dict[vocab.Flag, list[RuleSpec]]

    @field_validator("flags")
    @classmethod
    def _ok_has_no_rules(cls, value: dict[vocab.Flag, list[RuleSpec]]) -> Any:
        if vocab.Flag.OK in value:
            raise ValueError("'ok' is what a unit is when no rule holds; it takes no rules")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


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
    try:
        checked = PolicyFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"scoring policy {path}: {problems}") from None
    params = checked.model_dump(by_alias=True)
    return Policy(
        version=checked.version,
        hash=hashlib.sha256(raw).hexdigest()[:16],
        source=str(path),
        params=params,
        rules=_rules(checked.flags),
    )


def _problem(error: Any) -> str:
    """One validation error as ``where: what`` (``health.modifiers.usage.bounds: ...``)."""
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown setting (check its spelling)"
    return f"{where}: {message}"


def _rules(flags: Mapping[vocab.Flag, list[RuleSpec]]) -> tuple[FlagRule, ...]:
    rules = []
    for flag in vocab.Flag:
        for entry in flags.get(flag) or []:
            mode = "all" if entry.all_ is not None else "any"
            texts = entry.all_ if entry.all_ is not None else entry.any_
            conditions = tuple(_condition(text) for text in texts or ())
            rules.append(FlagRule(flag.value, entry.name, entry.zh, entry.en, mode, conditions))
    return tuple(rules)


def _condition(text: str) -> Condition:
    match = _CONDITION.match(str(text))
    if not match:
        raise ValueError(f"expected 'column >= number', got {text!r}")
    return Condition(match[1], match[2], float(match[3]))
