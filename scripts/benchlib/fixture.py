"""What scenarios build their operations from: the run's database and users (:class:`Bench`),
and per scenario, connections opened on first use and closed when it ends (:class:`Fixture`)."""

import asyncio
import inspect
import threading
from collections.abc import Coroutine
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

import psycopg

import tenantdb
from benchlib.population import Population
from benchlib.registry import NotAvailable
from tenantdb import Database
from tenantdb.testing import MigratedDatabase, SeededUser, middle_task

T = TypeVar("T")
Connection = psycopg.Connection[Any]

SESSION_CONTEXT = (
    "select set_config('app.tenant_id', %s, false), set_config('app.user_id', %s, false)"
)
NO_ASYNC = "not available in this version (no tenantdb.AsyncDatabase)"
NO_SQLALCHEMY = "SQLAlchemy not installed: pip install '.[bench]'"


class AsyncLoop:
    """One event loop in a thread of its own, for every async variant of the run (an
    AsyncDatabase's pool belongs to the loop that opened it)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


async def resolved(value: Any) -> Any:
    """``value``, awaited if it is awaitable (so a sync close() or connect() works too)."""
    return await value if inspect.isawaitable(value) else value


@dataclass
class Bench:
    """The run: the database (``direct`` URLs for set-up; ``measured`` ones go through the
    delay proxy when there is one), its seeded users, and the async loop."""

    direct: MigratedDatabase
    measured: MigratedDatabase
    population: Population
    seconds: float
    warmup: float
    rounds: int
    loop: AsyncLoop = field(default_factory=AsyncLoop)
    _middles: dict[str, tuple[UUID, datetime]] = field(default_factory=dict)

    def middle(self, role: str) -> tuple[UUID, datetime]:
        """The task halfway down a seeded user's list (a deep page starts there)."""
        if role not in self._middles:
            self._middles[role] = middle_task(self.direct.superuser_url, self.population[role])
        return self._middles[role]


class Fixture:
    """One scenario's view of the run; what it opens closes with ``stack`` (the scenario)."""

    def __init__(self, bench: Bench, stack: ExitStack) -> None:
        self.bench = bench
        self.stack = stack
        self._cache: dict[str, Any] = {}

    def user(self, role: str = "everyday") -> SeededUser:
        return self.bench.population[role]

    def scope_args(self, role: str = "everyday") -> dict[str, UUID]:
        """The ids a scope passes to every query (the policies still enforce them)."""
        user = self.user(role)
        return {"tenant_id": user.tenant_id, "user_id": user.user_id}

    def database(
        self, stack: ExitStack | None = None, *, pool: int = 2, prepared: bool = True
    ) -> Database:
        """A new :class:`Database` as ``tenantdb_app``, closed with ``stack``."""
        db = Database.connect(
            database_url=self.bench.measured.app_url, pool_min_size=pool, pool_max_size=pool,
            prepared_statements=prepared,
        )
        (stack or self.stack).callback(db.close)
        return db

    def db(self) -> Database:
        """The scenario's shared :class:`Database` (a pool of 2)."""
        if "db" not in self._cache:
            self._cache["db"] = self.database()
        return cast(Database, self._cache["db"])

    def async_database(
        self, stack: ExitStack | None = None, *, pool: int = 2, prepared: bool = True
    ) -> Any:
        """A new ``tenantdb.AsyncDatabase``, on the run's loop; :class:`NotAvailable` before it
        exists."""
        cls = getattr(tenantdb, "AsyncDatabase", None)
        if cls is None:
            raise NotAvailable(NO_ASYNC)
        db = self.bench.loop.run(resolved(cls.connect(
            database_url=self.bench.measured.app_url, pool_min_size=pool, pool_max_size=pool,
            prepared_statements=prepared,
        )))
        (stack or self.stack).callback(lambda: self.bench.loop.run(resolved(db.close())))
        return db

    def async_db(self) -> Any:
        if "async_db" not in self._cache:
            self._cache["async_db"] = self.async_database()
        return self._cache["async_db"]

    def held(self, role: str = "everyday") -> Connection:
        """A connection as ``tenantdb_app`` whose context was set once, for the session: the
        raw baseline, with no pool and no per-call context."""
        key = f"held:{role}"
        if key not in self._cache:
            conn = self.connect(self.bench.measured.app_url)
            user = self.user(role)
            conn.execute(SESSION_CONTEXT, [str(user.tenant_id), str(user.user_id)])
            self._cache[key] = conn
        return cast(Connection, self._cache[key])

    def superuser(self) -> Connection:
        """A connection as the superuser: row-level security does not bind it."""
        if "superuser" not in self._cache:
            self._cache["superuser"] = self.connect(self.bench.measured.superuser_url)
        return cast(Connection, self._cache["superuser"])

    def connect(self, url: str, stack: ExitStack | None = None) -> Connection:
        conn = psycopg.connect(url, autocommit=True)
        (stack or self.stack).callback(conn.close)
        return conn

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy 2 engine as ``tenantdb_app`` (its default pool); :class:`NotAvailable`
        without SQLAlchemy."""
        if "engine" not in self._cache:
            try:
                import sqlalchemy
            except ImportError:
                raise NotAvailable(NO_SQLALCHEMY) from None
            url = self.bench.measured.app_url
            engine = sqlalchemy.create_engine(
                "postgresql+psycopg://", creator=lambda: psycopg.connect(url)
            )
            self.stack.callback(engine.dispose)
            self._cache["engine"] = engine
        return self._cache["engine"]
