"""The connection pool and tenant-scoped transactions (sync; :mod:`tenantdb.aio` is the twin).

``db.as_user(tenant_id, user_id)`` and ``db.as_tenant(tenant_id)`` return a :class:`Scope`: it
holds no connection. A domain function called on a scope runs as its own transaction in one
round trip: the context and the statement written in one flush on an autocommit connection, so
they form one implicit transaction that ends at the Sync. ``with scope.transaction() as tx:`` runs
several statements in one transaction: BEGIN, the context and the first statement in one flush,
COMMIT at the end. A ``transaction()`` inside another of the same scope is a savepoint, and a
call on the scope inside it joins it. The context is set with ``set_config(..., true)``: it ends
with the transaction and never reaches the next checkout.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, LiteralString, Self, TypeVar
from uuid import UUID

import psycopg
import pydantic
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from tenantdb.config import Settings
from tenantdb.errors import (
    ConfigurationError,
    SerializationFailure,
    TenantdbError,
    Unavailable,
    connect_error,
    translate,
)
from tenantdb.protocol import Command, Connection, ConnectionLost, alive, exchange
from tenantdb.scope import (
    Isolation,
    ScopeIds,
    TransactionState,
    backoff,
    begin,
    check_committed,
    lost_connection,
    mark_closed,
    mark_open,
    open_transaction,
    raise_lost,
    uuid_of,
)
from tenantdb.statements import Rows, Runs, Statement

log = logging.getLogger("tenantdb")

R = TypeVar("R")
Params = Mapping[str, Any] | Sequence[Any] | None
RawStatement = LiteralString | bytes | sql.SQL | sql.Composed

# Back to a fresh session: settings, role, prepared statements, temp tables, locks, listeners.
RESET_SESSION = b"discard all"
# A server that answers FATAL at login will answer the same again, unless it is busy or starting.
_TRANSIENT_FATAL = ("starting up", "shutting down", "recovery", "too many")
_WAIT_INTERVAL = 0.5  # seconds between checks of the response deadline while waiting


@dataclass(frozen=True, slots=True)
class Scope(ScopeIds, Runs):
    """A tenant and an acting user (or tenant-wide); each call on it is its own transaction."""

    database: "Database" = field(repr=False, kw_only=True)

    def transaction(
        self, *, isolation: Isolation | None = None, read_only: bool = False
    ) -> "Transaction":
        """Several statements in one transaction: ``with scope.transaction() as tx: ...``."""
        return Transaction(self, isolation=isolation, read_only=read_only)

    def run_transaction(
        self, work: Callable[["Transaction"], R], *, isolation: Isolation | None = None,
        read_only: bool = False, attempts: int = 5,
    ) -> R:
        """``work(tx)`` in a transaction, run again (with backoff) when a concurrent transaction
        wins (:class:`SerializationFailure`), up to ``attempts`` times in all."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction(isolation=isolation, read_only=read_only) as tx:
                    return work(tx)
            except SerializationFailure:
                if attempt == attempts:
                    raise
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` as its own transaction (or in this scope's open transaction)."""
        joined = open_transaction(self, threading.get_ident())
        if joined is not None:
            return joined.execute(statement)  # type: ignore[no-any-return]
        query = self.query_for(statement)
        batch = (self.context(read_only=query.read_only), self.command(query, statement.params))
        for attempt in (1, 2):
            conn = self.database.checkout()
            try:
                rows = self.database.exchange(conn, batch)
            except ConnectionLost as lost:
                self.database.discard(conn)
                lost_connection(lost, writes=not query.read_only, retry=attempt == 1)
                continue
            except BaseException:
                self.database.checkin(conn)
                raise
            self.database.checkin(conn)
            return statement.shape(rows)
        raise AssertionError("unreachable")


class Transaction(Runs):
    """One database transaction in a scope; commits on success, rolls back on any exception.

    Opened inside another transaction of the same scope (in the same thread), it is a
    savepoint of that one: an exception undoes only its own work.
    """

    def __init__(self, scope: Scope, *, isolation: Isolation | None = None,
                 read_only: bool = False) -> None:
        self.scope = scope
        self._begin = begin(isolation, read_only)
        self._read_only = read_only
        self._conn: Connection | None = None
        self._savepoint: bytes | None = None
        self._token: Any = None
        self._raw = False

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this transaction is already open")
        outer = open_transaction(self.scope, threading.get_ident())
        if outer is not None:
            if self._begin.sql != b"begin":
                raise ValueError("a nested transaction is a savepoint: it cannot set isolation"
                                 " or read_only")
            self._conn, self.state = outer._conn, outer.state
            self._savepoint = self.state.savepoint()
        else:
            self._conn = self.scope.database.checkout()
            context = self.scope.context(read_only=self._read_only)
            self.state = TransactionState([self._begin, context], self._read_only)
        self._token = mark_open(self.scope, self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        mark_closed(self._token)
        if self._savepoint is not None:
            self.state.end_savepoint(self._savepoint, commit=exc_type is None)
            return
        database = self.scope.database
        try:
            finish = None if self.state.lost else self.state.finish(commit=exc_type is None)
            if finish is not None:
                rows = database.exchange(conn, finish)
                if exc_type is None:
                    check_committed(rows)
        except ConnectionLost as lost:
            self.state.lost = True
            if exc_type is None:
                raise_lost(lost, writes=not self._read_only)
            log.warning("rollback failed (the pool replaces the connection): %s", lost.cause)
        except TenantdbError:
            if exc_type is None:
                raise
        finally:
            if self.state.lost:
                database.discard(conn)
            else:
                database.checkin(conn, reset=self._raw)

    def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` in this transaction."""
        return statement.shape(self._send(self.scope.command(
            self.scope.query_for(statement), statement.params)))

    def _send(self, command: Command) -> Rows:
        if self._conn is None:
            raise RuntimeError("use the transaction inside `with scope.transaction() as tx:`")
        if self.state.lost:
            raise Unavailable("the connection of this transaction was lost")
        try:
            return self.scope.database.exchange(self._conn, self.state.before(command))
        except ConnectionLost as lost:
            self.state.lost = True
            raise_lost(lost, writes=False)  # the transaction is gone: nothing committed
            raise

    def execute_raw(self, query: RawStatement, params: Params = None) -> list[tuple[Any, ...]]:
        """Run literal SQL in this transaction (tests, one-off tools); its rows as tuples.

        Values go in ``params`` (``%s`` or ``%(name)s``), never into the string. The
        connection's session state is cleared before it returns to the pool.
        """
        if self._conn is None:
            raise RuntimeError("use the transaction inside `with scope.transaction() as tx:`")
        self._raw = True
        if self.state.pending:  # BEGIN and the context, or a savepoint
            self._send(Command(b"select 1", ()))
        try:
            cur = self._conn.execute(query, params)
            return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as e:
            raise translate(e) from e


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
        settings = load_settings(settings, overrides)
        kwargs = connection_kwargs(settings)
        wait_for_server(settings.database_url, kwargs, settings.connect_timeout)
        pool: ConnectionPool[Connection] = ConnectionPool(
            settings.database_url, connection_class=Connection, kwargs=kwargs,
            check=_check_with_ping if settings.check_connections else _check, open=False,
            **pool_kwargs(settings),
        )
        try:
            pool.open(wait=True, timeout=settings.connect_timeout)
        except Exception as e:
            pool.close()
            raise translate(e) from e
        return cls(pool, settings)

    def as_user(self, tenant_id: UUID | str, user_id: UUID | str) -> Scope:
        """Act for one user of one tenant: user-private rows are that user's only."""
        return Scope(uuid_of(tenant_id, "tenant_id"), uuid_of(user_id, "user_id"), database=self)

    def as_tenant(self, tenant_id: UUID | str) -> Scope:
        """Tenant-wide service mode (background jobs, admin screens): every row of the tenant."""
        return Scope(uuid_of(tenant_id, "tenant_id"), None, database=self)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection for the block: autocommit, no tenant context (so RLS shows no
        rows), its session reset before the next borrower gets it. For tools and tests."""
        conn = self.checkout()
        try:
            yield conn
        finally:
            self.checkin(conn, reset=True)

    def checkout(self) -> Connection:
        """A pooled connection (autocommit, no context); give it back with :meth:`checkin`."""
        try:
            return self.pool.getconn()
        except Exception as e:
            raise translate(e) from e

    def checkin(self, conn: Connection, *, reset: bool = False) -> None:
        """Return a connection; ``reset`` first clears its session state (settings, role,
        prepared statements, ...)."""
        if reset and not conn.closed:
            try:
                conn.execute(RESET_SESSION)
                conn.prepared.clear()
            except psycopg.Error:
                conn.close()  # the pool replaces a closed connection
        self.pool.putconn(conn)

    def discard(self, conn: Connection) -> None:
        """Close a failed connection; the pool opens a new one. (Other connections the server
        ended are found at their checkout, without a round trip: see ``alive``.)"""
        conn.close()
        self.pool.putconn(conn)

    def exchange(self, conn: Connection, batch: Sequence[Command]) -> Rows:
        """Send ``batch`` in one flush on ``conn``; the rows of each command."""
        settings = self.settings
        deadline = time.monotonic() + settings.response_timeout
        generator = exchange(conn, batch, prepare=settings.prepared_statements, deadline=deadline)
        return conn.wait(generator, interval=_WAIT_INTERVAL)

    def health(self) -> Health:
        """Server reachability and version, pool statistics, and pending migrations."""
        stats = self.pool.get_stats()
        try:
            conn = self.checkout()
        except Unavailable as e:
            return Health(False, None, stats, None, str(e))
        try:
            version = self.exchange(conn, [SERVER_VERSION])
            try:
                applied: Rows | TenantdbError = self.exchange(conn, [APPLIED_MIGRATIONS])
            except TenantdbError as e:
                applied = e
        except ConnectionLost as lost:
            self.discard(conn)
            return Health(False, None, stats, None, str(lost.cause))
        except TenantdbError as e:
            self.checkin(conn)
            return Health(False, None, stats, None, str(e))
        self.checkin(conn)
        return health_of(version, applied, stats, self.settings)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Tx = Scope | Transaction  # what a sync domain function runs on


# --- shared with tenantdb.aio ----------------------------------------------------------------

SERVER_VERSION = Command(b"select current_setting('server_version')", ())
APPLIED_MIGRATIONS = Command(b"select migration_id from tenantdb_owner._yoyo_migration", ())


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
        "keepalives": 1,
        "keepalives_idle": settings.keepalives_idle,
        "keepalives_interval": settings.keepalives_interval,
        "keepalives_count": settings.keepalives_count,
        "tcp_user_timeout": settings.tcp_user_timeout_ms,
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


def _check(conn: Connection) -> None:
    """The pool's check at checkout: no round trip, only whether the server ended it."""
    if not alive(conn):
        conn.close()  # so that the pool replaces it
        raise psycopg.OperationalError("the server closed the connection")


def _check_with_ping(conn: Connection) -> None:
    _check(conn)
    ConnectionPool.check_connection(conn)
