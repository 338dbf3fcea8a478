"""Webhook delivery: each queued alert change is POSTed, signed, and retried with backoff.

A delivery is a JSON body ``{"delivery_id", "change", "alert"}`` with the headers
``X-Liftwatch-Timestamp`` (Unix seconds) and ``X-Liftwatch-Signature: sha256=<hex>``, the
HMAC-SHA256 under the webhook's secret of ``"<timestamp>.<body>"``, so a receiver can check both
who sent it and that it is not an old one replayed. Any 2xx answer delivers it; anything else
(another status, a refused connection, a timeout) is logged as an attempt and tried again after
``LIFTWATCH_WEBHOOK_BACKOFF_SECONDS``, doubling each time up to an hour, until
``LIFTWATCH_WEBHOOK_MAX_ATTEMPTS`` attempts have failed.

Each delivery is claimed with ``FOR UPDATE SKIP LOCKED``, so several processes may deliver at once
without sending one change twice.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from core.i18n import t
from core.scope import ADMIN
from core.settings import Settings
from queries.alerts import alert

BACKOFF_CAP = timedelta(hours=1)

_DUE = """
SELECT d.delivery_id, d.alert_id, d.change, d.attempts, w.url, w.secret
FROM webhook_delivery d JOIN webhook w USING (webhook_id)
WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= %s
ORDER BY d.next_attempt_at, d.delivery_id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-Liftwatch-Signature`` for a body sent at a timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the given number of failed attempts."""
    wait = timedelta(seconds=settings.webhook_backoff_seconds * 2 ** (attempts - 1))
    return min(wait, BACKOFF_CAP)


def _body(conn: psycopg.Connection[Any], delivery_id: int, alert_id: int, change: str) -> bytes:
    shown = asdict(alert(conn=conn, scope=ADMIN, alert_id=alert_id))
    shown["title"] = {lang: t(lang, f"alert.kind.{shown['kind']}") for lang in ("zh-CN", "en")}
    return orjson.dumps({"delivery_id": delivery_id, "change": change, "alert": shown})


def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def _attempt_one(conn: psycopg.Connection[Any], settings: Settings, now: datetime) -> bool | None:
    """Attempt the next due delivery; True if delivered, False if not, None if none was due."""
    with conn.transaction():
        due = conn.execute(_DUE, (now,)).fetchone()
        if due is None:
            return None
        delivery_id, alert_id, change, attempts, url, secret = (
            due["delivery_id"], due["alert_id"], due["change"], due["attempts"], due["url"],
            due["secret"],
        )  # fmt: skip
        body = _body(conn, delivery_id, alert_id, change)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "liftwatch-webhook",
            "X-Liftwatch-Delivery": str(delivery_id),
            "X-Liftwatch-Timestamp": stamp,
            "X-Liftwatch-Signature": signature(secret, stamp, body),
        }
        started = time.perf_counter()
        status, error = _post(url, body, headers, settings.webhook_timeout)
        took = (time.perf_counter() - started) * 1000
        attempt = attempts + 1
        ok = status is not None and 200 <= status < 300
        conn.execute(
            "INSERT INTO webhook_attempt (delivery_id, attempt, status_code, error, duration_ms)"
            " VALUES (%s, %s, %s, %s, %s)",
            (delivery_id, attempt, status, None if ok else error or f"HTTP {status}", took),
        )
        conn.execute(
            "UPDATE webhook_delivery SET attempts = %(attempt)s,"
            " delivered_at = CASE WHEN %(ok)s THEN now() END,"
            " gave_up_at = CASE WHEN NOT %(ok)s AND %(attempt)s >= %(max)s THEN now() END,"
            " next_attempt_at = %(next)s WHERE delivery_id = %(id)s",
            {
                "attempt": attempt,
                "ok": ok,
                "max": settings.webhook_max_attempts,
                "next": now + backoff(settings, attempt),
                "id": delivery_id,
            },
        )
    return ok


def deliver_due(
    conn: psycopg.Connection[Any], *, settings: Settings, now: datetime | None = None
) -> tuple[int, int]:
    """Attempt every delivery due now; returns (delivered, failed attempts)."""
    now = now or datetime.now(UTC)
    delivered = failed = 0
    while (outcome := _attempt_one(conn, settings, now)) is not None:
        delivered, failed = delivered + outcome, failed + (not outcome)
    return delivered, failed
