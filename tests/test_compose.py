"""docker-compose.yml, checked without Docker: valid Compose, commands liftwatch has, settings
liftwatch reads, secrets that stop `docker compose up` when missing, and a broker configured like
deploy/mosquitto.conf.

The schema is the Compose Specification's JSON schema as shipped in the docker-compose 1.29.2
wheel on PyPI (compose/config/compose_spec.json, sha256 0dc04bd346dcfee1b1419628fff79937bbf076925f
298f272a2b490e2b112bac), pinned in tests/support/compose_spec.json.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from core.settings import Settings
from liftwatch.cli import build_parser
from tests.support.servers import Mosquitto, deploy_limits

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
LIFTWATCH = {name: s for name, s in SERVICES.items() if s.get("image") == "liftwatch:local"}
BROKER_CONF = ROOT / "deploy" / "compose" / "mosquitto.conf"
SECRET_RE = re.compile(r"\$\{([A-Z0-9_]+)(\?|:-|-|:\?)?[^}]*\}")


def _conf(path: Path) -> dict[str, str]:
    """Directive -> value of a Mosquitto configuration file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found[key] = value.strip()
    return found


def _mounts(service: str) -> dict[str, str]:
    """Container path -> source (a named volume or a path in the repository) of a service."""
    mounts = {}
    for entry in SERVICES[service].get("volumes", []):
        source, target, *_ = entry.split(":")
        mounts[target] = source
    return mounts


def test_the_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests" / "support" / "compose_spec.json").read_text())
    errors = [e.message for e in jsonschema_rs.Draft7Validator(schema).iter_errors(COMPOSE)]
    assert errors == []


def test_the_schema_check_catches_a_misspelt_key() -> None:
    schema = json.loads((ROOT / "tests" / "support" / "compose_spec.json").read_text())
    broken = {**COMPOSE, "services": {**SERVICES, "api": {**SERVICES["api"], "restat": "no"}}}
    assert not jsonschema_rs.Draft7Validator(schema).is_valid(broken)


@pytest.mark.parametrize("service", sorted(LIFTWATCH))
def test_every_liftwatch_service_runs_a_command_the_cli_has(service: str) -> None:
    command = SERVICES[service]["command"]
    args = build_parser().parse_args(command)  # exits on an unknown command or option
    assert callable(args.func)


def test_every_liftwatch_environment_variable_is_a_documented_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings = {f"LIFTWATCH_{name.upper()}" for name in Settings.model_fields}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    used = set(re.findall(r"\b(LIFTWATCH_[A-Z0-9_]+)=", dockerfile))
    for service in LIFTWATCH.values():
        used |= set(service["environment"])
    assert used, "no environment found"
    assert used - settings == set(), "not liftwatch settings"
    assert {u for u in used if f"`{u}`" not in readme} == set(), "not in the README's table"


def test_every_secret_stops_compose_by_name_and_is_in_the_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    references = SECRET_RE.findall(text)
    assert references
    # `${NAME?message}` makes `docker compose up` fail with NAME when it is unset; no default
    # may stand in for a secret.
    assert {(name, form) for name, form in references if form != "?"} == set()
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    assert {name for name, _ in references} == names


def test_two_ingest_workers_share_one_subscription_with_their_own_client_ids() -> None:
    workers = {n: s for n, s in LIFTWATCH.items() if s["command"][:2] == ["ingest", "run"]}
    assert len(workers) == 2
    env = [w["environment"] for w in workers.values()]
    assert len({e["LIFTWATCH_INGEST_CLIENT_ID"] for e in env}) == 2
    assert len({e["LIFTWATCH_INGEST_SHARED_GROUP"] for e in env}) == 1
    assert all(w["restart"] == "unless-stopped" for w in workers.values())
    assert all(e["LIFTWATCH_BROKER_URL"].endswith("@mosquitto:1883") for e in env)


def test_services_start_in_order_after_a_healthy_database_and_the_migration() -> None:
    db = SERVICES["db"]
    image, tag = db["image"].split(":")
    assert image == "timescale/timescaledb"
    pinned = re.fullmatch(r"\d+\.\d+\.\d+-pg(\d+)", tag)
    assert pinned and int(pinned[1]) >= 15
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert SERVICES["migrate"]["command"] == ["db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name, service in LIFTWATCH.items():
        if name != "migrate":
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name
            assert service["restart"] == "unless-stopped", name
    assert SERVICES["scorer"]["command"][:2] == ["score", "run"]
    assert "--every" in SERVICES["scorer"]["command"]


def test_database_url_points_at_the_database_service() -> None:
    url = LIFTWATCH["migrate"]["environment"]["LIFTWATCH_DATABASE_URL"]
    user = SERVICES["db"]["environment"]["POSTGRES_USER"]
    database = SERVICES["db"]["environment"]["POSTGRES_DB"]
    assert re.fullmatch(
        rf"postgresql://{user}:\$\{{POSTGRES_PASSWORD\?[^}}]*\}}@db:5432/{database}", url
    )


def test_the_broker_keeps_deploy_limits_and_requires_authentication() -> None:
    conf = _conf(BROKER_CONF)
    ours = "\n".join(
        line
        for line in BROKER_CONF.read_text(encoding="utf-8").splitlines()
        if line.startswith(("max_", "persistent_client"))
    )
    assert ours == deploy_limits()
    assert conf["allow_anonymous"] == "false"
    assert conf["plugin"].endswith("/mosquitto_dynamic_security.so")
    mounts = _mounts("mosquitto")
    config_path = shlex.join(SERVICES["mosquitto"]["command"]).split(" -c ")[1]
    assert mounts[config_path] == "./deploy/compose/mosquitto.conf"
    data = conf["persistence_location"].rstrip("/")
    assert mounts[data] == "broker-data"
    assert str(Path(conf["plugin_opt_config_file"]).parent) == data
    assert _mounts("broker-init")[data] == "broker-data"
    assert f"dynsec init {conf['plugin_opt_config_file']} " in _shell("broker-init")
    listener = conf["listener"].split()[0]
    assert SERVICES["mosquitto"]["ports"] == [f"{listener}:{listener}"]


def test_the_ingest_workers_log_in_as_the_user_broker_users_makes() -> None:
    script = _shell("broker-users")
    url = LIFTWATCH["ingest-1"]["environment"]["LIFTWATCH_BROKER_URL"]
    user = re.fullmatch(r"mqtt://([^:]+):\$\{BROKER_INGEST_PASSWORD\?[^}]*\}@mosquitto:1883", url)
    assert user and f"createClient {user[1]} " in script
    # Subscribe only: the role has no publish ACL.
    assert "subscribePattern" in script and "publish" not in script
    for name in ("ingest-1", "ingest-2"):
        assert SERVICES[name]["depends_on"]["broker-users"] == {
            "condition": "service_completed_successfully"
        }


def _shell(service: str) -> str:
    """The shell script a one-shot service runs, as the shell will see it ($$ is Compose's $)."""
    assert SERVICES[service]["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = SERVICES[service]["command"]
    return str(script).replace("$$", "$")


DYNSEC_PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")


@pytest.mark.skipif(
    not DYNSEC_PLUGIN.exists() or shutil.which("mosquitto_ctrl") is None,
    reason="needs Mosquitto's dynamic-security plugin and mosquitto_ctrl (Debian's mosquitto)",
)
def test_the_broker_bootstrap_works_on_a_real_mosquitto(tmp_path: Path) -> None:
    """broker-init, the broker's health check and broker-users, run as written (paths and host
    moved to this test's private broker), twice: the second start keeps the file and rotates the
    ingest password. Then the ingest user may subscribe to the shared stream and not publish."""
    data = tmp_path / "data"
    data.mkdir()
    env = {"PATH": os.environ["PATH"], "BROKER_ADMIN_PASSWORD": "admin-pw"}

    def run(service: str, extra_env: dict[str, str], host: str = "") -> None:
        script = _shell(service).replace("/mosquitto/data", str(data))
        script = script.replace("chown -R mosquitto:mosquitto", "true")
        script = script.replace("-h mosquitto", host)
        done = subprocess.run(
            ["/bin/sh", "-c", script], env={**env, **extra_env}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    run("broker-init", {})
    conf = _conf(BROKER_CONF)
    extra = [
        deploy_limits(),
        "allow_anonymous false",
        f"plugin {DYNSEC_PLUGIN}",
        f"plugin_opt_config_file {data / 'dynamic-security.json'}",
    ]
    if os.geteuid() == 0:
        extra.append("user root")  # the plugin saves its file in the test's directory
    assert conf["plugin_opt_config_file"] == "/mosquitto/data/dynamic-security.json"
    broker = Mosquitto(tmp_path / "broker", extra_conf="\n".join(extra)).start()
    try:
        health = SERVICES["mosquitto"]["healthcheck"]["test"][1].replace("$$", "$")
        healthy = subprocess.run(
            [
                "/bin/sh",
                "-c",
                health.replace("mosquitto_ctrl ", f"mosquitto_ctrl -p {broker.port} "),
            ],
            env=env,
            capture_output=True,
        )
        assert healthy.returncode == 0, healthy.stderr
        host = f"-h 127.0.0.1 -p {broker.port}"
        run("broker-users", {"BROKER_INGEST_PASSWORD": "first"}, host)
        run("broker-init", {})  # a restart keeps the existing file
        run("broker-users", {"BROKER_INGEST_PASSWORD": "second"}, host)
        assert _session(broker.port, "first") is None  # rotated
        granted = _session(broker.port, "second")
        assert granted == {"subscribe": 1, "publish": 135}  # QoS 1 granted; publish refused
    finally:
        broker.stop()


def _session(port: int, password: str) -> dict[str, int] | None:
    """Log in as liftwatch-ingest: None if refused, else the subscription's and a publication's
    reason codes (MQTT 5)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    codes: dict[str, int] = {}
    connected = threading.Event()
    answered = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("liftwatch-ingest", password)

    def on_connect(c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        codes["connect"] = reason.value
        connected.set()

    def on_subscribe(c: Any, _u: Any, _m: Any, reasons: Any, _p: Any) -> None:
        codes["subscribe"] = reasons[0].value
        c.publish("liftwatch/v1/C1/U1/fault", b"{}", qos=1)

    def on_publish(c: Any, _u: Any, _m: Any, reason: Any, _p: Any) -> None:
        codes["publish"] = reason.value
        answered.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert connected.wait(10)
        if codes["connect"] != 0:
            return None
        client.subscribe("$share/ingest/liftwatch/v1/#", qos=1)
        assert answered.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return {"subscribe": codes["subscribe"], "publish": codes["publish"]}


def test_ports_match_what_the_services_listen_on() -> None:
    api = LIFTWATCH["api"]["environment"]
    assert api["LIFTWATCH_API_HOST"] == "0.0.0.0"
    assert LIFTWATCH["api"]["ports"] == [f"{api['LIFTWATCH_API_PORT']}:{api['LIFTWATCH_API_PORT']}"]
    assert "db" not in {name for name, s in SERVICES.items() if "ports" in s}
    declared = set(COMPOSE["volumes"])
    used = {
        source
        for service in SERVICES.values()
        for source in (entry.split(":")[0] for entry in service.get("volumes", []))
        if not source.startswith(".")
    }
    assert used == declared


def test_the_image_runs_liftwatch_and_never_holds_local_secrets_or_state() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # The services' `command` lists are liftwatch's arguments only because of this entry point.
    assert 'ENTRYPOINT ["liftwatch"]' in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".venv", "var", ".git"} <= ignored
    for image in re.findall(r"^FROM (\S+)", dockerfile, re.M):
        assert re.search(r":\d+\.\d+\.\d+", image), f"{image} is not pinned to a release"
