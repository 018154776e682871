"""The throwaway-Postgres providers: the order they are chosen in, and nothing left running."""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from conftest import postgres_processes
from psycopg.rows import namedtuple_row

from tenantdb.testing import (
    SeededUser,
    Server,
    container_postgres,
    docker_available,
    drop_database,
    middle_task,
    migrated_database,
    seed_tasks,
    temporary_embedded_postgres,
    throwaway_postgres,
)


def test_a_server_named_in_the_environment_comes_first(
    tenantdb_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTDB_TEST_DSN", tenantdb_server.url)
    with throwaway_postgres() as server:
        assert server == Server(tenantdb_server.url, "env")


def test_docker_is_detected_by_a_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    assert docker_available() is False


def test_the_embedded_server_leaves_no_process_or_data_behind() -> None:
    with temporary_embedded_postgres() as server:
        assert server.provider == "embedded"
        with psycopg.connect(server.url) as conn:
            assert conn.execute("select current_setting('server_version_num')::int").fetchone()
        pgdata = parse_qs(urlsplit(server.url).query)["host"][0]  # its socket is in the data dir
        assert postgres_processes(pgdata)
    assert postgres_processes(pgdata) == []
    assert not Path(pgdata).exists()


@pytest.mark.skipif(not docker_available(), reason="no Docker daemon answers on this machine")
def test_the_container_provider() -> None:
    with container_postgres() as server, psycopg.connect(server.url) as conn:
        assert server.provider == "testcontainers"
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_seeded_tasks_belong_to_their_user_and_a_deep_page_starts_halfway(
    tenantdb_server: Server,
) -> None:
    database = migrated_database(tenantdb_server, prefix="tenantdb_seed")
    try:
        users = seed_tasks(database.superuser_url, [5, 0, 3])
        with psycopg.connect(database.app_url, autocommit=True) as conn:
            for user in users:
                with conn.transaction():
                    conn.execute(
                        "select set_config('app.tenant_id', %s, true),"
                        " set_config('app.user_id', %s, true)",
                        [str(user.tenant_id), str(user.user_id)],
                    )
                    seen = conn.execute("select count(*) from tenantdb.tasks").fetchone()
                assert seen == (user.tasks,)
        newest_first = sorted(
            [(t.created_at, t.id) for t in _tasks_of(database.superuser_url, users[0])],
            reverse=True,
        )
        middle_id, middle_created_at = middle_task(database.superuser_url, users[0])
        assert newest_first[2] == (middle_created_at, middle_id)
    finally:
        drop_database(tenantdb_server, database.superuser_url)


def _tasks_of(superuser_url: str, user: SeededUser) -> list[Any]:
    with psycopg.connect(superuser_url, row_factory=namedtuple_row) as conn:
        return conn.execute(
            "select id, created_at from tenantdb.tasks where tenant_id = %s and user_id = %s",
            [user.tenant_id, user.user_id],
        ).fetchall()
