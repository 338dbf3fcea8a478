"""Fault injection: turn a clean event stream into the messages a real fleet sends, with duplicates,
disorder, garbage and impostors mixed in, and count exactly what was sent in each category.

Valid messages are events of the stream (sent once, possibly out of order or late) and the
online=false status of units that go offline; everything else is something ingestion must
dead-letter, except duplicates, which it must store once.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

import orjson

from core.contracts import topic_for
from core.errors import Invalid
from simulators.model import SimEvent

INJECT_NAMESPACE = uuid.UUID("0b8f4a52-7d1e-4e2b-a0c3-5f6e7d8c9b1a")
VALID = "valid"
DUPLICATE = "duplicate"
BAD_ACTIONS = ("malformed", "schema_violation", "unknown_unit", "wrong_contractor", "oversized")


@dataclass(frozen=True)
class FaultPlan:
    """How many faults of each kind to inject, spread over the first `horizon` events."""

    duplicates: int = 0
    out_of_order: int = 0
    late: int = 0
    malformed: int = 0
    schema_violations: int = 0
    unknown_units: int = 0
    wrong_contractor: int = 0
    oversized: int = 0
    offline: int = 0
    seed: int = 0
    horizon: int | None = None
    oversized_bytes: int = 262_145  # over ingest's 64 KiB default, under deploy's 1 MiB packet cap
    late_by_hours: float = 24 * 7

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """A plan from 'duplicates=50,malformed=10,...' (names as the fields, '-' or '_')."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, raw = part.partition("=")
            key = name.strip().replace("-", "_")
            if key not in names or not raw:
                raise Invalid(
                    f"bad fault injection {part!r}: use NAME=COUNT with NAME one of "
                    + ", ".join(sorted(names))
                )
            try:
                values[key] = float(raw) if key == "late_by_hours" else int(raw)
            except ValueError:
                raise Invalid(f"bad fault injection {part!r}: {raw!r} is not a number") from None
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to publish, with what it is for the accounting."""

    topic: str
    payload: bytes
    category: str
    at: float  # occurred_at of the underlying event, epoch seconds (for pacing)


@dataclass
class InjectionCounts:
    """What the injector has emitted so far, by category."""

    valid: Counter[str] = field(default_factory=Counter)  # distinct valid events by kind
    sent: Counter[str] = field(default_factory=Counter)  # messages by category
    out_of_order: int = 0
    late: int = 0
    offline_units: int = 0
    suppressed: int = 0


def inject(
    events: Iterable[SimEvent], plan: FaultPlan | None, counts: InjectionCounts
) -> Iterator[Message]:
    """The messages for a stream of events under a fault plan, counting into `counts`."""
    plan = plan or FaultPlan()
    return _Injector(plan, counts).run(events)


class _Injector:
    def __init__(self, plan: FaultPlan, counts: InjectionCounts) -> None:
        self.plan, self.counts = plan, counts
        self.rng = random.Random(plan.seed)
        self.serial = 0
        self.offline: set[str] = set()
        self.contractors: set[str] = set()
        self.held_order: list[tuple[int, SimEvent]] = []  # (release after this many sends, event)
        self.held_late: list[tuple[float, SimEvent]] = []  # (release once time passes, event)
        self.resend: list[tuple[int, Message]] = []
        self.sends = 0
        self.last_valid: Message | None = None

    def run(self, events: Iterable[SimEvent]) -> Iterator[Message]:
        plan = self.plan
        horizon = plan.horizon or (len(events) if isinstance(events, Sized) else 10_000)
        todo: dict[int, list[str]] = {}
        for action, n in (
            ("offline", plan.offline),
            ("out_of_order", plan.out_of_order),
            ("late", plan.late),
            ("duplicate", plan.duplicates),
            ("malformed", plan.malformed),
            ("schema_violation", plan.schema_violations),
            ("unknown_unit", plan.unknown_units),
            ("wrong_contractor", plan.wrong_contractor),
            ("oversized", plan.oversized),
        ):
            for _ in range(n):
                todo.setdefault(self.rng.randrange(max(1, horizon)), []).append(action)
        carried: list[str] = []
        last: SimEvent | None = None
        for i, event in enumerate(events):
            self.contractors.add(event.contractor_id)
            if event.unit_id in self.offline:
                self.counts.suppressed += 1
                continue
            last = event
            actions, carried = carried + todo.pop(i, []), []
            at = _epoch(event)
            send_now = True
            for action in actions:
                if action == "offline":
                    yield self._valid(_offline_status(event), at)
                    self.offline.add(event.unit_id)
                    self.counts.offline_units += 1
                    self.counts.suppressed += 1
                    send_now = False
                elif action in ("out_of_order", "late") and not send_now:
                    carried.append(action)
                elif action == "out_of_order":
                    self.held_order.append((self.sends + self.rng.randint(5, 50), event))
                    self.counts.out_of_order += 1
                    send_now = False
                elif action == "late":
                    self.held_late.append((at + plan.late_by_hours * 3600, event))
                    self.counts.late += 1
                    send_now = False
                elif action == "duplicate":
                    carried += self._duplicate(event, at, send_now)
                elif action == "wrong_contractor" and not self.contractors - {event.contractor_id}:
                    carried.append(action)
                else:
                    yield self._bad(action, event, at)
            if send_now:
                yield self._valid(event, at)
            yield from self._release(at)
        for _, event in sorted(self.held_order, key=lambda x: x[0]):
            yield self._valid(event, _epoch(event))
        for _, event in self.held_late:
            yield self._valid(event, _epoch(event))
        for _, message in self.resend:
            yield self._count(message)
        # Faults planned past the end of a short stream: bad messages and duplicates still go out;
        # disorder and offline units need later events, so the counts say they did not happen.
        for action in [*carried, *(a for pending in todo.values() for a in pending)]:
            if last is None:
                break
            if action == "duplicate" and self.last_valid is not None:
                yield self._count(replace(self.last_valid, category=DUPLICATE))
            elif action in BAD_ACTIONS:
                yield self._bad(action, last, _epoch(last))

    def _duplicate(self, event: SimEvent, at: float, will_send: bool) -> list[str]:
        if not will_send:
            return ["duplicate"]
        copy = Message(event.topic, event.encode(), DUPLICATE, at)
        self.resend.append((self.sends + self.rng.randint(0, 20), copy))
        return []

    def _release(self, now: float) -> Iterator[Message]:
        due = [e for n, e in self.held_order if n <= self.sends]
        self.held_order = [(n, e) for n, e in self.held_order if n > self.sends]
        for event in due:
            yield self._valid(event, _epoch(event))
        late = [e for t, e in self.held_late if t <= now]
        self.held_late = [(t, e) for t, e in self.held_late if t > now]
        for event in late:
            yield self._valid(event, _epoch(event))
        ready = [m for n, m in self.resend if n <= self.sends]
        self.resend = [(n, m) for n, m in self.resend if n > self.sends]
        for message in ready:
            yield self._count(message)

    def _valid(self, event: SimEvent, at: float) -> Message:
        self.counts.valid[event.kind] += 1
        self.last_valid = self._count(Message(event.topic, event.encode(), VALID, at))
        return self.last_valid

    def _count(self, message: Message) -> Message:
        self.counts.sent[message.category] += 1
        self.sends += 1
        return message

    def _bad(self, action: str, event: SimEvent, at: float) -> Message:
        self.serial += 1
        payload = dict(event.payload)
        payload["event_id"] = str(
            uuid.uuid5(INJECT_NAMESPACE, f"{self.plan.seed}/{action}/{self.serial}")
        )
        topic = event.topic
        if action == "malformed":
            body = orjson.dumps(payload)
            data = body[: len(body) // 2]
        elif action == "schema_violation":
            data = orjson.dumps(_violate(payload, self.serial))
        elif action == "unknown_unit":
            topic = topic_for(event.contractor_id, f"UNKNOWN-{self.serial:05d}", event.kind)
            data = orjson.dumps(payload)
        elif action == "wrong_contractor":
            other = sorted(self.contractors - {event.contractor_id})
            topic = topic_for(
                self.rng.choice(other) if other else "ROGUE-WB", event.unit_id, event.kind
            )
            data = orjson.dumps(payload)
        else:
            body = orjson.dumps(payload)
            data = body + b" " * max(0, self.plan.oversized_bytes - len(body))
        return self._count(Message(topic, data, action, at))


def _violate(payload: dict[str, Any], serial: int) -> dict[str, Any]:
    """A payload that is JSON but breaks the contract, in one of several ways."""
    broken = dict(payload)
    way = serial % 4
    if way == 0:
        del broken["occurred_at"]
    elif way == 1:
        broken["occurred_at"] = str(broken["occurred_at"])[:19]  # no UTC offset
    elif way == 2:
        broken["unexpected_field"] = True
    else:
        broken["event_id"] = "not-a-uuid"
    return broken


def _offline_status(event: SimEvent) -> SimEvent:
    payload = {
        "v": 1,
        "event_id": str(uuid.uuid5(INJECT_NAMESPACE, f"offline/{event.payload['event_id']}")),
        "occurred_at": event.payload["occurred_at"],
        "online": False,
    }
    return SimEvent(event.contractor_id, event.unit_id, "status", payload)


def _epoch(event: SimEvent) -> float:
    return datetime.fromisoformat(str(event.payload["occurred_at"])).timestamp()
