"""docker-compose.yml, checked without Docker: valid Compose, commands liftwatch has, settings
liftwatch reads, secrets that stop `docker compose up` when missing, and a broker configured like
deploy/mosquitto.conf.

The schema is the Compose Specification's JSON schema as shipped in the docker-compose 1.29.2
wheel on PyPI (compose/config/compose_spec.json, sha256 0dc04bd346dcfee1b1419628fff79937bbf076925f
298f272a2b490e2b112bac), pinned in tests/support/compose_spec.json.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from core.settings import Settings
from liftwatch.cli import build_parser
from tests.support.servers import deploy_limits

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
    mounts = _mounts("mosquitto")
    command = shlex.join(SERVICES["mosquitto"]["command"])
    config_path = command.split(" -c ")[1]
    assert mounts[config_path] == "./deploy/compose/mosquitto.conf"
    assert mounts[conf["acl_file"]] == "./deploy/compose/mosquitto.acl"
    assert mounts[conf["persistence_location"].rstrip("/")] == "broker-data"
    assert mounts[str(Path(conf["password_file"]).parent)] == "broker-auth"
    assert _mounts("broker-auth")[str(Path(conf["password_file"]).parent)] == "broker-auth"
    listener = conf["listener"].split()[0]
    assert SERVICES["mosquitto"]["ports"] == [f"{listener}:{listener}"]
    for path in (ROOT / "deploy" / "compose").iterdir():
        assert f"./deploy/compose/{path.name}" in mounts.values(), f"{path.name} is not mounted"


def test_the_acl_lets_each_contractor_write_only_under_its_own_prefix() -> None:
    acl = (ROOT / "deploy" / "compose" / "mosquitto.acl").read_text(encoding="utf-8")
    rules = [line.split() for line in acl.splitlines() if line.strip() and not line.startswith("#")]
    assert ["pattern", "write", "liftwatch/v1/%u/#"] in rules
    ingest = rules.index(["user", "ingest"])
    assert all(r[:2] == ["topic", "read"] for r in rules[ingest + 1 :] if r[0] == "topic")
    assert not any(r[0] == "topic" and r[1] in ("write", "readwrite") for r in rules)


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
