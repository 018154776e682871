"""Bad arguments are refused with tenantdb's ValidationError before any SQL is sent, and the
scope's ids reach every query as bound parameters that can only narrow, never widen, what the
policy lets through."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pydantic
import pytest
from conftest import Member

from tenantdb import NoActingUser, Statement, ValidationError, tasks
from tenantdb.pagination import cursor_args
from tenantdb.statements import models
from tenantdb.tasks import TaskCreate
from tenantdb.testing import MigratedDatabase


@pytest.mark.parametrize("bad_id", ["\ud800", "not-a-uuid", 7, True, [1], {"id": 1}, None, 1.5])
def test_bad_ids_are_refused_before_sql(alice: Member, bad_id: Any) -> None:
    for call in (tasks.get_task, tasks.delete_task, tasks.complete_task):
        with pytest.raises(ValidationError, match="task_id"):
            call(alice.scope, bad_id)


def test_an_id_may_be_given_as_its_string(alice: Member, alice_task: tasks.Task) -> None:
    assert tasks.get_task(alice.scope, str(alice_task.id)) == alice_task


@pytest.mark.parametrize("arguments", [
    {"limit": True}, {"limit": "5"}, {"limit": 0}, {"limit": 1001}, {"completed": "yes"},
    {"completed": 1}, {"before": {"created_at": "2026-01-01T00:00:00Z", "id": str(UUID(int=1))}},
])
def test_bad_list_arguments_are_refused(alice: Member, arguments: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        tasks.list_tasks(alice.scope, **arguments)


@pytest.mark.parametrize("given", [{"title": ""}, "x", None, 5])
def test_a_model_argument_must_be_the_model(alice: Member, given: Any,
                                            committed_tasks: Callable[[UUID], int]) -> None:
    with pytest.raises(ValidationError):
        tasks.create_task(alice.scope, given)
    with pytest.raises(ValidationError):
        tasks.update_task(alice.scope, UUID(int=1), given)
    assert committed_tasks(alice.tenant_id) == 0


def test_text_the_database_cannot_encode_is_a_validation_error(
    alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    with pytest.raises(pydantic.ValidationError):  # the models refuse it first
        TaskCreate(title="lone surrogate \ud800")
    with pytest.raises(ValidationError, match="cannot be sent"):  # raw parameters: the driver
        alice.scope.one(tasks.Q.create_task, tasks.Task, id=None, title="\ud800",
                        description="")
    assert committed_tasks(alice.tenant_id) == 0


def test_the_scope_fills_its_ids_and_callers_cannot(alice: Member) -> None:
    with pytest.raises(ValidationError, match="come from the scope"):
        alice.scope.all(tasks.Q.get_task, tasks.Task, id=UUID(int=1), tenant_id=UUID(int=2))
    with pytest.raises(ValidationError, match="has no parameter"):
        alice.scope.all(tasks.Q.get_task, tasks.Task, id=UUID(int=1), unknown=1)
    with pytest.raises(ValidationError, match="needs the parameter 'id'"):
        alice.scope.all(tasks.Q.get_task, tasks.Task)


def test_a_user_query_in_tenant_wide_mode_is_refused_before_sql(db: Any, alice: Member) -> None:
    statement = Statement(tasks.Q.list_tasks, cursor_args(None, 5), models(tasks.Task))
    with pytest.raises(NoActingUser, match="tenant-wide"):
        db.as_tenant(alice.tenant_id).execute(statement)


def test_a_mismatching_bound_id_returns_nothing(
    database: MigratedDatabase, alice: Member, alice_task: tasks.Task, bob: Member
) -> None:
    """The bound ids only help the planner: with bob's context, alice's ids in the WHERE clause
    find nothing; with alice's context, bob's ids find nothing. Never another tenant's rows."""
    with psycopg.connect(database.app_url, cursor_factory=psycopg.RawCursor) as conn:
        for context, ids in ((bob, alice), (alice, bob)):
            conn.execute("select set_config('app.tenant_id', $1, true),"
                         " set_config('app.user_id', $2, true)",
                         [str(context.tenant_id), str(context.id)])
            values = {"tenant_id": ids.tenant_id, "user_id": ids.id, "id": alice_task.id,
                      **cursor_args(None, 10)}
            for query in (tasks.Q.list_tasks, tasks.Q.get_task):
                rows = conn.execute(query.sql, [values[name] for name in query.params])
                assert rows.fetchall() == []
            conn.rollback()
