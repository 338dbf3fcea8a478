"""The MQTT broker to use: the configured one, or a local one liftwatch starts and shares.

With ``LIFTWATCH_BROKER_URL`` set, that broker is used. Without it, liftwatch starts a broker of its
own in the data directory, on ``LIFTWATCH_LOCAL_BROKER_PORT``, and every liftwatch process on the
machine shares it (its address is kept in ``broker/broker.json``): Mosquitto when it is installed,
configured for ingestion (persistent sessions, large in-flight and queue limits, as in
``deploy/mosquitto.conf``), otherwise amqtt, a pure-Python broker installed with liftwatch. The
local broker listens on loopback only and lets anonymous clients in: it serves one machine's demo
and tests; a broker other machines reach is configured from ``deploy/`` with credentials per
contractor.

``parse_broker_url`` and ``configure_client`` read credentials and TLS from a broker URL
(``mqtt://user:password@host:1883``, ``mqtts://...:8883``) for every liftwatch client.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from core.errors import ConfigError
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Limits that let a whole ingest batch be in flight and keep what a stopped worker has not taken.
MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {workdir}/
autosave_interval 30
max_inflight_messages 0
max_queued_messages 1000000
max_queued_bytes 0
max_packet_size 1048576
persistent_client_expiration 7d
log_dest file {workdir}/mosquitto.log
"""

AMQTT_CONF = """\
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker is and how to log in to it, read from its URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_broker_url(url: str) -> BrokerAddress:
    """The address in ``mqtt[s]://[user[:password]@]host[:port]`` (1883, or 8883 with TLS)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname or port == -1:
        raise ConfigError(
            "broker URL must look like mqtt://user:password@host:1883 or "
            f"mqtts://user:password@host:8883, got {redact(url)!r}"
        )
    tls = parts.scheme in ("mqtts", "ssl")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return BrokerAddress(parts.hostname, port or (8883 if tls else 1883), user, password, tls)


def redact(url: str) -> str:
    """A broker URL with its password hidden, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def configure_client(client: Any, address: BrokerAddress, ca_file: Path | None = None) -> None:
    """Give a paho client the URL's credentials and, for mqtts://, TLS with the CA file."""
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        if ca_file is not None and not ca_file.is_file():
            raise ConfigError(
                f"LIFTWATCH_BROKER_CA_FILE {ca_file} is not a file; point it at the broker's CA "
                "certificate (PEM)"
            )
        client.tls_set(ca_certs=str(ca_file) if ca_file else None)


def broker_url(settings: Settings | None = None) -> str:
    """The configured broker URL, or the address of the local broker (started if need be)."""
    settings = settings or get_settings()
    if settings.broker_url:
        return settings.broker_url
    return ensure_local_broker(settings)


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, just reaped
    except ChildProcessError:
        pass  # started by another process: only signal 0 can tell
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def ensure_local_broker(settings: Settings) -> str:
    """Start the shared local broker unless it already runs; return its URL."""
    workdir = (settings.data_dir / "broker").resolve()
    state_file = workdir / "broker.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _alive(state["pid"]) and _accepting(state["port"]):
            return f"mqtt://127.0.0.1:{state['port']}"
    port = settings.local_broker_port
    if _accepting(port):
        raise ConfigError(
            f"port {port} is taken by a broker liftwatch did not start; set "
            "LIFTWATCH_BROKER_URL to use it, or LIFTWATCH_LOCAL_BROKER_PORT to another port"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    mosquitto = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if settings.local_broker == "mosquitto" and not mosquitto:
        raise ConfigError("LIFTWATCH_LOCAL_BROKER=mosquitto but no mosquitto binary is installed")
    if mosquitto and settings.local_broker != "amqtt":
        conf = workdir / "mosquitto.conf"
        conf.write_text(MOSQUITTO_CONF.format(port=port, workdir=workdir))
        command = [mosquitto, "-c", str(conf)]
        kind = "mosquitto"
    else:
        conf = workdir / "amqtt.yaml"
        conf.write_text(AMQTT_CONF.format(port=port))
        command = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]
        kind = "amqtt"
    with (workdir / "broker.out").open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 15
    while not _accepting(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ConfigError(f"the local {kind} broker did not start; see {workdir}/broker.out")
        time.sleep(0.05)
    state_file.write_text(json.dumps({"pid": proc.pid, "port": port, "kind": kind}))
    log.info("started local %s broker on 127.0.0.1:%d (pid %d)", kind, port, proc.pid)
    return f"mqtt://127.0.0.1:{port}"


def stop_local_broker(settings: Settings | None = None) -> bool:
    """Stop the local broker started in this data directory, if any; return whether one ran."""
    settings = settings or get_settings()
    state_file = settings.data_dir.resolve() / "broker" / "broker.json"
    if not state_file.exists():
        return False
    state = json.loads(state_file.read_text())
    state_file.unlink()
    if not _alive(state["pid"]):
        return False
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True
