"""FastAPI dependencies as Annotated aliases: a pooled connection, the caller, their scope, roles.

The token is read from ``Authorization: Bearer <token>`` or, for the dashboard pages, from the
``liftwatch_token`` cookie; both paths go through the same check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from api.problems import Forbidden, Unauthorized
from api.tokens import Principal, authenticate
from core.scope import Role, Scope
from core.settings import Settings

COOKIE = "liftwatch_token"


# Dependencies that do no I/O are `async def`: FastAPI runs those in the event loop instead of
# hopping to a worker thread, which costs more than they do.


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
    """The app's connection pool."""
    pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = request.app.state.pool
    return pool


async def _gate(request: Request) -> AsyncIterator[None]:
    # Requests wait for a connection here, in the event loop, not in worker threads: a thread
    # blocked on an empty pool would starve the threads that run the routes holding connections.
    async with request.app.state.db_gate:
        yield


def get_conn(
    request: Request, _gate: Annotated[None, Depends(_gate)]
) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A pooled connection for this request; its transaction commits when the request succeeds."""
    with get_pool(request).connection() as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ConnDep = Annotated[psycopg.Connection[dict[str, Any]], Depends(get_conn)]


def token_from_request(request: Request) -> str | None:
    """The bearer token of the Authorization header, else the dashboard cookie's."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("the Authorization header must read 'Bearer <token>'")
        return value.strip()
    return request.cookies.get(COOKIE) or None


def get_principal(request: Request, conn: ConnDep) -> Principal:
    """The authenticated caller; 401 without a valid, unrevoked token."""
    token = token_from_request(request)
    if token is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    principal = authenticate(conn, token=token)
    if principal is None:
        raise Unauthorized("the token is unknown, malformed or revoked")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_scope(principal: PrincipalDep) -> Scope:
    """What the caller may see."""
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(
                f"a {principal.role} token may not do this; allowed: {', '.join(roles)}"
            )
        return principal

    return check


WriterDep = Annotated[Principal, Depends(require("admin", "bureau"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
ScorerDep = Annotated[Principal, Depends(require("admin", "bureau"))]
PusherDep = Annotated[Principal, Depends(require("admin", "contractor"))]
