"""Applying tenantdb's migrations, then a service's, with yoyo, always as ``tenantdb_owner``.

``sources`` names a service's migration folders or package resources (see
:mod:`tenantdb.migration_sources`); None means the configured ones (``TENANTDB_MIGRATIONS``).

Given a superuser URL, the cluster roles and per-database grants are created first
(``sql/bootstrap.sql``) and yoyo then runs with ``-c role=tenantdb_owner`` in the connection's
options. Given the owner's URL, the migrations are only applied. An advisory lock serialises
concurrent tenantdb migrators in one database; yoyo's own lock guards against plain ``yoyo``.
Every connection gives up after ``connect_timeout`` seconds and uses TCP keepalives, so an
unresponsive server fails the command instead of hanging it.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from yoyo import get_backend, read_migrations

from tenantdb.config import Settings
from tenantdb.errors import ConfigurationError, connect_error, translate
from tenantdb.migration_sources import migration_folders, unique_ids
from tenantdb.paths import SQL_DIR
from tenantdb.urls import for_yoyo, with_connect_timeout, with_session_role

OWNER = "tenantdb_owner"
APP = "tenantdb_app"
_LOCK_KEY = 0x7E4A_7DB0  # pg_advisory_lock key shared by tenantdb migrators
CONNECT_TIMEOUT: float = Settings.model_fields["connect_timeout"].default  # seconds


@dataclass(frozen=True, slots=True)
class MigrationState:
    id: str
    applied: bool


Sources = Sequence[str] | None


def migrate(
    url: str, sources: Sources = None, *, connect_timeout: float = CONNECT_TIMEOUT
) -> list[str]:
    """Apply every pending migration; the ids applied, in order."""
    migrations = _migrations(sources)
    with _migrator(url, connect_timeout) as backend:
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return [m.id for m in pending]


def rollback(
    url: str, count: int | None = 1, sources: Sources = None, *,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> list[str]:
    """Roll back the last ``count`` applied migrations (None: all); the ids, newest first."""
    if count is not None and count < 0:
        raise ConfigurationError("count must be zero or more")
    migrations = _migrations(sources)
    known = {migration.id for migration in migrations}
    with _connect(with_connect_timeout(url, connect_timeout)) as conn:
        unknown = [m for m in _applied(conn) or [] if m not in known]
    if unknown:  # they may depend on what would be rolled back, and must go first
        raise ConfigurationError(
            f"applied migrations not in the migration sources: {', '.join(unknown)}; name their "
            "folders (--migrations or TENANTDB_MIGRATIONS) so that they roll back first")
    with _migrator(url, connect_timeout) as backend:
        chosen = backend.to_rollback(migrations)
        if count is not None:
            chosen = chosen.__class__(list(chosen)[:count], chosen.post_apply)
        backend.rollback_migrations(chosen)
        return [m.id for m in chosen]


def status(
    url: str, sources: Sources = None, *, connect_timeout: float = CONNECT_TIMEOUT
) -> list[MigrationState]:
    """Every migration (tenantdb's, then the service's) and whether it is applied."""
    known = migration_ids(sources)
    with _connect(with_connect_timeout(url, connect_timeout)) as conn:
        applied = _applied(conn)
    if applied is None:
        raise ConfigurationError("this role cannot read tenantdb_owner._yoyo_migration")
    return [MigrationState(m, m in applied) for m in known]


def migration_ids(sources: Sources = None) -> list[str]:
    """tenantdb's migration ids, then those of ``sources``, each folder sorted."""
    return unique_ids(migration_folders(sources))


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


def _migrations(sources: Sources) -> Any:
    return read_migrations(*(str(folder) for folder in migration_folders(sources)))


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
