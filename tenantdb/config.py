"""Configuration, read from the environment (``TENANTDB_*``, and ``DATABASE_URL``)."""

from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """How tenantdb connects. Every field can be set as ``TENANTDB_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TENANTDB_", frozen=True, extra="forbid")

    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("TENANTDB_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="libpq URL or key=value string; at run time it names the tenantdb_app role.",
    )
    pool_min_size: int = Field(default=5, ge=0, description="Connections kept open.")
    pool_max_size: int = Field(default=15, ge=1, description="Connections at most.")
    pool_timeout: float = Field(
        default=30.0, gt=0, description="Seconds a caller waits for a free connection."
    )
    connect_timeout: float = Field(
        default=30.0, gt=0, description="Seconds Database.connect() waits for the server."
    )
    reconnect_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds the pool keeps retrying (with exponential backoff) to reconnect.",
    )
    max_idle: float = Field(default=600.0, gt=0, description="Seconds before idle extras close.")
    max_lifetime: float = Field(default=3600.0, gt=0, description="Seconds a connection lives.")
    statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="Server-side statement timeout; 0 disables it."
    )
    prepared_statements: bool = Field(
        default=True,
        description="Prepare each named query once per connection; off for PgBouncer < 1.21.",
    )
    check_connections: bool = Field(
        default=False,
        description="Ping each connection at checkout (one more round trip per call).",
    )
    migrations: str = Field(
        default="",
        description="A service's migration sources, applied after tenantdb's: folders or "
        "package:resource, comma-separated (or os.pathsep between folders).",
    )
    application_name: str = Field(default="tenantdb", description="Shown in pg_stat_activity.")
    response_timeout: float = Field(
        default=40.0,
        gt=0,
        description="Seconds without an answer after which a connection is given up (a stalled"
        " server or a partition surfaces as Unavailable or OutcomeUnknown); more than the"
        " statement timeout.",
    )
    keepalives_idle: int = Field(
        default=10, ge=1, description="TCP keepalive: idle seconds before the first probe."
    )
    keepalives_interval: int = Field(default=5, ge=1, description="Seconds between probes.")
    keepalives_count: int = Field(default=3, ge=1, description="Probes lost before giving up.")
    tcp_user_timeout_ms: int = Field(
        default=30_000, ge=0, description="Unacknowledged data older than this ends the"
        " connection (TCP_USER_TIMEOUT); 0: the kernel's default.",
    )

    def keepalives(self) -> dict[str, int]:
        """libpq's TCP keepalive parameters for these settings."""
        return {
            "keepalives": 1,
            "keepalives_idle": self.keepalives_idle,
            "keepalives_interval": self.keepalives_interval,
            "keepalives_count": self.keepalives_count,
            "tcp_user_timeout": self.tcp_user_timeout_ms,
        }

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"pool_min_size ({self.pool_min_size}) is more than pool_max_size"
                f" ({self.pool_max_size})"
            )
        if self.statement_timeout_ms and self.response_timeout * 1000 <= self.statement_timeout_ms:
            raise ValueError("response_timeout must be longer than the statement timeout")
        return self
