"""The few primitives in which the async engine differs from the sync one (tenantdb.sync_io):
who owns a transaction, sleeping, waiting for the server, and the pool's checkout check."""

import asyncio
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from tenantdb.connections import wait_for_server
from tenantdb.protocol import AsyncConnection, alive


def owner() -> int:
    """Who a transaction belongs to: this task (a task it spawns never joins it)."""
    return id(asyncio.current_task())


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def wait_until_reachable(url: str, kwargs: dict[str, Any], timeout: float) -> None:
    await asyncio.to_thread(wait_for_server, url, kwargs, timeout)


async def check(conn: AsyncConnection) -> None:
    """The pool's check at checkout: no round trip, only whether the server ended it."""
    if not alive(conn):
        await conn.close()  # so that the pool replaces it
        raise psycopg.OperationalError("the server closed the connection")


async def check_with_ping(conn: AsyncConnection) -> None:
    await check(conn)
    await AsyncConnectionPool.check_connection(conn)
