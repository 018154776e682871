"""Row-level security for tasks, tenants and users, proven as the runtime role tenantdb_app."""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from conftest import Member

from tenantdb import (
    AccessDenied,
    Database,
    NoActingUser,
    NoTenantContext,
    NotFound,
    tasks,
    tenants,
)
from tenantdb.tasks import TaskCreate, TaskUpdate
from tenantdb.testing import MigratedDatabase

ReadTask = Callable[[UUID], tuple[Any, ...] | None]


def test_runtime_role_is_not_privileged(sync_db: Database) -> None:
    with sync_db.connection() as conn:
        row = conn.execute(
            "select current_user, rolsuper, rolbypassrls, pg_has_role('tenantdb_owner', 'usage')"
            "  from pg_roles where rolname = current_user"
        ).fetchone()
    assert row == ("tenantdb_app", False, False, False)


def test_stranger_sees_nothing(alice_task: tasks.Task, bob: Member) -> None:
    with pytest.raises(NotFound):
        tasks.get_task(bob.scope, alice_task.id)
    assert tasks.list_tasks(bob.scope).items == []
    with bob.scope.transaction() as tx:
        assert tx.execute_raw("select count(*) from tenantdb.tasks where id = %s",
                              [alice_task.id]) == [(0,)]


def test_stranger_cannot_update_or_delete(
    alice_task: tasks.Task, bob: Member, committed_task: ReadTask
) -> None:
    before = committed_task(alice_task.id)
    with pytest.raises(NotFound):
        tasks.update_task(bob.scope, alice_task.id, TaskUpdate(title="pwned"))
    with pytest.raises(NotFound):
        tasks.delete_task(bob.scope, alice_task.id)
    with bob.scope.transaction() as tx:  # even without the query functions
        assert tx.execute_raw("update tenantdb.tasks set completed = true where id = %s",
                              [alice_task.id]) == []
        assert tx.execute_raw("delete from tenantdb.tasks where id = %s returning id",
                              [alice_task.id]) == []
    assert committed_task(alice_task.id) == before


def test_stranger_cannot_insert_into_another_tenant(
    alice: Member, bob: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    with pytest.raises(AccessDenied) as refused, bob.scope.transaction() as tx:
        tx.execute_raw(
            "insert into tenantdb.tasks (tenant_id, user_id, title) values (%s, %s, 'x')",
            [alice.tenant_id, alice.id],
        )
    assert refused.value.sqlstate == "42501"
    assert committed_tasks(alice.tenant_id) == 0


def test_row_cannot_be_moved_to_another_tenant(alice_task: tasks.Task, alice: Member,
                                               bob: Member) -> None:
    with pytest.raises(AccessDenied), alice.scope.transaction() as tx:
        tx.execute_raw("update tenantdb.tasks set tenant_id = %s where id = %s",
                       [bob.tenant_id, alice_task.id])


def test_colleague_cannot_see_or_change_a_users_tasks(
    alice_task: tasks.Task, colleague: Member, committed_task: ReadTask
) -> None:
    before = committed_task(alice_task.id)
    with pytest.raises(NotFound):
        tasks.get_task(colleague.scope, alice_task.id)
    with pytest.raises(NotFound):
        tasks.complete_task(colleague.scope, alice_task.id)
    with pytest.raises(NotFound):
        tasks.delete_task(colleague.scope, alice_task.id)
    assert tasks.list_tasks(colleague.scope).items == []
    assert committed_task(alice_task.id) == before


def test_user_cannot_create_a_task_for_a_colleague(alice: Member, colleague: Member) -> None:
    with pytest.raises(AccessDenied), colleague.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (user_id, title) values (%s, 'x')", [alice.id])


def test_tenant_wide_mode_sees_every_users_tasks(
    db: Database, alice_task: tasks.Task, colleague: Member, bob: Member
) -> None:
    theirs = tasks.create_task(colleague.scope, TaskCreate(title="Carl's"))
    tasks.create_task(bob.scope, TaskCreate(title="Bob's"))
    service = db.as_tenant(colleague.tenant_id)
    assert tasks.get_task(service, alice_task.id) == alice_task
    with service.transaction() as tx:
        rows = tx.execute_raw("select id from tenantdb.tasks")
    assert sorted(r[0] for r in rows) == sorted([alice_task.id, theirs.id])


def test_tenant_wide_mode_is_not_an_acting_user(db: Database, alice: Member) -> None:
    service = db.as_tenant(alice.tenant_id)
    with pytest.raises(NoActingUser):
        tasks.create_task(service, TaskCreate(title="whose?"))


def test_tenant_wide_mode_lists_every_users_tasks(
    db: Database, alice_task: tasks.Task, colleague: Member, bob: Member
) -> None:
    theirs = tasks.create_task(colleague.scope, TaskCreate(title="Carl's"))
    tasks.create_task(bob.scope, TaskCreate(title="Bob's"))
    tasks.complete_task(colleague.scope, theirs.id)
    service = db.as_tenant(colleague.tenant_id)
    assert [t.id for t in tasks.list_tasks(service).items] == [theirs.id, alice_task.id]
    assert [t.id for t in tasks.list_tasks(service, completed=True).items] == [theirs.id]
    assert tasks.list_tasks(db.as_tenant(uuid4())).items == []


def test_no_context_reads_nothing_and_writes_nothing(
    database: MigratedDatabase, alice_task: tasks.Task, alice: Member,
    committed_tasks: Callable[[UUID], int],
) -> None:
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for table in ("tasks", "users", "tenants"):
            with pytest.raises(psycopg.Error) as read:
                conn.execute(f"select count(*) from tenantdb.{table}")
            # no tenant, or no user: whichever the plan evaluates first; both NoTenantContext
            assert read.value.sqlstate in ("TD000", "TD001")
        with pytest.raises(psycopg.Error) as write:
            conn.execute(
                "insert into tenantdb.tasks (tenant_id, user_id, title) values (%s, %s, 'x')",
                [alice.tenant_id, alice.id],
            )
        assert write.value.sqlstate == "TD000"
    assert committed_tasks(alice.tenant_id) == 1


def test_missing_context_maps_to_no_tenant_context(sync_db: Database,
                                                    alice_task: tasks.Task) -> None:
    from tenantdb.errors import translate

    with sync_db.connection() as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute("select count(*) from tenantdb.tasks")
    assert isinstance(translate(raised.value), NoTenantContext)


def test_empty_user_setting_is_not_tenant_wide(database: MigratedDatabase,
                                                alice_task: tasks.Task, alice: Member) -> None:
    with psycopg.connect(database.app_url) as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute("select set_config('app.tenant_id', %s, true),"
                     " set_config('app.user_id', '', true)", [str(alice.tenant_id)])
        conn.execute("select count(*) from tenantdb.tasks").fetchone()
    assert raised.value.sqlstate == "TD001"


def test_context_does_not_outlive_the_transaction(database: MigratedDatabase,
                                                  alice: Member) -> None:
    with Database.connect(database_url=database.app_url, pool_min_size=1,
                          pool_max_size=1) as single:
        scope = single.as_user(alice.tenant_id, alice.id)
        tasks.list_tasks(scope)  # one-shot
        with scope.transaction() as tx:
            tasks.list_tasks(tx)
        with pytest.raises(RuntimeError), scope.transaction() as tx:  # rolled back
            tasks.list_tasks(tx)
            raise RuntimeError
        with single.connection() as conn:  # the same, only connection
            settings = conn.execute("select current_setting('app.tenant_id', true),"
                                    " current_setting('app.user_id', true)").fetchone()
    assert settings is not None
    assert all(value in (None, "") for value in settings)


def test_session_state_set_by_raw_sql_is_reset(database: MigratedDatabase,
                                               alice: Member) -> None:
    with Database.connect(database_url=database.app_url, pool_min_size=1,
                          pool_max_size=1) as single:
        with single.as_user(alice.tenant_id, alice.id).transaction() as tx:
            tx.execute_raw("select set_config('app.tenant_id', %s, false)", [str(uuid4())])
        with single.connection() as conn:
            leaked = conn.execute("select current_setting('app.tenant_id', true)").fetchone()
    assert leaked in ((None,), ("",))


def test_tenant_sees_only_itself(alice: Member, bob: Member) -> None:
    with alice.scope.transaction() as tx:
        assert tx.execute_raw("select id from tenantdb.tenants") == [(alice.tenant_id,)]
    assert tenants.get_tenant(bob.scope).id == bob.tenant_id


def test_users_are_visible_within_their_tenant_only(alice: Member, colleague: Member,
                                                    bob: Member) -> None:
    assert tenants.get_user(colleague.scope, alice.id).id == alice.id
    with pytest.raises(NotFound):
        tenants.get_user(bob.scope, alice.id)


def test_provisioning_cannot_touch_existing_tenants(db: Database, alice: Member) -> None:
    """A tenant row can only be written for the tenant of the context."""
    with pytest.raises(AccessDenied), db.as_tenant(uuid4()).transaction() as tx:
        tx.execute_raw("insert into tenantdb.tenants (id, name) values (%s, 'x')", [uuid4()])
    with db.as_tenant(uuid4()).transaction() as tx:
        assert tx.execute_raw("update tenantdb.tenants set name = 'x' where id = %s returning id",
                              [alice.tenant_id]) == []
