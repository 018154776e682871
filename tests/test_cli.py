"""The tenantdb command: subcommands, messages and exit codes, run as a separate process."""

import subprocess
import sys
from pathlib import Path

import pytest

from tenantdb.migrate import migration_ids
from tenantdb.testing import MigratedDatabase


def tenantdb(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"} | ({"DATABASE_URL": url} if url else {})
    return subprocess.run([sys.executable, "-m", "tenantdb.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_migrate_status_rollback(empty_database: str) -> None:
    assert tenantdb("status", url=empty_database).stdout.split() == [
        word for m in migration_ids() for word in ("pending", m)]
    migrated = tenantdb("migrate", url=empty_database)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.split("\n")[:-1] == [f"applied {m}" for m in migration_ids()]
    assert tenantdb("migrate", "--database", empty_database).stdout == "nothing to apply\n"
    rolled = tenantdb("rollback", "--count", "2", url=empty_database)
    assert rolled.stdout.split("\n")[:-1] == [f"rolled back {m}" for m in migration_ids()[:-3:-1]]
    assert tenantdb("rollback", "--all", url=empty_database).returncode == 0
    assert "applied" not in tenantdb("status", url=empty_database).stdout


def test_health_exit_codes(database: MigratedDatabase, empty_database: str) -> None:
    healthy = tenantdb("health", url=database.app_url)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "pending migrations: none" in healthy.stdout
    pending = tenantdb("health", url=empty_database)
    assert pending.returncode == 4
    assert f"pending migrations: {', '.join(migration_ids())}" in pending.stdout


def test_unreachable_server_exits_3(tmp_path: Path) -> None:
    result = tenantdb("health", "--timeout", "0.5", url=f"postgresql://x@/db?host={tmp_path}")
    assert result.returncode == 3
    assert "database unavailable" in result.stderr


@pytest.mark.parametrize("command", ["migrate", "status", "health"])
def test_bad_or_missing_url_exits_2(command: str) -> None:
    assert tenantdb(command).returncode == 2
    bad = tenantdb(command, url="mysql://nope")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.startswith("tenantdb: ")


def test_demo_starts_the_embedded_server_without_a_url(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tenantdb.cli", "demo"], cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "server: embedded PostgreSQL" in result.stdout
    assert "AccessDenied" in result.stdout
    pgdata = tmp_path / ".tenantdb" / "demo" / "pgdata"
    assert (pgdata / "PG_VERSION").is_file()  # the data stays for the next run
    assert not (pgdata / "postmaster.pid").exists()  # the server does not


def test_demo_against_database_url(empty_database: str) -> None:
    result = tenantdb("demo", url=empty_database)
    assert result.returncode == 0, result.stderr
    assert "AccessDenied: new row violates row-level security policy" in result.stdout
    assert "NoTenantContext" in result.stdout
    assert "carol @ Globex: 1 task(s)" in result.stdout
