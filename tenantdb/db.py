# Generated from tenantdb/aio.py by scripts/async_to_sync.py: edit that file instead.
"""The pool and tenant-scoped transactions, for threads: ``Database``.

``db.as_user(tenant_id, user_id)`` and ``db.as_tenant(tenant_id)`` return a scope
(``Scope``): it holds no connection. A domain function called on a scope runs as its own
transaction in one round trip: the context and the statement written in one flush on an
autocommit connection, so they form one implicit transaction that ends at the Sync.
``with scope.transaction() as tx:`` runs several statements in one transaction: BEGIN,
the context and the first statement in one flush, COMMIT at the end. A ``transaction()`` inside
another of the same scope is a savepoint, and a call on the scope inside it joins it. The
context is set with ``set_config(..., true)``: it ends with the transaction and never reaches
the next checkout.

Every decision lives in :mod:`tenantdb.scope` and every byte on the wire in
:mod:`tenantdb.protocol`; this module is the waiting.
Generated from the async engine, :mod:`tenantdb.aio`, by ``scripts/async_to_sync.py``.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from tenantdb import sync_io
from tenantdb.config import Settings
from tenantdb.connections import (
    APPLIED_MIGRATIONS,
    RESET_SESSION,
    SERVER_VERSION,
    WAIT_INTERVAL,
    Health,
    Params,
    RawStatement,
    connection_kwargs,
    health_of,
    load_settings,
    pool_kwargs,
)
from tenantdb.errors import SerializationFailure, TenantdbError, Unavailable, translate
from tenantdb.protocol import (
    STALE_PREPARED,
    Command,
    Connection,
    ConnectionLost,
    exchange,
    response_deadline,
)
from tenantdb.scope import (
    Isolation,
    ScopeIds,
    TransactionState,
    backoff,
    begin,
    check_committed,
    log,
    lost_connection,
    mark_closed,
    mark_open,
    open_transaction,
    raise_lost,
    uuid_of,
)
from tenantdb.statements import Rows, Runs, Statement

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Scope(ScopeIds, Runs):
    """A tenant and an acting user (or tenant-wide); each call on it is its own transaction."""

    database: "Database" = field(repr=False, kw_only=True)

    def transaction(
        self, *, isolation: Isolation | None = None, read_only: bool = False
    ) -> "Transaction":
        """Several statements in one transaction: ``with scope.transaction() as tx:``."""
        return Transaction(self, isolation=isolation, read_only=read_only)

    def run_transaction(
        self, work: Callable[["Transaction"], R], *,
        isolation: Isolation | None = None, read_only: bool = False, attempts: int = 5,
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
                sync_io.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` as its own transaction (or in this scope's open transaction)."""
        joined = open_transaction(self, sync_io.owner())
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
            except TenantdbError as e:
                self.database.checkin(conn)
                if attempt == 1 and e.sqlstate in STALE_PREPARED:
                    continue  # nothing ran; prepared again on the second attempt
                raise
            except BaseException:
                self.database.checkin(conn)
                raise
            self.database.checkin(conn)
            return statement.shape(rows)
        raise AssertionError("unreachable")


class Transaction(Runs):
    """One database transaction in a scope; commits on success, rolls back on any exception.

    Opened inside another transaction of the same scope, by the same thread of execution (an
    asyncio task, or a thread), it is a savepoint of that one: an exception undoes only its own
    work. A thread it starts does not share it.
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
        outer = open_transaction(self.scope, sync_io.owner())
        if outer is not None:
            if self._begin.sql != b"begin":
                raise ValueError("a nested transaction is a savepoint: it cannot set isolation"
                                 " or read_only")
            self._conn, self.state = outer._conn, outer.state
            self._savepoint = self.state.savepoint()
        else:
            self._conn = self.scope.database.checkout()
            context = self.scope.context(read_only=self._read_only)
            self.state = TransactionState(
                [self._begin, context], self._read_only, owner=sync_io.owner())
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
        query = self.scope.query_for(statement)
        return statement.shape(self._send(self.scope.command(query, statement.params)))

    def _send(self, command: Command) -> Rows:
        if self._conn is None:
            raise RuntimeError("use the transaction inside `with scope.transaction()`")
        if self.state.lost:
            raise Unavailable("the connection of this transaction was lost")
        try:
            return self.scope.database.exchange(self._conn, self.state.before(command))
        except ConnectionLost as lost:
            self.state.lost = True
            raise_lost(lost, writes=False)  # the transaction is gone: nothing committed
            raise

    def execute_raw(
        self, query: RawStatement, params: Params = None
    ) -> list[tuple[Any, ...]]:
        """Run literal SQL in this transaction (tests, one-off tools); its rows as tuples.

        Values go in ``params`` (``%s`` or ``%(name)s``), never into the string. The
        connection's session state is cleared before it returns to the pool.
        """
        if self._conn is None:
            raise RuntimeError("use the transaction inside `with scope.transaction()`")
        self._raw = True
        if self.state.pending:  # BEGIN and the context, or a savepoint
            self._send(Command(b"select 1", ()))
        try:
            cur = self._conn.execute(query, params)
            return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as e:
            raise translate(e) from e


class Database:
    """The pooled connection to a tenantdb database, as the runtime role ``tenantdb_app``."""

    def __init__(self, pool: ConnectionPool[Connection], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    def connect(cls, settings: Settings | None = None, /,
                      **overrides: Any) -> "Database":
        """Open the pool; ``overrides`` replace fields of ``settings`` (default: the environment).

        Waits up to ``connect_timeout`` for the server, retrying with exponential backoff; a
        wrong password or missing database fails at once.
        """
        settings = load_settings(settings, overrides)
        kwargs = connection_kwargs(settings)
        sync_io.wait_until_reachable(
            settings.database_url, kwargs, settings.connect_timeout)
        check = sync_io.check_with_ping if settings.check_connections else sync_io.check
        pool: ConnectionPool[Connection] = ConnectionPool(
            settings.database_url, connection_class=Connection, kwargs=kwargs,
            check=check, open=False, **pool_kwargs(settings),
        )
        try:
            pool.open(wait=True, timeout=settings.connect_timeout)
        except Exception as e:
            pool.close()
            raise translate(e) from e
        return cls(pool, settings)

    def as_user(self, tenant_id: UUID | str, user_id: UUID | str) -> Scope:
        """Act for one user of one tenant: user-private rows are that user's only."""
        return Scope(
            uuid_of(tenant_id, "tenant_id"), uuid_of(user_id, "user_id"), database=self)

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
        """Send ``batch`` in one flush on ``conn``; the rows of its last command."""
        settings = self.settings
        generator = exchange(conn, batch, prepare=settings.prepared_statements,
                             deadline=response_deadline(settings.response_timeout))
        return conn.wait(generator, interval=WAIT_INTERVAL)

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


Tx = Scope | Transaction  # what a domain function runs on
