"""The other doors to the pipeline: HTTP batches, CSV fault logs, dead-letter replay, the contract."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from core.errors import Invalid
from ingest.contractdocs import contract_files
from ingest.http import ingest_http_batch
from ingest.pipeline import ingest_messages
from ingest.replay import replay
from liftwatch.cli import main
from tests.ingest.factories import T0, add_register, message, payload

ROOT = Path(__file__).resolve().parents[2]


def _register(conn: psycopg.Connection[Any]) -> None:
    add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)],
                        "U-110108-0042": [("C1", T0 - timedelta(days=3650), None)]})  # fmt: skip


def test_http_batch_returns_one_result_per_item_in_order(conn: psycopg.Connection[Any]) -> None:
    _register(conn)
    fault = payload("fault") | {"kind": "fault", "unit_id": "U1"}
    items = [
        fault,
        fault,
        payload("status") | {"kind": "status", "unit_id": "U1"},
        payload("status") | {"kind": "status", "unit_id": "U2"},
        payload("status") | {"kind": "status", "unit_id": "U1", "contractor_id": "C9"},
        payload("status", trips=-5) | {"kind": "status", "unit_id": "U1"},
        payload("status") | {"kind": "lift", "unit_id": "U1"},
        [1, 2],
        payload("status") | {"kind": "status", "unit_id": {"id": 1}},
    ]
    result = ingest_http_batch(conn, orjson.dumps(items), contractor_id="C1")
    got = [(r["index"], r["outcome"], r["reason"]) for r in result.as_dict()["items"]]
    assert got == [
        (0, "stored", None), (1, "duplicate", None), (2, "stored", None),
        (3, "rejected", "unknown_unit"), (4, "rejected", "not_maintainer"),
        (5, "rejected", "schema_violation"), (6, "rejected", "unknown_kind"),
        (7, "rejected", "schema_violation"), (8, "rejected", "schema_violation"),
    ]  # fmt: skip
    assert result.items[0].as_dict()["event_id"] == fault["event_id"]
    (problem,) = result.items[5].as_dict()["problems"]
    assert problem["field"] == "trips" and problem["got"] == "-5"
    letters = conn.execute(
        "SELECT source, reason FROM dead_letter ORDER BY dead_letter_id"
    ).fetchall()
    assert [(r["source"], r["reason"]) for r in letters] == [
        ("http", r) for _, o, r in got if o == "rejected"
    ]


def test_http_ndjson_from_an_admin_names_the_contractor_per_item(
    conn: psycopg.Connection[Any],
) -> None:
    _register(conn)
    good = orjson.dumps(
        payload("maintenance") | {"kind": "maintenance", "unit_id": "U1", "contractor_id": "C1"}
    )
    anonymous = orjson.dumps(payload("maintenance") | {"kind": "maintenance", "unit_id": "U1"})
    body = b"\n".join([good, b"{broken", anonymous, b""])
    result = ingest_http_batch(conn, body, contractor_id=None)
    assert [(i.outcome, i.reason) for i in result.items] == [
        ("stored", None), ("rejected", "malformed_json"), ("rejected", "schema_violation"),
    ]  # fmt: skip
    with pytest.raises(Invalid):
        ingest_http_batch(conn, b"[{", contractor_id="C1")


def test_csv_fault_log_import_is_validated_and_idempotent(
    conn: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _register(conn)
    path = tmp_path / "log.csv"
    shutil.copy(ROOT / "examples" / "fault-log.csv", path)
    with path.open("a", encoding="utf-8") as f:
        f.write("U-110108-0042,2023-05-01T08:00:00+08:00,XX,,,,否,0,,,bad code\n")
        f.write("U-999,2023-05-01T08:00:00+08:00,02,,,,是,1,,,unknown unit\n")
    assert main(["ingest", "file", str(path), "--contractor", "C1"]) == 1
    out = capsys.readouterr()
    assert "stored 4, duplicates 0, rejected 2" in out.out
    assert "line 6: schema_violation: code" in out.err
    assert main(["ingest", "file", str(path), "--contractor", "C1"]) == 1
    assert "stored 0, duplicates 4, rejected 2" in capsys.readouterr().out
    rows = conn.execute(
        "SELECT code, cause, severity, entrapment FROM fault_event ORDER BY occurred_at"
    ).fetchall()
    assert [(r["code"], r["cause"], r["severity"]) for r in rows] == [
        ("02", "equipment", "minor"), ("93", "equipment", "major"),
        ("41", "external", "minor"), ("01", "equipment", "critical"),
    ]  # fmt: skip
    letters = conn.execute(
        "SELECT source, reason FROM dead_letter ORDER BY dead_letter_id"
    ).fetchall()
    assert [(r["source"], r["reason"]) for r in letters][:2] == [
        ("file", "schema_violation"),
        ("file", "unknown_unit"),
    ]


def test_unknown_units_are_replayed_after_the_register_is_fixed(
    conn: psycopg.Connection[Any],
) -> None:
    _register(conn)
    early = [
        message("C1", "U7", "status", payload("status", at=T0 + timedelta(minutes=n)))
        for n in range(3)
    ]
    wrong_contractor = message("C2", "U8", "status", payload("status"))
    result = ingest_messages(conn, [*early, wrong_contractor], source="mqtt")
    assert result.rejected["unknown_unit"] == 4
    assert replay(conn, reason="unknown_unit").outcomes == {"rejected:unknown_unit": 4}

    add_register(
        conn,
        {
            "U7": [("C1", T0 - timedelta(days=1), None)],
            "U8": [("C1", T0 - timedelta(days=1), None)],
        },
    )
    report = replay(conn, reason="unknown_unit")
    assert report.outcomes == {"stored": 3, "rejected:not_maintainer": 1}
    assert conn.execute(
        "SELECT count(*) AS n FROM status_sample WHERE unit_id = 'U7'"
    ).fetchone() == {"n": 3}
    pending = conn.execute(
        "SELECT unit_id, replay_outcome FROM dead_letter WHERE replayed_at IS NULL"
    ).fetchall()
    assert pending == [{"unit_id": "U8", "replay_outcome": "rejected:not_maintainer"}]
    assert replay(conn, reason="unknown_unit").outcomes == {"rejected:not_maintainer": 1}
    assert conn.execute("SELECT count(*) AS n FROM dead_letter").fetchone() == {"n": 4}, (
        "replays add no letters"
    )


def test_committed_contract_docs_are_what_the_code_generates() -> None:
    directory = ROOT / "docs" / "contract"
    for name, text in contract_files().items():
        assert (directory / name).read_text(encoding="utf-8") == text, (
            f"run `make docs`: {name} is stale"
        )
    committed = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}
    assert committed == set(contract_files()), (
        "docs/contract holds files the code does not generate"
    )


def test_every_fault_code_appears_in_the_published_table() -> None:
    from core.faultcodes import FAULT_CODES

    table = contract_files()["fault-codes.md"]
    for code in FAULT_CODES.values():
        assert f"| {code.code} | {code.name_zh} |" in table
    assert uuid.UUID(orjson.loads(contract_files()["examples/fault.json"])["payload"]["event_id"])


def test_stats_prints_database_totals_without_a_running_worker(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _register(conn)
    ingest_messages(conn, [message("C1", "U1", "status", payload("status")),
                           message("C1", "U404", "status", payload("status"))], source="mqtt")  # fmt: skip
    assert main(["ingest", "stats", "--url", "http://127.0.0.1:9/metrics"]) == 0
    out = capsys.readouterr().out
    assert "no worker metrics at http://127.0.0.1:9/metrics" in out
    assert "status_sample            1 stored" in out
    assert "unknown_unit" in out and "1 pending, 0 replayed" in out


def test_the_csv_columns_and_reasons_are_documented() -> None:
    from ingest.csvfile import COLUMNS
    from ingest.decode import REASONS

    text = (ROOT / "docs" / "ingestion.md").read_text(encoding="utf-8")
    for key, zh, _, _ in COLUMNS:
        assert f"| `{key}` | {zh} |" in text
    for reason in REASONS:
        assert f"| `{reason}` |" in text
