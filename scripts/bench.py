"""tenantdb's benchmark: each scenario's variants against its named baseline, in one run.

    python scripts/bench.py [--quick|--full] [--json] [--plot] [--rtt-ms N] [--only SCENARIO]

Starts a throwaway PostgreSQL (see tenantdb.testing) unless DATABASE_URL gives a superuser URL,
where the seeded database is kept for the next run. ``--rtt-ms N`` sends every measured
connection through a loopback proxy that delays each direction by N/2 ms. Rounds interleave the
variants (machines here are noisy); rates are the median of the rounds, ratios the median of
per-round ratios. Scenarios are declared in benchlib/scenarios/ (one module a domain).
"""

import argparse
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from benchlib import scenarios
from benchlib.fixture import Bench, Fixture
from benchlib.measure import Outcome, Sample, time_tasks, time_threads
from benchlib.population import Size, bench_database
from benchlib.progress import Progress
from benchlib.proxy import added_latency_ms, delay_proxy, through
from benchlib.registry import NotAvailable, Operation, Scenario, Variant, select
from benchlib.report import METHOD, as_json, plot, rows_of, table
from tenantdb.testing import MigratedDatabase

DOCS = Path(__file__).resolve().parent.parent / "docs"


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int
    seconds: float  # timed, per variant and round
    warmup: float  # untimed, before each timed run
    size: Size
    size_note: str = ""


QUICK = Mode(
    "quick", rounds=3, seconds=0.25, warmup=0.05, size=Size(250_000, 39, 4_000),
    size_note="quick mode: 250k tasks, not 1M, so that seeding fits the two minutes; among "
              "43 tenants, so the planner's estimate under RLS (rows / tenants²) matches the "
              "1M-among-100 case",
)
FULL = Mode("full", rounds=5, seconds=1.0, warmup=0.3, size=Size(1_000_000, 98, 91_000))


def timed(bench: Bench, variant: Variant, op: Operation, seconds: float,
          calls: int | None) -> Sample:
    if variant.is_async:
        return bench.loop.run(time_tasks(op, variant.threads, seconds, calls))
    return time_threads(op, variant.threads, seconds, calls)


def prepare(bench: Bench, fx: Fixture, variant: Variant, stack: ExitStack) -> Operation:
    """The variant's operation, warmed up past its first calls (unless those are measured)."""
    op = variant.make(fx, stack)
    if variant.warmup_calls and not variant.fresh_calls:
        timed(bench, variant, op, 0.0, variant.warmup_calls)
    return op


def one_round(bench: Bench, fx: Fixture, variant: Variant, op: Operation | None) -> Sample:
    with ExitStack() as round_stack:
        if op is None:
            op = prepare(bench, fx, variant, round_stack)
        if variant.fresh_calls:
            return timed(bench, variant, op, 0.0, variant.fresh_calls)
        timed(bench, variant, op, bench.warmup, None)
        return timed(bench, variant, op, bench.seconds, None)


def run_scenario(bench: Bench, scenario: Scenario, progress: Progress) -> dict[str, Outcome]:
    """Every variant of the scenario, round after round, interleaved."""
    variants = scenario.all_variants()
    outcomes = {v.name: Outcome() for v in variants}
    with ExitStack() as stack:
        fx = Fixture(bench, stack)
        ops: dict[str, Operation] = {}
        for variant in variants:
            if not (variant.per_round or variant.fresh_calls):
                progress.step(f"{scenario.name}: preparing {variant.name}", 0)
                with _reported(outcomes[variant.name]):
                    ops[variant.name] = prepare(bench, fx, variant, stack)
        for _ in range(bench.rounds):
            for variant in variants:
                progress.step(f"{scenario.name}: {variant.name}")
                outcome = outcomes[variant.name]
                if outcome.unavailable is None:
                    with _reported(outcome):
                        outcome.samples.append(one_round(bench, fx, variant, ops.get(variant.name)))
    return outcomes


@contextmanager
def _reported(outcome: Outcome) -> Iterator[None]:
    """A variant that cannot run, or fails, says so in its row; the run goes on."""
    try:
        yield
    except NotAvailable as e:
        outcome.unavailable = str(e)
    except Exception as e:  # shown in its row; the other scenarios still run
        outcome.unavailable = f"failed: {type(e).__name__}: {e}".splitlines()[0][:200]
        outcome.samples.clear()


def via_proxy(database: MigratedDatabase, port: int) -> MigratedDatabase:
    return MigratedDatabase(
        database.name, through(database.superuser_url, port), through(database.owner_url, port),
        through(database.app_url, port),
    )


def describe(bench: Bench, mode: Mode, args: argparse.Namespace, scale: bool) -> dict[str, Any]:
    with psycopg.connect(bench.direct.superuser_url) as conn:
        row = conn.execute("select current_setting('server_version')").fetchone()
    meta: dict[str, Any] = {
        "mode": mode.name,
        "rounds": mode.rounds,
        "seconds_per_round": mode.seconds,
        "rtt_ms": args.rtt_ms,
        "rtt_measured_ms": round(added_latency_ms(bench.direct.superuser_url,
                                                  bench.measured.superuser_url), 2)
        if args.rtt_ms else 0.0,
        "server": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "throwaway",
        "postgresql": row[0] if row else None,
        "psycopg": psycopg.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "method": METHOD.format(rounds=mode.rounds),
    }
    if scale:
        meta["scale_data"] = mode.size.describe() + (f" ({mode.size_note})"
                                                     if mode.size_note else "")
    return meta


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="under two minutes (the default)")
    speed.add_argument("--full", action="store_true", help="more rounds, 10M rows at scale")
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    parser.add_argument("--plot", action="store_true", help="PNG charts into docs/")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="simulated round trip (ms)")
    parser.add_argument("--only", metavar="SCENARIO",
                        help="scenarios whose name contains this, or a group: "
                             "point, rls, concurrency, scale, bulk")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    chosen = select(args.only)
    if args.list or not chosen:
        for s in scenarios.registered():
            print(f"{s.group:<12} {s.name}")
        return 0 if chosen else 2
    mode = FULL if args.full else QUICK
    scale = any(s.seeded for s in chosen)
    progress = Progress(sum(mode.rounds * len(s.all_variants()) for s in chosen))
    results: list[tuple[Scenario, dict[str, Outcome]]] = []
    with ExitStack() as run:
        database, population = run.enter_context(bench_database(
            mode.name, mode.size, scale=scale, say=lambda text: progress.step(text, 0)))
        measured = database
        if args.rtt_ms > 0:
            port = run.enter_context(delay_proxy(database.superuser_url, args.rtt_ms))
            measured = via_proxy(database, port)
        bench = Bench(database, measured, population, mode.seconds, mode.warmup, mode.rounds)
        run.callback(bench.loop.close)
        for scenario in chosen:
            results.append((scenario, run_scenario(bench, scenario, progress)))
        meta = describe(bench, mode, args, scale)
    progress.close()
    rows = rows_of(results)
    if args.json:
        print(as_json(rows, meta))
    else:
        print(table(rows, [f"{k}: {v}" for k, v in meta.items()]))
    if args.plot:
        title = f"tenantdb bench ({mode.name}, rtt {args.rtt_ms:g} ms)"
        try:
            for path in plot(rows, DOCS, title):
                print(f"wrote {path}", file=sys.stderr)
        except RuntimeError as e:
            print(e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
