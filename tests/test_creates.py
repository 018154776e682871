"""Creates are safe to retry: with a client-supplied id, a second create returns the row the first
made and writes nothing; an id taken by a row the caller cannot see is a Conflict. The batch
create writes many rows in one statement, in order, under the same rules."""

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest
from conftest import AnyDatabase, Member

from tenantdb import Conflict, ValidationError, tasks, tenants
from tenantdb.tasks import TaskCreate
from tenantdb.tenants import TenantCreate, UserCreate


def test_a_repeated_create_returns_the_first_row(
    alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    new = TaskCreate(id=uuid4(), title="once")
    first = tasks.create_task(alice.scope, new)
    tasks.complete_task(alice.scope, first.id)
    again = tasks.create_task(alice.scope, new)
    assert (again.id, again.created_at, again.completed) == (first.id, first.created_at, True)
    assert committed_tasks(alice.tenant_id) == 1


def test_an_id_taken_by_a_row_out_of_sight_is_a_conflict(
    alice: Member, colleague: Member, bob: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    mine = tasks.create_task(alice.scope, TaskCreate(id=uuid4(), title="alice's"))
    with pytest.raises(Conflict):  # the colleague cannot see alice's task
        tasks.create_task(colleague.scope, TaskCreate(id=mine.id, title="carl's"))
    theirs = tasks.create_task(bob.scope, TaskCreate(id=mine.id, title="bob's"))  # keys are
    assert theirs.title == "bob's"  # per tenant: another tenant may use the same id
    assert committed_tasks(alice.tenant_id) == 1


def test_users_and_tenants_are_created_once(db: AnyDatabase) -> None:
    tenant_id = uuid4()
    new = TenantCreate(name="Once", owner=UserCreate(email="o@once.test", display_name="O"))
    first = tenants.provision_tenant(db.as_tenant(tenant_id), new)
    assert tenants.provision_tenant(db.as_tenant(tenant_id), new) == first
    scope = db.as_user(tenant_id, first.user.id)
    colleague = UserCreate(id=uuid4(), email="c@once.test", display_name="C")
    assert tenants.create_user(scope, colleague) == tenants.create_user(scope, colleague)


def test_a_batch_is_one_statement_in_order_and_safe_to_retry(
    alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    given = [TaskCreate(id=uuid4() if i % 2 else None, title=f"task {i}") for i in range(300)]
    made = tasks.create_tasks(alice.scope, given)
    assert [t.title for t in made] == [f"task {i}" for i in range(300)]
    assert all(t.id == g.id for t, g in zip(made, given, strict=True) if g.id)
    with_ids = [g for g in given if g.id]
    again = tasks.create_tasks(alice.scope, with_ids)
    assert again == [t for t in made if t.id in {g.id for g in with_ids}]
    assert committed_tasks(alice.tenant_id) == 300


def test_a_failed_batch_writes_nothing(alice: Member, colleague: Member,
                                       committed_tasks: Callable[[UUID], int]) -> None:
    taken = tasks.create_task(colleague.scope, TaskCreate(id=uuid4(), title="carl's"))
    with pytest.raises(Conflict):
        tasks.create_tasks(alice.scope, [TaskCreate(title="a"), TaskCreate(id=taken.id, title="b")])
    with pytest.raises(ValidationError, match="differ"):
        same = uuid4()
        tasks.create_tasks(alice.scope, [TaskCreate(id=same, title="a"),
                                         TaskCreate(id=same, title="b")])
    with pytest.raises(ValidationError):
        tasks.create_tasks(alice.scope, [])
    assert committed_tasks(alice.tenant_id) == 1  # only carl's
