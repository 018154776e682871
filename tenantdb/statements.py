"""One statement, described once, run by any scope or transaction, sync or async.

A domain operation is a function that *describes* a statement: the named query, its parameters,
and how the rows become the answer (:class:`Statement`). :func:`operation` turns it into a
function whose first argument is where it runs: ``tasks.get_task(scope, id)`` on a sync scope or
transaction returns a ``Task``; on an async one, an awaitable of a ``Task``. Arguments are
validated (strictly: no ``True`` for an int, no ``"yes"`` for a bool; ids may be UUIDs or their
strings) before any SQL is sent, and refused with :class:`~tenantdb.errors.ValidationError`.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter

from tenantdb.errors import DatabaseError, TenantdbError, ValidationError
from tenantdb.queries import Query

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rows:
    """What one statement returned: column names, rows as tuples, the row count, and the
    command tag's verb (``SELECT``, ``INSERT``, ``COMMIT``, ...)."""

    columns: tuple[str, ...]
    values: list[tuple[Any, ...]]
    rowcount: int
    command: str = ""


@dataclass(frozen=True, slots=True)
class Statement(Generic[R]):
    """A query, its parameters, and ``shape``, which builds the answer from the rows.

    ``tenant_wide`` is the query to run instead when the scope is tenant-wide (no acting user).
    The scope fills the parameters ``tenant_id`` and ``user_id``; callers never pass them.
    """

    query: Query
    params: Mapping[str, Any]
    shape: Callable[[Rows], R]
    tenant_wide: Query | None = None


class Executes(Protocol):
    """Runs a statement and returns its answer (a sync scope or transaction)."""

    def execute(self, statement: Statement[R], /) -> R: ...


class AsyncExecutes(Protocol):
    """Runs a statement and returns an awaitable of its answer (an async scope or transaction)."""

    def execute(self, statement: Statement[R], /) -> Awaitable[R]: ...


# --- shapes: how rows become the answer --------------------------------------------------------

@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]  # built once per model


def models(model: type[M]) -> Callable[[Rows], list[M]]:
    """Every row as a ``model`` (validated in one batch)."""
    adapter = _list_of(model)

    def shape(rows: Rows) -> list[M]:
        names = rows.columns
        return adapter.validate_python(
            [dict(zip(names, row, strict=True)) for row in rows.values], strict=True)

    return shape


def optional(model: type[M]) -> Callable[[Rows], M | None]:
    """The only row as a ``model``, or None when there is none."""
    build = models(model)

    def shape(rows: Rows) -> M | None:
        found = build(rows)
        if len(found) > 1:
            raise DatabaseError(f"expected at most one row, the statement returned {len(found)}")
        return found[0] if found else None

    return shape


def single(model: type[M]) -> Callable[[Rows], M]:
    """Exactly one row as a ``model`` (an ``insert ... returning`` of one row)."""
    return required(model, lambda: DatabaseError("the statement returned no row"))


def required(model: type[M], missing: Callable[[], TenantdbError]) -> Callable[[Rows], M]:
    """The only row as a ``model``; ``missing()`` is raised when there is none."""
    maybe = optional(model)

    def shape(rows: Rows) -> M:
        found = maybe(rows)
        if found is None:
            raise missing()
        return found

    return shape


def rowcount(rows: Rows) -> int:
    """How many rows the statement returned or changed."""
    return rows.rowcount


def scalar(rows: Rows) -> Any:
    """The first column of the only row (None when there is no row)."""
    if len(rows.values) > 1:
        raise DatabaseError(f"expected at most one row, the statement returned {len(rows.values)}")
    return rows.values[0][0] if rows.values else None


def tuples(rows: Rows) -> list[tuple[Any, ...]]:
    return rows.values


def dicts(rows: Rows) -> list[dict[str, Any]]:
    return [dict(zip(rows.columns, row, strict=True)) for row in rows.values]


# --- domain operations -------------------------------------------------------------------------

_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)


class Operation(Generic[P, R]):
    """A domain function: ``describe(*args)`` gives the statement; the first argument runs it."""

    def __init__(self, describe: Callable[P, Statement[R]]) -> None:
        self._describe = pydantic.validate_call(config=_STRICT)(describe)
        self._names = list(inspect.signature(describe).parameters)
        functools.update_wrapper(self, describe)

    def statement(self, *args: P.args, **kwargs: P.kwargs) -> Statement[R]:
        """The statement for these arguments, validated; nothing is sent."""
        try:
            return self._describe(*args, **kwargs)
        except pydantic.ValidationError as e:
            problems = "; ".join(
                f"{self._name_of(error['loc'])}: {error['msg']}" for error in e.errors())
            raise ValidationError(f"{self._describe.__name__}: {problems}") from e

    def _name_of(self, loc: tuple[int | str, ...]) -> str:
        """A validation error's location, with a positional argument named."""
        head, *rest = loc or ("?",)
        if isinstance(head, int) and head < len(self._names):
            head = self._names[head]
        return ".".join(str(part) for part in (head, *rest))

    @overload
    def __call__(self, tx: Executes, /, *args: P.args, **kwargs: P.kwargs) -> R: ...
    @overload
    def __call__(self, tx: AsyncExecutes, /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]: ...
    def __call__(self, tx: Any, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        if not hasattr(tx, "execute"):
            raise TypeError(f"{self._describe.__name__} runs on a scope or a transaction"
                            f" (db.as_user(...), db.as_tenant(...)), not on {type(tx).__name__}")
        return tx.execute(self.statement(*args, **kwargs))


def operation(describe: Callable[P, Statement[R]]) -> Operation[P, R]:
    """Decorator: a function describing a statement becomes a domain operation."""
    return Operation(describe)


class Runs:
    """``one``/``all``/``run``/``scalar``/``tuples``/``dicts`` for any runner with ``execute``:
    one definition, typed for sync runners (the answer) and async ones (an awaitable of it)."""

    @overload
    def one(self: Executes, query: Query, row: type[M], /, **params: Any) -> M | None: ...
    @overload
    def one(self: AsyncExecutes, query: Query, row: type[M], /,
            **params: Any) -> Awaitable[M | None]: ...
    def one(self: Any, query: Query, row: type[M], /, **params: Any) -> Any:
        """The statement's only row as ``row``, or None when it returned no row."""
        return self.execute(Statement(query, params, optional(row)))

    @overload
    def all(self: Executes, query: Query, row: type[M], /, **params: Any) -> list[M]: ...
    @overload
    def all(self: AsyncExecutes, query: Query, row: type[M], /,
            **params: Any) -> Awaitable[list[M]]: ...
    def all(self: Any, query: Query, row: type[M], /, **params: Any) -> Any:
        """Every row of the statement as ``row``."""
        return self.execute(Statement(query, params, models(row)))

    @overload
    def run(self: Executes, query: Query, /, **params: Any) -> int: ...
    @overload
    def run(self: AsyncExecutes, query: Query, /, **params: Any) -> Awaitable[int]: ...
    def run(self: Any, query: Query, /, **params: Any) -> Any:
        """Run a statement for its effect; how many rows it returned or changed."""
        return self.execute(Statement(query, params, rowcount))

    @overload
    def scalar(self: Executes, query: Query, /, **params: Any) -> Any: ...
    @overload
    def scalar(self: AsyncExecutes, query: Query, /, **params: Any) -> Awaitable[Any]: ...
    def scalar(self: Any, query: Query, /, **params: Any) -> Any:
        """The first column of the only row, or None."""
        return self.execute(Statement(query, params, scalar))

    @overload
    def tuples(self: Executes, query: Query, /, **params: Any) -> list[tuple[Any, ...]]: ...
    @overload
    def tuples(self: AsyncExecutes, query: Query, /,
               **params: Any) -> Awaitable[list[tuple[Any, ...]]]: ...
    def tuples(self: Any, query: Query, /, **params: Any) -> Any:
        """Every row as a tuple."""
        return self.execute(Statement(query, params, tuples))

    @overload
    def dicts(self: Executes, query: Query, /, **params: Any) -> list[dict[str, Any]]: ...
    @overload
    def dicts(self: AsyncExecutes, query: Query, /,
              **params: Any) -> Awaitable[list[dict[str, Any]]]: ...
    def dicts(self: Any, query: Query, /, **params: Any) -> Any:
        """Every row as a dict of column name to value."""
        return self.execute(Statement(query, params, dicts))
