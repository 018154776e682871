"""Tasks: CRUD, validation before SQL, CHECK constraints as the second line, pagination."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pydantic
import pytest
from conftest import Member
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantdb import AccessDenied, NotFound, ValidationError, tasks
from tenantdb.pagination import Cursor
from tenantdb.tasks import TaskCreate, TaskUpdate

ReadTask = Callable[[UUID], tuple[Any, ...] | None]


def test_create_get_update_complete_reopen_delete(alice: Member,
                                                  committed_task: ReadTask) -> None:
    task = tasks.create_task(alice.scope, TaskCreate(title="Write tests", description="all"))
    assert (task.title, task.description, task.completed, task.user_id) == (
        "Write tests", "all", False, alice.id)
    assert task.created_at.tzinfo is not None
    assert task.created_at.utcoffset() == timedelta(0)
    assert tasks.get_task(alice.scope, task.id) == task

    renamed = tasks.update_task(alice.scope, task.id, TaskUpdate(title="Write more tests"))
    assert (renamed.title, renamed.description, renamed.completed) == (
        "Write more tests", "all", False)
    assert tasks.complete_task(alice.scope, task.id).completed is True
    assert tasks.reopen_task(alice.scope, task.id).completed is False
    assert committed_task(task.id) == (alice.tenant_id, alice.id, "Write more tests", "all", False)

    tasks.delete_task(alice.scope, task.id)
    assert committed_task(task.id) is None
    with pytest.raises(NotFound):
        tasks.get_task(alice.scope, task.id)
    with pytest.raises(NotFound):
        tasks.delete_task(alice.scope, task.id)


def test_updated_at_moves_and_created_at_does_not(alice: Member, alice_task: tasks.Task) -> None:
    changed = tasks.update_task(alice.scope, alice_task.id, TaskUpdate(description="new"))
    assert changed.created_at == alice_task.created_at
    assert changed.updated_at > alice_task.updated_at
    completed = tasks.complete_task(alice.scope, alice_task.id)
    assert completed.updated_at > changed.updated_at
    assert completed.created_at == alice_task.created_at


def test_runtime_role_cannot_write_timestamps_or_owner(alice: Member,
                                                       alice_task: tasks.Task) -> None:
    for column, value in (("created_at", datetime(2000, 1, 1)), ("user_id", uuid4())):
        with pytest.raises(AccessDenied), alice.scope.transaction() as tx:
            tx.execute_raw(psycopg.sql.SQL("update tenantdb.tasks set {} = %s where id = %s")
                           .format(psycopg.sql.Identifier(column)), [value, alice_task.id])


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"title": ""}, "at least 1 character"),
        ({"title": "   \t"}, "blank"),
        ({"title": "x" * 501}, "at most 500"),
        ({"title": "nul\x00byte"}, "NUL"),
        ({"title": "ok", "description": "d" * 5001}, "at most 5000"),
        ({"title": "ok", "owner": "someone"}, "Extra inputs"),
    ],
)
def test_invalid_input_is_refused_before_sql(
    alice: Member, committed_tasks: Callable[[UUID], int], fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=problem):
        TaskCreate(**fields)
    assert committed_tasks(alice.tenant_id) == 0


def test_limits_are_inclusive() -> None:
    assert TaskCreate(title="x" * 500, description="d" * 5000).title == "x" * 500


def test_empty_update_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="at least one"):
        TaskUpdate()


@pytest.mark.parametrize(
    ("title", "description", "constraint"),
    [
        ("", "", "tasks_title_length"),
        (" ", "", "tasks_title_not_blank"),
        ("x" * 501, "", "tasks_title_length"),
        ("ok", "d" * 5001, "tasks_description_length"),
    ],
)
def test_check_constraints_are_the_second_line(
    alice: Member, title: str, description: str, constraint: str
) -> None:
    with pytest.raises(ValidationError) as refused, alice.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (title, description) values (%s, %s)",
                       [title, description])
    assert refused.value.constraint == constraint
    assert tasks.list_tasks(alice.scope).items == []


def test_list_filters_by_completion(alice: Member) -> None:
    done = tasks.create_task(alice.scope, TaskCreate(title="done"))
    tasks.complete_task(alice.scope, done.id)
    todo = tasks.create_task(alice.scope, TaskCreate(title="todo"))
    assert [t.id for t in tasks.list_tasks(alice.scope, completed=True).items] == [done.id]
    assert [t.id for t in tasks.list_tasks(alice.scope, completed=False).items] == [todo.id]
    assert [t.id for t in tasks.list_tasks(alice.scope).items] == [todo.id, done.id]


@pytest.mark.parametrize("limit", [0, -1, 1001, True, 2.0, "5"])
def test_list_refuses_bad_limits(alice: Member, limit: Any) -> None:
    with pytest.raises(ValidationError, match="limit"):
        tasks.list_tasks(alice.scope, limit=limit)


def _all_pages(member: Member, limit: int, *, as_tokens: bool = False) -> list[list[UUID]]:
    """Every page of the member's tasks, continuing with the cursors or with their tokens."""
    pages: list[list[UUID]] = []
    before: Cursor | str | None = None
    while True:
        page = tasks.list_tasks(member.scope, limit=limit, before=before)
        pages.append([t.id for t in page.items])
        if page.next is None:
            assert page.next_token is None
            return pages
        before = page.next_token if as_tokens else page.next


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(separate=st.integers(0, 12), together=st.integers(0, 12), limit=st.integers(1, 7))
def test_pagination_returns_every_row_exactly_once(
    new_tenant: Callable[..., Member], separate: int, together: int, limit: int
) -> None:
    member = new_tenant()
    made = [tasks.create_task(member.scope, TaskCreate(title=f"t{i}")).id for i in range(separate)]
    with member.scope.transaction() as tx:  # same transaction: identical created_at, ties by id
        made += [tasks.create_task(tx, TaskCreate(title=f"u{i}")).id for i in range(together)]
    pages = _all_pages(member, limit)
    assert _all_pages(member, limit, as_tokens=True) == pages
    seen = [task_id for page in pages for task_id in page]
    assert sorted(seen) == sorted(made)  # every row, none twice
    assert all(len(page) <= limit for page in pages)
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == max(1, -(-len(made) // limit))
    listed = tasks.list_tasks(member.scope, limit=1000).items
    assert seen == [t.id for t in listed]  # pages keep the newest-first order
    assert [(t.created_at, t.id) for t in listed] == sorted(
        ((t.created_at, t.id) for t in listed), reverse=True)


def test_transaction_rolls_back_on_exception(alice: Member, committed_task: ReadTask) -> None:
    created: list[UUID] = []
    with pytest.raises(RuntimeError), alice.scope.transaction() as tx:
        created.append(tasks.create_task(tx, TaskCreate(title="doomed")).id)
        raise RuntimeError("boom")
    assert committed_task(created[0]) is None


def test_transaction_commits_at_the_end(alice: Member, committed_task: ReadTask) -> None:
    with alice.scope.transaction() as tx:
        first = tasks.create_task(tx, TaskCreate(title="one"))
        second = tasks.create_task(tx, TaskCreate(title="two"))
        assert committed_task(first.id) is None  # not yet visible outside
        assert {t.id for t in tasks.list_tasks(tx).items} == {first.id, second.id}
    assert committed_task(first.id) is not None
    assert committed_task(second.id) is not None
