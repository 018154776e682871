"""A non-editable install carries sql/ and migrations/; services get the fixtures with no code."""

import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

from tenantdb.migrate import migration_ids
from tenantdb.testing import Server

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_sql_and_migrations_inside_the_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("tenantdb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tenantdb/py.typed", "tenantdb/sql/tasks.sql", "tenantdb/sql/bootstrap.sql"} <= names
    for migration in migration_ids():
        assert f"tenantdb/migrations/{migration}.sql" in names
        assert f"tenantdb/migrations/{migration}.rollback.sql" in names

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = ("import tenantdb.paths as p, tenantdb.tasks as t;"
             "print(p.SQL_DIR, p.MIGRATIONS_DIR, t.Q.names(), sep='|')")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, text=True,
                           capture_output=True, env={"PYTHONPATH": str(unpacked)}).stdout
    sql_dir, migrations_dir, names_loaded = found.strip().split("|")
    assert Path(sql_dir) == unpacked / "tenantdb" / "sql"
    assert Path(migrations_dir) == unpacked / "tenantdb" / "migrations"
    assert "list_tasks" in names_loaded


def test_a_service_gets_a_migrated_database_from_the_plugin(
    pytester: pytest.Pytester, tenantdb_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTDB_TEST_DSN", tenantdb_server.url)  # reuse this run's server
    pytester.makepyfile(
        """
        import uuid
        from tenantdb import tasks, tenants

        def test_service(tenantdb_db):
            new = tenants.TenantCreate(
                name="S", owner=tenants.UserCreate(email="s@s.test", display_name="S"))
            made = tenants.provision_tenant(tenantdb_db.as_tenant(uuid.uuid4()), new)
            me = tenantdb_db.as_user(made.tenant.id, made.user.id)
            task = tasks.create_task(me, tasks.TaskCreate(title="from a service"))
            assert tasks.get_task(me, task.id).title == "from a service"

        async def test_async_service(tenantdb_async_db):
            new = tenants.TenantCreate(
                name="A", owner=tenants.UserCreate(email="a@a.test", display_name="A"))
            made = await tenants.provision_tenant(tenantdb_async_db.as_tenant(uuid.uuid4()), new)
            me = tenantdb_async_db.as_user(made.tenant.id, made.user.id)
            task = await tasks.create_task(me, tasks.TaskCreate(title="async"))
            assert (await tasks.get_task(me, task.id)).title == "async"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=2)
    version = _server_version(tenantdb_server)
    result.stdout.fnmatch_lines([  # the run says which PostgreSQL it used
        "tenantdb: PostgreSQL provider: env (see tenantdb.testing)",
        f"tenantdb: the tests ran on PostgreSQL {version} (env: postgresql://*)",
    ])


def _server_version(server: Server) -> str:
    with psycopg.connect(server.url) as conn:
        row = conn.execute("show server_version").fetchone()
    assert row is not None
    return str(row[0])


def test_the_sync_engine_is_generated_from_the_async_one() -> None:
    """tenantdb/db.py is scripts/async_to_sync.py's output for tenantdb/aio.py, not a hand copy."""
    top = Path(__file__).resolve().parents[1]
    checked = subprocess.run([sys.executable, str(top / "scripts" / "async_to_sync.py"), "--check"],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
