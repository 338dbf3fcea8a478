"""paho's MQTT client with the per-message overheads that matter at ingest rates taken out.

A profile of the worker draining a QoS 1 backlog put two thirds of its time in paho's network
thread, and a third of that in work a consumer like ours does not need:

- **topic-filter matching.** paho matches every incoming topic against the filters registered with
  ``message_callback_add`` even when there are none (~12% of the worker). We register none and use
  ``on_message`` only, so the matcher is replaced by one that matches nothing.
- **one packet per ``select``, several ``recv`` calls per packet.** paho reads the fixed header a
  byte at a time and handles a single QoS 1 PUBLISH per pass of its loop (~10%). Reads here go
  through a 64 KiB buffer in the socket, which reports buffered bytes through ``pending()`` as a TLS
  socket does, and a pass of the loop handles the complete packets already buffered.
- **one write per acknowledgement.** ``Client.ack`` queues a 4-byte PUBACK and wakes the network
  thread through its socket pair, per message (~10%). ``ack_many`` queues the PUBACKs of a whole
  committed batch as one write.

The wire protocol is unchanged: the same packets, in the same order, on the same connection. These
hooks reach into paho's private methods, so each is installed only when paho looks as expected
(``fast_path`` says whether all are active) and the stock behaviour remains otherwise; the version
range in ``pyproject.toml`` keeps to the paho releases they were written against.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.matcher import MQTTMatcher

_READ_SIZE = 65536
_PUBACK = struct.Struct("!BBH")  # PUBACK, remaining length 2, packet id (MQTT 3.1.1 and 5)
_PUBACK_COMMAND = 0x40
_PACKETS_PER_PASS = 1000  # then back to paho's loop, so acknowledgements and pings go out
_HOOKS = ("_create_socket", "_packet_queue", "_on_message_filtered")


def _pending(sock: Any) -> int:
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


class _NoFilters(MQTTMatcher):
    """A matcher that matches nothing: adding a per-topic callback is refused instead."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise NotImplementedError("this client dispatches through on_message only")

    def iter_match(self, topic: str) -> Iterable[Any]:
        return ()


class _BufferedSocket(socket.socket):
    """A connected TCP socket that reads 64 KiB at a time and serves paho's small reads from that.

    ``pending()`` (as on ``ssl.SSLSocket``) tells paho's loop that buffered bytes wait, so it reads
    them without waiting for the socket to become readable again.
    """

    def __init__(self, sock: socket.socket) -> None:
        timeout = sock.gettimeout()
        super().__init__(sock.family, sock.type, sock.proto, fileno=sock.detach())
        self.settimeout(timeout)
        self._rbuf = b""
        self._rpos = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super().recv(max(bufsize, _READ_SIZE), flags)  # BlockingIOError when none
            if len(data) <= bufsize:
                self._rbuf, self._rpos = b"", 0
                return data  # including b"" (the peer closed)
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        self._rpos = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start : self._rpos]

    def pending(self) -> int:
        return len(self._rbuf) - self._rpos


class FastClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads, no filter matching and batched PUBACKs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_path = all(hasattr(self, name) for name in _HOOKS) and isinstance(
            self._on_message_filtered, MQTTMatcher
        )
        if self.fast_path:
            self._on_message_filtered = _NoFilters()

    # -- reads ----------------------------------------------------------------------------------

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self.fast_path and type(sock) is socket.socket:  # not TLS, not WebSockets
            return _BufferedSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """Handle the complete packets already read, not just the first, before the next select.

        Bounded, so acknowledgements and pings still go out under a continuous stream; what stays
        buffered is reported by ``pending()`` and read on the loop's next pass without waiting.
        """
        rc = super().loop_read(max_packets)
        for _ in range(_PACKETS_PER_PASS):
            sock = self._sock
            if rc != mqtt.MQTT_ERR_SUCCESS or sock is None or not _pending(sock):
                break
            rc = super().loop_read(max_packets)
        return rc

    # -- acknowledgements ------------------------------------------------------------------------

    def ack_many(self, mids: Iterable[int]) -> None:
        """Acknowledge these QoS 1 messages (``manual_ack``) with one write of all their PUBACKs."""
        if not self.fast_path:
            for mid in mids:
                self.ack(mid, 1)
            return
        packet = b"".join([_PUBACK.pack(_PUBACK_COMMAND, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(_PUBACK_COMMAND, packet, 0, 0)
