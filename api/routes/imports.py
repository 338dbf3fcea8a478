"""POST /v1/register/import: a register file (CSV or XLSX) merged into the fleet register."""

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ConnDep, SettingsDep, WriterDep
from api.exports import MEDIA
from api.models.register import ImportResult
from api.problems import TooLarge, UnsupportedMedia, responses
from core.errors import Invalid
from core.register import ImportReport, import_rows, read_file
from core.scope import Scope

router = APIRouter(prefix="/v1", tags=["register"])

_SUFFIX = {"text/csv": ".csv", "text/plain": ".csv", MEDIA["xlsx"]: ".xlsx"}


@router.post(
    "/register/import",
    response_model=ImportResult,
    summary="Import a register file (CSV or XLSX; admin, bureau)",
    description="The body is the file itself (`Content-Type: text/csv` or the XLSX media type), with "
    "English or Chinese headers (docs/register.md). All or nothing unless `skip_invalid`; every "
    "problem is named with its row. Scope is checked on what the rows touch: a bureau may change "
    "only what is already in its district and create only inside it; moving a street office, "
    "community, building or unit, or changing a unit's contractor, needs `allow_moves=true` and is "
    "recorded; only an admin renames a contractor. A row that breaks these rules rejects the file.",
    responses=responses(401, 403, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_register(
    request: Request,
    conn: ConnDep,
    principal: WriterDep,
    settings: SettingsDep,
    skip_invalid: Annotated[
        bool, Query(description="Import the good rows, report the bad.")
    ] = False,
    allow_moves: Annotated[
        bool,
        Query(
            description="Let the rows move entities between districts, street offices, "
            "communities or buildings, or change units' contractors (each move is recorded)."
        ),
    ] = False,
) -> Any:
    """Merge the file's rows; returns what was created, updated, unchanged and rejected."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _SUFFIX:
        raise UnsupportedMedia(f"send text/csv or {MEDIA['xlsx']}, not {media or 'nothing'!r}")
    body = await request.body()
    if len(body) > settings.api_max_body_bytes:
        raise TooLarge(f"at most {settings.api_max_body_bytes} bytes per request")
    report = await run_in_threadpool(
        _import,
        conn,
        body,
        _SUFFIX[media],
        source=f"api:{principal.token_id}",
        scope=principal.scope,
        skip_invalid=skip_invalid,
        allow_moves=allow_moves,
    )
    return {
        "rows": report.rows,
        "buildings_only": report.buildings_only,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "changes_logged": report.changes_logged,
        "problems": [p.as_dict() for p in report.problems],
    }


def _import(
    conn: Any,
    body: bytes,
    suffix: str,
    *,
    source: str,
    scope: Scope,
    skip_invalid: bool,
    allow_moves: bool,
) -> ImportReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(body)
        try:
            rows = read_file(path)
        except Invalid:
            raise
        except Exception as exc:  # a corrupt spreadsheet is the sender's problem, not a 500
            raise Invalid(f"the file cannot be read: {exc}") from None
    return import_rows(
        conn,
        rows,
        source=source,
        skip_invalid=skip_invalid,
        scope=scope,
        allow_moves=allow_moves,
    )
