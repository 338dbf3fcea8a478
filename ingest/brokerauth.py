"""Broker credentials per contractor, kept by Mosquitto's dynamic-security plugin.

Each contractor gets a broker user named after its id with one role, ``contractor-{id}``, that may
publish only under ``liftwatch/v1/{id}/#``; the ingest worker's user has the role
``liftwatch-ingest``, which may subscribe to ``liftwatch/#`` (shared or not) and publish nothing.
The plugin's default ACL refuses everything else. Commands go to the plugin's control topic with
the admin's credentials; a change applies at once, and deleting a user disconnects its clients.
Passwords are generated here, handed to the caller once and stored by Mosquitto only as salted
PBKDF2 hashes.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.broker import configure_client, parse_broker_url, redact
from core.contracts import TOPIC_PREFIX, is_identifier
from core.errors import ConfigError, Invalid

CONTROL = "$CONTROL/dynamic-security/v1"
WORKER_ROLE = "liftwatch-ingest"
WORKER_TOPICS = ("liftwatch/#", "$share/+/liftwatch/#")
_TIMEOUT = 10.0
# Answers that mean the thing asked for is already there.
_ALREADY = ("already exists", "already in")


def contractor_role(contractor_id: str) -> str:
    """The role that lets one contractor publish under its own prefix."""
    return f"contractor-{contractor_id}"


def new_password() -> str:
    """A random password for a broker user (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


@dataclass
class DynSec:
    """A connection to the dynamic-security plugin as its admin user."""

    url: str
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        self._answers: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._ready = threading.Event()
        self._client: mqtt.Client | None = None

    def __enter__(self) -> DynSec:
        address = parse_broker_url(self.url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        configure_client(client, address, self.ca_file)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_args: self._ready.set()
        client.on_message = self._on_message
        try:
            client.connect(address.host, address.port)
        except OSError as exc:
            raise ConfigError(f"cannot reach the broker at {redact(self.url)}: {exc}") from exc
        client.loop_start()
        self._client = client
        if not self._ready.wait(_TIMEOUT):
            self.__exit__()
            raise ConfigError(
                f"the broker at {redact(self.url)} did not let the admin in; set "
                "LIFTWATCH_BROKER_ADMIN_URL=mqtt://ADMIN:PASSWORD@host:port with the "
                "dynamic-security admin's credentials (deploy/README.md)"
            )
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(f"{CONTROL}/response", qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._arrived:
            for answer in orjson.loads(msg.payload).get("responses", []):
                self._answers[answer.get("correlationData", "")] = answer
            self._arrived.notify_all()

    def run(self, command: str, *, tolerate: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
        """Send one command and return the plugin's answer; an error not tolerated raises."""
        assert self._client is not None, "use DynSec as a context manager"
        tag = uuid.uuid4().hex
        body = {"commands": [{"command": command, "correlationData": tag, **fields}]}
        self._client.publish(CONTROL, orjson.dumps(body), qos=1)
        with self._arrived:
            if not self._arrived.wait_for(lambda: tag in self._answers, _TIMEOUT):
                raise ConfigError(
                    f"the broker did not answer {command}; is the dynamic-security plugin loaded "
                    "(deploy/mosquitto.conf) and is this user its admin?"
                )
            answer = self._answers.pop(tag)
        error = answer.get("error")
        if error and not any(t in error for t in tolerate):
            raise ConfigError(f"the broker refused {command} for {fields}: {error}")
        return answer

    def _role(self, role: str, acls: list[tuple[str, str]]) -> None:
        self.run("createRole", tolerate=_ALREADY, rolename=role)
        for acltype, topic in acls:
            self.run(
                "addRoleACL", tolerate=_ALREADY, rolename=role, acltype=acltype, topic=topic,
                allow=True, priority=0,
            )  # fmt: skip

    def _user(self, username: str, role: str) -> str:
        """Create the user with this role, or give an existing one a new password."""
        password = new_password()
        created = self.run(
            "createClient", tolerate=_ALREADY, username=username, password=password,
            roles=[{"rolename": role}],
        )  # fmt: skip
        if created.get("error"):
            self.run("setClientPassword", username=username, password=password)
            client = self.run("getClient", username=username).get("data", {}).get("client", {})
            if role not in {r.get("rolename") for r in client.get("roles", [])}:
                self.run("addClientRole", username=username, rolename=role)
        return password

    def add_contractor(self, contractor_id: str) -> str:
        """Create (or rotate) a contractor's credentials; return the new password."""
        if not is_identifier(contractor_id):
            raise Invalid(f"{contractor_id!r} is not a contractor id (letters, digits, . _ : -)")
        role = contractor_role(contractor_id)
        self._role(role, [("publishClientSend", f"{TOPIC_PREFIX}/{contractor_id}/#")])
        return self._user(contractor_id, role)

    def add_worker(self, username: str) -> str:
        """Create (or rotate) an ingest worker's credentials: subscribe only."""
        self._role(WORKER_ROLE, [("subscribePattern", t) for t in WORKER_TOPICS])
        return self._user(username, WORKER_ROLE)

    def revoke(self, username: str) -> bool:
        """Delete a user (its connected clients are disconnected at once); False if unknown."""
        answer = self.run("deleteClient", tolerate=("not found",), username=username)
        self.run("deleteRole", tolerate=("not found",), rolename=contractor_role(username))
        return not answer.get("error")

    def usernames(self) -> set[str]:
        """Every user the plugin knows."""
        answer = self.run("listClients", verbose=False, count=-1, offset=0)
        return set(answer.get("data", {}).get("clients", []))
