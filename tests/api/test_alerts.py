"""GET /v1/alerts per scope, clearing, and webhooks: signed, retried with backoff, logged, given up,
delivered to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from api.webhooks import backoff, deliver_due
from core.alerts import raise_alert
from core.db import connect
from core.settings import Settings, get_settings
from tests.api.conftest import UNITS, VISIBLE_UNITS, Api

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _raise_everywhere(db_url: str) -> dict[str, int]:
    with connect(db_url) as conn:
        ids = {}
        for unit, (*_place, contractor) in UNITS.items():
            alert_id = raise_alert(
                conn, kind="entrapment", unit_id=unit, contractor_id=contractor, occurred_at=AT,
                detail={"code": "93", "passengers_trapped": 1},
            )  # fmt: skip
            assert alert_id is not None
            ids[unit] = alert_id
        conn.commit()
    return ids


@pytest.mark.parametrize("role", sorted(VISIBLE_UNITS))
def test_each_role_sees_the_alerts_of_its_scope(api: Api, db_url: str, role: str) -> None:
    _raise_everywhere(db_url)
    answer = api.get(role, "/v1/alerts")
    assert answer.status_code == 200, answer.text
    assert {a["unit_id"] for a in answer.json()["items"]} == VISIBLE_UNITS[role]


def test_clearing_an_alert_outside_the_scope_is_404_and_inside_records_who(
    api: Api, db_url: str
) -> None:
    ids = _raise_everywhere(db_url)
    outside = api.client.post(f"/v1/alerts/{ids['U3']}/clear", headers=api.as_("street_office"))
    assert outside.status_code == 404
    inside = api.client.post(f"/v1/alerts/{ids['U1']}/clear", headers=api.as_("street_office"))
    assert inside.status_code == 200 and inside.json()["cleared_by"].startswith("token:")
    listed = api.get("street_office", "/v1/alerts").json()["items"]
    assert [a["unit_id"] for a in listed] == ["U2"]
    every = api.get("street_office", "/v1/alerts", params={"open_only": "false"}).json()["items"]
    assert {a["unit_id"] for a in every} == {"U1", "U2"}
    assert api.get("admin", "/v1/alerts", params={"kind": "nonsense"}).status_code == 422


def test_the_root_address_leads_to_the_dashboards(api: Api) -> None:
    answer = api.client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboards/"


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails the first ``failures`` requests with a 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                failing = len(outer.received) <= outer.failures
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=1)
    yield r
    r.close()


def test_webhooks_are_signed_retried_with_backoff_and_logged(
    api: Api, db_url: str, receiver: Receiver
) -> None:
    created = api.client.post(
        "/v1/webhooks", headers=api.as_("bureau"), json={"url": receiver.url, "kinds": []}
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    secret = hook["secret"]
    assert api.get("contractor", "/v1/webhooks").status_code == 403
    ids = _raise_everywhere(db_url)
    settings = get_settings()
    now = datetime.now(UTC)
    with connect(db_url) as conn:
        # The bureau of D1 sees U1, U2 and U3: three deliveries; the first answer is a 500.
        assert deliver_due(conn, settings=settings, now=now) == (2, 1)
        # The failed one waits for its backoff before it is tried again.
        assert deliver_due(conn, settings=settings, now=now) == (0, 0)
        later = now + backoff(settings, 1) + timedelta(seconds=1)
        assert deliver_due(conn, settings=settings, now=later) == (1, 0)
    assert len(receiver.received) == 4
    bodies = []
    for headers, body in receiver.received:
        stamp = headers["X-Liftwatch-Timestamp"]
        expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        assert headers["X-Liftwatch-Signature"] == f"sha256={expected.hexdigest()}"
        bodies.append(json.loads(body))
    assert {b["alert"]["unit_id"] for b in bodies} == {"U1", "U2", "U3"}
    assert bodies[0]["change"] == "opened" and bodies[0]["alert"]["title"]["zh-CN"] == "困人"
    log = api.get("bureau", f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()
    assert all(d["delivered_at"] for d in log)
    retried = [d for d in log if d["attempts"] == 2]
    assert len(retried) == 1 and retried[0]["last_status_code"] == 204
    # Clearing queues a "cleared" delivery to the same subscriber.
    api.client.post(f"/v1/alerts/{ids['U1']}/clear", headers=api.as_("admin"))
    with connect(db_url) as conn:
        assert deliver_due(conn, settings=settings, now=later) == (1, 0)
    assert json.loads(receiver.received[-1][1])["change"] == "cleared"
    assert api.get("admin", "/v1/webhooks").json()[0]["webhook_id"] == hook["webhook_id"]


def test_a_delivery_to_a_dead_receiver_is_given_up_after_the_last_attempt(
    api: Api, db_url: str
) -> None:
    dead = Receiver(failures=0)
    url = dead.url
    dead.close()  # nothing listens there any more: connection refused
    created = api.client.post(
        "/v1/webhooks", headers=api.as_("admin"), json={"url": url, "kinds": ["stopped"]}
    )
    hook_id = created.json()["webhook_id"]
    _raise_everywhere(db_url)  # entrapments: not this webhook's kind
    with connect(db_url) as conn:
        raise_alert(conn, kind="stopped", unit_id="U4", contractor_id="K1", occurred_at=AT)
        conn.commit()
        settings = Settings(webhook_max_attempts=2, webhook_backoff_seconds=1)
        now = datetime.now(UTC)
        assert deliver_due(conn, settings=settings, now=now) == (0, 1)
        assert deliver_due(conn, settings=settings, now=now + timedelta(seconds=2)) == (0, 1)
        assert deliver_due(conn, settings=settings, now=now + timedelta(days=1)) == (0, 0)
    [delivery] = api.get("admin", f"/v1/webhooks/{hook_id}/deliveries").json()
    assert delivery["gave_up_at"] and delivery["attempts"] == 2 and delivery["last_error"]
    assert (
        api.client.delete(f"/v1/webhooks/{hook_id}", headers=api.as_("bureau")).status_code == 404
    )
    assert api.client.delete(f"/v1/webhooks/{hook_id}", headers=api.as_("admin")).status_code == 204


def test_bad_webhook_urls_are_refused(api: Api, conn: psycopg.Connection[Any]) -> None:
    answer = api.client.post("/v1/webhooks", headers=api.as_("admin"), json={"url": "ftp://x"})
    assert answer.status_code == 422
