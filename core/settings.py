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
        description="Use TimescaleDB when the server has it (auto), require it (on) or never (off).",
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
        description="MQTT broker as mqtt://host:port; empty uses a local Mosquitto or an embedded broker.",
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, created once on first use."""
    return Settings()
