"""``tenantdb check``: a migrated database keeps the tenancy contract; a broken table is named."""

import subprocess
import sys

import psycopg
import pytest

from tenantdb import ConfigurationError
from tenantdb.checks import Violation, check
from tenantdb.migrate import migrate
from tenantdb.testing import MigratedDatabase
from tenantdb.urls import with_user

# As tenantdb_owner, in a schema of its own: one table made right with the helper, and one of
# each way to get the contract wrong.
BROKEN_SCHEMA = """
create schema broken;
create table broken.good (tenant_id uuid not null, id uuid not null, user_id uuid not null,
  constraint good_pkey primary key (tenant_id, id));
create index good_user_idx on broken.good (tenant_id, user_id);
call tenantdb.enable_tenant_isolation('broken.good', 'user_private');
create view broken.good_view with (security_invoker = true) as select id from broken.good;

create table broken.no_rls (tenant_id uuid not null, id uuid not null,
  constraint no_rls_pkey primary key (tenant_id, id));
create table broken.unforced (tenant_id uuid not null, id uuid not null,
  constraint unforced_pkey primary key (tenant_id, id));
alter table broken.unforced enable row level security;
create policy unforced_isolation on broken.unforced
  using (tenant_id = (select tenantdb.current_tenant_id()))
  with check (tenant_id = (select tenantdb.current_tenant_id()));
create table broken.unchecked (tenant_id uuid not null, id uuid not null,
  constraint unchecked_pkey primary key (tenant_id, id));
call tenantdb.enable_tenant_isolation('broken.unchecked', 'tenant_shared');
create policy unchecked_inserts on broken.unchecked for insert with check (true);
create policy unchecked_reads on broken.unchecked for select using (true);
create table broken.global_keys (tenant_id uuid not null, id uuid not null, email text,
  owner_id uuid, constraint global_keys_pkey primary key (id),
  constraint global_keys_email_key unique (email),
  constraint global_keys_owner_fkey foreign key (owner_id) references broken.global_keys (id));
create index global_keys_email_idx on broken.global_keys (lower(email));
alter table broken.global_keys enable row level security;
alter table broken.global_keys force row level security;
create table broken.untenanted (id uuid primary key);
create view broken.definer_view as select id from broken.good;
grant truncate, select on broken.good to tenantdb_app;
grant select on broken.no_rls to public;
"""
AS_SUPERUSER = """
grant create on schema broken to tenantdb_app;
create table broken.app_owned (tenant_id uuid not null, id uuid not null,
  constraint app_owned_pkey primary key (tenant_id, id));
call tenantdb.enable_tenant_isolation('broken.app_owned', 'tenant_shared');
alter table broken.app_owned owner to tenantdb_app;
"""
EXPECTED = {
    ("broken.app_owned (owner tenantdb_app)",
     "is not owned by tenantdb_owner (the runtime role must own nothing)"),
    ("broken.definer_view", "the view is not security_invoker: it reads with its owner's rights"),
    ("broken.global_keys", "no permissive policy: nobody can use the table"),
    ("broken.global_keys, primary key broken.global_keys_pkey",
     "does not lead with the tenant key"),
    ("broken.global_keys, unique index broken.global_keys_email_key",
     "does not lead with the tenant key"),
    ("broken.global_keys, index broken.global_keys_email_idx", "does not lead with the tenant key"),
    ("broken.global_keys, foreign key global_keys_owner_fkey",
     "the foreign key does not lead with tenant_id"),
    ("broken.good: TRUNCATE to tenantdb_app",
     "the runtime role (or PUBLIC) holds a privilege it must not have"),
    ("broken.no_rls", "row level security is not enabled"),
    ("broken.no_rls", "row level security is not forced (the owner bypasses it)"),
    ("broken.no_rls", "no permissive policy: nobody can use the table"),
    ("broken.no_rls: SELECT to PUBLIC",
     "the runtime role (or PUBLIC) holds a privilege it must not have"),
    ("broken.unchecked, policy unchecked_inserts",
     "the permissive policy does not compare with tenantdb.current_tenant_id()"),
    ("broken.unchecked, policy unchecked_reads",
     "the permissive policy does not compare with tenantdb.current_tenant_id()"),
    ("broken.unforced", "row level security is not forced (the owner bypasses it)"),
    ("broken.untenanted", "row level security is not enabled"),
    ("broken.untenanted", "row level security is not forced (the owner bypasses it)"),
    ("broken.untenanted", "no permissive policy: nobody can use the table"),
    ("broken.untenanted", "no tenant_id column"),
    ("broken.untenanted, primary key broken.untenanted_pkey", "does not lead with the tenant key"),
    ("schema broken", "the runtime role may create objects in the schema"),
}


@pytest.fixture
def broken_database(empty_database: str) -> str:
    """A migrated database of the test's own with a schema ``broken``; its superuser URL."""
    migrate(empty_database)
    with psycopg.connect(with_user(empty_database, "tenantdb_owner"), autocommit=True) as owner:
        owner.execute(BROKEN_SCHEMA)
    with psycopg.connect(empty_database, autocommit=True) as superuser:
        superuser.execute(AS_SUPERUSER)
    return empty_database


def test_tenantdb_keeps_its_own_contract(database: MigratedDatabase) -> None:
    assert check(database.superuser_url) == []
    assert check(database.app_url) == []  # any role may read the catalog


def test_every_broken_table_is_reported(broken_database: str) -> None:
    found = {(v.subject, v.problem) for v in check(broken_database, ["broken"])}
    assert found == EXPECTED
    assert check(broken_database) == []  # the tenantdb schema itself is still clean


def test_a_policy_without_with_check_is_reported(broken_database: str) -> None:
    with psycopg.connect(with_user(broken_database, "tenantdb_owner"), autocommit=True) as owner:
        owner.execute("alter policy unforced_isolation on broken.unforced with check (true)")
        owner.execute("create table broken.loose (tenant_id uuid not null, id uuid not null,"
                      " constraint loose_pkey primary key (tenant_id, id))")
        owner.execute("call tenantdb.enable_tenant_isolation('broken.loose', 'tenant_shared')")
        owner.execute("create policy loose_writes on broken.loose for update"
                      " using (tenant_id = (select tenantdb.current_tenant_id()))")
    found = set(check(broken_database, ["broken"]))
    assert Violation("broken.loose, policy loose_writes",
                     "the policy has no WITH CHECK: writes are not checked against the tenant"
                     ) in found
    assert Violation("broken.unforced, policy unforced_isolation",
                     "the permissive policy does not compare with tenantdb.current_tenant_id()"
                     ) in found


def test_an_unknown_schema_is_a_configuration_error(database: MigratedDatabase) -> None:
    with pytest.raises(ConfigurationError, match="no schema named nope"):
        check(database.app_url, ["nope"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tenantdb.cli", "check", *args],
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_check_command(database: MigratedDatabase, broken_database: str) -> None:
    clean = _cli("--database", database.app_url)
    assert (clean.returncode, clean.stdout) == (
        0, "tenancy contract holds in schema(s) tenantdb\n"), clean.stderr
    broken = _cli("--database", broken_database, "--schema", "broken")
    assert broken.returncode == 1, broken.stderr
    lines = broken.stdout.splitlines()
    assert lines[0] == (f"{len(EXPECTED)} violation(s) of the tenancy contract"
                        " in schema(s) tenantdb, broken:")
    assert "  broken.no_rls: row level security is not enabled" in lines
    unknown = _cli("--database", database.app_url, "--schema", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr == "tenantdb: no schema named nope in this database\n"
