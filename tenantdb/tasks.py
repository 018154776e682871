"""Tasks: a user's to-do items. Private to their owner; tenant-wide only in service mode.

Each function is one statement (:func:`~tenantdb.statements.operation`): call it on a sync scope
or transaction for the answer, on an async one for an awaitable of it.
"""

from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    StringConstraints,
    model_validator,
)

from tenantdb.errors import Conflict, NotFound, ValidationError
from tenantdb.fields import Id, NoNul, NotBlank
from tenantdb.pagination import MAX_LIMIT, Cursor, Page, cursor_args, page_of
from tenantdb.queries import QueryFile
from tenantdb.statements import Rows, Statement, models, operation, required, rowcount

Q = QueryFile("tasks")

Title = Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul, NotBlank]
Description = Annotated[str, StringConstraints(max_length=5000), NoNul]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
MAX_BATCH = 10_000


class Task(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    user_id: UUID
    title: str
    description: str
    completed: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskCreate(BaseModel):
    """A new task. Give ``id`` to make the create safe to retry: a second create with the same
    id returns the task the first one made, never a duplicate."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: Title
    description: Description = ""
    id: UUID | None = None


class TaskUpdate(BaseModel):
    """A partial update: only the fields given change."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.title is None and self.description is None and self.completed is None:
            raise ValueError("a task update needs at least one of title, description, completed")
        return self


def _missing(task_id: UUID | str) -> NotFound:
    return NotFound(f"no task {task_id}")


@operation
def create_task(new: TaskCreate) -> Statement[Task]:
    """A new task owned by the acting user (or, with an id that exists, that task)."""
    taken = Conflict(f"the task id {new.id} is taken") if new.id else None
    return Statement(
        Q.create_task, {"id": new.id, "title": new.title, "description": new.description},
        required(Task, lambda: taken or NotFound("the new task was not returned")),
    )


@operation
def create_tasks(
    new: Annotated[list[TaskCreate], Field(min_length=1, max_length=MAX_BATCH)],
) -> Statement[list[Task]]:
    """Many new tasks in one statement, in the order given (idempotent like create_task)."""
    ids = [t.id for t in new]
    given = [i for i in ids if i is not None]
    if len(set(given)) != len(given):
        raise ValidationError("the tasks' ids must differ")
    build = models(Task)

    def shape(rows: Rows) -> list[Task]:
        made = build(rows)
        if len(made) != len(new):
            raise Conflict("an id among the tasks is taken by a task not visible here")
        return made

    args = {"titles": [t.title for t in new], "descriptions": [t.description for t in new]}
    if not given:  # no client ids: nothing can conflict
        return Statement(Q.create_fresh_tasks, args, shape)
    return Statement(Q.create_tasks, args | {"ids": ids}, shape)


@operation
def get_task(task_id: Id) -> Statement[Task]:
    """The task, if the context can see it; otherwise :class:`NotFound`."""
    return Statement(Q.get_task, {"id": task_id}, required(Task, lambda: _missing(task_id)))


@operation
def list_tasks(
    *, completed: bool | None = None, limit: Limit = 50,
    before: InstanceOf[Cursor] | str | None = None,
) -> Statement[Page[Task]]:
    """The acting user's tasks, newest first (tenant-wide mode: every user's tasks of the
    tenant); pass ``page.next`` (or its token, a ``str``) as ``before`` for the next page."""
    params = cursor_args(before, limit)
    build = models(Task)

    def shape(rows: Rows) -> Page[Task]:
        return page_of(build(rows), limit)

    if completed is None:
        return Statement(Q.list_tasks, params, shape, tenant_wide=Q.list_tenant_tasks)
    return Statement(Q.list_tasks_by_completion, params | {"completed": completed}, shape,
                     tenant_wide=Q.list_tenant_tasks_by_completion)


@operation
def update_task(task_id: Id, changes: TaskUpdate) -> Statement[Task]:
    """Change the given fields; updated_at moves, created_at does not."""
    return Statement(Q.update_task, {
        "id": task_id, "title": changes.title, "description": changes.description,
        "completed": changes.completed,
    }, required(Task, lambda: _missing(task_id)))


@operation
def complete_task(task_id: Id) -> Statement[Task]:
    """Mark the task done."""
    return update_task.statement(task_id, TaskUpdate(completed=True))


@operation
def reopen_task(task_id: Id) -> Statement[Task]:
    """Mark the task not done."""
    return update_task.statement(task_id, TaskUpdate(completed=False))


@operation
def delete_task(task_id: Id) -> Statement[None]:
    """Delete the task; :class:`NotFound` if the context cannot see it."""

    def shape(rows: Rows) -> None:
        if rowcount(rows) == 0:
            raise _missing(task_id)

    return Statement(Q.delete_task, {"id": task_id}, shape)
