"""tenantdb.enable_tenant_isolation: the one line a migration calls to isolate a table."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tenantdb.migrate import migrate, migration_ids, rollback
from tenantdb.testing import MigratedDatabase

Policies = list[tuple[Any, ...]]


def _policies(url: str, schema: str = "tenantdb") -> Policies:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select tablename, policyname, permissive, roles, cmd, qual, with_check"
            "  from pg_policies where schemaname = %s order by tablename, policyname", [schema]
        ).fetchall()


@pytest.fixture
def owner(database: MigratedDatabase) -> Iterator[psycopg.Connection[Any]]:
    """A connection as tenantdb_owner whose work is rolled back at the end of the test."""
    with psycopg.connect(database.owner_url, autocommit=True) as conn, \
            conn.transaction(force_rollback=True):
        conn.execute("create schema service")
        yield conn


def test_tenantdb_tables_keep_their_policies_through_the_helper(empty_database: str) -> None:
    migrate(empty_database)
    with_helper = _policies(empty_database)
    since_helper = migration_ids()[migration_ids().index("0004_tenancy_helper"):]
    assert rollback(empty_database, count=len(since_helper)) == since_helper[::-1]
    as_written = _policies(empty_database)
    assert with_helper == as_written
    assert {p[1] for p in as_written} == {"tenants_isolation", "users_isolation", "tasks_isolation"}
    assert migrate(empty_database) == since_helper
    assert _policies(empty_database) == as_written


def test_a_user_private_table_gets_the_standard_policy(
    owner: psycopg.Connection[Any], database: MigratedDatabase
) -> None:
    owner.execute('create table service."Odd Name" (tenant_id uuid not null, id uuid not null,'
                  ' user_id uuid not null, primary key (tenant_id, id))')
    for _ in range(2):  # idempotent
        owner.execute("call tenantdb.enable_tenant_isolation('service.\"Odd Name\"',"
                      " 'user_private')")
    flags = owner.execute("select relrowsecurity, relforcerowsecurity from pg_class"
                          " where oid = 'service.\"Odd Name\"'::regclass").fetchone()
    assert flags == (True, True)
    policies = owner.execute(
        "select tablename, policyname, permissive, roles, cmd, qual, with_check"
        "  from pg_policies where schemaname = 'service'").fetchall()
    (tasks_policy,) = [p for p in _policies(database.superuser_url) if p[0] == "tasks"]
    assert policies == [("Odd Name", "Odd Name_isolation", *tasks_policy[2:])]


def test_a_tenant_shared_table_gets_the_tenant_part_only(
    owner: psycopg.Connection[Any], database: MigratedDatabase
) -> None:
    owner.execute("create table service.shared (tenant_id uuid not null, id uuid not null,"
                  " primary key (tenant_id, id))")
    owner.execute("call tenantdb.enable_tenant_isolation('service.shared', 'tenant_shared')")
    policy = owner.execute("select cmd, qual, with_check from pg_policies"
                           " where schemaname = 'service'").fetchall()
    (users_policy,) = [p for p in _policies(database.superuser_url) if p[0] == "users"]
    assert policy == [users_policy[4:]]
    assert "user_id" not in policy[0][1]


@pytest.mark.parametrize(("columns", "visibility", "message"), [
    ("id uuid primary key", "tenant_shared", "needs a column tenant_id uuid not null"),
    ("tenant_id text not null, id uuid, primary key (tenant_id, id)", "tenant_shared",
     "needs a column tenant_id uuid not null"),
    ("tenant_id uuid, id uuid, unique (tenant_id, id)", "tenant_shared",
     "needs a column tenant_id uuid not null"),
    ("tenant_id uuid not null, id uuid, primary key (tenant_id, id)", "user_private",
     "a user-private table needs a column user_id uuid not null"),
    ("tenant_id uuid not null, id uuid, user_id uuid, primary key (tenant_id, id)",
     "user_private", "a user-private table needs a column user_id uuid not null"),
    ("tenant_id uuid not null, id uuid primary key", "tenant_shared",
     "the primary key must start with tenant_id"),
    ("tenant_id uuid not null, id uuid", "tenant_shared",
     "the primary key must start with tenant_id"),
    ("tenant_id uuid not null, id uuid, primary key (id, tenant_id)", "tenant_shared",
     "the primary key must start with tenant_id"),
    ("tenant_id uuid not null, id uuid, primary key (tenant_id, id)", "everyone",
     "visibility must be 'user_private' or 'tenant_shared', not 'everyone'"),
])
def test_a_table_without_the_tenancy_shape_is_refused(
    owner: psycopg.Connection[Any], columns: str, visibility: str, message: str
) -> None:
    owner.execute(f"create table service.t ({columns})")
    with pytest.raises(psycopg.Error, match=message), owner.transaction():
        owner.execute("call tenantdb.enable_tenant_isolation('service.t', %s)", [visibility])
    flags = owner.execute("select relrowsecurity from pg_class where oid = 'service.t'::regclass"
                          ).fetchone()
    assert flags == (False,)  # nothing was changed


def test_a_view_is_refused(owner: psycopg.Connection[Any]) -> None:
    owner.execute("create view service.v as select gen_random_uuid() as tenant_id")
    with pytest.raises(psycopg.errors.WrongObjectType, match="not a table"):
        owner.execute("call tenantdb.enable_tenant_isolation('service.v', 'tenant_shared')")


def test_the_runtime_role_cannot_call_it(database: MigratedDatabase) -> None:
    with psycopg.connect(database.app_url) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("call tenantdb.enable_tenant_isolation('tenantdb.tasks', 'tenant_shared')")
