"""The one settings object of liftwatch, read from `LIFTWATCH_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of liftwatch. Each field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="LIFTWATCH_", env_file=None, extra="ignore")

    # storage
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; empty starts the embedded server in the data directory.",
    )
    data_dir: Path = Field(
        default=Path(platformdirs.user_data_dir("liftwatch")),
        description="Where the embedded database, model artifacts and reports live.",
    )
    timescale: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Use TimescaleDB when the server can create the extension (auto), require it "
        "(on) or never (off).",
    )
    db_pool_min: int = Field(default=1, ge=0, description="Minimum connections in a pool.")
    db_pool_max: int = Field(default=10, ge=1, description="Maximum connections in a pool.")
    status_retention_days: int = Field(
        default=730, ge=1, description="TimescaleDB retention of status samples, in days."
    )
    compress_after_days: int = Field(
        default=90, ge=1, description="TimescaleDB compresses event chunks older than this."
    )

    # messaging
    broker_url: str | None = Field(
        default=None,
        description="MQTT broker as mqtt://user:password@host:1883 or mqtts://user:password@host:8883; "
        "empty uses a local Mosquitto or an embedded broker.",
    )
    broker_ca_file: Path | None = Field(
        default=None,
        description="CA certificate (PEM) to verify an mqtts:// broker; empty uses the system's.",
    )
    broker_admin_url: str | None = Field(
        default=None,
        description="Broker URL with the dynamic-security admin's credentials, for `liftwatch "
        "broker`; empty uses LIFTWATCH_BROKER_URL.",
    )
    local_broker: Literal["auto", "mosquitto", "amqtt"] = Field(
        default="auto",
        description="Local broker when no URL is set: Mosquitto if installed (auto), or amqtt.",
    )
    local_broker_port: int = Field(
        default=1884,
        ge=1,
        le=65535,
        description="Port of the local broker started when no URL is set.",
    )

    # ingest: the MQTT consumer and the other doors to the event pipeline
    ingest_client_id: str = Field(
        default="liftwatch-ingest",
        description="MQTT client id of the ingest worker; fixed so the broker keeps its session.",
    )
    ingest_protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT protocol version the ingest worker speaks."
    )
    ingest_topic: str = Field(
        default="liftwatch/#",
        description="Topic filter the ingest worker subscribes to; wider than liftwatch/v1/# so "
        "other versions and malformed topics are dead-lettered rather than lost.",
    )
    ingest_shared_group: str | None = Field(
        default=None,
        description="Shared-subscription group; set it on every worker to split one stream "
        "($share/{group}/{topic}).",
    )
    ingest_session_expiry: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="Seconds the broker keeps the worker's session and queued messages while it is away.",
    )
    ingest_keepalive: int = Field(default=30, ge=5, description="MQTT keep-alive, in seconds.")
    ingest_receive_maximum: int = Field(
        default=10000,
        ge=1,
        le=65535,
        description="MQTT 5 Receive Maximum: unacknowledged messages the broker may have in flight "
        "to the worker; keep it at or above the batch size.",
    )
    ingest_batch_size: int = Field(
        default=5000, ge=1, description="Messages written per transaction at most."
    )
    ingest_batch_max_wait: float = Field(
        default=0.2, gt=0, description="Seconds a batch waits to fill before it is written anyway."
    )
    ingest_queue_size: int = Field(
        default=20000,
        ge=1,
        description="Decoded messages waiting for the writer; when full, reading from the broker pauses.",
    )
    ingest_max_payload_bytes: int = Field(
        default=65536, ge=64, description="Larger payloads are dead-lettered as oversized unread."
    )
    ingest_dead_letter_keep_bytes: int = Field(
        default=4096,
        ge=0,
        description="Bytes of an oversized payload kept in its dead letter (with its size and SHA-256).",
    )
    ingest_future_skew: float = Field(
        default=300.0,
        ge=0,
        description="Seconds an event's occurred_at may lie in the future (clock skew) before it "
        "is dead-lettered as future_timestamp.",
    )
    ingest_register_refresh: float = Field(
        default=60.0,
        gt=0,
        description="Seconds the worker trusts its in-memory copy of who maintains which unit.",
    )
    ingest_reconnect_min_delay: float = Field(
        default=0.1, gt=0, description="First wait, in seconds, before reconnecting to the broker."
    )
    ingest_reconnect_max_delay: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait, in seconds, between reconnection attempts; small so the worker "
        "is back within a second of the broker's return.",
    )
    ingest_metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the worker's /metrics endpoint listens on; loopback unless a scraper "
        "on another machine needs it.",
    )
    ingest_metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of the worker's Prometheus /metrics endpoint; 0 turns it off.",
    )

    # api: the HTTP service (liftwatch api)
    api_host: str = Field(default="127.0.0.1", description="Address `liftwatch api` listens on.")
    api_port: int = Field(
        default=8000, ge=1, le=65535, description="Port `liftwatch api` listens on."
    )
    api_ingest_rate: float = Field(
        default=500.0, gt=0, description="Events per second each token may push to POST /v1/events."
    )
    api_ingest_burst: int = Field(
        default=5000, ge=1, description="Events a token may push at once before the rate applies."
    )
    api_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request body (events, register files).",
    )
    api_token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds an API process trusts a token it verified (a revocation takes effect "
        "within this); 0 checks every request against the database.",
    )
    map_tile_url: str | None = Field(
        default=None,
        description="Raster tile server for the dashboards' building maps, as "
        "https://tiles.example/{z}/{x}/{y}.png; empty draws a plain map from the coordinates "
        "alone and fetches nothing.",
    )
    api_page_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Seconds an API process serves a ranking page it has read again (a new run or "
        "a register change made elsewhere shows within this); 0 reads every page from the "
        "database.",
    )
    api_page_cache_mb: int = Field(
        default=32,
        ge=1,
        description="Megabytes of ranking pages an API process keeps (least recently used out).",
    )

    # scoring: deterioration index, flags, learned model (liftwatch score)
    scoring_policy: Path | None = Field(
        default=None,
        description="Scoring policy YAML (flag rules, health parameters); empty uses the shipped Chinese defaults.",
    )
    scoring_model: Path | None = Field(
        default=None,
        description="Learned model artifact; empty means models/failure-model.joblib in the data directory.",
    )
    scoring_expected_life: float | None = Field(
        default=None,
        gt=0,
        le=60,
        description="Expected life in years of a unit at normal duty; empty takes the policy's (18).",
    )
    scoring_use_model: bool = Field(
        default=True,
        description="Add the learned model's second opinion to score runs when a model artifact exists.",
    )

    # alerts: detection thresholds and outbound webhooks
    alert_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between alert sweeps (units gone silent, rejection rates, expiry) "
        "and webhook delivery rounds.",
    )
    alert_entrapment_hours: float = Field(
        default=24.0,
        gt=0,
        description="An entrapment older than this raises no alert, and an entrapment alert with "
        "no new entrapment for this long clears by itself.",
    )
    alert_silent_factor: float = Field(
        default=3.0,
        gt=1,
        description="A unit is silent when its last status sample is older than this many of "
        "its usual reporting intervals.",
    )
    alert_silent_min_seconds: float = Field(
        default=900.0,
        ge=0,
        description="A unit is never called silent sooner than this after its last status sample.",
    )
    alert_rejection_jump: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="A contractor's share of rejected messages in the last hour must exceed its "
        "share over the week before by this much to raise an alert.",
    )
    alert_rejection_min_messages: int = Field(
        default=20,
        ge=1,
        description="Messages a contractor must have sent in the last hour for its rejection "
        "rate to be judged.",
    )
    webhook_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a webhook receiver has to answer a delivery."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Attempts at one webhook delivery before it is given up."
    )
    webhook_backoff_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Wait before the second attempt of a webhook delivery; it doubles with each "
        "attempt, up to an hour.",
    )

    # operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of every liftwatch process."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Plain text logs for people, JSON lines for collectors."
    )

    @property
    def embedded_pgdata(self) -> Path:
        """Directory of the embedded PostgreSQL cluster."""
        return self.data_dir / "pgdata"

    @property
    def scoring_model_path(self) -> Path:
        """Where the learned scoring model is read from and written to."""
        return self.scoring_model or self.data_dir / "models" / "failure-model.joblib"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, created once on first use."""
    return Settings()
