"""What the sync and async engines share about connections: settings, the pool's and each
connection's arguments, waiting for the server, and the health report."""

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
import pydantic
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tenantdb.config import Settings
from tenantdb.errors import ConfigurationError, TenantdbError, connect_error
from tenantdb.protocol import Command
from tenantdb.statements import Rows

log = logging.getLogger("tenantdb")

Params = Mapping[str, Any] | Sequence[Any] | None
RawStatement = LiteralString | bytes | sql.SQL | sql.Composed

# Back to a fresh session: settings, role, prepared statements, temp tables, locks, listeners.
RESET_SESSION = b"discard all"
WAIT_INTERVAL = 0.5  # seconds between checks of the response deadline while waiting
# A server that answers FATAL at login will answer the same again, unless it is busy or starting.
_TRANSIENT_FATAL = ("starting up", "shutting down", "recovery", "too many")

SERVER_VERSION = Command(b"select current_setting('server_version')", ())
APPLIED_MIGRATIONS = Command(b"select migration_id from tenantdb_owner._yoyo_migration", ())


@dataclass(frozen=True, slots=True)
class Health:
    """What ``health()`` found."""

    reachable: bool
    server_version: str | None
    pool: dict[str, int]
    pending_migrations: list[str] | None  # None when they could not be read
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.pending_migrations == []


def health_of(version: Rows, applied: Rows | TenantdbError, stats: dict[str, int],
              settings: Settings) -> Health:
    """The health report, from the answers to SERVER_VERSION and APPLIED_MIGRATIONS; pending
    migrations are tenantdb's and those of ``settings.migrations``."""
    from tenantdb.migrate import migration_ids  # yoyo is needed here only
    from tenantdb.migration_sources import split_sources

    known = migration_ids(split_sources(settings.migrations))
    pending: list[str] | None
    if isinstance(applied, Rows):
        done = {row[0] for row in applied.values}
        pending = [m for m in known if m not in done]
    elif applied.sqlstate in ("42P01", "3F000"):  # no bookkeeping table: nothing migrated yet
        pending = known
    else:  # this role cannot read it
        pending = None
    return Health(True, version.values[0][0], stats, pending)


def load_settings(settings: Settings | None, overrides: dict[str, Any]) -> Settings:
    """``settings`` (default: from the environment) with ``overrides``, validated."""
    try:  # validated like the settings themselves: no negative pool sizes, no unknown names
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = Settings.model_validate(settings.model_dump() | overrides)
    except pydantic.ValidationError as e:
        raise ConfigurationError(f"invalid settings: {e}") from e
    return settings


def pool_kwargs(settings: Settings) -> dict[str, Any]:
    return {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "timeout": settings.pool_timeout,
        "max_idle": settings.max_idle,
        "max_lifetime": settings.max_lifetime,
        "reconnect_timeout": settings.reconnect_timeout,
        "name": settings.application_name,
    }


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    """psycopg connection arguments for ``settings`` (options in the URL are kept)."""
    url = settings.database_url
    if not url:
        raise ConfigurationError("no database URL: set DATABASE_URL or TENANTDB_DATABASE_URL")
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise ConfigurationError(f"malformed database URL: {e}") from e
    options = [
        str(given.get("options") or ""),
        f"-c statement_timeout={settings.statement_timeout_ms}",
        "-c TimeZone=UTC",
    ]
    return {
        "autocommit": True,
        "prepare_threshold": None,  # tenantdb prepares its own statements (tenantdb.protocol)
        "options": " ".join(o for o in options if o),
        "application_name": settings.application_name,
        "connect_timeout": max(2, round(settings.connect_timeout)),
        **settings.keepalives(),
    }


def wait_for_server(url: str, kwargs: dict[str, Any], timeout: float) -> None:
    """Connect once, retrying with exponential backoff until ``timeout``; raise what failed."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            psycopg.connect(url, **(kwargs | {"connect_timeout": max(1, round(timeout))})).close()
            return
        except psycopg.Error as e:
            said = str(e)
            refused = "FATAL:" in said and not any(t in said for t in _TRANSIENT_FATAL)
            if refused or time.monotonic() + delay > deadline:
                raise connect_error(e) from e  # a refused login: ConfigurationError
            log.info("database not reachable yet, retrying in %.1f s: %s", delay, e)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
