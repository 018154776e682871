"""The database the benchmark runs on and the users in it, seeded by COPY as the superuser.

With ``DATABASE_URL`` (a superuser URL) the database is kept between runs under a name that
stamps the seed's version, the mode and the migrations, and a second run reuses its rows. Without
it, a throwaway server (``tenantdb.testing.throwaway_postgres``) holds a new database.
"""

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from tenantdb.migrate import APP, OWNER, migrate
from tenantdb.paths import MIGRATIONS_DIR
from tenantdb.testing import (
    MigratedDatabase,
    SeededUser,
    Server,
    drop_database,
    ensure_database,
    migrated_database,
    seed_tasks,
    throwaway_postgres,
)
from tenantdb.urls import database_name, with_user

SEED_VERSION = 1
EVERYDAY_TASKS = 1_000  # the user of the point, page and concurrency scenarios
SMALL_TASKS = 10_000  # the scale scenarios' baseline user


@dataclass(frozen=True)
class Size:
    """How big the scale scenarios' data is."""

    big_user_tasks: int
    filler_tenants: int
    filler_tasks: int

    def describe(self) -> str:
        tenants = self.filler_tenants + 4
        rows = self.big_user_tasks + SMALL_TASKS + self.filler_tenants * self.filler_tasks
        return (f"one user with {self.big_user_tasks:,} tasks among {tenants} tenants, "
                f"{rows + EVERYDAY_TASKS:,} task rows")


@dataclass(frozen=True)
class Population:
    """The seeded users, by role: ``everyday``, ``writer`` (creates go there), and for the
    scale scenarios ``small`` and ``big``."""

    users: dict[str, SeededUser]

    def __getitem__(self, role: str) -> SeededUser:
        return self.users[role]


@contextmanager
def bench_database(
    mode: str, size: Size, *, scale: bool, say: Any
) -> Iterator[tuple[MigratedDatabase, Population]]:
    """The migrated, seeded database for the block; ``say`` reports what takes time."""
    if url := os.environ.get("DATABASE_URL"):
        server = Server(url, "env")
        name = f"tenantdb_bench_v{SEED_VERSION}_{mode}_{migrations_stamp()}"
        say(f"database {name} (kept for the next run)")
        database = _migrated(ensure_database(server, name))
        yield database, populate(database.superuser_url, size, scale=scale, say=say)
        return
    say("starting a throwaway PostgreSQL")
    with throwaway_postgres() as server:
        database = migrated_database(server, prefix="tenantdb_bench")
        try:
            yield database, populate(database.superuser_url, size, scale=scale, say=say)
        finally:
            drop_database(server, database.superuser_url)


def migrations_stamp() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:8]


def _migrated(url: str) -> MigratedDatabase:
    migrate(url)
    return MigratedDatabase(database_name(url), url, with_user(url, OWNER), with_user(url, APP))


def populate(superuser_url: str, size: Size, *, scale: bool, say: Any) -> Population:
    """The users this run needs: those seeded by an earlier run on this database, and new ones."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute(
            "create table if not exists public.bench_population ("
            " role text primary key, tenant_id uuid not null, user_id uuid not null,"
            " tasks int not null)"
        )
        rows = conn.execute("select role, tenant_id, user_id, tasks from public.bench_population")
        users = {role: SeededUser(t, u, n) for role, t, u, n in rows.fetchall()}
    wanted: list[tuple[Sequence[str], list[int]]] = [
        (["everyday", "writer"], [EVERYDAY_TASKS, 0])
    ]
    if scale:
        fillers = [size.filler_tasks] * size.filler_tenants
        wanted.append((["big", "small"], [size.big_user_tasks, SMALL_TASKS, *fillers]))
    for roles, counts in wanted:
        if all(role in users for role in roles):
            continue
        say(f"seeding {sum(counts):,} tasks by COPY")
        seeded = seed_tasks(superuser_url, counts)
        with psycopg.connect(superuser_url, autocommit=True) as conn:
            for role, user in zip(roles, seeded, strict=False):
                conn.execute(
                    "insert into public.bench_population values (%s, %s, %s, %s)",
                    [role, user.tenant_id, user.user_id, user.tasks],
                )
                users[role] = user
    return Population(users)

