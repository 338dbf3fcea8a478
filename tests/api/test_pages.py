"""Ranking pages served again for a few seconds: per scope, bounded, and never older than the TTL
or than a change made through the same process."""

from __future__ import annotations

import asyncio
import warnings
from datetime import date
from typing import Any

import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from api.pages import PageCache
from api.runs import start_run
from core.scope import Scope
from core.settings import Settings
from tests.api.conftest import ROLES, VISIBLE_UNITS, Api

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


BUREAU = (Scope("bureau", "D1"), 50, None)
OFFICE = (Scope("street_office", "S1"), 50, None)


def test_a_page_is_kept_for_the_ttl_from_the_start_of_its_read() -> None:
    clock = Clock()
    cache = PageCache(2.0, clock=clock)
    ticket = cache.begin()
    clock.now += 0.5  # the read takes half a second
    cache.put(BUREAU, b"bureau", ticket)
    assert cache.get(BUREAU) == b"bureau"
    assert cache.get(OFFICE) is None
    clock.now += 1.49
    assert cache.get(BUREAU) == b"bureau"
    clock.now += 0.01
    assert cache.get(BUREAU) is None
    assert len(cache) == 0 and cache.size_bytes == 0


def test_a_read_begun_before_the_cache_was_emptied_is_not_kept() -> None:
    cache = PageCache(2.0, clock=Clock())
    before = cache.begin()
    cache.clear()  # a change committed while the read was under way
    cache.put(BUREAU, b"maybe stale", before)
    assert cache.get(BUREAU) is None
    cache.put(BUREAU, b"fresh", cache.begin())
    assert cache.get(BUREAU) == b"fresh"


def test_the_cache_is_bounded_in_bytes_least_recently_used_out() -> None:
    cache = PageCache(60.0, max_bytes=8 * 1024, clock=Clock())
    keys = [(Scope("street_office", f"S{i}"), 50, None) for i in range(5)]
    for key in keys[:3]:
        cache.put(key, b"x" * 1500, cache.begin())
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[3], b"x" * 1500, cache.begin())
    cache.put(keys[4], b"x" * 1500, cache.begin())
    assert cache.size_bytes <= 8 * 1024
    assert [cache.get(k) is not None for k in keys] == [True, False, True, True, True]
    # A body bigger than a quarter of the budget is not kept at all.
    cache.put(keys[1], b"x" * 3000, cache.begin())
    assert cache.get(keys[1]) is None
    # Replacing an entry counts its bytes once.
    cache.put(keys[4], b"y" * 100, cache.begin())
    assert cache.get(keys[4]) == b"y" * 100
    assert cache.size_bytes == 3 * (1500 + 512) + 100 + 512


def test_a_ttl_of_zero_turns_the_cache_off() -> None:
    cache = PageCache(0.0, clock=Clock())
    cache.put(BUREAU, b"bureau", cache.begin())
    assert cache.get(BUREAU) is None and len(cache) == 0


async def settle() -> None:
    """Let every task that can run, run (a read starts in a task of its own)."""
    for _ in range(10):
        await asyncio.sleep(0)


class Reads:
    """A page read that takes until the test lets it finish, counting how often it runs."""

    def __init__(self, body: bytes = b"page") -> None:
        self.body = body
        self.count = 0
        self.release = asyncio.Event()

    async def __call__(self) -> bytes:
        self.count += 1
        await self.release.wait()
        if self.body == b"fail":
            raise LookupError("no such run")
        return self.body


def test_requests_for_a_page_being_read_wait_for_that_read() -> None:
    async def scenario() -> None:
        cache = PageCache(2.0, clock=Clock())
        reads = Reads()
        waiting = [asyncio.create_task(cache.get_or_read(BUREAU, reads)) for _ in range(5)]
        other = asyncio.create_task(cache.get_or_read(OFFICE, Reads(b"office")))
        await settle()
        assert reads.count == 1
        reads.release.set()
        assert await asyncio.gather(*waiting) == [b"page"] * 5
        other.cancel()
        assert await cache.get_or_read(BUREAU, reads) == b"page" and reads.count == 1

    asyncio.run(scenario())


def test_when_the_read_fails_each_waiting_request_reads_for_itself() -> None:
    async def scenario() -> None:
        cache = PageCache(2.0, clock=Clock())
        failing, fine = Reads(b"fail"), Reads()
        first = asyncio.create_task(cache.get_or_read(BUREAU, failing))
        await settle()
        second = asyncio.create_task(cache.get_or_read(BUREAU, fine))
        await settle()
        failing.release.set()
        fine.release.set()
        with pytest.raises(LookupError):
            await first
        assert await second == b"page" and fine.count == 1
        assert cache.get(BUREAU) == b"page"

    asyncio.run(scenario())


def test_a_request_holding_a_connection_reads_for_itself() -> None:
    """The read under way waits for a connection that a request holds (it checked its token on
    it): that request must not wait for the read in turn."""

    async def scenario() -> None:
        cache = PageCache(2.0, clock=Clock())
        pool = asyncio.Semaphore(1)
        await pool.acquire()  # the holder's connection: the only one

        async def read_when_a_connection_is_free() -> bytes:
            async with pool:
                return b"page"

        async def read_on_own_connection() -> bytes:
            return b"page"

        waiting = asyncio.create_task(cache.get_or_read(BUREAU, read_when_a_connection_is_free))
        await settle()
        holder = await asyncio.wait_for(
            cache.get_or_read(BUREAU, read_on_own_connection, shared=False), timeout=5
        )
        pool.release()  # the holder's request ends
        assert holder == await asyncio.wait_for(waiting, timeout=5) == b"page"

    asyncio.run(scenario())


def test_a_busy_page_is_renewed_in_the_background_before_it_expires() -> None:
    async def scenario() -> None:
        clock = Clock()
        cache = PageCache(2.0, clock=clock)
        first, second, third = Reads(b"first"), Reads(b"second"), Reads(b"third")
        first.release.set()
        assert await cache.get_or_read(BUREAU, first) == b"first"
        clock.now += 0.9  # in its first half: served, not renewed
        assert await cache.get_or_read(BUREAU, second) == b"first" and second.count == 0
        clock.now += 0.2  # in its second half: served, and renewed in the background
        assert await cache.get_or_read(BUREAU, second) == b"first"
        assert await cache.get_or_read(BUREAU, third) == b"first"
        await settle()
        assert (second.count, third.count) == (1, 0)  # one renewal at a time
        clock.now += 0.5  # the renewal takes half a second
        second.release.set()
        await settle()
        assert cache.get(BUREAU) == b"second"
        # Kept for the TTL from the start of the renewal's read, not from its end.
        clock.now += 1.49
        assert cache.get(BUREAU) == b"second"
        clock.now += 0.01
        assert cache.get(BUREAU) is None
        # A page never waits past its TTL for a renewal: once expired, it is read again.
        third.release.set()
        assert await cache.get_or_read(BUREAU, third) == b"third"

    asyncio.run(scenario())


def test_a_request_after_the_cache_was_emptied_does_not_wait_for_an_older_read() -> None:
    async def scenario() -> None:
        cache = PageCache(2.0, clock=Clock())
        old, new = Reads(b"old"), Reads(b"new")
        before = asyncio.create_task(cache.get_or_read(BUREAU, old))
        await settle()
        cache.clear()
        after = asyncio.create_task(cache.get_or_read(BUREAU, new))
        await settle()
        assert new.count == 1
        old.release.set()
        new.release.set()
        assert (await before, await after) == (b"old", b"new")
        assert cache.get(BUREAU) == b"new"

    asyncio.run(scenario())


def test_with_the_cache_off_every_request_reads() -> None:
    async def scenario() -> None:
        cache = PageCache(0.0, clock=Clock())
        reads = Reads()
        reads.release.set()
        for _ in range(3):
            assert await cache.get_or_read(BUREAU, reads) == b"page"
        assert reads.count == 3 and len(cache) == 0

    asyncio.run(scenario())


def _client(db_url: str, ttl: float, clock: Clock | None = None) -> TestClient:
    app = create_app(Settings(database_url=db_url, api_page_cache_seconds=ttl))
    if clock is not None:
        app.state.pages = PageCache(ttl, clock=clock)
    return TestClient(app)


def _run_id(client: TestClient, auth: dict[str, str], **params: Any) -> int | None:
    response = client.get("/v1/rankings", headers=auth, params=params)
    assert response.status_code == 200, response.text
    run = response.json()["run"]
    return None if run is None else int(run["run_id"])


def _score(conn: psycopg.Connection[Any], as_of: date) -> int:
    settings = Settings(database_url=conn.info.dsn, scoring_use_model=False)
    return int(start_run(conn, settings=settings, as_of=as_of, note="test")["run_id"])


PARAMS: list[dict[str, Any]] = [
    {},
    {"limit": 1},
    {"limit": 2, "sort": "pof"},
    {"sort": "health"},
    {"street_office_id": "S1"},
    {"contractor_id": "K1"},
    {"flag": "watch"},
]


def test_every_scope_gets_its_own_pages(db_url: str, api: Api, conn: Any) -> None:
    """With the cache on, every role and parameter gets byte for byte the body an uncached
    process answers, whichever scope asked first."""
    _score(conn, date(2023, 5, 1))
    with _client(db_url, ttl=60.0) as cached, _client(db_url, ttl=0.0) as fresh:
        for order in (list(ROLES), list(reversed(ROLES))):
            for role in order:
                auth = api.as_(role)
                for params in PARAMS:
                    want = fresh.get("/v1/rankings", headers=auth, params=params)
                    got = cached.get("/v1/rankings", headers=auth, params=params)
                    assert got.status_code == want.status_code == 200
                    assert got.content == want.content, (role, params)
                page = cached.get("/v1/rankings", headers=auth).json()
                assert {i["unit_id"] for i in page["items"]} == VISIBLE_UNITS[role]
        assert len(cached.app.state.pages) == len(ROLES) * len(PARAMS)  # type: ignore[attr-defined]
        assert len(fresh.app.state.pages) == 0  # type: ignore[attr-defined]
        # The next page's cursor leads to the same page either way.
        auth = api.as_("admin")
        cursor = cached.get("/v1/rankings", headers=auth, params={"limit": 1}).json()["next_cursor"]
        for _ in range(2):
            params = {"limit": 1, "cursor": cursor}
            got = cached.get("/v1/rankings", headers=auth, params=params)
            assert got.content == fresh.get("/v1/rankings", headers=auth, params=params).content


def test_a_run_made_elsewhere_shows_within_the_ttl(db_url: str, api: Api, conn: Any) -> None:
    first = _score(conn, date(2023, 3, 1))
    clock = Clock()
    auth = api.as_("bureau")
    with _client(db_url, ttl=2.0, clock=clock) as client:
        assert _run_id(client, auth) == first
        second = _score(conn, date(2023, 5, 1))  # as `liftwatch score run` would
        clock.now += 1.9
        assert _run_id(client, auth) == first  # still the page read 1.9 s ago
        assert _run_id(client, auth, run_id=second) == second  # another key: read now
        clock.now += 0.1
        assert _run_id(client, auth) == second
    # With the cache off, at once.
    with _client(db_url, ttl=0.0) as client:
        assert _run_id(client, auth) == second
        third = _score(conn, date(2023, 6, 1))
        assert _run_id(client, auth) == third


def test_a_run_started_through_the_api_shows_at_once(db_url: str, api: Api, conn: Any) -> None:
    first = _score(conn, date(2023, 3, 1))
    auth = api.as_("bureau")
    with _client(db_url, ttl=60.0, clock=Clock()) as client:
        assert _run_id(client, auth) == first
        created = client.post("/v1/score-runs", headers=auth, json={"as_of": "2023-05-01"})
        assert created.status_code == 201, created.text
        assert _run_id(client, auth) == created.json()["run_id"] != first


def test_a_register_change_shows_at_once_here_and_within_the_ttl_elsewhere(
    db_url: str, api: Api, conn: Any
) -> None:
    _score(conn, date(2023, 5, 1))
    clock = Clock()
    auth = api.as_("bureau")

    def office_names(client: TestClient) -> set[str]:
        items = client.get("/v1/rankings", headers=auth, params={"street_office_id": "S1"})
        return {i["street_office_name_en"] for i in items.json()["items"]}

    with _client(db_url, ttl=5.0, clock=clock) as client:
        assert office_names(client) == {None}
        renamed = client.patch("/v1/street-offices/S1", headers=auth, json={"name_en": "Bali"})
        assert renamed.status_code == 200
        assert office_names(client) == {"Bali"}
        # Pushed events change no page: the cache is kept.
        kept = len(client.app.state.pages)  # type: ignore[attr-defined]
        assert kept > 0
        pushed = client.post("/v1/events", headers=api.as_("contractor"), json=[{"kind": "x"}])
        assert pushed.status_code == 200 and pushed.json()["rejected"], pushed.text
        assert len(client.app.state.pages) == kept  # type: ignore[attr-defined]
        # A change this process did not make shows once the TTL is over.
        conn.execute(
            "UPDATE street_office SET name_en = 'Balizhuang' WHERE street_office_id = 'S1'"
        )
        clock.now += 4.9
        assert office_names(client) == {"Bali"}
        clock.now += 0.1
        assert office_names(client) == {"Balizhuang"}


@pytest.mark.parametrize("ttl", [0.0, 60.0])
def test_an_unknown_run_is_404_and_never_kept(db_url: str, api: Api, conn: Any, ttl: float) -> None:
    auth = api.as_("admin")
    with _client(db_url, ttl=ttl) as client:
        assert client.get("/v1/rankings", headers=auth, params={"run_id": 1}).status_code == 404
        run = _score(conn, date(2023, 5, 1))
        assert _run_id(client, auth, run_id=run) == run
