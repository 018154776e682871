"""Point-read throughput of tenantdb's paths, as ratios against a baseline measured in the same run.

    .venv/bin/python scripts/benchmark.py [--ops 2000] [--rounds 3]

Baseline (1.00): the same SELECT on one held connection whose context was set once for the
session (no pool, no per-call context). The server is ``TENANTDB_TEST_DSN`` or a throwaway one
(see tenantdb.testing). Rounds interleave the variants, and the best round of each counts, since
machines here are noisy.
"""

import argparse
import time
from collections.abc import Callable
from uuid import UUID

import psycopg

from tenantdb import Database, tasks, tenants
from tenantdb.db import SET_CONTEXT
from tenantdb.tasks import TaskCreate
from tenantdb.testing import drop_database, migrated_database, throwaway_postgres

GET = "select id, user_id, title, description, completed, created_at, updated_at" \
      "  from tenantdb.tasks where id = %(id)s"


def measure(ops: int, call: Callable[[], object]) -> float:
    """Calls per second."""
    started = time.perf_counter()
    for _ in range(ops):
        call()
    return ops / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with throwaway_postgres() as server:
        database = migrated_database(server, prefix="tenantdb_bench")
        try:
            with Database.connect(database_url=database.app_url, pool_min_size=2) as db:
                run(db, database.app_url, args.ops, args.rounds)
        finally:
            drop_database(server, database.superuser_url)


def run(db: Database, app_url: str, ops: int, rounds: int) -> None:
    made = tenants.provision_tenant(db, tenants.TenantCreate(
        name="Bench", owner=tenants.UserCreate(email="b@bench.test", display_name="B")))
    me = db.as_user(made.tenant.id, made.user.id)
    task_id: UUID = tasks.create_task(me, TaskCreate(title="benchmark")).id
    context = [str(made.tenant.id), str(made.user.id)]

    held = psycopg.connect(app_url, autocommit=True)
    held.execute("select set_config('app.tenant_id', %s, false),"
                 " set_config('app.user_id', %s, false)", context)

    def bare_pipeline() -> None:  # the transport alone: context + SELECT in one flush
        with held.pipeline():
            held.execute(SET_CONTEXT, context)
            cur = held.execute(GET, {"id": task_id})
        cur.fetchone()

    def in_transaction() -> None:
        with me.transaction() as tx:
            tasks.get_task(tx, task_id)

    def naive() -> None:  # pool.connection() + transaction() + set_config + select: 4 round trips
        with db.pool.connection() as conn, conn.transaction():
            conn.execute(SET_CONTEXT, context)
            conn.execute(GET, {"id": task_id}).fetchone()

    variants: dict[str, Callable[[], object]] = {
        "baseline: held connection, raw SELECT": lambda: held.execute(GET, {"id": task_id}),
        "bare pipeline, held connection: 1": bare_pipeline,
        "tasks.get_task(scope): 1 round trip": lambda: tasks.get_task(me, task_id),
        "get_task in scope.transaction(): 2": in_transaction,
        "naive pool + transaction + set_config: 4": naive,
    }
    best = dict.fromkeys(variants, 0.0)
    for _ in range(rounds):
        for name, call in variants.items():
            measure(ops // 10, call)  # warm up: prepared statements, caches
            best[name] = max(best[name], measure(ops, call))
    held.close()
    baseline = best["baseline: held connection, raw SELECT"]
    print(f"{'variant':<44} {'calls/s':>9} {'ratio':>6}")
    for name, rate in best.items():
        print(f"{name:<44} {rate:>9.0f} {rate / baseline:>6.2f}")


if __name__ == "__main__":
    main()
