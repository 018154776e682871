"""Applying the packaged migrations with yoyo, always as the ``tenantdb_owner`` role.

Given a superuser URL, the cluster roles and per-database grants are created first
(``sql/bootstrap.sql``) and yoyo then runs with ``-c role=tenantdb_owner`` in the connection's
options. Given the owner's URL, the migrations are only applied. An advisory lock serialises
concurrent tenantdb migrators in one database; yoyo's own lock guards against plain ``yoyo``.
Every connection gives up after ``connect_timeout`` seconds and uses TCP keepalives, so an
unresponsive server fails the command instead of hanging it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from yoyo import get_backend, read_migrations

from tenantdb.config import Settings
from tenantdb.errors import ConfigurationError, connect_error, translate
from tenantdb.paths import MIGRATIONS_DIR, SQL_DIR
from tenantdb.urls import for_yoyo, with_connect_timeout, with_session_role

OWNER = "tenantdb_owner"
APP = "tenantdb_app"
_LOCK_KEY = 0x7E4A_7DB0  # pg_advisory_lock key shared by tenantdb migrators
CONNECT_TIMEOUT: float = Settings.model_fields["connect_timeout"].default  # seconds


@dataclass(frozen=True, slots=True)
class MigrationState:
    id: str
    applied: bool


def migrate(url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> list[str]:
    """Apply every pending migration; the ids applied, in order."""
    with _migrator(url, connect_timeout) as backend:
        pending = backend.to_apply(_migrations())
        backend.apply_migrations(pending)
        return [m.id for m in pending]


def rollback(
    url: str, count: int | None = 1, *, connect_timeout: float = CONNECT_TIMEOUT
) -> list[str]:
    """Roll back the last ``count`` applied migrations (None: all); the ids, newest first."""
    if count is not None and count < 0:
        raise ConfigurationError("count must be zero or more")
    with _migrator(url, connect_timeout) as backend:
        chosen = backend.to_rollback(_migrations())
        if count is not None:
            chosen = chosen.__class__(list(chosen)[:count], chosen.post_apply)
        backend.rollback_migrations(chosen)
        return [m.id for m in chosen]


def status(url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> list[MigrationState]:
    """Every packaged migration and whether it is applied."""
    with _connect(with_connect_timeout(url, connect_timeout)) as conn:
        applied = _applied(conn)
    if applied is None:
        raise ConfigurationError("this role cannot read tenantdb_owner._yoyo_migration")
    return [MigrationState(m, m in applied) for m in migration_ids()]


def pending_migrations(conn: psycopg.Connection[Any]) -> list[str] | None:
    """Packaged migrations not applied in ``conn``'s database; None when that cannot be read."""
    applied = _applied(conn)
    return None if applied is None else [m for m in migration_ids() if m not in applied]


def migration_ids() -> list[str]:
    return sorted(p.name.removesuffix(".sql") for p in MIGRATIONS_DIR.glob("*.sql")
                  if not p.name.endswith(".rollback.sql"))


def bootstrap(conn: psycopg.Connection[Any]) -> None:
    """Create the cluster roles and this database's grants (idempotent; needs a superuser)."""
    conn.execute((SQL_DIR / "bootstrap.sql").read_bytes())


def _applied(conn: psycopg.Connection[Any]) -> list[str] | None:
    try:
        with conn.transaction():
            rows = conn.execute(
                "select migration_id from tenantdb_owner._yoyo_migration"
            ).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return []  # nothing was ever migrated here
    except psycopg.errors.InsufficientPrivilege:
        return None
    return [r[0] for r in rows]


def _connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection to ``url`` (a URL made by :func:`with_connect_timeout`)."""
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.Error as e:
        raise connect_error(e) from e


def _migrations() -> Any:
    return read_migrations(str(MIGRATIONS_DIR))


@contextmanager
def _migrator(url: str, connect_timeout: float) -> Iterator[Any]:
    """A yoyo backend connected as the owner, holding the migration locks."""
    url = with_connect_timeout(url, connect_timeout)  # yoyo's connection gets it too
    with _connect(url) as conn:
        conn.execute("select pg_advisory_lock(%s)", [_LOCK_KEY])
        row = conn.execute(
            "select current_user, rolsuper from pg_roles where rolname = current_user"
        ).fetchone()
        assert row is not None
        user, superuser = row
        if superuser:
            bootstrap(conn)
            yoyo_url = for_yoyo(with_session_role(url, OWNER))
        elif user == OWNER:
            yoyo_url = for_yoyo(url)
        else:
            raise ConfigurationError(
                f"migrations run as {OWNER}: connect as it, or as a superuser to create the "
                f"roles first (connected as {user})"
            )
        try:
            backend = get_backend(yoyo_url)  # yoyo's own connection
        except psycopg.Error as e:
            raise connect_error(e) from e
        try:
            with backend.lock():
                yield backend
        except psycopg.Error as e:
            raise translate(e) from e
        finally:
            backend.connection.close()
