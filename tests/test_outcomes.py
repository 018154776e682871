"""No outcome in doubt: lost answers, stalled servers and dead connections, on both sides.

A proxy (tests/faults.py) loses the server's answer after the server acted on the request, or
stalls open connections; an observer connection checks what really committed.
"""

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from blocking import BlockingDatabase, Loop
from conftest import AnyDatabase, Member
from faults import Proxy

from tenantdb import (
    ConfigurationError,
    Database,
    OutcomeUnknown,
    Unavailable,
    tasks,
)
from tenantdb.tasks import TaskCreate
from tenantdb.testing import MigratedDatabase

Connect = Callable[..., AnyDatabase]


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """Open a Database (or an AsyncDatabase) with the given settings; closed after the test."""
    opened: list[AnyDatabase] = []
    loop = Loop() if request.param == "async" else None

    def open_(**settings: Any) -> AnyDatabase:
        db: AnyDatabase = (BlockingDatabase.connect(loop, **settings) if loop
                           else Database.connect(**settings))
        opened.append(db)
        return db

    yield open_
    for db in opened:
        db.close()
    if loop:
        loop.close()


@pytest.fixture
def proxy(database: MigratedDatabase) -> Iterator[Proxy]:
    through = Proxy(database.app_url)
    yield through
    through.close()


@pytest.fixture
def via_proxy(connect: Connect, proxy: Proxy, database: MigratedDatabase) -> AnyDatabase:
    """A pool of one connection through the proxy, with short timeouts."""
    return connect(database_url=proxy.url("tenantdb_app", database.name), pool_min_size=1,
                   pool_max_size=1, statement_timeout_ms=500, response_timeout=1.0)


def test_a_write_whose_answer_is_lost_is_outcome_unknown_and_safe_to_retry(
    via_proxy: AnyDatabase, proxy: Proxy, alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    me = via_proxy.as_user(alice.tenant_id, alice.id)
    new = TaskCreate(id=uuid4(), title="exactly once")
    proxy.lose_next_answer()
    with pytest.raises(OutcomeUnknown):
        tasks.create_task(me, new)
    assert proxy.lost == 1
    assert committed_tasks(alice.tenant_id) == 1  # it did commit: the caller could not know
    again = tasks.create_task(me, new)  # the retry returns the task the first attempt made
    assert (again.id, again.title) == (new.id, "exactly once")
    assert committed_tasks(alice.tenant_id) == 1


def test_a_lost_commit_is_outcome_unknown(
    via_proxy: AnyDatabase, proxy: Proxy, alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    me = via_proxy.as_user(alice.tenant_id, alice.id)
    with pytest.raises(OutcomeUnknown), me.transaction() as tx:
        tasks.create_task(tx, TaskCreate(title="committed, unheard"))
        proxy.lose_next_answer()  # the COMMIT's answer
    assert committed_tasks(alice.tenant_id) == 1


def test_a_statement_lost_inside_a_transaction_is_unavailable_and_commits_nothing(
    via_proxy: AnyDatabase, proxy: Proxy, alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    me = via_proxy.as_user(alice.tenant_id, alice.id)
    with pytest.raises(Unavailable), me.transaction() as tx:
        proxy.lose_next_answer()
        tasks.create_task(tx, TaskCreate(title="never committed"))
    assert committed_tasks(alice.tenant_id) == 0
    assert tasks.list_tasks(me).items == []  # the pool replaced the connection


def test_a_read_whose_answer_is_lost_is_retried_once(
    via_proxy: AnyDatabase, proxy: Proxy, alice: Member, alice_task: tasks.Task
) -> None:
    me = via_proxy.as_user(alice.tenant_id, alice.id)
    proxy.lose_next_answer()
    assert tasks.get_task(me, alice_task.id) == alice_task
    assert proxy.lost == 1


def test_a_stalled_server_surfaces_as_an_error_not_a_hang(
    via_proxy: AnyDatabase, proxy: Proxy, alice: Member, alice_task: tasks.Task
) -> None:
    me = via_proxy.as_user(alice.tenant_id, alice.id)
    tasks.get_task(me, alice_task.id)  # the pool's connection is open
    proxy.stall()
    with pytest.raises(OutcomeUnknown):
        tasks.create_task(me, TaskCreate(title="stalled"))
    tasks.get_task(me, alice_task.id)  # a new connection is open
    proxy.stall()
    assert tasks.get_task(me, alice_task.id) == alice_task  # a read: retried on a new connection


def test_terminated_connections_fail_no_caller(
    connect: Connect, database: MigratedDatabase, observer: psycopg.Connection[Any],
    alice: Member,
) -> None:
    name = f"td-{uuid4().hex[:8]}"
    db = connect(database_url=database.app_url, pool_min_size=4, pool_max_size=4,
                 application_name=name)
    me = db.as_user(alice.tenant_id, alice.id)
    for _ in range(8):
        tasks.list_tasks(me)
    killed = observer.execute(  # waits (up to 10 s) until each has exited, its FATAL sent
        "select count(*) filter (where pg_terminate_backend(pid, 10000)) from pg_stat_activity"
        " where application_name = %s", [name]).fetchone()
    assert killed == (4,)
    for _ in range(8):
        assert tasks.list_tasks(me).items == []


def test_pool_min_above_max_is_a_configuration_error(database: MigratedDatabase) -> None:
    with pytest.raises(ConfigurationError, match="pool_min_size"):
        Database.connect(database_url=database.app_url, pool_min_size=5, pool_max_size=2)


def test_a_lent_connection_is_reset_for_the_next_borrower(database: MigratedDatabase,
                                                          alice: Member) -> None:
    with Database.connect(database_url=database.app_url, pool_min_size=1,
                          pool_max_size=1) as single:
        with single.connection() as conn:
            conn.execute("select set_config('app.tenant_id', %s, false)", [str(alice.tenant_id)])
            conn.execute("prepare mine as select 1")
            conn.execute("set role none")
        with single.connection() as conn:
            assert conn.execute("select current_setting('app.tenant_id', true)").fetchone() in (
                (None,), ("",))
            assert conn.execute("select count(*) from pg_prepared_statements").fetchone() == (0,)
        me = single.as_user(alice.tenant_id, alice.id)
        assert tasks.list_tasks(me).items == []  # tenantdb's own statements prepare again
