"""The tasks domain: point read, create and a page through every path; the server-side cost of
RLS; throughput under concurrency; plans at scale; bulk writes."""

from contextlib import ExitStack
from typing import Any

from benchlib.fixture import Fixture
from benchlib.registry import NotAvailable, Operation, Scenario, Variant, register
from benchlib.variants import (
    TRANSACTION_CONTEXT,
    Call,
    api,
    api_async,
    at_scale,
    explicit_superuser,
    four_round_trips,
    raw_held,
    sqlalchemy_core,
    under_rls,
)
from tenantdb import tasks
from tenantdb.pagination import Cursor, cursor_args
from tenantdb.queries import QueryFile
from tenantdb.tasks import TaskCreate

Q = QueryFile("tasks")
PAGE = 50
BULK = 1_000
THREADS = (1, 8, 32, 64)
NEW = TaskCreate(title="benchmark task")
NO_BATCH = "not available in this version (no tasks.create_tasks)"

GET_EXPLICIT = (
    "select id, user_id, title, description, completed, created_at, updated_at"
    "  from tenantdb.tasks"
    " where tenant_id = %(tenant_id)s and user_id = %(user_id)s and id = %(id)s"
)
PAGE_EXPLICIT = (
    "select id, user_id, title, description, completed, created_at, updated_at"
    "  from tenantdb.tasks"
    " where tenant_id = %(tenant_id)s and user_id = %(user_id)s"
    "   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)"
    " order by created_at desc, id desc limit %(limit)s"
)
INSERT_UNNEST = (
    "insert into tenantdb.tasks (title, description)"
    " select * from unnest(%(titles)s::text[], %(descriptions)s::text[])"
)


def point_read(role: str = "everyday") -> Call:
    def params(fx: Fixture) -> dict[str, Any]:
        return {"id": fx.bench.middle(role)[0]}

    return Call(Q.get_task, role, params, lambda scope, p: tasks.get_task(scope, p["id"]),
                GET_EXPLICIT)


def first_page(role: str = "everyday") -> Call:
    return Call(Q.list_tasks, role, lambda fx: cursor_args(None, PAGE),
                lambda scope, p: tasks.list_tasks(scope, limit=PAGE), PAGE_EXPLICIT)


def deep_page(role: str) -> Call:
    """The page that starts halfway down the user's list."""

    def params(fx: Fixture) -> dict[str, Any]:
        id_, created_at = fx.bench.middle(role)
        return cursor_args(Cursor(created_at=created_at, id=id_), PAGE)

    def call(scope: Any, p: dict[str, Any]) -> object:
        before = Cursor(created_at=p["before_created_at"], id=p["before_id"])
        return tasks.list_tasks(scope, limit=PAGE, before=before)

    return Call(Q.list_tasks, role, params, call, PAGE_EXPLICIT)


CREATE = Call(Q.create_task, "writer", lambda fx: NEW.model_dump(),
              lambda scope, p: tasks.create_task(scope, NEW))

for label, call in (("point read", point_read()), ("create", CREATE),
                    ("page of 50", first_page())):
    register(Scenario(f"tasks: {label}", "point", baseline=raw_held(call),
                      variants=[api(call), api_async(call), sqlalchemy_core(call)]))

for label, call in (("point read", point_read()), ("page of 50", first_page())):
    register(Scenario(f"tasks: RLS cost, {label}", "rls", baseline=explicit_superuser(call),
                      variants=[under_rls(call)]))

for threads in THREADS:
    register(Scenario(
        f"tasks: point read, {threads} thread{'s' if threads > 1 else ''}", "concurrency",
        baseline=four_round_trips(point_read(), threads),
        variants=[api(point_read(), threads), api_async(point_read(), threads)],
    ))

for label, operation in (("page 1", first_page), ("deep page", deep_page),
                         ("point read", point_read)):
    for state, fresh_calls in (("fresh connection, calls 1-10", 10), ("steady state", None)):
        for prepared in (True, False):
            switch = "on" if prepared else "off"
            register(Scenario(
                f"tasks at scale: {label}, {state}, prepared statements {switch}", "scale",
                baseline=at_scale(operation("small"), "user with 10k tasks",
                                  prepared=prepared, fresh_calls=fresh_calls),
                variants=[at_scale(operation("big"), "big user", prepared=prepared,
                                   fresh_calls=fresh_calls)],
                seeded=True,
            ))


def _writer_ids(fx: Fixture) -> list[str]:
    user = fx.user("writer")
    return [str(user.tenant_id), str(user.user_id)]


def copy_as_superuser(fx: Fixture, stack: ExitStack) -> Operation:
    tenant_id, user_id = _writer_ids(fx)
    lines = "".join(f"{tenant_id}\t{user_id}\tbulk task {i}\n" for i in range(BULK))
    conn = fx.superuser()

    def copy() -> None:
        with conn.cursor().copy("copy tenantdb.tasks (tenant_id, user_id, title) from stdin") as c:
            c.write(lines)

    return copy


def create_tasks_batch(fx: Fixture, stack: ExitStack) -> Operation:
    create_tasks = getattr(tasks, "create_tasks", None)
    if create_tasks is None:
        raise NotAvailable(NO_BATCH)
    user = fx.user("writer")
    scope = fx.db().as_user(user.tenant_id, user.user_id)
    new = [TaskCreate(title=f"bulk task {i}") for i in range(BULK)]
    return lambda: create_tasks(scope, new)


def insert_unnest_as_app(fx: Fixture, stack: ExitStack) -> Operation:
    conn = fx.connect(fx.bench.measured.app_url)
    context = _writer_ids(fx)
    args = {"titles": [f"bulk task {i}" for i in range(BULK)], "descriptions": [""] * BULK}

    def insert() -> None:
        with conn.transaction():
            conn.execute(TRANSACTION_CONTEXT, context)
            conn.execute(INSERT_UNNEST, args)

    return insert


def create_task_loop(fx: Fixture, stack: ExitStack) -> Operation:
    user = fx.user("writer")
    scope = fx.db().as_user(user.tenant_id, user.user_id)
    new = [TaskCreate(title=f"bulk task {i}") for i in range(BULK)]

    def loop() -> None:
        with scope.transaction() as tx:
            for task in new:
                tasks.create_task(tx, task)

    return loop


register(Scenario(
    f"tasks: bulk write, {BULK:,} rows", "bulk",
    baseline=Variant("COPY as superuser (the owner's COPY is refused under RLS)",
                     copy_as_superuser, rows=BULK),
    variants=[
        Variant("tasks.create_tasks, one call", create_tasks_batch, rows=BULK),
        Variant("raw insert ... select from unnest(), tenantdb_app under RLS",
                insert_unnest_as_app, rows=BULK),
        Variant(f"tasks.create_task x {BULK:,} in scope.transaction()", create_task_loop,
                rows=BULK),
    ],
))
