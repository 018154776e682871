"""Transactions, complete: nesting is a savepoint, calls on the scope join the open transaction,
isolation and read-only, retries of serialization failures, swallowed errors never commit."""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from conftest import AnyDatabase, Member

from tenantdb import (
    AsyncDatabase,
    AsyncTransaction,
    Database,
    DatabaseError,
    Isolation,
    NotFound,
    SerializationFailure,
    TenantdbError,
    Transaction,
    tasks,
    tenants,
)
from tenantdb.tasks import TaskCreate, TaskUpdate
from tenantdb.tenants import TenantCreate, UserCreate
from tenantdb.testing import MigratedDatabase

ReadTask = Callable[[UUID], tuple[Any, ...] | None]


def test_nested_transaction_is_a_savepoint(alice: Member, committed_task: ReadTask) -> None:
    kept = uuid4()
    undone = uuid4()
    with alice.scope.transaction() as outer:
        tasks.create_task(outer, TaskCreate(id=kept, title="outer"))
        with pytest.raises(RuntimeError), alice.scope.transaction() as inner:
            tasks.create_task(inner, TaskCreate(id=undone, title="inner"))
            raise RuntimeError("undo the inner block only")
        assert tasks.get_task(outer, kept).title == "outer"
        with pytest.raises(NotFound):
            tasks.get_task(outer, undone)
    assert committed_task(kept) is not None
    assert committed_task(undone) is None


def test_an_inner_commit_is_undone_by_the_outer_rollback(
    alice: Member, committed_task: ReadTask
) -> None:
    inner_id = uuid4()
    with pytest.raises(RuntimeError), alice.scope.transaction():
        with alice.scope.transaction() as inner:
            tasks.create_task(inner, TaskCreate(id=inner_id, title="inner"))
        raise RuntimeError("roll back everything")
    assert committed_task(inner_id) is None


def test_a_call_on_the_scope_joins_its_open_transaction(
    alice: Member, committed_task: ReadTask
) -> None:
    joined = uuid4()
    with pytest.raises(RuntimeError), alice.scope.transaction():
        tasks.create_task(alice.scope, TaskCreate(id=joined, title="joins the transaction"))
        raise RuntimeError
    assert committed_task(joined) is None


def test_a_failed_statement_in_a_savepoint_leaves_the_outer_transaction_usable(
    alice: Member, alice_task: tasks.Task, committed_task: ReadTask
) -> None:
    with alice.scope.transaction() as outer:
        with pytest.raises(NotFound), alice.scope.transaction() as inner:
            tasks.update_task(inner, alice_task.id, TaskUpdate(title="renamed"))
            tasks.get_task(inner, uuid4())
        tasks.complete_task(outer, alice_task.id)
    row = committed_task(alice_task.id)
    assert row is not None
    assert (row[2], row[4]) == ("Alice's task", True)  # the savepoint's rename is undone


def test_a_swallowed_error_never_commits(alice: Member, committed_task: ReadTask) -> None:
    made = uuid4()
    with pytest.raises(DatabaseError, match="rolled back"), alice.scope.transaction() as tx:
        tasks.create_task(tx, TaskCreate(id=made, title="lost with the transaction"))
        with contextlib.suppress(TenantdbError):  # the point: a caller swallows the error
            tx.execute_raw("select 1 / 0")
    assert committed_task(made) is None


def test_nested_transactions_cannot_change_isolation(alice: Member) -> None:
    with alice.scope.transaction(), pytest.raises(ValueError, match="savepoint"), \
            alice.scope.transaction(read_only=True):
        pass


@pytest.mark.parametrize("isolation", list(Isolation))
def test_isolation_level_and_read_only(alice: Member, isolation: Isolation) -> None:
    with alice.scope.transaction(isolation=isolation, read_only=True) as tx:
        assert tx.execute_raw("select current_setting('transaction_isolation'),"
                              " current_setting('transaction_read_only')") == [
            (isolation.value, "on")]
    with pytest.raises(DatabaseError) as refused, alice.scope.transaction(read_only=True) as tx:
        tasks.create_task(tx, TaskCreate(title="no"))
    assert refused.value.sqlstate == "25006"  # read_only_sql_transaction


def test_one_shot_reads_run_read_only(alice: Member) -> None:
    """A read-only one-shot call is retried after a lost connection, so the server enforces
    that it really is read-only."""
    with alice.scope.transaction() as tx:
        assert tx.execute_raw("select current_setting('transaction_read_only')") == [("off",)]


def _conflicting_update(database: MigratedDatabase, task_id: UUID) -> None:
    with psycopg.connect(database.superuser_url, autocommit=True) as other:
        other.execute("update tenantdb.tasks set description = description || '+' where id = %s",
                      [task_id])


def test_run_transaction_retries_serialization_failures(
    database: MigratedDatabase, sync_db: Database, alice: Member, alice_task: tasks.Task,
    committed_task: ReadTask,
) -> None:
    scope = sync_db.as_user(alice.tenant_id, alice.id)
    attempts = []

    def work(tx: Transaction) -> tasks.Task:
        attempts.append(tasks.get_task(tx, alice_task.id))  # takes the snapshot
        if len(attempts) == 1:
            _conflicting_update(database, alice_task.id)  # a concurrent transaction wins
        return tasks.update_task(tx, alice_task.id, TaskUpdate(title="retried"))

    done = scope.run_transaction(work, isolation=Isolation.REPEATABLE_READ)
    assert len(attempts) == 2
    assert done.title == "retried"
    row = committed_task(alice_task.id)
    assert row is not None
    assert (row[2], row[3]) == ("retried", "d+")


def test_run_transaction_gives_up_after_its_attempts(
    database: MigratedDatabase, sync_db: Database, alice: Member, alice_task: tasks.Task
) -> None:
    scope = sync_db.as_user(alice.tenant_id, alice.id)
    calls = []

    def work(tx: Transaction) -> None:
        calls.append(tasks.get_task(tx, alice_task.id))
        _conflicting_update(database, alice_task.id)
        tasks.complete_task(tx, alice_task.id)

    with pytest.raises(SerializationFailure):
        scope.run_transaction(work, isolation=Isolation.REPEATABLE_READ, attempts=3)
    assert len(calls) == 3


def test_provision_tenant_inside_a_transaction(db: AnyDatabase) -> None:
    tenant_id = uuid4()
    with pytest.raises(RuntimeError), db.as_tenant(tenant_id).transaction() as tx:
        made = tenants.provision_tenant(tx, TenantCreate(
            name="Initech", owner=UserCreate(email="p@initech.test", display_name="Peter")))
        assert tenants.get_tenant(tx).id == tenant_id
        assert tenants.get_user(tx, made.user.id).email == "p@initech.test"
        raise RuntimeError("abandon the new tenant")
    with pytest.raises(NotFound):
        tenants.get_tenant(db.as_tenant(tenant_id))


# --- native asyncio: child tasks never share their parent's transaction ------------------------

async def test_async_transaction_and_child_tasks(database: MigratedDatabase,
                                                 alice: Member) -> None:
    async with await AsyncDatabase.connect(database_url=database.app_url,
                                           pool_min_size=2) as adb:
        me = adb.as_user(alice.tenant_id, alice.id)
        async with me.transaction() as tx:
            mine = await tasks.create_task(tx, TaskCreate(title="uncommitted"))
            # gathered calls run in child tasks: each is its own one-shot transaction and
            # cannot see the parent's uncommitted row (nor share its connection)
            seen = await asyncio.gather(*(tasks.list_tasks(me) for _ in range(3)))
            assert all(mine.id not in [t.id for t in page.items] for page in seen)
            assert (await tasks.get_task(me, mine.id)).id == mine.id  # same task: joins

        async def work(tx: AsyncTransaction) -> int:
            return len((await tasks.list_tasks(tx)).items)

        assert await me.run_transaction(work, read_only=True) >= 1
