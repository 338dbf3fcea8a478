"""Ranking pages an API process has just read, served again for a few seconds.

A score run never changes once written, but a page also shows what the register says now (names,
households, places) and, unless it names a run, which run is the latest: so a page is kept for
at most ``ttl`` seconds after the read that made it began (``LIFTWATCH_API_PAGE_CACHE_SECONDS``),
and a change made through this process (a register import, a new score run, any write but pushed
events) empties the cache when it commits. A change made elsewhere (``liftwatch score run``,
another API process) shows within ``ttl`` seconds.

The key holds the caller's scope and every parameter of the page, so a scope only ever gets the
pages read in its own scope. The cache is per process, bounded in bytes, least recently used
first out; it is used from the event loop only, so it needs no lock. Requests for a page whose
read is under way wait for that read instead of making their own: when a busy page expires, one
request reads it again, not every request that arrives while it is being read.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

_ENTRY_OVERHEAD = 512
"""Bytes counted for an entry beside its body (its key, tuple and dictionary slot)."""


class PageCache:
    """Response bodies by key, each kept until ``ttl`` seconds after its read began; ``ttl`` 0
    turns the cache off."""

    def __init__(
        self,
        ttl: float,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._generation = 0
        self._reads: dict[Hashable, asyncio.Future[bytes]] = {}

    @property
    def size_bytes(self) -> int:
        """Bytes the entries are counted as holding."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> bytes | None:
        """The body kept under this key, if its read began less than ``ttl`` seconds ago."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, body = entry
        if expires <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return body

    async def get_or_read(
        self, key: Hashable, read: Callable[[], Awaitable[bytes]], *, may_wait: bool = True
    ) -> bytes:
        """The body kept under this key, else what ``read()`` returns, kept for ``ttl`` seconds.

        A request that finds the key's read under way waits for it; if that read fails, each
        waiting request reads for itself (and meets the error, if any, on its own). A request
        that holds what the read under way may be waiting for (a pooled connection) must pass
        ``may_wait=False``: it reads for itself, so waiting requests never hold up the read.
        """
        if self.ttl <= 0:
            return await read()
        body = self.get(key)
        if body is not None:
            return body
        pending = self._reads.get(key)
        if pending is not None and may_wait:
            await asyncio.wait([pending])
            if not pending.cancelled():
                return pending.result()
        ticket = self.begin()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._reads.setdefault(key, future)
        try:
            body = await read()
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._reads.get(key) is future:
                del self._reads[key]
        future.set_result(body)
        self.put(key, body, ticket)
        return body

    def begin(self) -> tuple[int, float]:
        """Call before reading a page: the ticket ``put`` needs to keep what the read returns."""
        return self._generation, self._clock()

    def put(self, key: Hashable, body: bytes, ticket: tuple[int, float]) -> None:
        """Keep a body read since ``begin`` gave the ticket, unless the cache was emptied since
        (the read may predate the change that emptied it) or it is off."""
        generation, started = ticket
        size = len(body) + _ENTRY_OVERHEAD
        if self.ttl <= 0 or generation != self._generation or size > self.max_bytes // 4:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (started + self.ttl, body)
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        """Forget every page, and every read still under way (what they return is not kept, and
        later requests do not wait for them)."""
        self._entries.clear()
        self._reads.clear()
        self._bytes = 0
        self._generation += 1

    def _drop(self, key: Hashable) -> None:
        _, body = self._entries.pop(key)
        self._bytes -= len(body) + _ENTRY_OVERHEAD
