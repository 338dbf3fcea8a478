"""The action catalogue: replace, modernize, overhaul (and adding an elevator to a walk-up), their
costs by stop band and speed, their effect on a unit's PoF and the days a unit is out of service.

The shipped ``planning/actions.yaml`` holds typical Chinese figures; a user's own file replaces it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

RENEWALS = ("replace", "modernize", "overhaul")


@dataclass(frozen=True)
class Band:
    """A cost that applies up to a number of stops."""

    max_stops: int
    yuan: float


@dataclass(frozen=True)
class Action:
    """One thing that can be done to a unit."""

    name: str
    bands: tuple[Band, ...]
    residual_pof: float
    days_out: int
    fast_speed_mps: float | None = None
    fast_factor: float = 1.0

    def cost(self, *, stops: int | None, speed_mps: float | None) -> float:
        """The cost for a unit of this many stops and speed (unknown stops: the middle band)."""
        if stops is None:
            base = self.bands[len(self.bands) // 2].yuan
        else:
            base = next((b.yuan for b in self.bands if stops <= b.max_stops), self.bands[-1].yuan)
        fast = self.fast_speed_mps is not None and (speed_mps or 0) >= self.fast_speed_mps
        return base * (self.fast_factor if fast else 1.0)


@dataclass(frozen=True)
class Catalogue:
    """The renewal actions a plan may choose from, and the retrofit action."""

    version: str
    hash: str
    actions: dict[str, Action]
    add_elevator: Action


def _bands(raw: Any, where: str) -> tuple[Band, ...]:
    try:
        bands = tuple(Band(int(b["max_stops"]), float(b["yuan"])) for b in raw)
    except (TypeError, KeyError, ValueError):
        raise ConfigError(
            f"{where}: cost_by_stops must be a list of {{max_stops: N, yuan: N}}"
        ) from None
    if not bands or [b.max_stops for b in bands] != sorted(b.max_stops for b in bands):
        raise ConfigError(f"{where}: cost_by_stops must be non-empty and ordered by max_stops")
    return bands


def _action(name: str, raw: Any, where: str) -> Action:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: action {name!r} must be a mapping")
    residual = float(raw.get("residual_pof", 1.0))
    if not 0 <= residual <= 1:
        raise ConfigError(f"{where}: {name}.residual_pof must be between 0 and 1")
    return Action(
        name=name,
        bands=_bands(raw.get("cost_by_stops"), f"{where}: {name}"),
        residual_pof=residual,
        days_out=int(raw.get("days_out", 0)),
        fast_speed_mps=float(raw["fast_speed_mps"]) if "fast_speed_mps" in raw else None,
        fast_factor=float(raw.get("fast_factor", 1.0)),
    )


def parse_catalogue(text: str, *, where: str = "action catalogue") -> Catalogue:
    """A catalogue from YAML text; ConfigError naming what is wrong."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or "version" not in raw or "actions" not in raw:
        raise ConfigError(f"{where}: expected 'version' and 'actions' at the top level")
    unknown = set(raw["actions"]) - set(RENEWALS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown actions {sorted(unknown)}; expected {', '.join(RENEWALS)}"
        )
    actions = {n: _action(n, raw["actions"][n], where) for n in RENEWALS if n in raw["actions"]}
    if not actions:
        raise ConfigError(f"{where}: no actions")
    retrofit = (raw.get("retrofit") or {}).get("add_elevator")
    if retrofit is None:
        raise ConfigError(f"{where}: retrofit.add_elevator is missing")
    return Catalogue(
        version=str(raw["version"]),
        hash=hashlib.sha256(text.encode()).hexdigest()[:16],
        actions=actions,
        add_elevator=_action("add_elevator", retrofit, where),
    )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at ``path``, or the shipped one."""
    if path is None:
        text = resources.files("planning").joinpath("actions.yaml").read_text(encoding="utf-8")
        return parse_catalogue(text, where="planning/actions.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the action catalogue {path}: {exc.strerror}") from None
    return parse_catalogue(text, where=str(path))
