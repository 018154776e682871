"""The async engine behind the sync test API, so every domain test runs on both sides.

``BlockingDatabase`` wraps an :class:`~tenantdb.AsyncDatabase` whose event loop runs in a thread
of its own. Every coroutine is awaited *inside one long-lived task* of that loop, as an asyncio
application would await it: one task, one context, so transactions, savepoints and the
contextvar that joins calls to an open transaction behave as in a real service.
"""

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

from tenantdb import AsyncDatabase, AsyncScope, AsyncTransaction, Health, Isolation
from tenantdb.statements import Runs, Statement

R = TypeVar("R")
_Job = tuple[Coroutine[Any, Any, Any], Future[Any]]


class Loop:
    """An event loop in a thread, with one task that awaits submitted coroutines in turn."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._queue: asyncio.Queue[_Job | None] | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._worker(ready))

    async def _worker(self, ready: threading.Event) -> None:
        self._queue = asyncio.Queue()
        ready.set()
        while (job := await self._queue.get()) is not None:
            coro, future = job
            try:
                future.set_result(await coro)
            except BaseException as e:
                future.set_exception(e)

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        assert self._queue is not None
        future: Future[R] = Future()
        self.loop.call_soon_threadsafe(self._queue.put_nowait, (coro, future))
        return future.result()

    def close(self) -> None:
        assert self._queue is not None
        self.loop.call_soon_threadsafe(self._queue.put_nowait, None)
        self._thread.join()
        self.loop.close()


@dataclass(frozen=True)
class BlockingScope(Runs):
    scope: AsyncScope
    loop: Loop

    @property
    def tenant_id(self) -> UUID:
        return self.scope.tenant_id

    @property
    def user_id(self) -> UUID | None:
        return self.scope.user_id

    def execute(self, statement: Statement[R], /) -> R:
        return self.loop.run(self.scope.execute(statement))

    def transaction(self, *, isolation: Isolation | None = None,
                    read_only: bool = False) -> "BlockingTransaction":
        return BlockingTransaction(
            self.scope.transaction(isolation=isolation, read_only=read_only), self.loop)


class BlockingTransaction(Runs):
    def __init__(self, transaction: AsyncTransaction, loop: Loop) -> None:
        self.transaction = transaction
        self.loop = loop

    def __enter__(self) -> Self:
        self.loop.run(self.transaction.__aenter__())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.loop.run(self.transaction.__aexit__(exc_type, exc, tb))

    def execute(self, statement: Statement[R], /) -> R:
        return self.loop.run(self.transaction.execute(statement))

    def execute_raw(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
        return self.loop.run(self.transaction.execute_raw(query, params))


class BlockingDatabase:
    def __init__(self, database: AsyncDatabase, loop: Loop) -> None:
        self.database = database
        self.loop = loop
        self.settings = database.settings

    @classmethod
    def connect(cls, loop: Loop, **settings: Any) -> "BlockingDatabase":
        return cls(loop.run(AsyncDatabase.connect(**settings)), loop)

    def as_user(self, tenant_id: UUID | str, user_id: UUID | str) -> BlockingScope:
        return BlockingScope(self.database.as_user(tenant_id, user_id), self.loop)

    def as_tenant(self, tenant_id: UUID | str) -> BlockingScope:
        return BlockingScope(self.database.as_tenant(tenant_id), self.loop)

    def health(self) -> Health:
        return self.loop.run(self.database.health())

    def close(self) -> None:
        self.loop.run(self.database.close())
