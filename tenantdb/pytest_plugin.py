"""pytest fixtures for services that use tenantdb (loaded automatically through an entry point).

- ``tenantdb_server``: a throwaway PostgreSQL for the test run (see :mod:`tenantdb.testing`).
- ``tenantdb_database``: a fresh, migrated database on it, shared by the run.
- ``tenantdb_db``: a :class:`~tenantdb.Database` connected as the runtime role ``tenantdb_app``.

Tests share the database: each makes its own tenants (random ids), so none needs cleanup.
"""

from collections.abc import Iterator

import pytest

from tenantdb.db import Database
from tenantdb.testing import (
    MigratedDatabase,
    Server,
    drop_database,
    migrated_database,
    throwaway_postgres,
)


@pytest.fixture(scope="session")
def tenantdb_server() -> Iterator[Server]:
    with throwaway_postgres() as server:
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
