"""pytest fixtures for services that use tenantdb (loaded automatically through an entry point).

- ``tenantdb_server``: a throwaway PostgreSQL for the test run (see :mod:`tenantdb.testing`).
- ``tenantdb_database``: a fresh, migrated database on it, shared by the run.
- ``tenantdb_db``: a :class:`~tenantdb.Database` connected as the runtime role ``tenantdb_app``.
- ``tenantdb_async_db``: an :class:`~tenantdb.AsyncDatabase` as ``tenantdb_app`` for one async
  test (pytest-asyncio).

Tests share the database: each makes its own tenants (random ids), so none needs cleanup.

A service's own migrations are applied after tenantdb's when named in the ini option
``tenantdb_migrations`` (one folder, relative to the rootdir, or ``package:resource`` a line),
else in ``TENANTDB_MIGRATIONS``.

The report's header names the provider chosen, and its summary the server and version used.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tenantdb.aio import AsyncDatabase
from tenantdb.db import Database
from tenantdb.migration_sources import resolve_source
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("tenantdb_migrations", type="linelist", default=[],
                  help="a service's migrations, applied after tenantdb's by tenantdb_database: "
                  "folders (relative to the rootdir) or package:resource, one a line")


def configured_migrations(config: pytest.Config) -> list[str] | None:
    """The ini option's sources as absolute folders; None (TENANTDB_MIGRATIONS) when unset."""
    entries = config.getini("tenantdb_migrations")
    if not entries:
        return None
    return [str(resolve_source(entry, config.rootpath)) for entry in entries]


@pytest.fixture(scope="session")
def tenantdb_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with throwaway_postgres() as server:
        request.config.stash[_USED] = describe(server)
        yield server


@pytest.fixture(scope="session")
def tenantdb_database(
    tenantdb_server: Server, pytestconfig: pytest.Config
) -> Iterator[MigratedDatabase]:
    database = migrated_database(tenantdb_server, migrations=configured_migrations(pytestconfig))
    yield database
    drop_database(tenantdb_server, database.superuser_url)


def _settings(database: MigratedDatabase) -> dict[str, Any]:
    sources = database.migrations
    migrations = {} if sources is None else {"migrations": ",".join(sources)}
    return {"database_url": database.app_url, **migrations}


@pytest.fixture(scope="session")
def tenantdb_db(tenantdb_database: MigratedDatabase) -> Iterator[Database]:
    with Database.connect(pool_min_size=2, **_settings(tenantdb_database)) as db:
        yield db


@pytest_asyncio.fixture
async def tenantdb_async_db(tenantdb_database: MigratedDatabase) -> AsyncIterator[AsyncDatabase]:
    """An :class:`~tenantdb.AsyncDatabase` as ``tenantdb_app``, opened on the test's own event
    loop (pytest-asyncio) and closed after the test."""
    async with await AsyncDatabase.connect(pool_min_size=1, **_settings(tenantdb_database)) as db:
        yield db
