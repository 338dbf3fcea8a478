"""API tokens: created once and shown once, stored as a SHA-256 of their secret, revocable.

A token reads ``lw_<token_id>_<secret>``. The id is public and finds the row; the secret is random
(256 bits), so a plain SHA-256 is enough (no password stretching needed), and it is compared in
constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from core.errors import Invalid, NotFound
from core.i18n import t, user_lang
from core.scope import ROLES, Role, Scope

PREFIX = "lw"
_TOKEN_RE = re.compile(r"^lw_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")

# The register table each role's token is bound to.
_BOUND_TABLE: dict[str, tuple[str, str]] = {
    "bureau": ("district", "district_id"),
    "street_office": ("street_office", "street_office_id"),
    "contractor": ("contractor", "contractor_id"),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's id, name and scope."""

    token_id: str
    name: str
    scope: Scope

    @property
    def role(self) -> Role:
        """The caller's role."""
        return self.scope.role


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: everything but its secret."""

    token_id: str
    name: str
    role: str
    bound_to: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_token(
    conn: psycopg.Connection[Any], *, role: str, bound_to: str | None, name: str | None = None
) -> tuple[str, TokenInfo]:
    """Store a new token for a role bound to a register id; return the token text (shown once)."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "admin":
        if bound_to:
            raise Invalid("an admin token is bound to nothing; leave out --scope")
        bound_to = None
    else:
        if not bound_to:
            # Refused rather than read as "everywhere": an unscoped bureau token would be an admin
            # token by accident.
            raise Invalid(
                t(user_lang(), "cli.scope_needed", role=role, column=_BOUND_TABLE[role][1])
            )
        table, column = _BOUND_TABLE[role]
        query = psycopg.sql.SQL("SELECT 1 FROM {} WHERE {} = %s").format(
            psycopg.sql.Identifier(table), psycopg.sql.Identifier(column)
        )
        if conn.execute(query, (bound_to,)).fetchone() is None:
            raise NotFound(f"no {table.replace('_', ' ')} {bound_to!r} in the register")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_token (token_id, name, role, bound_to, secret_sha256)"
        " VALUES (%s, %s, %s, %s, %s)"
        " RETURNING token_id, name, role, bound_to, created_at, last_used_at, revoked_at",
        (token_id, name or f"{role}:{bound_to or 'all'}", role, bound_to, _digest(secret)),
    ).fetchone()
    assert row is not None
    return f"{PREFIX}_{token_id}_{secret}", _info(row)


def revoke_token(conn: psycopg.Connection[Any], *, token_id: str) -> TokenInfo:
    """Revoke a token by id (idempotent); later requests with it get 401."""
    row = conn.execute(
        "UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = %s"
        " RETURNING token_id, name, role, bound_to, created_at, last_used_at, revoked_at",
        (token_id.removeprefix(f"{PREFIX}_").split("_")[0],),
    ).fetchone()
    if row is None:
        raise NotFound(f"no token {token_id!r}")
    return _info(row)


def list_tokens(conn: psycopg.Connection[Any], *, include_revoked: bool = False) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = conn.execute(
        "SELECT token_id, name, role, bound_to, created_at, last_used_at, revoked_at"
        " FROM api_token WHERE %s OR revoked_at IS NULL ORDER BY created_at DESC, token_id",
        (include_revoked,),
    ).fetchall()
    return [_info(r) for r in rows]


def authenticate(conn: psycopg.Connection[Any], *, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, or None."""
    match = _TOKEN_RE.match(token)
    if match is None:
        return None
    token_id, secret = match[1], match[2]
    row = conn.execute(
        "SELECT name, role, bound_to, secret_sha256, revoked_at,"
        " last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS stale"
        " FROM api_token WHERE token_id = %s",
        (token_id,),
    ).fetchone()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(bytes(row["secret_sha256"]), _digest(secret)):
        return None
    if row["stale"]:
        # Written at most once a minute per token, so reads stay reads.
        conn.execute("UPDATE api_token SET last_used_at = now() WHERE token_id = %s", (token_id,))
    return Principal(token_id, row["name"], Scope(row["role"], row["bound_to"]))


def _info(row: Any) -> TokenInfo:
    return TokenInfo(**{k: row[k] for k in TokenInfo.__dataclass_fields__})


class TokenCache:
    """Principals of tokens verified in the last ``ttl`` seconds, so a busy caller's requests do
    not each ask the database.

    Entries are keyed by token id and the SHA-256 of the secret (the secret itself is not kept),
    so only the exact token that was verified is trusted. Only valid tokens are kept: a new token
    works at once, and a revoked one is refused at most ``ttl`` seconds after its revocation, by
    every API process. ``ttl`` 0 turns the cache off.
    """

    def __init__(
        self,
        ttl: float,
        *,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._entries: dict[tuple[str, bytes], tuple[float, Principal]] = {}
        self._checks: dict[tuple[str, bytes], asyncio.Task[Principal | None]] = {}

    @staticmethod
    def _key(token: str) -> tuple[str, bytes] | None:
        match = _TOKEN_RE.match(token)
        return None if match is None else (match[1], _digest(match[2]))

    def get(self, token: str) -> Principal | None:
        """The principal of this token if it was verified less than ``ttl`` seconds ago."""
        if self.ttl <= 0 or not self._entries:
            return None
        key = self._key(token)
        entry = None if key is None else self._entries.get(key)
        if key is None or entry is None:
            return None
        expires, principal = entry
        if expires <= self._clock():
            self._entries.pop(key, None)
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Remember that this token was just verified as this principal."""
        key = self._key(token)
        if self.ttl <= 0 or key is None:
            return
        now = self._clock()
        if len(self._entries) >= self.max_size:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_size:
                self._entries.clear()
        self._entries[key] = (now + self.ttl, principal)

    async def check(
        self, token: str, verify: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        """The principal of this token from the cache, else from ``verify()`` (kept if valid).

        One check per token at a time: when the token drops out of the cache, the requests that
        arrive while it is being checked wait for that check instead of each asking the database.
        ``verify`` must need nothing of the request that calls it (no connection it holds).
        """
        principal = self.get(token)
        if principal is not None:
            return principal
        key = self._key(token)
        if key is None or self.ttl <= 0:
            return await verify()
        pending = self._checks.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._verify_and_keep(token, key, verify))
            pending.add_done_callback(_consume)
            self._checks[key] = pending
        return await asyncio.shield(pending)

    async def _verify_and_keep(
        self,
        token: str,
        key: tuple[str, bytes],
        verify: Callable[[], Awaitable[Principal | None]],
    ) -> Principal | None:
        try:
            principal = await verify()
        finally:
            del self._checks[key]
        if principal is not None:
            self.put(token, principal)
        return principal


def _consume(task: asyncio.Task[Principal | None]) -> None:
    """Take a check's error as seen even when every request that waited for it has gone (the
    ones still waiting answer with it)."""
    if not task.cancelled():
        task.exception()
