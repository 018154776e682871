"""The throwaway-Postgres providers: the order they are chosen in, and nothing left running."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from conftest import postgres_processes

from tenantdb.testing import (
    Server,
    container_postgres,
    docker_available,
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
