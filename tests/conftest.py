"""Fixtures for tenantdb's own tests, on top of the plugin's tenantdb_server/_database/_db.

Every test makes its own tenants (random ids), so tests share one migrated database and need no
cleanup. ``observer`` is a superuser connection that looks from outside at what really committed.
``db`` is parametrised: every test that uses it (or ``alice``, ``bob``, ...) runs on the sync
``Database`` and on the ``AsyncDatabase`` (driven through :mod:`blocking`); ``sync_db`` is the
sync one alone, for tests about raw connections.
"""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psutil
import psycopg
import pytest
from blocking import BlockingDatabase, BlockingScope, Loop

from tenantdb import Database, Scope, tasks, tenants
from tenantdb.tenants import TenantCreate, UserCreate
from tenantdb.testing import MigratedDatabase, Server, create_database, drop_database
from tenantdb.urls import with_database, with_user

pytest_plugins = ["pytester"]  # test_packaging runs the plugin in a service's test run
collect_ignore = ["sample_service"]  # its own test run, in test_sample_service


@dataclass(frozen=True)
class Member:
    """A user of a tenant, and the scope that acts for them."""

    tenant_id: UUID
    id: UUID
    scope: Scope | BlockingScope


AnyDatabase = Database | BlockingDatabase


@pytest.fixture(scope="session")
def database(tenantdb_database: MigratedDatabase) -> MigratedDatabase:
    return tenantdb_database


@pytest.fixture(scope="session")
def sync_db(tenantdb_db: Database) -> Database:
    return tenantdb_db


@pytest.fixture(scope="session")
def async_db(database: MigratedDatabase) -> Iterator[BlockingDatabase]:
    loop = Loop()
    blocking = BlockingDatabase.connect(loop, database_url=database.app_url, pool_min_size=2)
    yield blocking
    blocking.close()
    loop.close()


@pytest.fixture(params=["sync", "async"])
def db(request: pytest.FixtureRequest) -> AnyDatabase:
    """The sync Database, then the AsyncDatabase: the test runs once on each."""
    found: AnyDatabase = request.getfixturevalue(f"{request.param}_db")
    return found


@pytest.fixture
def observer(database: MigratedDatabase) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database.superuser_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def new_tenant(db: AnyDatabase) -> Callable[..., Member]:
    """Provision a tenant with a first user; that user, as a Member."""

    def make(name: str = "Tenant") -> Member:
        email = f"owner-{uuid4().hex[:8]}@example.test"
        owner = UserCreate(email=email, display_name="Owner")
        made = tenants.provision_tenant(db.as_tenant(uuid4()), TenantCreate(name=name, owner=owner))
        return Member(made.tenant.id, made.user.id, db.as_user(made.tenant.id, made.user.id))

    return make


@pytest.fixture
def alice(new_tenant: Callable[..., Member]) -> Member:
    return new_tenant("Acme")


@pytest.fixture
def bob(new_tenant: Callable[..., Member]) -> Member:
    """A stranger: a user of another tenant."""
    return new_tenant("Globex")


@pytest.fixture
def colleague(db: AnyDatabase, alice: Member) -> Member:
    """Another user of alice's tenant."""
    user = tenants.create_user(
        alice.scope, UserCreate(email=f"c-{uuid4().hex[:8]}@example.test", display_name="Carl")
    )
    return Member(alice.tenant_id, user.id, db.as_user(alice.tenant_id, user.id))


@pytest.fixture
def alice_task(alice: Member) -> tasks.Task:
    return tasks.create_task(alice.scope, tasks.TaskCreate(title="Alice's task", description="d"))


@pytest.fixture
def empty_database(tenantdb_server: Server) -> Iterator[str]:
    """A new, empty database of the test's own (superuser URL), dropped afterwards."""
    url = create_database(tenantdb_server, prefix="tenantdb_empty")
    yield url
    drop_database(tenantdb_server, url)


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A temporary directory for an embedded server's data, outside pytest's own temporary
    directories: as root, pytest resets those to mode 0700 whenever a session starts, which
    locks out the system user the embedded server runs as."""
    path = Path(tempfile.mkdtemp(prefix="tenantdb-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def committed_tasks(observer: psycopg.Connection[Any]) -> Callable[[UUID], int]:
    """How many tasks a tenant has committed, counted by a superuser (no row-level security)."""

    def count(tenant_id: UUID) -> int:
        row = observer.execute("select count(*) from tenantdb.tasks where tenant_id = %s",
                               [tenant_id]).fetchone()
        assert row is not None
        return int(row[0])

    return count


@pytest.fixture
def committed_task(
    observer: psycopg.Connection[Any],
) -> Callable[[UUID], tuple[Any, ...] | None]:
    """A task as committed, read by a superuser (no row-level security): (tenant_id, user_id,
    title, description, completed), or None."""

    def read(task_id: UUID) -> tuple[Any, ...] | None:
        return observer.execute(
            "select tenant_id, user_id, title, description, completed"
            "  from tenantdb.tasks where id = %s",
            [task_id],
        ).fetchone()

    return read



def refused_login_url(url: str, *, database: str | None = None, user: str | None = None) -> str:
    """``url`` naming another database or login role (one that does not exist, in the tests)."""
    if database:
        url = with_database(url, database)
    return with_user(url, user) if user else url


def postgres_processes(pgdata: str) -> list[psutil.Process]:
    """The live processes whose command line names ``pgdata`` (a server's data directory)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if pgdata in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found
