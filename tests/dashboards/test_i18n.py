"""Every word in both languages, and the choice of language."""

from __future__ import annotations

import re

import pytest

from core.faultcodes import CAUSES
from core.i18n import FLAGS, LANGS, STRINGS, local_name, pick_lang, t


def test_every_key_exists_in_both_languages() -> None:
    assert set(STRINGS["zh-CN"]) == set(STRINGS["en"])


@pytest.mark.parametrize("key", sorted(STRINGS["en"]))
def test_placeholders_agree_and_texts_are_not_empty(key: str) -> None:
    zh, en = STRINGS["zh-CN"][key], STRINGS["en"][key]
    assert zh.strip() and en.strip()
    assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en))


def test_chinese_texts_are_chinese() -> None:
    untranslated = [k for k, v in STRINGS["zh-CN"].items() if not re.search(r"[\u4e00-\u9fff]", v)]
    # Only the switch to English and the product name may be written in Latin letters.
    assert untranslated == ["lang.switch"]


_HAN = r"[\u4e00-\u9fff]"


def _ascii_parentheses_in_chinese(text: str) -> bool:
    """Chinese writes its parentheses full width: （元）, not (元)."""
    return bool(re.search(rf"{_HAN}[()]|[()]{_HAN}", text))


def test_chinese_texts_use_full_width_parentheses() -> None:
    assert [k for k, v in STRINGS["zh-CN"].items() if _ascii_parentheses_in_chinese(v)] == []


def test_seed_place_names_use_full_width_parentheses() -> None:
    from simulators.scenario import SCENARIO_DIR

    names = re.findall(r"name: (.+)", (SCENARIO_DIR / "seed-cases.yaml").read_text("utf-8"))
    assert names and [n for n in names if _ascii_parentheses_in_chinese(n)] == []


def test_register_values_have_labels() -> None:
    for lang in LANGS:
        for flag in FLAGS:
            assert t(lang, f"flag.{flag}")
        for cause in CAUSES:
            assert t(lang, f"cause.{cause}")
        for status in ("in_service", "stopped", "under_renewal", "retired"):
            assert t(lang, f"service.{status}")
        for fund in ("funded", "insufficient", "none"):
            assert t(lang, f"fund.{fund}")


@pytest.mark.parametrize(
    ("explicit", "header", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),
        ("zh-CN", "en-US", "zh-CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        (None, "fr-FR,en;q=0.5,zh;q=0.9", "zh-CN"),
        (None, "fr-FR,en;q=0.5", "en"),
        (None, "fr-FR", "zh-CN"),
        (None, None, "zh-CN"),
        ("de", "en", "en"),
        (None, "en;q=garbage,zh", "zh-CN"),
    ],
)
def test_language_choice(explicit: str | None, header: str | None, expected: str) -> None:
    assert pick_lang(explicit=explicit, accept_language=header) == expected


def test_placeholders_are_filled() -> None:
    assert t("en", "unit.title", unit_id="U1") == "Unit U1"
    assert t("zh-CN", "unit.title", unit_id="U1") == "电梯 U1"


def test_local_names_fall_back_to_chinese() -> None:
    row = {"name": "曙光街道", "name_en": None}
    assert local_name(row, "en") == "曙光街道"
    assert local_name({**row, "name_en": "Shuguang"}, "en") == "Shuguang"
    assert local_name({**row, "name_en": "Shuguang"}, "zh-CN") == "曙光街道"


def test_every_factor_scoring_can_store_has_a_label() -> None:
    from scoring.health import MODIFIERS

    notes = (
        "failed_inspection",
        "excluded_causes",
        "certificate_expired",
        "downtime",
        "usage",
        "data_freshness",
        "consequence",
        "model",
        "flag_rule",
    )
    for lang in LANGS:
        for name in ("age", *MODIFIERS, *notes):
            assert f"factor.{name}" in STRINGS[lang], name
