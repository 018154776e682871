"""What the sync and async scopes and transactions share: every decision, none of the I/O.

A scope is a tenant and an acting user (or none: tenant-wide service mode). It turns a
:class:`~tenantdb.statements.Statement` into wire commands: the transaction-local context first,
then the statement with the scope's ids bound. A transaction's state decides what goes before
each statement (BEGIN and the context, savepoints) and how it ends.
"""

import enum
import logging
import random
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from uuid import UUID

from tenantdb.errors import (
    DatabaseError,
    NoActingUser,
    OutcomeUnknown,
    Unavailable,
    ValidationError,
)
from tenantdb.protocol import Command, ConnectionLost
from tenantdb.queries import Query
from tenantdb.statements import Rows, Statement

log = logging.getLogger("tenantdb")

TENANT_WIDE = "*"  # app.user_id in the explicit tenant-wide service mode
SET_CONTEXT = Query.parse(
    "set_context",
    "select set_config('app.tenant_id', %(tenant_id)s, true),"
    " set_config('app.user_id', %(user_id)s, true),"
    " set_config('transaction_read_only', %(read_only)s, true)",
)


class Isolation(enum.StrEnum):
    """Transaction isolation levels (PostgreSQL's default is READ COMMITTED)."""

    READ_COMMITTED = "read committed"
    REPEATABLE_READ = "repeatable read"
    SERIALIZABLE = "serializable"


@dataclass(frozen=True, slots=True)
class ScopeIds:
    """Who statements run as: a tenant, and the acting user or None for tenant-wide mode."""

    tenant_id: UUID
    user_id: UUID | None
    # the context commands, read-write and read-only, made once
    _contexts: tuple[Command, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        user = TENANT_WIDE if self.user_id is None else str(self.user_id)
        contexts = tuple(Command(SET_CONTEXT.sql, (str(self.tenant_id), user, read_only),
                                 text_params=True) for read_only in ("off", "on"))
        object.__setattr__(self, "_contexts", contexts)

    def context(self, *, read_only: bool) -> Command:
        """The command that sets this scope's context for the current transaction."""
        return self._contexts[read_only]

    def query_for(self, statement: Statement[Any]) -> Query:
        if self.user_id is None and statement.tenant_wide is not None:
            return statement.tenant_wide
        return statement.query

    def command(self, query: Query, params: Mapping[str, Any]) -> Command:
        """``query`` with ``params`` bound, and the scope's ids where it names them."""
        if "tenant_id" in params or "user_id" in params:
            raise ValidationError("tenant_id and user_id come from the scope, not from arguments")
        values: list[Any] = []
        for name in query.params:
            if name == "tenant_id":
                values.append(self.tenant_id)
            elif name == "user_id":
                if self.user_id is None:
                    raise NoActingUser(f"{query.name} acts for a user; this scope is tenant-wide")
                values.append(self.user_id)
            elif name in params:
                values.append(params[name])
            else:
                raise ValidationError(f"{query.name} needs the parameter {name!r}")
        own = len(query.params) - ("tenant_id" in query.params) - ("user_id" in query.params)
        if len(params) != own:
            unknown = params.keys() - query.params
            raise ValidationError(f"{query.name} has no parameter {', '.join(sorted(unknown))}")
        return Command(query.sql, values, query.name)


def uuid_of(value: UUID | str, name: str) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{name} must be a UUID, not {value!r}")


def begin(isolation: Isolation | None, read_only: bool) -> Command:
    sql = "begin"
    if isolation is not None:
        sql += f" isolation level {Isolation(isolation).value}"
    if read_only:
        sql += " read only"
    return Command(sql.encode(), ())


@dataclass(slots=True)
class TransactionState:
    """One open database transaction: what must be sent before the next statement, and how
    many savepoints (nested transactions) it has made."""

    pending: list[Command]
    read_only: bool
    owner: int  # the thread or task that opened it (sync_io.owner / async_io.owner)
    begun: bool = False  # BEGIN was sent
    lost: bool = False  # the connection failed: the transaction is gone
    savepoints: int = 0

    def before(self, command: Command) -> list[Command]:
        """The commands to send now: what is pending, then ``command``."""
        batch = [*self.pending, command]
        self.pending.clear()
        self.begun = True
        return batch

    def savepoint(self) -> bytes:
        """Open a nested transaction; its savepoint is created with the next statement."""
        self.savepoints += 1
        name = b"tenantdb_%d" % self.savepoints
        self.pending.append(Command(b"savepoint " + name, ()))
        return name

    def end_savepoint(self, name: bytes, *, commit: bool) -> None:
        """Release the savepoint, first undoing its work unless ``commit`` (sent later)."""
        if not commit:
            self.pending.append(Command(b"rollback to savepoint " + name, ()))
        self.pending.append(Command(b"release savepoint " + name, ()))

    def finish(self, *, commit: bool) -> list[Command] | None:
        """The commands that end the transaction; None when nothing was ever sent."""
        if not self.begun:
            return None
        return self.before(Command(b"commit" if commit else b"rollback", ()))


def check_committed(rows: Rows) -> None:
    """COMMIT answers ROLLBACK when the transaction had failed (an error was swallowed)."""
    if rows.command != "COMMIT":
        raise DatabaseError("transaction rolled back: a statement in it failed earlier")


def lost_connection(lost: ConnectionLost, *, writes: bool, retry: bool) -> None:
    """After a connection failed during a one-shot call: return to retry on a fresh connection
    (nothing was sent, or a read may be repeated), else raise what the caller must know."""
    if retry and (not lost.sent or not writes):
        log.info("connection lost (%s); retrying on a fresh connection", lost.cause)
        return
    raise_lost(lost, writes=writes)


def raise_lost(lost: ConnectionLost, *, writes: bool) -> None:
    if lost.sent and writes:
        raise OutcomeUnknown(
            f"the connection failed after a write was sent; it may have committed: {lost.cause}"
        ) from lost.cause
    raise Unavailable(f"connection lost, nothing was committed: {lost.cause}") from lost.cause


def backoff(attempt: int, *, base: float = 0.01, cap: float = 1.0) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): exponential, with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** attempt))  # noqa: S311 - not cryptography


# The transaction open in this thread or task for a scope, so that a nested ``transaction()``
# becomes a savepoint and a one-shot call on the scope joins it.
_open: ContextVar[Mapping[ScopeIds, Any]] = ContextVar(
    "tenantdb_open_transactions", default=MappingProxyType({}))


def open_transaction(scope: ScopeIds, owner: int) -> Any:
    found = _open.get().get(scope)
    return found if found is not None and found.state.owner == owner else None


def mark_open(scope: ScopeIds, transaction: Any) -> Any:
    return _open.set({**_open.get(), scope: transaction})


def mark_closed(token: Any) -> None:
    _open.reset(token)
