"""The ways to run one domain operation that every domain's scenarios compare: the public API
(sync, async, under threads), raw psycopg, SQLAlchemy Core, and the superuser without RLS.

A domain describes an operation once as a :class:`Call` and builds its variants from it.
"""

import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, LiteralString

from psycopg_pool import ConnectionPool

from benchlib.fixture import Fixture
from benchlib.registry import Operation, Variant
from tenantdb.queries import Query

TRANSACTION_CONTEXT = (
    b"select set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)"
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Call:
    """One domain operation: the statement the API runs, the seeded user who acts, the
    statement's parameters besides the scope's ids, and the API call on a scope with them.
    ``explicit``: the same rows by an explicit ``WHERE`` on the ids, for the cost of RLS."""

    query: Query
    role: str
    params: Callable[[Fixture], dict[str, Any]]
    api: Callable[[Any, dict[str, Any]], object]
    explicit: LiteralString | None = None


def _args(fx: Fixture, call: Call) -> dict[str, Any]:
    return fx.scope_args(call.role) | call.params(fx)


def _context(fx: Fixture, call: Call) -> list[str]:
    user = fx.user(call.role)
    return [str(user.tenant_id), str(user.user_id)]


def raw_held(call: Call) -> Variant:
    """The statement on one held connection as tenantdb_app, its context set for the session."""

    def make(fx: Fixture, stack: ExitStack) -> Operation:
        conn, args, query = fx.held(call.role), _args(fx, call), call.query.text
        return lambda: conn.execute(query, args).fetchall()

    return Variant("raw psycopg, held connection", make)


def explicit_superuser(call: Call) -> Variant:
    """The explicit-WHERE statement as the superuser: no row-level security at all."""

    def make(fx: Fixture, stack: ExitStack) -> Operation:
        assert call.explicit is not None
        conn, args, query = fx.superuser(), _args(fx, call), call.explicit
        return lambda: conn.execute(query, args).fetchall()

    return Variant("explicit WHERE, superuser (no RLS)", make)


def under_rls(call: Call) -> Variant:
    """The API's statement as tenantdb_app under RLS, context set once for the session."""
    return Variant("same statement, tenantdb_app under RLS", raw_held(call).make)


def on_scope(
    call: Call, database: Callable[[Fixture, ExitStack], Any]
) -> Callable[[Fixture, ExitStack], Operation]:
    """A ``make`` that calls the API on a scope of ``call``'s user, from ``database``'s
    Database (sync or async)."""

    def make(fx: Fixture, stack: ExitStack) -> Operation:
        db = database(fx, stack)
        user, args = fx.user(call.role), call.params(fx)
        scope = db.as_user(user.tenant_id, user.user_id)
        return lambda: call.api(scope, args)

    return make


def api(call: Call, threads: int | None = None) -> Variant:
    """The public API on a sync Database: the scenario's (a pool of 2), or with ``threads``
    that many threads on a pool of that size, opened for each round."""
    if threads is None:
        return Variant("tenantdb (sync)", on_scope(call, lambda fx, stack: fx.db()))
    make = on_scope(call, lambda fx, stack: fx.database(stack, pool=threads))
    name = f"tenantdb, {threads} thread{'s' if threads > 1 else ''}"
    return Variant(name, make, threads=threads, per_round=True)


def api_async(call: Call, tasks: int | None = None) -> Variant:
    """The public API awaited on an AsyncDatabase: the scenario's, or with ``tasks`` that many
    asyncio tasks on a pool of that size, opened for each round."""
    if tasks is None:
        return Variant("tenantdb (async)", on_scope(call, lambda fx, stack: fx.async_db()),
                       is_async=True)
    make = on_scope(call, lambda fx, stack: fx.async_database(stack, pool=tasks))
    name = f"tenantdb async, {tasks} task{'s' if tasks > 1 else ''}"
    return Variant(name, make, threads=tasks, is_async=True, per_round=True)


def at_scale(call: Call, name: str, *, prepared: bool, fresh_calls: int | None) -> Variant:
    """The public API on a Database of one connection: its first ``fresh_calls`` calls (a new
    connection each round), or in steady state after a warm-up past psycopg's prepare
    threshold and PostgreSQL's five custom plans."""
    make = on_scope(call, lambda fx, stack: fx.database(stack, pool=1, prepared=prepared))
    return Variant(name, make, fresh_calls=fresh_calls, warmup_calls=0 if fresh_calls else 12)


def four_round_trips(call: Call, threads: int) -> Variant:
    """What users write without tenantdb: psycopg_pool, BEGIN; set_config; the statement;
    COMMIT (four round trips), with a pool as large as tenantdb's."""

    def make(fx: Fixture, stack: ExitStack) -> Operation:
        pool: ConnectionPool[Any] = ConnectionPool(
            fx.bench.measured.app_url, min_size=threads, max_size=threads, open=True
        )
        stack.callback(pool.close)
        pool.wait()
        context, args, query = _context(fx, call), _args(fx, call), call.query.text

        def transaction() -> object:
            with pool.connection() as conn:  # BEGIN ... COMMIT
                conn.execute(TRANSACTION_CONTEXT, context)
                return conn.execute(query, args).fetchall()

        return transaction

    return Variant(f"raw 4-round-trip transaction, psycopg_pool of {threads}", make,
                   threads=threads, per_round=True)


def sqlalchemy_core(call: Call) -> Variant:
    """SQLAlchemy 2 Core: ``engine.begin()``, set_config, the statement as ``text()``."""

    def make(fx: Fixture, stack: ExitStack) -> Operation:
        engine = fx.sqlalchemy_engine()
        from sqlalchemy import text

        context = text("select set_config('app.tenant_id', :tenant_id, true),"
                       " set_config('app.user_id', :user_id, true)")
        # text() takes :name parameters; a literal colon (as in ::timestamptz) is written \:
        statement = text(_PLACEHOLDER.sub(r":\1", call.query.text.replace(":", "\\:")))
        tenant_id, user_id = _context(fx, call)
        ids, args = {"tenant_id": tenant_id, "user_id": user_id}, _args(fx, call)

        def transaction() -> object:
            with engine.begin() as conn:
                conn.execute(context, ids)
                return conn.execute(statement, args).all()

        return transaction

    return Variant("SQLAlchemy Core, engine.begin() + set_config", make)
