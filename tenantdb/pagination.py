"""Keyset pagination: a page of rows and the cursor that continues after its last row."""

from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tenantdb.errors import ValidationError

T = TypeVar("T")


class Keyed(Protocol):
    """A row that pages are cut by: newest first, ties broken by id."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


K = TypeVar("K", bound=Keyed)

MAX_LIMIT = 1000

# The first page continues from "after the end of time", so one plan serves every page.
_FIRST = (datetime.max.replace(tzinfo=UTC), UUID(int=(1 << 128) - 1))


class Cursor(BaseModel):
    """Where the next page starts: strictly before this (created_at, id) in newest-first order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    created_at: AwareDatetime
    id: UUID


class Page(BaseModel, Generic[T]):
    """Up to ``limit`` rows, and the cursor of the next page (None on the last page)."""

    model_config = ConfigDict(frozen=True)
    items: list[T]
    next: Cursor | None


def cursor_args(before: Cursor | None, limit: int) -> dict[str, Any]:
    """Query parameters for a page of ``limit`` rows after ``before``; one extra row is fetched
    to tell whether another page follows."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    created_at, id_ = (before.created_at, before.id) if before else _FIRST
    return {"before_created_at": created_at, "before_id": id_, "limit": limit + 1}


def page_of(rows: list[K], limit: int) -> "Page[K]":  # quoted: pydantic cannot build Page[K]
    """The page for rows fetched with :func:`cursor_args` (at most ``limit + 1`` of them)."""
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if more else None
    next_page = Cursor(created_at=last.created_at, id=last.id) if last else None
    return Page(items=items, next=next_page)
