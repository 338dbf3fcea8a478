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
read is under way wait for that read instead of making their own, and a page asked for in the
second half of its time is read again in the background while it is still served: a busy page is
renewed before it expires instead of every request waiting for it once it has.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

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
        self._reads: dict[Hashable, asyncio.Task[bytes]] = {}

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
        self, key: Hashable, read: Callable[[], Awaitable[bytes]], *, shared: bool = True
    ) -> bytes:
        """The body kept under this key, else what ``read()`` returns, kept for ``ttl`` seconds.

        With ``shared`` (``read`` needs nothing of the request that calls it), one read per key
        is under way at a time and requests that find it wait for it; if it fails, each reads for
        itself (and meets the error, if any, on its own). A page past half its time that is asked
        for is read again in the background, still served meanwhile: a busy page is renewed
        before it expires, and no request waits for it. A request that holds what a shared read
        may be waiting for (a pooled connection) passes ``shared=False`` and reads for itself.
        """
        if self.ttl <= 0:
            return await read()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(key)
            if shared and key not in self._reads and entry[0] - now < self.ttl / 2:
                self._start(key, read).add_done_callback(_retrieve)
            return entry[1]
        if not shared:
            ticket = self.begin()
            body = await read()
            self.put(key, body, ticket)
            return body
        pending = self._reads.get(key)
        if pending is not None:
            await asyncio.wait([pending])
            if not pending.cancelled() and pending.exception() is None:
                return pending.result()
        return await asyncio.shield(self._start(key, read))

    def _start(self, key: Hashable, read: Callable[[], Awaitable[bytes]]) -> asyncio.Task[bytes]:
        """The task that reads a page and keeps it, registered as the key's read under way."""
        ticket = self.begin()

        async def read_and_keep() -> bytes:
            try:
                body = await read()
            finally:
                if self._reads.get(key) is task:
                    del self._reads[key]
            self.put(key, body, ticket)
            return body

        task = asyncio.ensure_future(read_and_keep())
        task.add_done_callback(_consume)
        self._reads.setdefault(key, task)
        return task

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


def _consume(task: asyncio.Task[bytes]) -> None:
    """Take a read's error, if any, as seen: the request that started it (if it still waits)
    answers with it, and one whose client went away has nobody to tell."""
    if not task.cancelled():
        task.exception()


def _retrieve(task: asyncio.Task[bytes]) -> None:
    """Log a background read that failed (its page is read again when next asked for)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("renewing a ranking page failed: %r", task.exception())
