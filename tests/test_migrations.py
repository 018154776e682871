"""Migrations: apply, roll back, apply again; roles. (The shape every tenant table must have is
`tenantdb check`, in test_checks.)"""

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tenantdb import ConfigurationError
from tenantdb.migrate import bootstrap, migrate, migration_ids, rollback, status
from tenantdb.paths import MIGRATIONS_DIR
from tenantdb.testing import MigratedDatabase
from tenantdb.urls import for_yoyo, with_user


def _objects(url: str) -> list[tuple[str, str]]:
    """Every object in the tenantdb schema, and the schema itself."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select 'schema', nspname from pg_namespace where nspname = 'tenantdb'"
            " union all select c.relkind::text, c.relname from pg_class c"
            "  join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'tenantdb'"
            " union all select 'function', p.proname from pg_proc p"
            "  join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'tenantdb'"
        ).fetchall()


def test_apply_roll_back_all_and_apply_again(empty_database: str) -> None:
    assert migrate(empty_database) == migration_ids()
    assert all(s.applied for s in status(empty_database))
    assert ("r", "tasks") in _objects(empty_database)
    assert migrate(empty_database) == []  # idempotent

    assert rollback(empty_database, count=None) == migration_ids()[::-1]
    assert _objects(empty_database) == []
    assert not any(s.applied for s in status(empty_database))

    assert migrate(empty_database) == migration_ids()
    assert ("r", "tasks") in _objects(empty_database)


def test_rollback_count(empty_database: str) -> None:
    migrate(empty_database)
    assert rollback(empty_database, count=1) == migration_ids()[-1:]
    assert rollback(empty_database, count=0) == []
    applied = [s.applied for s in status(empty_database)]
    assert applied == [True] * (len(migration_ids()) - 1) + [False]


def test_every_migration_has_a_rollback() -> None:
    for migration in migration_ids():
        assert (MIGRATIONS_DIR / f"{migration}.rollback.sql").is_file(), migration


def test_concurrent_migrators_do_not_collide(empty_database: str) -> None:
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(migrate, [empty_database] * 3))
    assert sorted(m for applied in results for m in applied) == migration_ids()
    with psycopg.connect(empty_database) as conn:
        rows = conn.execute("select migration_id from tenantdb_owner._yoyo_migration").fetchall()
    assert sorted(r[0] for r in rows) == migration_ids()


def test_the_runtime_role_cannot_migrate(empty_database: str) -> None:
    migrate(empty_database)
    with pytest.raises(ConfigurationError, match="tenantdb_owner"):
        migrate(with_user(empty_database, "tenantdb_app"))


def test_owner_migrates_after_bootstrap_and_plain_yoyo_works(empty_database: str) -> None:
    with psycopg.connect(empty_database, autocommit=True) as conn:
        bootstrap(conn)
        bootstrap(conn)  # idempotent
    owner_url = with_user(empty_database, "tenantdb_owner")
    yoyo = shutil.which("yoyo", path=str(Path(sys.executable).parent))
    assert yoyo, "the yoyo command comes with yoyo-migrations"
    command = [yoyo, "apply", "--batch", "--database", for_yoyo(owner_url), str(MIGRATIONS_DIR)]
    subprocess.run(command, check=True, capture_output=True)
    assert all(s.applied for s in status(owner_url))
    assert migrate(owner_url) == []


def test_roles_have_least_privilege(database: MigratedDatabase) -> None:
    with psycopg.connect(database.superuser_url) as conn:
        roles = conn.execute(
            "select rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles"
            " where rolname in ('tenantdb_owner', 'tenantdb_app') order by rolname"
        ).fetchall()
        owned_by_app = conn.execute(
            "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner"
            " where r.rolname = 'tenantdb_app'"
        ).fetchone()
        app_in_owner = conn.execute(
            "select pg_has_role('tenantdb_app', 'tenantdb_owner', 'member')").fetchone()
    assert roles == [("tenantdb_app", False, False, False, False),
                     ("tenantdb_owner", False, False, False, False)]
    assert owned_by_app == (0,)
    assert app_in_owner == (False,)
