"""A service's migrations, applied after tenantdb's: from folders or package resources, named on
the command line, in TENANTDB_MIGRATIONS or in the pytest ini option."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tenantdb import ConfigurationError, Database, DatabaseError
from tenantdb.checks import check
from tenantdb.migrate import migrate, migration_ids, rollback, status
from tenantdb.migration_sources import resolve_source, split_sources
from tenantdb.urls import with_user

SERVICE = Path(__file__).resolve().parent / "sample_service" / "migrations"
SERVICE_ID = "notes_0001_notebooks_and_notes"


@pytest.fixture
def service_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable package ``notes_service`` carrying the sample's migrations as data."""
    package = tmp_path / "notes_service"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copytree(SERVICE, package / "db" / "migrations")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "notes_service:db/migrations"


def test_sources_are_split_on_commas_or_between_folders() -> None:
    assert split_sources("") == []
    assert split_sources(f"/srv/a{os.pathsep}b , c") == ["/srv/a", "b", "c"]
    assert split_sources("notes_service:db/migrations") == ["notes_service:db/migrations"]
    assert split_sources("pkg.sub:migrations,/srv/a") == ["pkg.sub:migrations", "/srv/a"]


def test_a_source_is_a_folder_or_a_package_resource(service_package: str, tmp_path: Path
                                                    ) -> None:
    assert resolve_source(str(SERVICE)) == SERVICE
    assert resolve_source("sample_service/migrations", base=SERVICE.parents[1]) == SERVICE
    assert resolve_source(service_package) == tmp_path / "notes_service" / "db" / "migrations"
    with pytest.raises(ConfigurationError, match="no such folder"):
        resolve_source(str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="no package 'no_such_pkg'"):
        resolve_source("no_such_pkg:migrations")
    with pytest.raises(ConfigurationError, match="has no folder 'nope'"):
        resolve_source("notes_service:nope")


def test_ids_are_unique_across_sources(tmp_path: Path) -> None:
    (tmp_path / "0001_schema_and_tenant_context.sql").write_text("select 1")
    with pytest.raises(ConfigurationError, match="0001_schema_and_tenant_context is in both"):
        migration_ids([str(tmp_path)])
    with pytest.raises(ConfigurationError, match=f"{SERVICE_ID} is in both"):
        migrate("postgresql://nobody@/nowhere", [str(SERVICE), str(SERVICE)])
    assert migration_ids([str(SERVICE)])[-1] == SERVICE_ID


def test_a_service_migrates_after_tenantdb_and_rolls_back_first(empty_database: str) -> None:
    sources = [str(SERVICE)]
    assert [s.id for s in status(empty_database, sources)] == [*migration_ids(), SERVICE_ID]
    assert migrate(empty_database, sources) == [*migration_ids(), SERVICE_ID]
    assert all(s.applied for s in status(empty_database, sources))
    assert check(empty_database, ["notes"]) == []
    assert rollback(empty_database, 1, sources) == [SERVICE_ID]
    with pytest.raises(ConfigurationError, match="no schema named notes"):
        check(empty_database, ["notes"])
    assert migrate(empty_database, sources) == [SERVICE_ID]


def test_a_package_resource_and_the_environment(
    empty_database: str, service_package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTDB_MIGRATIONS", service_package)
    assert migrate(empty_database) == [*migration_ids([]), SERVICE_ID]
    rollback(empty_database, 1)
    with Database.connect(database_url=with_user(empty_database, "tenantdb_app"),
                          pool_min_size=1) as db:
        assert db.health().pending_migrations == [SERVICE_ID]
    monkeypatch.delenv("TENANTDB_MIGRATIONS")
    with Database.connect(database_url=with_user(empty_database, "tenantdb_app"),
                          pool_min_size=1, migrations=service_package) as db:
        assert db.health().pending_migrations == [SERVICE_ID]


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tenantdb.cli", *args],
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_command_line_takes_sources(empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    assert _cli("status", "--migrations", str(SERVICE), "--database", url).stdout.split()[-2:] \
        == ["pending", SERVICE_ID]
    applied = _cli("migrate", "--migrations", str(SERVICE), "--database", url)
    assert applied.stdout.splitlines()[-1] == f"applied {SERVICE_ID}", applied.stderr
    app_url = with_user(url, "tenantdb_app")
    healthy = _cli("health", "--database", app_url, TENANTDB_MIGRATIONS=str(SERVICE))
    assert (healthy.returncode, "pending migrations: none") == (
        0, healthy.stdout.splitlines()[2])
    rolled = _cli("rollback", "--database", url, TENANTDB_MIGRATIONS=str(SERVICE))
    assert rolled.stdout == f"rolled back {SERVICE_ID}\n"
    pending = _cli("health", "--migrations", str(SERVICE), "--database", app_url)
    assert pending.returncode == 4
    assert f"pending migrations: {SERVICE_ID}" in pending.stdout
    missing = _cli("migrate", "--migrations", str(tmp_path / "nope"), "--database", url)
    assert missing.returncode == 2
    assert "no such folder" in missing.stderr


def test_a_service_table_the_helper_refuses_stops_the_migration(
    empty_database: str, tmp_path: Path
) -> None:
    (tmp_path / "bad_0001_global_table.sql").write_text(
        "-- depends: 0004_tenancy_helper\n"
        "create schema bad;\n"
        "create table bad.settings (id uuid primary key, value text);\n"
        "call tenantdb.enable_tenant_isolation('bad.settings', 'tenant_shared');\n")
    with pytest.raises(DatabaseError, match="needs a column tenant_id uuid not null"):
        migrate(empty_database, [str(tmp_path)])
    states = {s.id: s.applied for s in status(empty_database, [str(tmp_path)])}
    assert states.pop("bad_0001_global_table") is False
    assert all(states.values())  # tenantdb's own went in first
    with psycopg.connect(empty_database) as conn:  # the failed migration left nothing behind
        assert conn.execute("select to_regnamespace('bad')").fetchone() == (None,)


def test_rollback_refuses_while_unknown_service_migrations_are_applied(
    empty_database: str
) -> None:
    migrate(empty_database, [str(SERVICE)])
    with pytest.raises(ConfigurationError, match=f"not in the migration sources: {SERVICE_ID}"):
        rollback(empty_database, None, [])
    assert all(s.applied for s in status(empty_database, [str(SERVICE)]))
    assert rollback(empty_database, None, [str(SERVICE)])[0] == SERVICE_ID
