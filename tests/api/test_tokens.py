"""Tokens an API process has verified are trusted for a few seconds; revocation still takes effect."""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from api.deps import RequestDB
from api.tokens import Principal, TokenCache, create_token, revoke_token
from core.scope import Scope
from core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

TOKEN = "lw_0123456789ab_" + "s" * 43
BUREAU = Principal("0123456789ab", "bureau:D1", Scope("bureau", "D1"))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_trusts_the_exact_token_for_its_ttl() -> None:
    clock = Clock()
    cache = TokenCache(5.0, clock=clock)
    assert cache.get(TOKEN) is None
    cache.put(TOKEN, BUREAU)
    assert cache.get(TOKEN) is BUREAU
    # Same id, another secret: not the token that was verified.
    assert cache.get(TOKEN[:-1] + "t") is None
    assert cache.get("lw_0123456789ab") is None
    clock.now += 4.9
    assert cache.get(TOKEN) is BUREAU
    clock.now += 0.1
    assert cache.get(TOKEN) is None
    assert cache._entries == {}


def test_the_cache_is_bounded_and_can_be_off() -> None:
    clock = Clock()
    cache = TokenCache(5.0, max_size=3, clock=clock)
    tokens = [f"lw_{i:012x}_" + "s" * 43 for i in range(5)]
    for token in tokens[:3]:
        cache.put(token, BUREAU)
    clock.now += 10  # all three expired: making room drops them
    cache.put(tokens[3], BUREAU)
    assert len(cache._entries) == 1 and cache.get(tokens[3]) is BUREAU
    off = TokenCache(0.0, clock=clock)
    off.put(TOKEN, BUREAU)
    assert off.get(TOKEN) is None
    cache.put("not a token", BUREAU)
    assert cache.get("not a token") is None


def test_requests_with_a_token_being_checked_wait_for_that_check() -> None:
    async def scenario() -> None:
        cache = TokenCache(5.0, clock=Clock())
        other = "lw_0123456789ac_" + "s" * 43
        calls: list[str] = []
        release = asyncio.Event()

        async def verify(token: str, outcome: Principal | Exception | None) -> Principal | None:
            calls.append(token)
            await release.wait()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        same = [cache.check(TOKEN, lambda: verify(TOKEN, BUREAU)) for _ in range(5)]
        refused = cache.check(other, lambda: verify(other, None))
        waiting = asyncio.gather(*same, refused)
        for _ in range(10):
            await asyncio.sleep(0)
        assert calls == [TOKEN, other]
        release.set()
        assert await waiting == [BUREAU] * 5 + [None]
        assert cache.get(TOKEN) is BUREAU and cache.get(other) is None
        # A check that fails fails for every request waiting for it; the next one asks again.
        failing = TokenCache(5.0, clock=Clock())
        both = [failing.check(TOKEN, lambda: verify(TOKEN, OSError("db down"))) for _ in range(2)]
        results = await asyncio.gather(*both, return_exceptions=True)
        assert [type(r) for r in results] == [OSError, OSError] and calls.count(TOKEN) == 2
        assert await failing.check(TOKEN, lambda: verify(TOKEN, BUREAU)) is BUREAU
        # Off: every request checks.
        off = TokenCache(0.0, clock=Clock())
        for _ in range(2):
            assert await off.check(TOKEN, lambda: verify(TOKEN, BUREAU)) is BUREAU
        assert calls.count(TOKEN) == 5

    asyncio.run(scenario())


def _client(db_url: str, ttl: float) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url, api_token_cache_seconds=ttl)))


def test_a_revoked_token_is_refused_within_the_ttl(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("INSERT INTO district (district_id, name) VALUES ('D1', '海淀区')")
    token, info = create_token(conn, role="bureau", bound_to="D1")
    auth = {"Authorization": f"Bearer {token}"}
    with _client(db_url, ttl=1.0) as client:
        assert client.get("/v1/score-runs", headers=auth).status_code == 200
        revoke_token(conn, token_id=info.token_id)
        # Trusted for at most the TTL after it was last verified ...
        assert client.get("/v1/score-runs", headers=auth).status_code in (200, 401)
        time.sleep(1.05)
        # ... then checked again, and refused.
        response = client.get("/v1/score-runs", headers=auth)
        assert response.status_code == 401 and response.json()["type"].endswith("/unauthorized")
        # A wrong secret for a known id is never taken from the cache.
        wrong = {"Authorization": f"Bearer {token[:-2]}xx"}
        assert client.get("/v1/score-runs", headers=wrong).status_code == 401


def test_without_the_cache_revocation_is_immediate(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("INSERT INTO district (district_id, name) VALUES ('D1', '海淀区')")
    token, info = create_token(conn, role="bureau", bound_to="D1")
    auth = {"Authorization": f"Bearer {token}"}
    with _client(db_url, ttl=0) as client:
        assert client.get("/v1/rankings", headers=auth).status_code == 200
        revoke_token(conn, token_id=info.token_id)
        assert client.get("/v1/rankings", headers=auth).status_code == 401


def test_a_cached_token_still_records_its_use(db_url: str, conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO district (district_id, name) VALUES ('D1', '海淀区')")
    token, info = create_token(conn, role="bureau", bound_to="D1")
    with _client(db_url, ttl=60.0) as client:
        for _ in range(3):
            assert client.get(
                "/v1/rankings", headers={"Authorization": f"Bearer {token}"}
            ).is_success
    row = conn.execute(
        "SELECT last_used_at FROM api_token WHERE token_id = %s", (info.token_id,)
    ).fetchone()
    assert row is not None and row["last_used_at"] is not None


@pytest.mark.parametrize("outcome", ["returns", "raises", "leaves a transaction open"])
def test_a_read_gives_its_connection_back_as_it_found_it(db_url: str, outcome: str) -> None:
    """Reads run in autocommit on a connection of their own; the pool gets it back as it was."""

    def work(conn: psycopg.Connection[Any]) -> int:
        assert conn.autocommit
        conn.execute("SELECT 1")
        if outcome == "raises":
            raise ValueError("boom")
        if outcome == "leaves a transaction open":
            conn.execute("BEGIN")
        return 1

    async def read(db: RequestDB) -> int:
        return await db.read(work)

    with ConnectionPool(
        db_url, min_size=1, max_size=1, kwargs={"row_factory": dict_row}, open=True
    ) as pool:
        db = RequestDB(pool, asyncio.Semaphore(1))
        if outcome == "raises":
            with pytest.raises(ValueError, match="boom"):
                asyncio.run(read(db))
        else:
            assert asyncio.run(read(db)) == 1
        assert db.conn is None
        with pool.connection(timeout=5) as conn:
            assert not conn.autocommit
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
