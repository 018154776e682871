"""Query plans at scale: every get/list query of a user stays an index scan on a tenant_id-leading
index, whatever the prepare state, so a plan cliff fails here and not in production.

The database holds one user with 250,000 tasks among 42 tenants of 4,000 (the data of
``scripts/bench.py --quick``), loaded by COPY and analysed: under row-level security the planner
estimates a user's rows as rows / tenants², here ~225 as for the issue's 1M-task user among 99
tenants of 10,000, at a fifth of the size.
Each query runs as ``tenantdb_app`` with the big user's context, prepared by psycopg (which turns
``%(name)s`` into ``$n``), and is explained with ``EXPLAIN EXECUTE`` under
``plan_cache_mode`` = ``force_custom_plan`` (a statement's first calls on a connection, and every
call with prepared statements off) and ``force_generic_plan`` (later calls).
"""

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from tenantdb.pagination import Cursor, cursor_args
from tenantdb.queries import Query, QueryFile
from tenantdb.testing import (
    SeededUser,
    Server,
    drop_database,
    middle_task,
    migrated_database,
    seed_tasks,
)

BIG_USER_TASKS = 250_000
SMALL_TENANTS = 42
SMALL_TENANT_TASKS = 4_000
PAGE = 50

Q = QueryFile("tasks")
CONTEXT = "select set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)"


class Seeded:
    """The seeded database: the runtime role's URL, the big user, and a task in the middle of
    the big user's list (a deep page starts there)."""

    def __init__(self, app_url: str, big: SeededUser, middle: tuple[UUID, datetime]) -> None:
        self.app_url = app_url
        self.big = big
        self.middle_id, self.middle_created_at = middle


@pytest.fixture(scope="module")
def seeded(tenantdb_server: Server) -> Iterator[Seeded]:
    database = migrated_database(tenantdb_server, prefix="tenantdb_plans")
    try:
        big, *_ = seed_tasks(
            database.superuser_url, [BIG_USER_TASKS] + [SMALL_TENANT_TASKS] * SMALL_TENANTS
        )
        yield Seeded(database.app_url, big, middle_task(database.superuser_url, big))
    finally:
        drop_database(tenantdb_server, database.superuser_url)


def _params(seeded: Seeded, case: str) -> tuple[Query, dict[str, Any]]:
    """The query of a case and its parameters, as the big user's scope would pass them."""
    scope = {"tenant_id": seeded.big.tenant_id, "user_id": seeded.big.user_id}
    deep = Cursor(created_at=seeded.middle_created_at, id=seeded.middle_id)
    if case == "get_task":
        return Q.get_task, scope | {"id": seeded.middle_id}
    if case == "list_tasks, first page":
        return Q.list_tasks, scope | cursor_args(None, PAGE)
    if case == "list_tasks, deep page":
        return Q.list_tasks, scope | cursor_args(deep, PAGE)
    if case == "list_tasks_by_completion, first page":
        return Q.list_tasks_by_completion, scope | {"completed": False} | cursor_args(None, PAGE)
    tenant = {"tenant_id": seeded.big.tenant_id}  # tenant-wide service mode
    if case == "list_tenant_tasks, deep page":
        return Q.list_tenant_tasks, tenant | cursor_args(deep, PAGE)
    if case == "list_tenant_tasks_by_completion, first page":
        return Q.list_tenant_tasks_by_completion, tenant | {"completed": False} | cursor_args(
            None, PAGE)
    raise AssertionError(case)


CASES = [
    "get_task",
    "list_tasks, first page",
    "list_tasks, deep page",
    "list_tasks_by_completion, first page",
    "list_tenant_tasks, deep page",
    "list_tenant_tasks_by_completion, first page",
]


def explain_prepared(
    conn: psycopg.Connection[Any], query: Query, params: dict[str, Any], plan_cache_mode: str
) -> dict[str, Any]:
    """The plan that ``EXPLAIN EXECUTE`` shows for the statement prepared by psycopg."""
    conn.execute(query.text, params, prepare=True)
    prepared = conn.execute("select name from pg_prepared_statements where not from_sql")
    names = [name for name, in prepared.fetchall()]
    assert len(names) == 1, f"expected one statement prepared by psycopg, found {names}"
    conn.execute(sql.SQL("set local plan_cache_mode = {}").format(sql.Identifier(plan_cache_mode)))
    explain = sql.SQL("explain (format json) execute {}({})").format(
        sql.Identifier(names[0]), sql.SQL(", ").join(sql.Literal(params[p]) for p in query.params)
    )
    row = conn.execute(explain).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return dict(plan[0]["Plan"])


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def plan_shape(node: dict[str, Any], depth: int = 0) -> str:
    """The plan as an indented outline: node type, relation, index, estimated rows."""
    where = " ".join(str(node[k]) for k in ("Subplan Name", "Relation Name", "Index Name")
                     if k in node)
    line = f"{'  ' * depth}{node['Node Type']} {where} (rows={node.get('Plan Rows')})"
    return "\n".join([line, *(plan_shape(c, depth + 1) for c in node.get("Plans", []))])


def leading_column(conn: psycopg.Connection[Any], index: str) -> str:
    row = conn.execute(
        "select a.attname from pg_index i"
        "  join pg_class c on c.oid = i.indexrelid"
        "  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]"
        " where c.relname = %s and c.relnamespace = 'tenantdb'::regnamespace",
        [index],
    ).fetchone()
    assert row is not None, f"no index {index}"
    return str(row[0])


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("case", CASES)
def test_plan_is_an_index_scan_on_a_tenant_leading_index(
    seeded: Seeded, case: str, plan_cache_mode: str
) -> None:
    query, params = _params(seeded, case)
    user = str(seeded.big.user_id) if "user_id" in params else "*"  # "*": tenant-wide mode
    context = [str(seeded.big.tenant_id), user]
    with psycopg.connect(seeded.app_url, autocommit=True) as conn, conn.transaction():
        conn.execute(CONTEXT, context)
        plan = explain_prepared(conn, query, params, plan_cache_mode)
        nodes = list(plan_nodes(plan))
        shape = plan_shape(plan)
        index_scans = [
            n for n in nodes
            if n["Node Type"] in ("Index Scan", "Index Only Scan")
            and n.get("Relation Name") == "tasks"
        ]
        assert index_scans, f"{case}: no index scan on tasks\n{shape}"
        for scan in index_scans:
            assert leading_column(conn, scan["Index Name"]) == "tenant_id", shape
    sorts = [n for n in nodes if "Sort" in n["Node Type"]]
    assert not sorts, f"{case}: the plan sorts rows instead of reading an index in order\n{shape}"
