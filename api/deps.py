"""FastAPI dependencies as Annotated aliases: a pooled connection, the caller, their scope, roles.

The token is read from ``Authorization: Bearer <token>`` or, for the dashboard pages, from the
``liftwatch_token`` cookie; both paths go through the same check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio
import psycopg
from fastapi import Depends, Request
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from api.problems import Forbidden, Unauthorized
from api.tokens import Principal, TokenCache, authenticate
from core.errors import Problem, ProblemList
from core.scope import Role, Scope
from core.settings import Settings

COOKIE = "liftwatch_token"

Conn = psycopg.Connection[dict[str, Any]]
T = TypeVar("T")


# Dependencies that do no I/O are `async def`: FastAPI runs those in the event loop instead of
# hopping to a worker thread, which costs more than they do.


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool[Conn]:
    """The app's connection pool."""
    pool: ConnectionPool[Conn] = request.app.state.pool
    return pool


class RequestDB:
    """One request's way to the database: at most one pooled connection, taken on first use.

    Requests wait for a connection in the event loop (a semaphore the size of the pool), never in
    worker threads: a thread blocked on an empty pool would starve the threads that run the
    requests holding connections. A connection the request holds is given back when it ends, its
    transaction committed if the request succeeded and rolled back if not.
    """

    def __init__(self, pool: ConnectionPool[Conn], gate: asyncio.Semaphore) -> None:
        self._pool = pool
        self._gate = gate
        self.conn: Conn | None = None

    async def connection(self) -> Conn:
        """The request's connection (taken from the pool on first use)."""
        if self.conn is None:
            await self.run(lambda _conn: None)
        assert self.conn is not None
        return self.conn

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(conn, *args, **kwargs)`` in a worker thread, on the request's connection; taking
        the connection happens in the same thread, so either way it is one hop."""
        if self.conn is not None:
            return await run_in_threadpool(fn, self.conn, *args, **kwargs)
        await self._gate.acquire()
        try:
            return await run_in_threadpool(self._take_and_run, fn, args, kwargs)
        finally:
            if self.conn is None:
                self._gate.release()

    def _take_and_run(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        self.conn = self._pool.getconn()
        return fn(self.conn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(conn, *args, **kwargs)`` for a request that only reads.

        When the request holds no connection yet, one worker thread takes a connection, runs
        ``fn`` in autocommit (each statement is its own transaction: no BEGIN and COMMIT round
        trips) and gives the connection back at once. Otherwise ``fn`` runs on the request's
        connection, inside its transaction.
        """
        if self.conn is not None:
            return await run_in_threadpool(fn, self.conn, *args, **kwargs)
        async with self._gate:
            return await run_in_threadpool(self._read_alone, fn, args, kwargs)

    def _read_alone(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        conn = self._pool.getconn()
        try:
            conn.autocommit = True
            try:
                return fn(conn, *args, **kwargs)
            finally:
                if conn.pgconn.transaction_status == TransactionStatus.IDLE:
                    conn.autocommit = False
                else:  # broken, or left in a transaction: the pool replaces a closed connection
                    conn.close()
        finally:
            self._pool.putconn(conn)

    async def close(self, *, failed: bool) -> None:
        """Commit (or roll back) and give back the request's connection, if it took one."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            # Shielded: a cancelled request still gives its connection back.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._finish, conn, failed)
        finally:
            self._gate.release()

    def _finish(self, conn: Conn, failed: bool) -> None:
        try:
            if failed:
                conn.rollback()
            else:
                conn.commit()
        finally:
            self._pool.putconn(conn)


# Requests that read only, and the one write that cannot change a ranking page (pushed events):
# any other request that commits empties this process's page cache (api/pages.py).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEEPS_PAGES = frozenset({"/v1/events"})


async def get_db(request: Request) -> AsyncIterator[RequestDB]:
    """This request's database access; its connection, if it took one, is given back at the end."""
    db = RequestDB(get_pool(request), request.app.state.db_gate)
    try:
        yield db
    except BaseException:
        await db.close(failed=True)
        raise
    wrote = db.conn is not None and request.method not in _SAFE_METHODS
    await db.close(failed=False)
    if wrote and request.url.path not in _KEEPS_PAGES:
        request.app.state.pages.clear()


DbDep = Annotated[RequestDB, Depends(get_db)]


async def get_conn(db: DbDep) -> Conn:
    """A pooled connection for this request; its transaction commits when the request succeeds."""
    return await db.connection()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ConnDep = Annotated[Conn, Depends(get_conn)]


async def no_nul_characters(request: Request) -> None:
    """422 naming the parameter when a query or path parameter holds a NUL character.

    PostgreSQL text cannot hold NUL: such a value would otherwise reach the database and come back
    as its error. Bodies are checked by their models (api/models/common.py).
    """
    fields = [f"query.{k}" for k, v in request.query_params.multi_items() if "\x00" in k + v]
    fields += [f"path.{k}" for k, v in request.path_params.items() if "\x00" in str(v)]
    if fields:
        raise ProblemList(
            [Problem(field, "must not contain a NUL character (U+0000)") for field in fields]
        )


def token_from_request(request: Request) -> str | None:
    """The bearer token of the Authorization header, else the dashboard cookie's."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("the Authorization header must read 'Bearer <token>'")
        return value.strip()
    return request.cookies.get(COOKIE) or None


async def get_principal(request: Request, db: DbDep) -> Principal:
    """The authenticated caller; 401 without a valid, unrevoked token.

    A token verified in the last few seconds (``LIFTWATCH_API_TOKEN_CACHE_SECONDS``) is trusted
    without asking the database again; otherwise it is checked once for every request asking with
    it meanwhile, or on this request's connection if it already holds one.
    """
    token = token_from_request(request)
    if token is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    tokens: TokenCache = request.app.state.tokens
    principal = tokens.get(token)
    if principal is None and db.conn is None:
        # Checked on a connection of its own, given back at once, so that the requests waiting
        # for this check (all of them, when a busy token drops out of the cache) hold none.
        principal = await tokens.check(token, lambda: db.read(authenticate, token=token))
    elif principal is None:
        principal = await db.run(authenticate, token=token)
        if principal is not None:
            tokens.put(token, principal)
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
