"""Import of the fleet register from CSV or XLSX: all or nothing, every bad row named, idempotent.

The file has one row per unit, or per building with no unit (its unit columns empty: a walk-up, a
retrofit candidate); see core/register_format.py and docs/register.md. Rows are parsed and
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from core import register_rules
from core.errors import Invalid, Problem, ProblemList
from core.i18n import Lang, t, user_lang
from core.register_format import BY_HEADER, BY_KEY, COLUMNS, UNIT_KEYS, CellError, header_lang
from core.scope import ADMIN, Scope

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
        "lat",
        "lon",
    ),
}
# Unit fields whose changes are recorded in unit_change.
TRACKED = ("building_id", "installed_on", "renewed_on", "contractor_id", "service_status")


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    buildings_only: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    changes_logged: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        buildings = (
            f", {self.buildings_only} buildings without units" if self.buildings_only else ""
        )
        return (
            f"{self.rows} rows: {self.created} units created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected, "
            f"{self.changes_logged} changes logged{buildings} ({self.seconds:.2f} s)"
        )


def read_file(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX register file as dicts keyed by its headers (row order kept).

    A file without rows is refused, in the language of its headers: an empty file, or a header
    with nothing under it, would otherwise import as "0 rows" and look like success.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        header, rows = _read_xlsx(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        header, rows = _read_csv(path)
    else:
        lang = user_lang()
        raise Invalid(t(lang, "register.file_type", file=path.name, suffix=suffix))
    if not rows:
        lang = header_lang(header) or user_lang()
        known = header_lang(header) is not None
        raise Invalid(
            t(lang, "register.no_rows" if known else "register.no_header", file=path.name)
        )
    return rows


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(t(user_lang(), "register.not_text", file=path.name))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:  # one column, or not a table at all: the header check says which
        dialect = csv.excel
    try:
        reader = csv.DictReader(text.splitlines(), dialect=dialect)
        rows = list(reader)
    except csv.Error as exc:
        raise Invalid(t(user_lang(), "register.unreadable", file=path.name, error=exc)) from None
    return [str(h) for h in reader.fieldnames or []], rows


def _read_xlsx(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
        return header, [
            dict(zip(header, row, strict=False))
            for row in rows
            if any(v not in (None, "") for v in row)
        ]
    finally:
        book.close()


def parse_rows(
    rows: Iterable[Mapping[str, Any]], *, lang: Lang | None = None
) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """Check every row; return the good ones (with their file row numbers) and every problem.

    A problem names the column as the file writes it and reads in the file's language (Chinese
    headers, Chinese reasons), unless ``lang`` says otherwise.
    """
    rows = list(rows)
    headers = list(rows[0].keys()) if rows else []
    lang = lang or header_lang(headers) or user_lang()
    header_problems, written = _check_header(headers, lang)
    unit_headers = {h for h in headers if (c := _column(h)) is not None and c.key in UNIT_KEYS}
    if header_problems:
        return [], header_problems

    def name(key: str) -> str:
        return written.get(key) or (BY_KEY[key].zh if lang == "zh-CN" else key)

    good: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    for index, raw in enumerate(rows):
        row_no = index + 2  # row 1 is the header
        parsed: dict[str, Any] = dict.fromkeys(KEYS)
        row_problems = []
        has_unit = any(raw.get(h) not in (None, "") and str(raw[h]).strip() for h in unit_headers)
        for header, value in raw.items():
            column = _column(header)
            if column is None or value is None or str(value).strip() == "":
                continue
            try:
                parsed[column.key] = column.parse(value)
            except CellError as exc:
                reason = t(lang, f"register.cell.{exc.key}", **exc.values)
                row_problems.append(Problem(name(column.key), reason, got=str(value), row=row_no))
        for column in COLUMNS:
            if (
                column.required
                and (has_unit or column.key not in UNIT_KEYS)
                and parsed[column.key] is None
                and not any(p.field == name(column.key) for p in row_problems)
            ):
                reason = t(lang, "register.missing_value")
                row_problems.append(Problem(name(column.key), reason, row=row_no))
        if (
            parsed["renewed_on"]
            and parsed["installed_on"]
            and parsed["renewed_on"] < parsed["installed_on"]
        ):
            reason = t(lang, "register.before", other=name("installed_on"))
            row_problems.append(
                Problem(name("renewed_on"), reason, got=str(parsed["renewed_on"]), row=row_no)
            )
        row_problems += _coordinate_problems(parsed, row_problems, lang, name, row_no)
        if row_problems:
            problems += row_problems
        else:
            good.append((row_no, parsed))
    bad_rows = _cross_row_problems(good, lang, name)
    problems += bad_rows
    rejected = {p.row for p in bad_rows}
    return [(n, r) for n, r in good if n not in rejected], problems


def _coordinate_problems(
    parsed: dict[str, Any],
    found: list[Problem],
    lang: Lang,
    name: Callable[[str], str],
    row_no: int,
) -> list[Problem]:
    """A latitude without a longitude, or the other way round: a point needs both."""
    if any(p.field in (name("lat"), name("lon")) for p in found):
        return []  # a bad cell is already named; it is not also "missing"
    if (parsed["lat"] is None) == (parsed["lon"] is None):
        return []
    given, missing = ("lat", "lon") if parsed["lon"] is None else ("lon", "lat")
    reason = t(lang, "register.coordinates_pair", given=name(given))
    return [Problem(name(missing), reason, row=row_no)]


def _column(header: Any) -> Any:
    name = str(header).strip()
    return BY_HEADER.get(name) or BY_HEADER.get(name.lower())


def _check_header(headers: Iterable[Any], lang: Lang) -> tuple[list[Problem], dict[str, str]]:
    """Problems with the header row, and each known column's header as the file writes it."""
    seen: dict[str, str] = {}
    problems = []
    for header in headers:
        name = str(header).strip()
        column = _column(header)
        if column is None:
            problems.append(
                Problem(
                    name or t(lang, "register.empty_header"),
                    t(lang, "register.unknown_column"),
                    expected=t(lang, "register.known_columns"),
                    row=1,
                )
            )
        elif column.key in seen:
            problems.append(
                Problem(name, t(lang, "register.same_column", other=seen[column.key]), row=1)
            )
        else:
            seen[column.key] = name
    # A file of buildings alone (walk-ups) may leave the unit columns out altogether.
    units = any(key in UNIT_KEYS for key in seen)
    for column in COLUMNS:
        if column.required and column.key not in seen and (units or column.key not in UNIT_KEYS):
            problems.append(
                Problem(
                    column.zh if lang == "zh-CN" else column.key,
                    t(lang, "register.missing_column", en=column.key, zh=column.zh),
                    row=1,
                )
            )
    return problems, seen


def _cross_row_problems(
    good: list[tuple[int, dict[str, Any]]], lang: Lang, name: Callable[[str], str]
) -> list[Problem]:
    problems = []
    for unique in ("unit_id", "registration_code"):
        first: dict[Any, int] = {}
        for row_no, row in good:
            if row[unique] is None:
                continue
            if row[unique] in first:
                problems.append(
                    Problem(
                        name(unique),
                        t(lang, "register.duplicate", row=first[row[unique]]),
                        got=row[unique],
                        row=row_no,
                    )
                )
            else:
                first[row[unique]] = row_no
    for key, facts in _SHARED.items():
        seen: dict[Any, tuple[int, dict[str, Any]]] = {}
        for row_no, row in good:
            if row[key] is None:
                continue  # a building's row names no contractor
            if row[key] not in seen:
                seen[row[key]] = (row_no, row)
                continue
            first_no, first_row = seen[row[key]]
            for fact in facts:
                if row[fact] != first_row[fact]:
                    problems.append(
                        Problem(
                            name(fact),
                            t(
                                lang,
                                "register.differs",
                                row=first_no,
                                column=name(key),
                                value=row[key],
                            ),
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
    scope: Scope = ADMIN,
    allow_moves: bool = False,
    lang: Lang | None = None,
) -> ImportReport:
    """Validate and merge register rows; raise ProblemList (writing nothing) unless skip_invalid.

    What the rows touch must lie in ``scope`` and moves must be asked for (core/register_rules.py);
    rows that break those rules reject the whole import, whatever ``skip_invalid`` says.
    """
    started = time.perf_counter()
    rows = list(rows)
    headers = list(rows[0].keys()) if rows else []
    lang = lang or header_lang(headers) or user_lang()
    good, problems = parse_rows(rows, lang=lang)
    report = ImportReport(rows=len(rows), problems=problems)
    report.rejected = len({p.row for p in problems})
    if problems and not skip_invalid:
        raise ProblemList(problems, lang=lang)
    if any(p.row == 1 for p in problems):
        raise ProblemList(problems, lang=lang)  # a bad header spoils every row
    with conn.transaction():
        report.created, report.updated, report.changes_logged = _merge(
            conn,
            good,
            source=source,
            scope=scope,
            allow_moves=allow_moves,
            lang=lang,
            names={c.key: str(h).strip() for h in headers if (c := _column(h)) is not None},
        )
    report.buildings_only = sum(1 for _, row in good if row["unit_id"] is None)
    report.unchanged = len(good) - report.buildings_only - report.created - report.updated
    report.seconds = time.perf_counter() - started
    log.info("register import from %s: %s", source, report.summary())
    return report


def import_file(
    conn: psycopg.Connection[Any],
    path: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    allow_moves: bool = False,
) -> ImportReport:
    """Import a CSV or XLSX register file; with skip_invalid, write rejected rows to rejects_path."""
    rows = read_file(path)
    report = import_rows(
        conn,
        rows,
        source=f"file:{path.name}",
        skip_invalid=skip_invalid,
        allow_moves=allow_moves,
    )
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
    row_no integer, district_id text, district text, street_office_id text, street_office text,
    community_id text, community text, building_id text, building text, floors smallint,
    households integer, residents integer, elderly_share numeric(4,3), year_built smallint,
    property_unit text, fund_status text, fund_balance numeric(14,2), unit_id text,
    registration_code text, manufacturer text, model text, installed_on date, renewed_on date,
    rated_load_kg integer, rated_speed_mps numeric(4,2), stops smallint, drive_type text,
    contractor_id text, contractor text, contractor_since date, service_status text,
    floor_area_m2 numeric(12,2), collection_rate numeric(4,3), collection_expected_on date,
    fund_vote_on date, consent_share numeric(4,3), assessment_on date, assessment_action text,
    lat numeric(9,6), lon numeric(9,6)
) ON COMMIT DROP
"""

# The planner's optional facts: a column left empty in the file keeps what the register holds.
_MERGE_PLANNING = [
    """UPDATE building b SET
           floor_area_m2 = coalesce(s.floor_area_m2, b.floor_area_m2),
           collection_rate = coalesce(s.collection_rate, b.collection_rate),
           collection_expected_on = coalesce(s.collection_expected_on, b.collection_expected_on),
           fund_vote_on = coalesce(s.fund_vote_on, b.fund_vote_on),
           consent_share = coalesce(s.consent_share, b.consent_share),
           lat = coalesce(s.lat, b.lat),
           lon = coalesce(s.lon, b.lon)
       FROM (SELECT DISTINCT building_id, floor_area_m2, collection_rate, collection_expected_on,
                    fund_vote_on, consent_share, lat, lon FROM register_stage) s
       WHERE b.building_id = s.building_id
         AND (s.floor_area_m2, s.collection_rate, s.collection_expected_on, s.fund_vote_on,
              s.consent_share, s.lat, s.lon)
             IS DISTINCT FROM (NULL::numeric, NULL::numeric, NULL::date, NULL::date,
                               NULL::numeric, NULL::numeric, NULL::numeric)
         AND (b.floor_area_m2, b.collection_rate, b.collection_expected_on, b.fund_vote_on,
              b.consent_share, b.lat, b.lon)
             IS DISTINCT FROM
             (coalesce(s.floor_area_m2, b.floor_area_m2),
              coalesce(s.collection_rate, b.collection_rate),
              coalesce(s.collection_expected_on, b.collection_expected_on),
              coalesce(s.fund_vote_on, b.fund_vote_on),
              coalesce(s.consent_share, b.consent_share), coalesce(s.lat, b.lat),
              coalesce(s.lon, b.lon))""",
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
       SELECT DISTINCT contractor_id, contractor FROM register_stage WHERE contractor_id IS NOT NULL
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
       WHERE s.unit_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM unit_contract o WHERE o.unit_id = s.unit_id AND o.valid_to IS NULL)""",
]

_MERGE_UNITS = """
INSERT INTO unit AS u (unit_id, registration_code, building_id, manufacturer, model, installed_on,
                       renewed_on, rated_load_kg, rated_speed_mps, stops, drive_type,
                       contractor_id, service_status)
SELECT unit_id, registration_code, building_id, manufacturer, model, installed_on, renewed_on,
       rated_load_kg, rated_speed_mps, stops, coalesce(drive_type, 'traction'), contractor_id,
       coalesce(service_status, 'in_service')
FROM register_stage
WHERE unit_id IS NOT NULL
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
    conn: psycopg.Connection[Any],
    rows: list[tuple[int, dict[str, Any]]],
    *,
    source: str,
    scope: Scope,
    allow_moves: bool,
    lang: Lang,
    names: Mapping[str, str],
) -> tuple[int, int, int]:
    """Merge parsed rows into the register; return (created, updated, changes logged)."""
    if not rows:
        return 0, 0, 0
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_STAGE)
        with cur.copy(f"COPY register_stage (row_no, {', '.join(KEYS)}) FROM STDIN") as copy:
            for row_no, row in rows:
                copy.write_row([row_no, *(row[k] for k in KEYS)])
        problems = register_rules.check(cur, scope=scope, allow_moves=allow_moves, lang=lang)
        if problems:
            # Named as the file names them, like every other problem with the file.
            raise ProblemList(
                [replace(p, field=names.get(p.field, p.field)) for p in problems], lang=lang
            )
        logged = register_rules.record_moves(cur, source=source) if allow_moves else 0
        for statement in _MERGE_PARENTS:
            cur.execute(statement)
        cur.execute(_LOG_CHANGES, {"source": source})
        logged += cur.rowcount
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
