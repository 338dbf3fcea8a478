"""The policy file is a typed model: a mistake is refused at load, saying where and what."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core import vocab
from core.errors import ConfigError
from core.i18n import LANGS, STRINGS
from scoring.policy import default_policy_path, load_policy


def _load_changed(tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> str:
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["health"]["modifiers"]["usage"].__setitem__("bounds", [2, 1]),
            "health.modifiers.usage.bounds: the lower bound 2.0 is above the upper bound 1.0",
        ),
        (lambda d: d["health"].__setitem__("knee", "high"), "health.knee: Input should be a valid"),
        (lambda d: d.pop("pof"), "pof: missing"),
        (
            lambda d: d["features"].__setitem__("silent_afer_days", 3),
            "features.silent_afer_days: unknown setting (check its spelling)",
        ),
        (lambda d: d["flags"].__setitem__("urgent", []), "flags.urgent.[key]: Input should be"),
        (
            lambda d: d["flags"]["watch"][0].__setitem__("all", ["trend_beta >> 2"]),
            "flags.watch.0: rule 'rising_failures': expected a condition such as",
        ),
        (
            lambda d: d["learning"].__setitem__("first_months_back", 6),
            "learning: first_months_back (6) must be at least horizon_months (12)",
        ),
        (lambda d: d["flags"].__setitem__("ok", []), "'ok' is what a unit is when no rule holds"),
    ],
)
def test_a_mistake_is_refused_with_where_and_what(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    assert expected in _load_changed(tmp_path, change)


def test_an_older_file_without_the_new_sections_still_loads(tmp_path: Path) -> None:
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    for section in ("learning", "evidence"):
        data.pop(section)
    data["health"]["modifiers"].pop("fault_rate_1y")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    policy = load_policy(path)
    assert policy.section("learning")["enabled"] is True
    assert policy.section("health")["modifiers"]["fault_rate_1y"]["prior_weight"] == 0.0


def test_every_flag_kind_and_reason_has_a_label_in_both_languages() -> None:
    for lang in LANGS:
        for flag in vocab.Flag:
            assert STRINGS[lang][f"flag.{flag}"]
        for kind in vocab.EventKind:
            assert STRINGS[lang][f"event.{kind}"]
        for reason in vocab.RejectionReason:
            assert STRINGS[lang][f"reason.{reason}"]
    assert next(r.flag for r in load_policy().rules) == vocab.Flag.STOPPED
