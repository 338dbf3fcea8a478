"""Import of the fleet register from CSV or XLSX: all or nothing, every bad row named, idempotent.

The file has one row per unit (see core/register_format.py and docs/register.md). Rows are parsed and
checked first, all of them, so a user sees every problem at once. Then, in one transaction, the rows
are copied into a staging table and merged set-wise into the register: unchanged rows are not touched,
changes to a unit's renewal, contractor, building or service status are logged in unit_change, a new
renewal is added to unit_renewal, and a contractor change closes the old unit_contract period and opens
a new one.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from core.errors import Invalid, Problem, ProblemList
from core.register_format import BY_HEADER, COLUMNS, CellError

log = logging.getLogger(__name__)

KEYS = [c.key for c in COLUMNS]
# Facts that belong to an entity above the unit and must agree on every row that names it.
_SHARED = {
    "district_id": ("district",),
    "street_office_id": ("street_office", "district_id"),
    "community_id": ("community", "street_office_id"),
    "contractor_id": ("contractor",),
    "building_id": (
        "building",
        "community_id",
        "floors",
        "households",
        "residents",
        "elderly_share",
        "year_built",
        "property_unit",
        "fund_status",
        "fund_balance",
        "floor_area_m2",
        "collection_rate",
        "collection_expected_on",
        "fund_vote_on",
        "consent_share",
    ),
}
# Unit fields whose changes are recorded in unit_change.
TRACKED = ("building_id", "installed_on", "renewed_on", "contractor_id", "service_status")


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    changes_logged: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.rows} rows: {self.created} units created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected, "
            f"{self.changes_logged} changes logged ({self.seconds:.2f} s)"
        )


def read_file(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX register file as dicts keyed by its headers (row order kept)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path)
    raise Invalid(f"{path.name}: unsupported file type {suffix!r}; use .csv or .xlsx")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(f"{path.name}: not UTF-8 or GB18030 text")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;") if text.strip() else csv.excel
    return list(csv.DictReader(text.splitlines(), dialect=dialect))


def _read_xlsx(path: Path) -> list[dict[str, Any]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
        return [
            dict(zip(header, row, strict=False))
            for row in rows
            if any(v not in (None, "") for v in row)
        ]
    finally:
        book.close()


def parse_rows(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """Check every row; return the good ones (with their file row numbers) and every problem."""
    good: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    header_checked = False
    for index, raw in enumerate(rows):
        row_no = index + 2  # row 1 is the header
        if not header_checked:
            problems += _check_header(raw.keys())
            if problems:
                return [], problems
            header_checked = True
        parsed: dict[str, Any] = dict.fromkeys(KEYS)
        row_problems = []
        for header, value in raw.items():
            column = BY_HEADER.get(str(header).strip()) or BY_HEADER.get(
                str(header).strip().lower()
            )
            if column is None or value is None or str(value).strip() == "":
                continue
            try:
                parsed[column.key] = column.parse(value)
            except CellError as exc:
                row_problems.append(Problem(column.key, str(exc), got=str(value), row=row_no))
        for column in COLUMNS:
            if (
                column.required
                and parsed[column.key] is None
                and not any(p.field == column.key for p in row_problems)
            ):
                row_problems.append(Problem(column.key, "required value is missing", row=row_no))
        if (
            parsed["renewed_on"]
            and parsed["installed_on"]
            and parsed["renewed_on"] < parsed["installed_on"]
        ):
            row_problems.append(
                Problem(
                    "renewed_on",
                    "is before installed_on",
                    got=str(parsed["renewed_on"]),
                    row=row_no,
                )
            )
        if row_problems:
            problems += row_problems
        else:
            good.append((row_no, parsed))
    bad_rows = _cross_row_problems(good)
    problems += bad_rows
    rejected = {p.row for p in bad_rows}
    return [(n, r) for n, r in good if n not in rejected], problems


def _check_header(headers: Iterable[str]) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for header in headers:
        name = str(header).strip()
        column = BY_HEADER.get(name) or BY_HEADER.get(name.lower())
        if column is None:
            problems.append(
                Problem(
                    name or "(empty header)",
                    "unknown column",
                    expected="one of the columns in docs/register.md",
                    row=1,
                )
            )
        elif column.key in seen:
            problems.append(Problem(name, f"same column as {seen[column.key]!r}", row=1))
        else:
            seen[column.key] = name
    for column in COLUMNS:
        if column.required and column.key not in seen:
            problems.append(
                Problem(
                    column.key,
                    f"required column missing (header {column.key!r} or {column.zh!r})",
                    row=1,
                )
            )
    return problems


def _cross_row_problems(good: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    problems = []
    for unique in ("unit_id", "registration_code"):
        first: dict[Any, int] = {}
        for row_no, row in good:
            if row[unique] in first:
                problems.append(
                    Problem(
                        unique,
                        f"duplicate of row {first[row[unique]]}",
                        got=row[unique],
                        row=row_no,
                    )
                )
            else:
                first[row[unique]] = row_no
    for key, facts in _SHARED.items():
        seen: dict[Any, tuple[int, dict[str, Any]]] = {}
        for row_no, row in good:
            if row[key] not in seen:
                seen[row[key]] = (row_no, row)
                continue
            first_no, first_row = seen[row[key]]
            for fact in facts:
                if row[fact] != first_row[fact]:
                    problems.append(
                        Problem(
                            fact,
                            f"differs from row {first_no} for the same {key} {row[key]!r}",
                            expected=str(first_row[fact]),
                            got=str(row[fact]),
                            row=row_no,
                        )
                    )
    return problems


def import_rows(
    conn: psycopg.Connection[Any],
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str,
    skip_invalid: bool = False,
) -> ImportReport:
    """Validate and merge register rows; raise ProblemList (writing nothing) unless skip_invalid."""
    started = time.perf_counter()
    rows = list(rows)
    good, problems = parse_rows(rows)
    report = ImportReport(rows=len(rows), problems=problems)
    report.rejected = len({p.row for p in problems})
    if problems and not skip_invalid:
        raise ProblemList(problems)
    if any(p.row == 1 for p in problems):
        raise ProblemList(problems)  # a bad header spoils every row
    with conn.transaction():
        report.created, report.updated, report.changes_logged = _merge(
            conn, [r for _, r in good], source
        )
    report.unchanged = len(good) - report.created - report.updated
    report.seconds = time.perf_counter() - started
    log.info("register import from %s: %s", source, report.summary())
    return report


def import_file(
    conn: psycopg.Connection[Any],
    path: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
) -> ImportReport:
    """Import a CSV or XLSX register file; with skip_invalid, write rejected rows to rejects_path."""
    rows = read_file(path)
    report = import_rows(conn, rows, source=f"file:{path.name}", skip_invalid=skip_invalid)
    if skip_invalid and report.problems and rejects_path is not None:
        write_rejects(rows, report.problems, rejects_path)
    return report


def write_rejects(rows: Sequence[Mapping[str, Any]], problems: list[Problem], path: Path) -> None:
    """The rejected rows as CSV, with their file row number and every reason."""
    reasons: dict[int, list[str]] = {}
    for p in problems:
        if p.row is not None:
            reasons.setdefault(p.row, []).append(f"{p.field}: {p.reason}")
    header = list(rows[0].keys()) if rows else []
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "errors", *header])
        for index, row in enumerate(rows):
            if index + 2 in reasons:
                writer.writerow([index + 2, "; ".join(reasons[index + 2]), *row.values()])


_STAGE = """
CREATE TEMP TABLE register_stage (
    district_id text, district text, street_office_id text, street_office text,
    community_id text, community text, building_id text, building text, floors smallint,
    households integer, residents integer, elderly_share numeric(4,3), year_built smallint,
    property_unit text, fund_status text, fund_balance numeric(14,2), unit_id text,
    registration_code text, manufacturer text, model text, installed_on date, renewed_on date,
    rated_load_kg integer, rated_speed_mps numeric(4,2), stops smallint, drive_type text,
    contractor_id text, contractor text, contractor_since date, service_status text,
    floor_area_m2 numeric(12,2), collection_rate numeric(4,3), collection_expected_on date,
    fund_vote_on date, consent_share numeric(4,3), assessment_on date, assessment_action text
) ON COMMIT DROP
"""

# The planner's optional facts: a column left empty in the file keeps what the register holds.
_MERGE_PLANNING = [
    """UPDATE building b SET
           floor_area_m2 = coalesce(s.floor_area_m2, b.floor_area_m2),
           collection_rate = coalesce(s.collection_rate, b.collection_rate),
           collection_expected_on = coalesce(s.collection_expected_on, b.collection_expected_on),
           fund_vote_on = coalesce(s.fund_vote_on, b.fund_vote_on),
           consent_share = coalesce(s.consent_share, b.consent_share)
       FROM (SELECT DISTINCT building_id, floor_area_m2, collection_rate, collection_expected_on,
                    fund_vote_on, consent_share FROM register_stage) s
       WHERE b.building_id = s.building_id
         AND (s.floor_area_m2, s.collection_rate, s.collection_expected_on, s.fund_vote_on,
              s.consent_share) IS DISTINCT FROM (NULL::numeric, NULL::numeric, NULL::date,
                                                 NULL::date, NULL::numeric)""",
    """UPDATE unit u SET
           assessment_on = coalesce(s.assessment_on, u.assessment_on),
           assessment_action = coalesce(s.assessment_action, u.assessment_action)
       FROM register_stage s
       WHERE u.unit_id = s.unit_id AND (s.assessment_on IS NOT NULL OR s.assessment_action IS NOT NULL)""",
]

_MERGE_PARENTS = [
    """INSERT INTO district (district_id, name)
       SELECT DISTINCT district_id, district FROM register_stage
       ON CONFLICT (district_id) DO UPDATE SET name = EXCLUDED.name
       WHERE district.name IS DISTINCT FROM EXCLUDED.name""",
    """INSERT INTO street_office (street_office_id, district_id, name)
       SELECT DISTINCT street_office_id, district_id, street_office FROM register_stage
       ON CONFLICT (street_office_id) DO UPDATE SET district_id = EXCLUDED.district_id, name = EXCLUDED.name
       WHERE (street_office.district_id, street_office.name)
             IS DISTINCT FROM (EXCLUDED.district_id, EXCLUDED.name)""",
    """INSERT INTO community (community_id, street_office_id, name)
       SELECT DISTINCT community_id, street_office_id, community FROM register_stage
       ON CONFLICT (community_id) DO UPDATE SET street_office_id = EXCLUDED.street_office_id, name = EXCLUDED.name
       WHERE (community.street_office_id, community.name)
             IS DISTINCT FROM (EXCLUDED.street_office_id, EXCLUDED.name)""",
    """INSERT INTO contractor (contractor_id, name)
       SELECT DISTINCT contractor_id, contractor FROM register_stage
       ON CONFLICT (contractor_id) DO UPDATE SET name = EXCLUDED.name
       WHERE contractor.name IS DISTINCT FROM EXCLUDED.name""",
    """INSERT INTO building (building_id, community_id, name, floors, households, residents,
                             elderly_share, year_built, property_unit, fund_status, fund_balance)
       SELECT DISTINCT building_id, community_id, building, floors, households, residents,
              elderly_share, year_built, property_unit, coalesce(fund_status, 'none'), fund_balance
       FROM register_stage
       ON CONFLICT (building_id) DO UPDATE SET
           community_id = EXCLUDED.community_id, name = EXCLUDED.name, floors = EXCLUDED.floors,
           households = EXCLUDED.households, residents = EXCLUDED.residents,
           elderly_share = EXCLUDED.elderly_share, year_built = EXCLUDED.year_built,
           property_unit = EXCLUDED.property_unit, fund_status = EXCLUDED.fund_status,
           fund_balance = EXCLUDED.fund_balance
       WHERE (building.community_id, building.name, building.floors, building.households,
              building.residents, building.elderly_share, building.year_built,
              building.property_unit, building.fund_status, building.fund_balance)
             IS DISTINCT FROM
             (EXCLUDED.community_id, EXCLUDED.name, EXCLUDED.floors, EXCLUDED.households,
              EXCLUDED.residents, EXCLUDED.elderly_share, EXCLUDED.year_built,
              EXCLUDED.property_unit, EXCLUDED.fund_status, EXCLUDED.fund_balance)""",
]

_LOG_CHANGES = """
INSERT INTO unit_change (unit_id, field, old_value, new_value, source)
SELECT u.unit_id, c.field, c.old_value, c.new_value, %(source)s
FROM register_stage s
JOIN unit u USING (unit_id)
CROSS JOIN LATERAL (VALUES
    ('building_id', u.building_id, s.building_id),
    ('installed_on', u.installed_on::text, s.installed_on::text),
    ('renewed_on', u.renewed_on::text, s.renewed_on::text),
    ('contractor_id', u.contractor_id, s.contractor_id),
    ('service_status', u.service_status, coalesce(s.service_status, 'in_service'))
) AS c(field, old_value, new_value)
WHERE c.old_value IS DISTINCT FROM c.new_value
"""

_CONTRACTS = [
    # A contractor change closes the open period when the new contractor took over (or now).
    """UPDATE unit_contract uc
       SET valid_to = greatest(coalesce(s.contractor_since::timestamp AT TIME ZONE 'Asia/Shanghai', now()),
                               uc.valid_from + interval '1 second')
       FROM register_stage s
       WHERE uc.unit_id = s.unit_id AND uc.valid_to IS NULL AND uc.contractor_id <> s.contractor_id""",
    # Units with no open period (new units, or just closed) get one. A unit's first contractor is
    # taken to have maintained it since installation unless the file says otherwise.
    """INSERT INTO unit_contract (unit_id, contractor_id, valid_from)
       SELECT s.unit_id, s.contractor_id,
              CASE WHEN NOT EXISTS (SELECT 1 FROM unit_contract h WHERE h.unit_id = s.unit_id)
                   THEN coalesce(s.contractor_since, s.installed_on)::timestamp
                        AT TIME ZONE 'Asia/Shanghai'
                   ELSE (SELECT max(valid_to) FROM unit_contract h WHERE h.unit_id = s.unit_id) END
       FROM register_stage s
       WHERE NOT EXISTS (SELECT 1 FROM unit_contract o WHERE o.unit_id = s.unit_id AND o.valid_to IS NULL)""",
]

_MERGE_UNITS = """
INSERT INTO unit AS u (unit_id, registration_code, building_id, manufacturer, model, installed_on,
                       renewed_on, rated_load_kg, rated_speed_mps, stops, drive_type,
                       contractor_id, service_status)
SELECT unit_id, registration_code, building_id, manufacturer, model, installed_on, renewed_on,
       rated_load_kg, rated_speed_mps, stops, coalesce(drive_type, 'traction'), contractor_id,
       coalesce(service_status, 'in_service')
FROM register_stage
ON CONFLICT (unit_id) DO UPDATE SET
    registration_code = EXCLUDED.registration_code, building_id = EXCLUDED.building_id,
    manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,
    installed_on = EXCLUDED.installed_on, renewed_on = EXCLUDED.renewed_on,
    rated_load_kg = EXCLUDED.rated_load_kg, rated_speed_mps = EXCLUDED.rated_speed_mps,
    stops = EXCLUDED.stops, drive_type = EXCLUDED.drive_type,
    contractor_id = EXCLUDED.contractor_id, service_status = EXCLUDED.service_status,
    updated_at = now()
WHERE (u.registration_code, u.building_id, u.manufacturer, u.model, u.installed_on, u.renewed_on,
       u.rated_load_kg, u.rated_speed_mps, u.stops, u.drive_type, u.contractor_id, u.service_status)
      IS DISTINCT FROM
      (EXCLUDED.registration_code, EXCLUDED.building_id, EXCLUDED.manufacturer, EXCLUDED.model,
       EXCLUDED.installed_on, EXCLUDED.renewed_on, EXCLUDED.rated_load_kg, EXCLUDED.rated_speed_mps,
       EXCLUDED.stops, EXCLUDED.drive_type, EXCLUDED.contractor_id, EXCLUDED.service_status)
RETURNING (xmax = 0) AS created
"""


def _merge(
    conn: psycopg.Connection[Any], rows: list[dict[str, Any]], source: str
) -> tuple[int, int, int]:
    """Merge parsed rows into the register; return (created, updated, changes logged)."""
    if not rows:
        return 0, 0, 0
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_STAGE)
        with cur.copy(f"COPY register_stage ({', '.join(KEYS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[k] for k in KEYS])
        for statement in _MERGE_PARENTS:
            cur.execute(statement)
        cur.execute(_LOG_CHANGES, {"source": source})
        logged = cur.rowcount
        cur.execute(_MERGE_UNITS)
        outcomes = [created for (created,) in cur.fetchall()]
        for statement in _CONTRACTS:
            cur.execute(statement)
        for statement in _MERGE_PLANNING:
            cur.execute(statement)
        cur.execute(
            "INSERT INTO unit_renewal (unit_id, renewed_on) SELECT unit_id, renewed_on "
            "FROM register_stage WHERE renewed_on IS NOT NULL ON CONFLICT DO NOTHING"
        )
    created = sum(1 for o in outcomes if o)
    return created, len(outcomes) - created, logged
