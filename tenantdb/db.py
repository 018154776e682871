"""The connection pool and tenant-scoped transactions.

``db.as_user(tenant_id, user_id)`` and ``db.as_tenant(tenant_id)`` return a :class:`Scope`: it
holds no connection. A domain function called on a scope runs as its own transaction in one
round trip (the context and the statement in one pipeline flush on an autocommit connection);
``with scope.transaction() as tx:`` runs several statements in one transaction (BEGIN, the context
and the first statement in one flush, COMMIT at the end). The context is set with
``set_config(..., true)``: it ends with the transaction and never reaches the next checkout.
"""

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, LiteralString, Protocol, Self, TypeVar
from uuid import UUID

import psycopg
import pydantic
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.rows import RowFactory, class_row, tuple_row
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from tenantdb.config import Settings
from tenantdb.errors import (
    ConfigurationError,
    DatabaseError,
    Unavailable,
    ValidationError,
    connect_error,
    translate,
)
from tenantdb.queries import Query

log = logging.getLogger("tenantdb")

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
Connection = psycopg.Connection[Any]
Params = Mapping[str, Any] | Sequence[Any] | None
Statement = LiteralString | bytes | sql.SQL | sql.Composed

SET_CONTEXT = b"select set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)"
TENANT_WIDE = "*"  # app.user_id in the explicit tenant-wide service mode
# DISCARD ALL but for prepared statements, which psycopg tracks (and forgets reliably only the
# first time it sees DISCARD ALL on a connection).
RESET_SESSION = (
    b"close all; set session authorization default; reset all; unlisten *;"
    b" select pg_advisory_unlock_all(); discard temp; discard sequences"
)
# A server that answers FATAL at login will answer the same again, unless it is busy or starting.
_TRANSIENT_FATAL = ("starting up", "shutting down", "recovery", "too many")


class Tx(Protocol):
    """What a domain function runs its statements on: a :class:`Scope` or a :class:`Transaction`."""

    def one(self, query: Query, row: type[M], /, **params: Any) -> M | None:
        """The statement's only row as ``row``, or None when it returned no row."""
        ...

    def all(self, query: Query, row: type[M], /, **params: Any) -> list[M]:
        """Every row of the statement as ``row``."""
        ...

    def run(self, query: Query, /, **params: Any) -> int:
        """Run a statement for its effect; the number of rows it affected."""
        ...


class _Runner:
    """``one``/``all``/``run`` on top of one way to send a statement."""

    def _send(
        self, name: str, query: Statement, params: Params, rows: RowFactory[R]
    ) -> tuple[list[R], int]:
        """Run one statement; its rows (built by ``rows``) and its row count."""
        raise NotImplementedError

    def one(self, query: Query, row: type[M], /, **params: Any) -> M | None:
        found, _ = self._send(query.name, query.sql, params, class_row(row))
        if len(found) > 1:
            raise DatabaseError(f"query {query.name} returned {len(found)} rows, expected one")
        return found[0] if found else None

    def all(self, query: Query, row: type[M], /, **params: Any) -> list[M]:
        return self._send(query.name, query.sql, params, class_row(row))[0]

    def run(self, query: Query, /, **params: Any) -> int:
        return self._send(query.name, query.sql, params, tuple_row)[1]


@dataclass(frozen=True, slots=True)
class Scope(_Runner):
    """Who a statement runs as: a tenant, and the acting user or None for tenant-wide mode."""

    database: "Database" = field(repr=False)
    tenant_id: UUID
    user_id: UUID | None

    def transaction(self) -> "Transaction":
        """Several statements in one transaction: ``with scope.transaction() as tx: ...``."""
        return Transaction(self)

    def context(self) -> tuple[str, str]:
        """The values of app.tenant_id and app.user_id for this scope."""
        return str(self.tenant_id), TENANT_WIDE if self.user_id is None else str(self.user_id)

    def _send(
        self, name: str, query: Statement, params: Params, rows: RowFactory[R]
    ) -> tuple[list[R], int]:
        with self.database.connection() as conn:
            # the context and the statement form one implicit transaction, ended by the sync
            return _round_trip(conn, name, query, params, rows, ((SET_CONTEXT, self.context()),))


class Transaction(_Runner):
    """One database transaction in a scope; commits on success, rolls back on any exception."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._conn: Connection | None = None
        self._begun = False
        self._raw = False

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this transaction is already open")
        self._conn = self.scope.database.checkout()
        self._begun = self._raw = False
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        try:
            if self._begun:
                self._finish(conn, commit=exc_type is None)
        finally:
            # raw SQL may have changed session state: clear it before the next checkout
            self.scope.database.checkin(conn, reset=self._raw)

    def _finish(self, conn: Connection, *, commit: bool) -> None:
        if commit and conn.info.transaction_status == TransactionStatus.INERROR:
            commit = False
            failed = DatabaseError("transaction rolled back: a statement in it failed earlier")
        else:
            failed = None
        try:
            conn.execute(b"commit" if commit else b"rollback")
        except psycopg.Error as e:
            if commit:
                raise translate(e) from e
            log.warning("rollback failed (the pool replaces a broken connection): %s", e)
        if failed:
            raise failed

    def _send(
        self, name: str, query: Statement, params: Params, rows: RowFactory[R]
    ) -> tuple[list[R], int]:
        if self._conn is None:
            raise RuntimeError("use the transaction inside `with scope.transaction() as tx:`")
        preamble: tuple[tuple[bytes, Sequence[str]], ...] = ()
        if not self._begun:
            preamble = ((b"begin", ()), (SET_CONTEXT, self.scope.context()))
            self._begun = True
        return _round_trip(self._conn, name, query, params, rows, preamble)

    def execute_raw(
        self, query: Statement, params: Params = None
    ) -> list[tuple[Any, ...]]:
        """Run literal SQL in this transaction (tests, one-off tools); its rows as tuples.

        Values go in ``params``, never into the string. The connection's session state is
        cleared before it returns to the pool, in case the SQL changed it.
        """
        self._raw = True
        return self._send("raw", query, params, tuple_row)[0]


def _round_trip(
    conn: Connection, name: str, query: Statement, params: Params,
    rows: RowFactory[R], preamble: Sequence[tuple[bytes, Sequence[str]]],
) -> tuple[list[R], int]:
    """Send ``preamble`` and the statement in one flush; its rows and row count."""
    started = time.perf_counter()
    cur = conn.cursor(row_factory=rows)
    try:
        if preamble:
            with conn.pipeline():
                for statement, args in preamble:
                    conn.execute(statement, args)
                cur.execute(query, params)
        else:
            cur.execute(query, params)
        returned_rows = cur.pgresult is not None and cur.pgresult.status == ExecStatus.TUPLES_OK
        result = cur.fetchall() if returned_rows else []
    except psycopg.Error as e:
        log.debug("%s failed after %.2f ms: %s", name, _ms(started), e.sqlstate)
        raise translate(e) from e
    log.debug("%s %.2f ms", name, _ms(started))
    return result, cur.rowcount


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@dataclass(frozen=True, slots=True)
class Health:
    """What :meth:`Database.health` found."""

    reachable: bool
    server_version: str | None
    pool: dict[str, int]
    pending_migrations: list[str] | None  # None when they could not be read
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.pending_migrations == []


class Database:
    """The pooled connection to a tenantdb database, as the runtime role ``tenantdb_app``."""

    def __init__(self, pool: ConnectionPool[Connection], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    def connect(cls, settings: Settings | None = None, /, **overrides: Any) -> "Database":
        """Open the pool; ``overrides`` replace fields of ``settings`` (default: the environment).

        Waits up to ``connect_timeout`` for the server, retrying with exponential backoff; a
        wrong password or missing database fails at once.
        """
        settings = _with_overrides(settings or Settings(), overrides)
        kwargs = connection_kwargs(settings)
        _wait_for_server(settings.database_url, kwargs, settings.connect_timeout)
        pool: ConnectionPool[Connection] = ConnectionPool(
            settings.database_url,
            kwargs=kwargs,
            min_size=settings.pool_min_size,
            max_size=max(settings.pool_max_size, settings.pool_min_size),
            timeout=settings.pool_timeout,
            max_idle=settings.max_idle,
            max_lifetime=settings.max_lifetime,
            reconnect_timeout=settings.reconnect_timeout,
            check=ConnectionPool.check_connection if settings.check_connections else None,
            name=settings.application_name,
            open=False,
        )
        try:
            pool.open(wait=True, timeout=settings.connect_timeout)
        except Exception as e:
            pool.close()
            raise translate(e) from e
        return cls(pool, settings)

    def as_user(self, tenant_id: UUID | str, user_id: UUID | str) -> Scope:
        """Act for one user of one tenant: user-private rows are that user's only."""
        return Scope(self, _uuid(tenant_id, "tenant_id"), _uuid(user_id, "user_id"))

    def as_tenant(self, tenant_id: UUID | str) -> Scope:
        """Tenant-wide service mode (background jobs, admin screens): every row of the tenant."""
        return Scope(self, _uuid(tenant_id, "tenant_id"), None)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection for the block: autocommit, no tenant context (so RLS shows no
        rows). For tools and tests that need a plain connection as the runtime role."""
        conn = self.checkout()
        try:
            yield conn
        finally:
            self.checkin(conn)

    def checkout(self) -> Connection:
        """A pooled connection (autocommit, no context); give it back with :meth:`checkin`."""
        try:
            return self.pool.getconn()
        except Exception as e:
            raise translate(e) from e

    def checkin(self, conn: Connection, *, reset: bool = False) -> None:
        """Return a connection; ``reset`` first clears its session state (settings, role, ...)."""
        if reset and not conn.closed:
            try:
                conn.execute(RESET_SESSION)
            except psycopg.Error:
                conn.close()  # the pool replaces a closed connection
        self.pool.putconn(conn)

    def health(self) -> Health:
        """Server reachability and version, pool statistics, and pending migrations."""
        from tenantdb.migrate import pending_migrations  # yoyo is needed here only

        stats = self.pool.get_stats()
        try:
            with self.connection() as conn:
                version = conn.execute("select current_setting('server_version')").fetchone()
                pending = pending_migrations(conn)
        except Unavailable as e:
            return Health(False, None, stats, None, str(e))
        except psycopg.Error as e:
            return Health(False, None, stats, None, str(translate(e)))
        return Health(True, version[0] if version else None, stats, pending)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        "prepare_threshold": 5 if settings.prepared_statements else None,
        "options": " ".join(o for o in options if o),
        "application_name": settings.application_name,
    }


def _wait_for_server(url: str, kwargs: dict[str, Any], timeout: float) -> None:
    """Connect once, retrying with exponential backoff until ``timeout``; raise what failed."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            psycopg.connect(url, **kwargs, connect_timeout=max(1, round(timeout))).close()
            return
        except psycopg.Error as e:
            said = str(e)
            refused = "FATAL:" in said and not any(t in said for t in _TRANSIENT_FATAL)
            if refused or time.monotonic() + delay > deadline:
                raise connect_error(e) from e  # a refused login: ConfigurationError
            log.info("database not reachable yet, retrying in %.1f s: %s", delay, e)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def _with_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    if not overrides:
        return settings
    try:  # validated like the settings themselves: no negative pool sizes, no unknown names
        return Settings.model_validate(settings.model_dump() | overrides)
    except pydantic.ValidationError as e:
        raise ConfigurationError(f"invalid settings: {e}") from e


def _uuid(value: UUID | str, name: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError) as e:
        raise ValidationError(f"{name} must be a UUID, not {value!r}") from e
