"""pytest fixtures for services that use tenantdb (loaded automatically through an entry point).

- ``tenantdb_server``: a throwaway PostgreSQL for the test run (see :mod:`tenantdb.testing`).
- ``tenantdb_database``: a fresh, migrated database on it, shared by the run.
- ``tenantdb_db``: a :class:`~tenantdb.Database` connected as the runtime role ``tenantdb_app``.

Tests share the database: each makes its own tenants (random ids), so none needs cleanup.

A service's own migrations are applied after tenantdb's when named in the ini option
``tenantdb_migrations`` (one folder, relative to the rootdir, or ``package:resource`` a line),
else in ``TENANTDB_MIGRATIONS``.

The report's header names the provider chosen, and its summary the server and version used.
"""

from collections.abc import Iterator

import pytest

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


@pytest.fixture(scope="session")
def tenantdb_db(tenantdb_database: MigratedDatabase) -> Iterator[Database]:
    sources = tenantdb_database.migrations
    overrides = {} if sources is None else {"migrations": ",".join(sources)}
    with Database.connect(database_url=tenantdb_database.app_url, pool_min_size=2,
                          **overrides) as db:
        yield db
