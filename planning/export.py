"""A plan as an XLSX workbook for meetings, in Chinese or English: its rows with the funding split,
the buildings' phases and what they wait for, the risk trajectory, and the retrofit candidates."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from core.i18n import Lang, t

ROW_COLUMNS = (
    "unit_id",
    "building",
    "street_office",
    "year",
    "starts_on",
    "phase",
    "action",
    "cost",
    "bond",
    "district",
    "maintenance_fund",
    "owners",
    "advance",
    "mandatory",
)


def wait_text(wait: Mapping[str, Any], lang: Lang) -> str:
    """One thing a building waits for, as a sentence."""
    unknown = t(lang, "plan.unknown")

    def share(value: Any) -> str:
        return unknown if value is None else f"{float(value):.0%}"

    if wait["kind"] == "collection":
        return t(
            lang,
            "plan.wait.collection",
            threshold=share(wait["threshold"]),
            rate=share(wait["rate"]),
            expected_on=wait["expected_on"] or unknown,
        )
    if wait["kind"] == "vote":
        return t(
            lang,
            "plan.wait.vote",
            approve=share(wait["approve_share"]),
            quorum=share(wait["quorum"]),
            expected_on=wait["expected_on"] or unknown,
        )
    return t(lang, "plan.wait.assessment", units=", ".join(wait["units"]))


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(60, width + 4)


def plan_xlsx(
    *,
    run: Mapping[str, Any],
    rows: list[dict[str, Any]],
    buildings: list[dict[str, Any]],
    retrofits: list[dict[str, Any]],
    lang: Lang,
) -> bytes:
    """The workbook of a plan as read for its reader (queries.plans.plan_whole)."""
    yes, no = t(lang, "plan.yes"), t(lang, "plan.no")
    book = Workbook()
    book.remove(book.active)
    _sheet(
        book,
        t(lang, "plan.sheet.rows"),
        [t(lang, f"plan.col.{c}") for c in ROW_COLUMNS],
        [
            [
                r["unit_id"],
                r["building_name"],
                r["street_office_id"],
                r["year"],
                r["starts_on"],
                r["phase"],
                t(lang, f"plan.action.{r['action']}"),
                float(r["cost"]),
                float(r["bond"]),
                float(r["district"]),
                float(r["maintenance_fund"]),
                float(r["owners"]),
                float(r["advance"]),
                yes if r["mandatory"] else no,
            ]
            for r in rows
        ],
    )
    _sheet(
        book,
        t(lang, "plan.sheet.buildings"),
        [
            t(lang, "plan.col.building"),
            t(lang, "plan.col.street_office"),
            t(lang, "plan.col.units"),
            t(lang, "plan.col.households"),
            t(lang, "plan.col.phase"),
            t(lang, "plan.waits"),
        ],
        [
            [
                b["name"],
                b["street_office_id"],
                b["units"],
                b["households"],
                "; ".join(
                    t(lang, "plan.phase", phase=p["phase"], starts_on=p["starts_on"])
                    + ": "
                    + ", ".join(u["unit_id"] for u in p["units"])
                    for p in b["phases"]
                ),
                "; ".join(wait_text(w, lang) for w in b["waits"]) or t(lang, "plan.waits_none"),
            ]
            for b in buildings
        ],
    )
    trajectory = run["trajectory"]
    if trajectory:
        series = ("plan", "do_nothing", "age_first")
        _sheet(
            book,
            t(lang, "plan.sheet.trajectory"),
            [t(lang, "plan.year")]
            + [f"{t(lang, f'plan.series.{s}')}: {t(lang, 'plan.failures')}" for s in series]
            + [f"{t(lang, f'plan.series.{s}')}: {t(lang, 'plan.stranded')}" for s in series],
            [
                [year]
                + [trajectory[s]["failures"][i] for s in series]
                + [trajectory[s]["stranded_household_days"][i] for s in series]
                for i, year in enumerate(trajectory["years"])
            ],
        )
    _sheet(
        book,
        t(lang, "plan.sheet.retrofits"),
        [
            t(lang, f"plan.col.{c}")
            for c in (
                "building",
                "street_office",
                "rank",
                "need",
                "residents_served",
                "cost",
                "subsidy",
                "year",
            )
        ],
        [
            [
                r["building_id"],
                r["street_office_id"],
                r["rank_in_street"],
                r["need"],
                r["residents_served"],
                float(r["cost"]),
                float(r["subsidy"]),
                r["year"],
            ]
            for r in retrofits
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
