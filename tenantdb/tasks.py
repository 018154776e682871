"""Tasks: a user's to-do items. Private to their owner; tenant-wide only in service mode."""

from typing import Annotated, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, model_validator

from tenantdb.db import Tx
from tenantdb.errors import NotFound
from tenantdb.fields import NoNul, NotBlank
from tenantdb.pagination import Cursor, Page, cursor_args, page_of
from tenantdb.queries import QueryFile

Q = QueryFile("tasks")

Title = Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul, NotBlank]
Description = Annotated[str, StringConstraints(max_length=5000), NoNul]


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
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: Title
    description: Description = ""


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


def create_task(tx: Tx, new: TaskCreate) -> Task:
    """A new task owned by the acting user."""
    task = tx.one(Q.create_task, Task, title=new.title, description=new.description)
    assert task is not None  # insert ... returning always returns its row
    return task


def get_task(tx: Tx, task_id: UUID) -> Task:
    """The task, if the context can see it; otherwise :class:`NotFound`."""
    return _found(tx.one(Q.get_task, Task, id=task_id), task_id)


def list_tasks(
    tx: Tx, *, completed: bool | None = None, limit: int = 50,
    before: Cursor | str | None = None,
) -> Page[Task]:
    """The acting user's tasks, newest first; pass ``page.next`` (or its token, a ``str``) as
    ``before`` for the next page."""
    args = cursor_args(before, limit)
    if completed is None:
        rows = tx.all(Q.list_tasks, Task, **args)
    else:
        rows = tx.all(Q.list_tasks_by_completion, Task, completed=completed, **args)
    return page_of(rows, limit)


def update_task(tx: Tx, task_id: UUID, changes: TaskUpdate) -> Task:
    """Change the given fields; updated_at moves, created_at does not."""
    task = tx.one(
        Q.update_task, Task, id=task_id,
        title=changes.title, description=changes.description, completed=changes.completed,
    )
    return _found(task, task_id)


def complete_task(tx: Tx, task_id: UUID) -> Task:
    """Mark the task done."""
    return update_task(tx, task_id, TaskUpdate(completed=True))


def reopen_task(tx: Tx, task_id: UUID) -> Task:
    """Mark the task not done."""
    return update_task(tx, task_id, TaskUpdate(completed=False))


def delete_task(tx: Tx, task_id: UUID) -> None:
    """Delete the task; :class:`NotFound` if the context cannot see it."""
    if tx.run(Q.delete_task, id=task_id) == 0:
        raise NotFound(f"no task {task_id}")


def _found(task: Task | None, task_id: UUID) -> Task:
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task
