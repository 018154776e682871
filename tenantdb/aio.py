"""The pool and tenant-scoped transactions, for asyncio: ``AsyncDatabase``.

``db.as_user(tenant_id, user_id)`` and ``db.as_tenant(tenant_id)`` return a scope
(``AsyncScope``): it holds no connection. A domain function called on a scope runs as its own
transaction in one round trip: the context and the statement written in one flush on an
autocommit connection, so they form one implicit transaction that ends at the Sync.
``async with scope.transaction() as tx:`` runs several statements in one transaction: BEGIN,
the context and the first statement in one flush, COMMIT at the end. A ``transaction()`` inside
another of the same scope is a savepoint, and a call on the scope inside it joins it. The
context is set with ``set_config(..., true)``: it ends with the transaction and never reaches
the next checkout.

Every decision lives in :mod:`tenantdb.scope` and every byte on the wire in
:mod:`tenantdb.protocol`; this module is the waiting.
The sync engine, :mod:`tenantdb.db`, is generated from this file by ``scripts/async_to_sync.py``.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from tenantdb import async_io
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
    AsyncConnection,
    Command,
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
class AsyncScope(ScopeIds, Runs):
    """A tenant and an acting user (or tenant-wide); each call on it is its own transaction."""

    database: "AsyncDatabase" = field(repr=False, kw_only=True)

    def transaction(
        self, *, isolation: Isolation | None = None, read_only: bool = False
    ) -> "AsyncTransaction":
        """Several statements in one transaction: ``async with scope.transaction() as tx:``."""
        return AsyncTransaction(self, isolation=isolation, read_only=read_only)

    async def run_transaction(
        self, work: Callable[["AsyncTransaction"], Awaitable[R]], *,
        isolation: Isolation | None = None, read_only: bool = False, attempts: int = 5,
    ) -> R:
        """``work(tx)`` in a transaction, run again (with backoff) when a concurrent transaction
        wins (:class:`SerializationFailure`), up to ``attempts`` times in all."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(isolation=isolation, read_only=read_only) as tx:
                    return await work(tx)
            except SerializationFailure:
                if attempt == attempts:
                    raise
                await async_io.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    async def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` as its own transaction (or in this scope's open transaction)."""
        joined = open_transaction(self, async_io.owner())
        if joined is not None:
            return await joined.execute(statement)  # type: ignore[no-any-return]
        query = self.query_for(statement)
        batch = (self.context(read_only=query.read_only), self.command(query, statement.params))
        for attempt in (1, 2):
            conn = await self.database.checkout()
            try:
                rows = await self.database.exchange(conn, batch)
            except ConnectionLost as lost:
                await self.database.discard(conn)
                lost_connection(lost, writes=not query.read_only, retry=attempt == 1)
                continue
            except TenantdbError as e:
                await self.database.checkin(conn)
                if attempt == 1 and e.sqlstate in STALE_PREPARED:
                    continue  # nothing ran; prepared again on the second attempt
                raise
            except BaseException:
                await self.database.checkin(conn)
                raise
            await self.database.checkin(conn)
            return statement.shape(rows)
        raise AssertionError("unreachable")


class AsyncTransaction(Runs):
    """One database transaction in a scope; commits on success, rolls back on any exception.

    Opened inside another transaction of the same scope, by the same thread of execution (an
    asyncio task, or a thread), it is a savepoint of that one: an exception undoes only its own
    work. A task or thread it starts does not share it.
    """

    def __init__(self, scope: AsyncScope, *, isolation: Isolation | None = None,
                 read_only: bool = False) -> None:
        self.scope = scope
        self._begin = begin(isolation, read_only)
        self._read_only = read_only
        self._conn: AsyncConnection | None = None
        self._savepoint: bytes | None = None
        self._token: Any = None
        self._raw = False

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this transaction is already open")
        outer = open_transaction(self.scope, async_io.owner())
        if outer is not None:
            if self._begin.sql != b"begin":
                raise ValueError("a nested transaction is a savepoint: it cannot set isolation"
                                 " or read_only")
            self._conn, self.state = outer._conn, outer.state
            self._savepoint = self.state.savepoint()
        else:
            self._conn = await self.scope.database.checkout()
            context = self.scope.context(read_only=self._read_only)
            self.state = TransactionState(
                [self._begin, context], self._read_only, owner=async_io.owner())
        self._token = mark_open(self.scope, self)
        return self

    async def __aexit__(
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
                rows = await database.exchange(conn, finish)
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
                await database.discard(conn)
            else:
                await database.checkin(conn, reset=self._raw)

    async def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` in this transaction."""
        query = self.scope.query_for(statement)
        return statement.shape(await self._send(self.scope.command(query, statement.params)))

    async def _send(self, command: Command) -> Rows:
        if self._conn is None:
            raise RuntimeError("use the transaction inside `async with scope.transaction()`")
        if self.state.lost:
            raise Unavailable("the connection of this transaction was lost")
        try:
            return await self.scope.database.exchange(self._conn, self.state.before(command))
        except ConnectionLost as lost:
            self.state.lost = True
            raise_lost(lost, writes=False)  # the transaction is gone: nothing committed
            raise

    async def execute_raw(
        self, query: RawStatement, params: Params = None
    ) -> list[tuple[Any, ...]]:
        """Run literal SQL in this transaction (tests, one-off tools); its rows as tuples.

        Values go in ``params`` (``%s`` or ``%(name)s``), never into the string. The
        connection's session state is cleared before it returns to the pool.
        """
        if self._conn is None:
            raise RuntimeError("use the transaction inside `async with scope.transaction()`")
        self._raw = True
        if self.state.pending:  # BEGIN and the context, or a savepoint
            await self._send(Command(b"select 1", ()))
        try:
            cur = await self._conn.execute(query, params)
            return await cur.fetchall() if cur.description is not None else []
        except psycopg.Error as e:
            raise translate(e) from e


class AsyncDatabase:
    """The pooled connection to a tenantdb database, as the runtime role ``tenantdb_app``."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, settings: Settings | None = None, /,
                      **overrides: Any) -> "AsyncDatabase":
        """Open the pool; ``overrides`` replace fields of ``settings`` (default: the environment).

        Waits up to ``connect_timeout`` for the server, retrying with exponential backoff; a
        wrong password or missing database fails at once.
        """
        settings = load_settings(settings, overrides)
        kwargs = connection_kwargs(settings)
        await async_io.wait_until_reachable(
            settings.database_url, kwargs, settings.connect_timeout)
        check = async_io.check_with_ping if settings.check_connections else async_io.check
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            settings.database_url, connection_class=AsyncConnection, kwargs=kwargs,
            check=check, open=False, **pool_kwargs(settings),
        )
        try:
            await pool.open(wait=True, timeout=settings.connect_timeout)
        except Exception as e:
            await pool.close()
            raise translate(e) from e
        return cls(pool, settings)

    def as_user(self, tenant_id: UUID | str, user_id: UUID | str) -> AsyncScope:
        """Act for one user of one tenant: user-private rows are that user's only."""
        return AsyncScope(
            uuid_of(tenant_id, "tenant_id"), uuid_of(user_id, "user_id"), database=self)

    def as_tenant(self, tenant_id: UUID | str) -> AsyncScope:
        """Tenant-wide service mode (background jobs, admin screens): every row of the tenant."""
        return AsyncScope(uuid_of(tenant_id, "tenant_id"), None, database=self)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection for the block: autocommit, no tenant context (so RLS shows no
        rows), its session reset before the next borrower gets it. For tools and tests."""
        conn = await self.checkout()
        try:
            yield conn
        finally:
            await self.checkin(conn, reset=True)

    async def checkout(self) -> AsyncConnection:
        """A pooled connection (autocommit, no context); give it back with :meth:`checkin`."""
        try:
            return await self.pool.getconn()
        except Exception as e:
            raise translate(e) from e

    async def checkin(self, conn: AsyncConnection, *, reset: bool = False) -> None:
        """Return a connection; ``reset`` first clears its session state (settings, role,
        prepared statements, ...)."""
        if reset and not conn.closed:
            try:
                await conn.execute(RESET_SESSION)
                conn.prepared.clear()
            except psycopg.Error:
                await conn.close()  # the pool replaces a closed connection
        await self.pool.putconn(conn)

    async def discard(self, conn: AsyncConnection) -> None:
        """Close a failed connection; the pool opens a new one. (Other connections the server
        ended are found at their checkout, without a round trip: see ``alive``.)"""
        await conn.close()
        await self.pool.putconn(conn)

    async def exchange(self, conn: AsyncConnection, batch: Sequence[Command]) -> Rows:
        """Send ``batch`` in one flush on ``conn``; the rows of its last command."""
        settings = self.settings
        generator = exchange(conn, batch, prepare=settings.prepared_statements,
                             deadline=response_deadline(settings.response_timeout))
        return await conn.wait(generator, interval=WAIT_INTERVAL)

    async def health(self) -> Health:
        """Server reachability and version, pool statistics, and pending migrations."""
        stats = self.pool.get_stats()
        try:
            conn = await self.checkout()
        except Unavailable as e:
            return Health(False, None, stats, None, str(e))
        try:
            version = await self.exchange(conn, [SERVER_VERSION])
            try:
                applied: Rows | TenantdbError = await self.exchange(conn, [APPLIED_MIGRATIONS])
            except TenantdbError as e:
                applied = e
        except ConnectionLost as lost:
            await self.discard(conn)
            return Health(False, None, stats, None, str(lost.cause))
        except TenantdbError as e:
            await self.checkin(conn)
            return Health(False, None, stats, None, str(e))
        await self.checkin(conn)
        return health_of(version, applied, stats, self.settings)

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


AsyncTx = AsyncScope | AsyncTransaction  # what a domain function runs on
