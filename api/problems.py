"""RFC 9457 problem details: every error the API returns has one shape and a stable type.

Domain code raises core.errors exceptions (which carry their status); the API adds the few
HTTP-only ones below. One handler per exception family renders them all as
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and ``instance``.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import LiftwatchError, Problem, ProblemList

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://liftwatch.dev/problems/"


class Unauthorized(LiftwatchError):
    status, type, title = 401, "unauthorized", "Authentication required"


class Forbidden(LiftwatchError):
    status, type, title = 403, "forbidden", "Not allowed for this role"


class RateLimited(LiftwatchError):
    status, type, title = 429, "rate-limited", "Too many events"


class TooLarge(LiftwatchError):
    status, type, title = 413, "too-large", "Request body too large"


class UnsupportedMedia(LiftwatchError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class ProblemField(BaseModel):
    """One precise problem with the input."""

    field: str = Field(description="Where: a dotted path such as `query.limit` or `body.0.code`.")
    reason: str
    expected: str | None = None
    got: Any = None
    row: int | None = Field(
        default=None, description="Row or item number, when the input has rows."
    )


class ProblemDetail(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(
        examples=[TYPE_BASE + "not-found"], description="Stable URI of the error kind."
    )
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no unit 'U-1'"])
    instance: str = Field(examples=["/v1/units/U-1"], description="The request path.")
    problems: list[ProblemField] | None = Field(
        default=None, description="Each field in error, for invalid input."
    )


def _status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    problems: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response for this request."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LiftwatchError)
    if exc.status >= 500:
        log.error("%s on %s: %s", exc.type, request.url.path, exc.detail)
    problems = [p.as_dict() for p in exc.problems] if isinstance(exc, ProblemList) else None
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if "retry_after" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
    return problem_response(
        request,
        status=exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        problems=problems,
        headers=headers,
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        Problem(
            field=_field(err.get("loc", ())),
            reason=err.get("msg", "invalid"),
            expected=err.get("type"),
        ).as_dict()
        for err in exc.errors()
    ]
    names = ", ".join(p["field"] for p in problems[:5])
    return problem_response(
        request,
        status=422,
        type_="invalid",
        title="Invalid input",
        detail=f"{len(problems)} problem(s) in the request: {names}",
        problems=problems,
    )


_HTTP_TYPES = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else _status_title(status)
    if status == 400:
        # FastAPI's "error parsing the body" is invalid input like any other: one status for it.
        return problem_response(
            request, status=422, type_="invalid", title="Invalid input", detail=f"body: {detail}"
        )
    if status == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    headers = dict(exc.headers) if exc.headers else {}
    if status == 405:
        # Starlette names the methods of the first route matching the path only; a path served by
        # several routes (GET and POST of a collection) allows all of theirs.
        allowed = allowed_methods(request, headers.get("allow") or headers.get("Allow"))
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
    return problem_response(
        request,
        status=status,
        type_=_HTTP_TYPES.get(status, f"http-{status}"),
        title=_status_title(status),
        detail=detail,
        headers=headers or None,
    )


def allowed_methods(request: Request, given: str | None = None) -> list[str]:
    """Every method the OpenAPI document lists at this request's path (else what Starlette gave)."""
    methods = {m.strip() for m in (given or "").split(",") if m.strip()}
    for pattern, listed in _path_methods(request.app):
        if pattern.fullmatch(request.url.path):
            methods |= listed
    return sorted(methods)


def _path_methods(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow", None)
    if cached is None:
        cached = [
            (
                re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))),
                {m.upper() for m in ops},
            )
            for path, ops in app.openapi()["paths"].items()
        ]
        app.state.allow = cached
    return cached


def _database(request: Request, exc: Exception) -> JSONResponse:
    # Constraint and data errors come from input the checks above let through: still the caller's.
    # The server's own message is never passed on: its detail quotes the row ("Failing row
    # contains ..."), which may hold more than the caller sent.
    assert isinstance(exc, psycopg.errors.IntegrityError | psycopg.errors.DataError)
    diag = exc.diag
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return problem_response(
            request,
            status=409,
            type_="conflict",
            title="Conflict",
            detail=f"a value that must be unique is already taken ({diag.constraint_name})",
        )
    if isinstance(exc, psycopg.errors.NotNullViolation) and diag.column_name:
        what, field = f"{diag.column_name} may not be empty", f"body.{diag.column_name}"
    elif isinstance(exc, psycopg.errors.IntegrityError) and diag.constraint_name:
        what, field = f"the input breaks the rule {diag.constraint_name}", "body"
    else:
        what, field = "the input holds a value that cannot be stored", "body"
    return problem_response(
        request,
        status=422,
        type_="invalid",
        title="Invalid input",
        detail=what,
        problems=[Problem(field=field, reason=what).as_dict()],
    )


def _busy(request: Request, exc: Exception) -> JSONResponse:
    log.warning("no database connection free for %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        request,
        status=503,
        type_="busy",
        title="Service busy",
        detail="every database connection is in use; retry shortly",
        headers={"Retry-After": "1"},
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        type_="internal",
        title="Internal error",
        detail="the server failed to handle this request; it has been logged",
    )


def install(app: FastAPI) -> None:
    """Render every error of the app as problem details."""
    app.add_exception_handler(LiftwatchError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(psycopg.errors.IntegrityError, _database)
    app.add_exception_handler(psycopg.errors.DataError, _database)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the problem shape for these statuses."""
    return {
        status: {
            "model": ProblemDetail,
            "description": _status_title(status),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
        for status in statuses
    }
