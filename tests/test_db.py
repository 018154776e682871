"""The pool and the transport: round trips, reconnection, health, configuration, logging."""

import contextlib
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from conftest import Member, refused_login_url
from faults import Proxy
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tenantdb import (
    ConfigurationError,
    Database,
    MigrationsPending,
    Settings,
    Unavailable,
    tasks,
    tenants,
)
from tenantdb.migrate import migration_ids, rollback
from tenantdb.tasks import TaskCreate
from tenantdb.testing import MigratedDatabase, Server, drop_database, migrated_database
from tenantdb.urls import database_name, with_user


@pytest.fixture
def single(database: MigratedDatabase) -> Iterator[Database]:
    """A pool of exactly one connection, so every call uses the same one."""
    with Database.connect(database_url=database.app_url, pool_min_size=1,
                          pool_max_size=1) as db:
        yield db


def _syncs(db: Database, action: Any) -> int:
    """How many round trips ``action`` makes on the pool's only connection: the messages that
    make the server answer, Sync (extended protocol, pipelines) and Query (simple protocol)."""
    with tempfile.TemporaryFile("w+") as trace:
        conn = db.checkout()
        conn.pgconn.trace(trace.fileno())
        db.checkin(conn)
        action()
        conn = db.checkout()
        conn.pgconn.untrace()
        db.checkin(conn)
        trace.seek(0)
        sent = [line.split("\t")[1:4] for line in trace]
        return sum(1 for f in sent if f[:1] == ["F"] and f[2].split()[0] in ("Sync", "Query"))


def test_a_call_on_a_scope_is_one_round_trip(single: Database, alice: Member) -> None:
    scope = single.as_user(alice.tenant_id, alice.id)
    assert _syncs(single, lambda: tasks.list_tasks(scope)) == 1
    assert _syncs(single, lambda: tasks.create_task(scope, TaskCreate(title="x"))) == 1


def test_a_transaction_is_one_round_trip_per_statement_plus_commit(single: Database,
                                                                  alice: Member) -> None:
    scope = single.as_user(alice.tenant_id, alice.id)

    def two_statements() -> None:
        with scope.transaction() as tx:
            tasks.create_task(tx, TaskCreate(title="one"))
            tasks.list_tasks(tx)

    assert _syncs(single, two_statements) == 3
    assert _syncs(single, lambda: scope.transaction().__enter__().__exit__(None, None, None)) == 0


def test_prepared_statements_are_used_and_can_be_turned_off(database: MigratedDatabase,
                                                           alice: Member) -> None:
    def prepared(enabled: bool) -> list[str]:
        with Database.connect(database_url=database.app_url, pool_min_size=1, pool_max_size=1,
                              prepared_statements=enabled) as db:
            for _ in range(6):
                tasks.list_tasks(db.as_user(alice.tenant_id, alice.id))
            with db.connection() as conn:
                return [r[0] for r in conn.execute("select statement from pg_prepared_statements")]

    assert any("from tenantdb.tasks" in s for s in prepared(True))
    assert prepared(False) == []


def test_a_terminated_connection_fails_no_caller(single: Database, alice: Member,
                                                 observer: psycopg.Connection[Any]) -> None:
    """The server ended the idle connection (it sends a FATAL first): the checkout sees it
    without a round trip and hands out a fresh connection instead."""
    scope = single.as_user(alice.tenant_id, alice.id)
    with single.connection() as conn:
        pid = conn.info.backend_pid
    observer.execute("select pg_terminate_backend(%s, 10000)", [pid])  # waits for the exit
    assert tasks.list_tasks(scope).items == []
    with single.connection() as conn:
        assert conn.info.backend_pid != pid


def test_health_reports_server_pool_and_migrations(db: Database) -> None:
    health = db.health()
    assert health.ok
    assert health.reachable
    assert health.server_version
    assert health.server_version[0].isdigit()
    assert health.pending_migrations == []
    assert health.pool["pool_max"] == db.settings.pool_max_size


def test_health_reports_pending_migrations(tenantdb_server: Server) -> None:
    fresh = migrated_database(tenantdb_server)
    try:
        rollback(fresh.superuser_url, count=1)
        with Database.connect(database_url=fresh.app_url, pool_min_size=1) as db:
            health = db.health()
        assert health.pending_migrations == migration_ids()[-1:]
        assert not health.ok
    finally:
        drop_database(tenantdb_server, fresh.superuser_url)


def test_pool_defaults() -> None:
    settings = Settings(database_url="postgresql://x@localhost/y")
    assert (settings.pool_min_size, settings.pool_max_size) == (5, 15)
    assert settings.prepared_statements is True


@pytest.mark.parametrize("override", [{"pool_max_size": 0}, {"pool_size": 3}])
def test_bad_settings_are_configuration_errors(database: MigratedDatabase,
                                               override: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError, match="invalid settings"):
        Database.connect(database_url=database.app_url, **override)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://a@h/d")
    monkeypatch.setenv("TENANTDB_POOL_MAX_SIZE", "3")
    monkeypatch.setenv("TENANTDB_POOL_MIN_SIZE", "1")
    monkeypatch.setenv("TENANTDB_PREPARED_STATEMENTS", "false")
    settings = Settings()
    assert (settings.database_url, settings.pool_max_size, settings.prepared_statements) == (
        "postgresql://a@h/d", 3, False)


@pytest.mark.parametrize("url", ["", "postgresql://[::1", "host=x port=notaport ="])
def test_malformed_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        Database.connect(Settings(database_url=url))


def test_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    url = f"postgresql://tenantdb_app@/x?host={tmp_path}"  # no server listens there
    with pytest.raises(Unavailable, match="cannot connect"):
        Database.connect(database_url=url, connect_timeout=0.5)


@pytest.mark.parametrize(("login", "sqlstate"), [
    ({"database": "no_such_database"}, "3D000"),
    ({"user": "no_such_role"}, "28000"),
])
def test_a_refused_login_is_a_configuration_error_at_once(
    database: MigratedDatabase, login: dict[str, str], sqlstate: str
) -> None:
    """Retrying cannot fix a missing database or role: no retrying for a minute, no Unavailable."""
    url = refused_login_url(database.app_url, **login)
    with pytest.raises(ConfigurationError, match="refused the login") as refused:
        Database.connect(database_url=url, connect_timeout=60)
    assert not isinstance(refused.value, Unavailable)
    assert refused.value.sqlstate == sqlstate
    assert next(iter(login.values())) in str(refused.value)


def test_a_missing_connect_privilege_is_a_configuration_error(empty_database: str) -> None:
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(sql.SQL("revoke connect on database {} from public").format(
            sql.Identifier(database_name(empty_database))))
    with pytest.raises(ConfigurationError, match="permission denied for database") as refused:
        Database.connect(database_url=with_user(empty_database, "tenantdb_app"))
    assert refused.value.sqlstate == "42501"


def test_after_a_rollback_the_error_says_migrations_are_pending(tenantdb_server: Server) -> None:
    fresh = migrated_database(tenantdb_server)
    try:
        with Database.connect(database_url=fresh.app_url, pool_min_size=1) as db:
            since_tasks = len(migration_ids()) - migration_ids().index("0003_tasks")
            rollback(fresh.superuser_url, count=since_tasks)  # the tasks table goes
            made = tenants.provision_tenant(db.as_tenant(uuid4()), tenants.TenantCreate(
                name="T", owner=tenants.UserCreate(email="t@t.test", display_name="T")))
            with pytest.raises(MigrationsPending, match="run `tenantdb migrate`") as pending:
                tasks.list_tasks(db.as_user(made.tenant.id, made.user.id))
            assert pending.value.sqlstate == "42P01"
            assert "tenantdb.tasks" in str(pending.value)
            rollback(fresh.superuser_url, count=None)  # the schema goes too
            with pytest.raises(MigrationsPending, match="migrations are pending"):
                tenants.provision_tenant(db.as_tenant(uuid4()), tenants.TenantCreate(
                    name="U", owner=tenants.UserCreate(email="u@u.test", display_name="U")))
    finally:
        drop_database(tenantdb_server, fresh.superuser_url)


def test_logs_name_queries_and_never_values(db: Database, alice: Member,
                                            caplog: pytest.LogCaptureFixture) -> None:
    secret = f"secret-{os.getpid()}"
    with caplog.at_level(logging.DEBUG, logger="tenantdb"):
        tasks.create_task(alice.scope, TaskCreate(title=secret))
    assert "create_task" in caplog.text
    assert " ms" in caplog.text
    assert secret not in caplog.text
    assert str(alice.tenant_id) not in caplog.text


def _server_address(url: str) -> tuple[int, str | tuple[str, int]]:
    """The socket family and address the server of ``url`` listens on: a Unix socket in a
    directory, or a TCP host and port."""
    given = conninfo_to_dict(url)
    host, port = str(given.get("host") or "localhost"), int(given.get("port") or 5432)
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


def _forward(listener: socket.socket, url: str) -> None:
    """Accept TCP connections and relay each to the server of ``url``."""
    family, address = _server_address(url)
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        server = socket.socket(family)
        server.connect(address)
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def test_connect_retries_until_the_server_answers(
    database: MigratedDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """The server is not listening yet when connect() starts; it appears a little later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def open_later() -> None:
        time.sleep(0.5)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        _forward(listener, database.app_url)

    threading.Thread(target=open_later, daemon=True).start()
    url = f"postgresql://tenantdb_app@127.0.0.1:{port}/{database.name}"
    try:
        with caplog.at_level(logging.INFO, logger="tenantdb"), Database.connect(
            database_url=url, pool_min_size=1, connect_timeout=30
        ) as db:
            assert db.health().reachable
    finally:
        listener.close()
    assert "not reachable yet, retrying" in caplog.text


def _message_kinds(chunk: bytes) -> list[str]:
    """The type of each frontend message in ``chunk`` (a type byte, then a 4-byte length)."""
    kinds, at = [], 0
    while at < len(chunk):
        kinds.append(chr(chunk[at]))
        at += 1 + int.from_bytes(chunk[at + 1:at + 5], "big")
    assert at == len(chunk), "the chunk ends inside a message"
    return kinds


def test_a_call_is_written_in_one_flush_ending_in_one_sync(database: MigratedDatabase,
                                                          alice: Member) -> None:
    """What reaches the server for one call: one chunk (one write by the client, nothing
    trickling after it), holding the context, the statement and a single Sync at its end."""
    proxy = Proxy(database.app_url)
    try:
        with Database.connect(database_url=proxy.url("tenantdb_app", database.name),
                              pool_min_size=1, pool_max_size=1) as db:
            scope = db.as_user(alice.tenant_id, alice.id)
            tasks.list_tasks(scope)  # the first call also prepares the statements
            for call in (lambda: tasks.list_tasks(scope),
                         lambda: tasks.create_task(scope, TaskCreate(title="x"))):
                proxy.requests.clear()
                call()
                (chunk,) = proxy.requests
                kinds = _message_kinds(chunk)
                assert kinds.count("E") == 2  # Execute: the context, then the statement
                assert kinds.count("S") == 1  # one Sync: one implicit transaction
                assert kinds[-1] == "S"
    finally:
        proxy.close()


def test_prepared_statements_dropped_behind_its_back_are_prepared_again(
    single: Database, alice: Member
) -> None:
    scope = single.as_user(alice.tenant_id, alice.id)
    tasks.list_tasks(scope)  # prepared on the pool's only connection
    conn = single.checkout()
    conn.execute("deallocate all")  # without tenantdb's reset: its names are gone
    single.checkin(conn)
    assert tasks.list_tasks(scope).items == []  # 26000 at first: nothing ran, so tried again
    tasks.create_task(scope, TaskCreate(title="a write, prepared before"))
    conn = single.checkout()
    conn.execute("deallocate all")
    single.checkin(conn)
    assert [t.title for t in tasks.list_tasks(scope).items] == ["a write, prepared before"]
