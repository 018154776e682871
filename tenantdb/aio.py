"""The async twin of :mod:`tenantdb.db`: ``AsyncDatabase`` over psycopg's ``AsyncConnectionPool``.

The same settings, scopes, transactions, errors and one-flush transport; every decision lives in
:mod:`tenantdb.scope` and every byte on the wire in :mod:`tenantdb.protocol`, shared with the
sync side, so this module is only the waiting. Domain functions are the same objects::

    db = await AsyncDatabase.connect()
    me = db.as_user(tenant_id, user_id)
    task = await tasks.create_task(me, TaskCreate(title="Ship it"))
    async with me.transaction() as tx:
        await tasks.complete_task(tx, task.id)
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from tenantdb.config import Settings
from tenantdb.db import (
    _WAIT_INTERVAL,
    APPLIED_MIGRATIONS,
    RESET_SESSION,
    SERVER_VERSION,
    Health,
    Params,
    RawStatement,
    connection_kwargs,
    health_of,
    load_settings,
    pool_kwargs,
    wait_for_server,
)
from tenantdb.errors import SerializationFailure, TenantdbError, Unavailable, translate
from tenantdb.protocol import AsyncConnection, Command, ConnectionLost, alive, exchange
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


def _owner() -> int:
    """The task a transaction belongs to (a task it spawns does not share it)."""
    return id(asyncio.current_task())


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
        """``await work(tx)`` in a transaction, run again (with backoff) when a concurrent
        transaction wins (:class:`SerializationFailure`), up to ``attempts`` times in all."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(isolation=isolation, read_only=read_only) as tx:
                    return await work(tx)
            except SerializationFailure:
                if attempt == attempts:
                    raise
                await asyncio.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    async def execute(self, statement: Statement[R], /) -> R:
        """Run ``statement`` as its own transaction (or in this scope's open transaction)."""
        joined = open_transaction(self, _owner())
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
            except BaseException:
                await self.database.checkin(conn)
                raise
            await self.database.checkin(conn)
            return statement.shape(rows)
        raise AssertionError("unreachable")


class AsyncTransaction(Runs):
    """One database transaction in a scope; commits on success, rolls back on any exception.

    Opened inside another transaction of the same scope (in the same task), it is a savepoint
    of that one: an exception undoes only its own work.
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
        outer = open_transaction(self.scope, _owner())
        if outer is not None:
            if self._begin.sql != b"begin":
                raise ValueError("a nested transaction is a savepoint: it cannot set isolation"
                                 " or read_only")
            self._conn, self.state = outer._conn, outer.state
            self._savepoint = self.state.savepoint()
        else:
            self._conn = await self.scope.database.checkout()
            context = self.scope.context(read_only=self._read_only)
            self.state = TransactionState([self._begin, context], self._read_only, owner=_owner())
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
        rows = await self._send(self.scope.command(
            self.scope.query_for(statement), statement.params))
        return statement.shape(rows)

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
        """Run literal SQL in this transaction (tests, one-off tools); its rows as tuples."""
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
    """The pooled connection to a tenantdb database, as ``tenantdb_app``, for asyncio."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, settings: Settings | None = None, /,
                      **overrides: Any) -> "AsyncDatabase":
        """Open the pool; as :meth:`tenantdb.Database.connect`."""
        settings = load_settings(settings, overrides)
        kwargs = connection_kwargs(settings)
        await asyncio.to_thread(
            wait_for_server, settings.database_url, kwargs, settings.connect_timeout)
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            settings.database_url, connection_class=AsyncConnection, kwargs=kwargs,
            check=_check_with_ping if settings.check_connections else _check, open=False,
            **pool_kwargs(settings),
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
        """A pooled connection for the block, its session reset afterwards (tools, tests)."""
        conn = await self.checkout()
        try:
            yield conn
        finally:
            await self.checkin(conn, reset=True)

    async def checkout(self) -> AsyncConnection:
        try:
            return await self.pool.getconn()
        except Exception as e:
            raise translate(e) from e

    async def checkin(self, conn: AsyncConnection, *, reset: bool = False) -> None:
        if reset and not conn.closed:
            try:
                await conn.execute(RESET_SESSION)
                conn.prepared.clear()
            except psycopg.Error:
                await conn.close()
        await self.pool.putconn(conn)

    async def discard(self, conn: AsyncConnection) -> None:
        """Close a failed connection; the pool opens a new one."""
        await conn.close()
        await self.pool.putconn(conn)

    async def exchange(self, conn: AsyncConnection, batch: Sequence[Command]) -> Rows:
        """Send ``batch`` in one flush on ``conn``; the rows of each command."""
        settings = self.settings
        deadline = time.monotonic() + settings.response_timeout
        generator = exchange(conn, batch, prepare=settings.prepared_statements, deadline=deadline)
        return await conn.wait(generator, interval=_WAIT_INTERVAL)

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


AsyncTx = AsyncScope | AsyncTransaction  # what an async domain function runs on


async def _check(conn: AsyncConnection) -> None:
    """The pool's check at checkout: no round trip, only whether the server ended it."""
    if not alive(conn):
        await conn.close()  # so that the pool replaces it
        raise psycopg.OperationalError("the server closed the connection")


async def _check_with_ping(conn: AsyncConnection) -> None:
    await _check(conn)
    await AsyncConnectionPool.check_connection(conn)
