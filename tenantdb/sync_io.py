"""The few primitives in which the sync engine differs from the async one (tenantdb.async_io):
who owns a transaction, sleeping, waiting for the server, and the pool's checkout check."""

import threading
import time
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from tenantdb.connections import wait_for_server
from tenantdb.protocol import Connection, alive


def owner() -> int:
    """Who a transaction belongs to: this thread (another thread never joins it)."""
    return threading.get_ident()


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def wait_until_reachable(url: str, kwargs: dict[str, Any], timeout: float) -> None:
    wait_for_server(url, kwargs, timeout)


def check(conn: Connection) -> None:
    """The pool's check at checkout: no round trip, only whether the server ended it."""
    if not alive(conn):
        conn.close()  # so that the pool replaces it
        raise psycopg.OperationalError("the server closed the connection")


def check_with_ping(conn: Connection) -> None:
    check(conn)
    ConnectionPool.check_connection(conn)
