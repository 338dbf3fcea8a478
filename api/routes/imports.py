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
from core.errors import Invalid, Problem, ProblemList
from core.register import import_rows, parse_rows, read_file

router = APIRouter(prefix="/v1", tags=["register"])

_SUFFIX = {"text/csv": ".csv", "text/plain": ".csv", MEDIA["xlsx"]: ".xlsx"}


@router.post(
    "/register/import",
    response_model=ImportResult,
    summary="Import a register file (CSV or XLSX; admin, bureau)",
    description="The body is the file itself (`Content-Type: text/csv` or the XLSX media type), with "
    "English or Chinese headers (docs/register.md). All or nothing unless `skip_invalid`; every "
    "problem is named with its row. A bureau may only import rows of its own district.",
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
) -> Any:
    """Merge the file's rows; returns what was created, updated, unchanged and rejected."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _SUFFIX:
        raise UnsupportedMedia(f"send text/csv or {MEDIA['xlsx']}, not {media or 'nothing'!r}")
    body = await request.body()
    if len(body) > settings.api_max_body_bytes:
        raise TooLarge(f"at most {settings.api_max_body_bytes} bytes per request")
    source = f"api:{principal.token_id}"
    district = principal.scope.bound_to if principal.role == "bureau" else None
    report = await run_in_threadpool(
        _import, conn, body, _SUFFIX[media], source, district, skip_invalid
    )
    return {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "changes_logged": report.changes_logged,
        "problems": [p.as_dict() for p in report.problems],
    }


def _import(
    conn: Any, body: bytes, suffix: str, source: str, district: str | None, skip: bool
) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(body)
        try:
            rows = read_file(path)
        except Invalid:
            raise
        except Exception as exc:  # a corrupt spreadsheet is the sender's problem, not a 500
            raise Invalid(f"the file cannot be read: {exc}") from None
    if not rows:
        raise Invalid("the file holds no rows")
    if district is not None:
        good, _ = parse_rows(rows)
        outside = [
            Problem(
                "district_id",
                "outside your district",
                expected=district,
                got=r["district_id"],
                row=n,
            )
            for n, r in good
            if r["district_id"] != district
        ]
        if outside:
            raise ProblemList(outside)
    return import_rows(conn, rows, source=source, skip_invalid=skip)
