"""pytest fixtures for services that use tenantdb (loaded automatically through an entry point).

- ``tenantdb_server``: a throwaway PostgreSQL for the test run (see :mod:`tenantdb.testing`).
- ``tenantdb_database``: a fresh, migrated database on it, shared by the run.
- ``tenantdb_db``: a :class:`~tenantdb.Database` connected as the runtime role ``tenantdb_app``.

Tests share the database: each makes its own tenants (random ids), so none needs cleanup.
The report's header names the provider chosen, and its summary the server and version used.
"""

from collections.abc import Iterator

import pytest

from tenantdb.db import Database
from tenantdb.testing import (
    MigratedDatabase,
    Server,
    chosen_provider,
    describe,
    drop_database,
    migrated_database,
    throwaway_postgres,
)

_USED = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"tenantdb: PostgreSQL provider: {chosen_provider()} (see tenantdb.testing)"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if used := config.stash.get(_USED, None):
        terminalreporter.write_line(f"tenantdb: the tests ran on {used}")


@pytest.fixture(scope="session")
def tenantdb_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with throwaway_postgres() as server:
        request.config.stash[_USED] = describe(server)
        yield server


@pytest.fixture(scope="session")
def tenantdb_database(tenantdb_server: Server) -> Iterator[MigratedDatabase]:
    database = migrated_database(tenantdb_server)
    yield database
    drop_database(tenantdb_server, database.superuser_url)


@pytest.fixture(scope="session")
def tenantdb_db(tenantdb_database: MigratedDatabase) -> Iterator[Database]:
    with Database.connect(database_url=tenantdb_database.app_url, pool_min_size=2) as db:
        yield db
