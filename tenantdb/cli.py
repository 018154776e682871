"""The ``tenantdb`` command: migrate, rollback, status, health, check, demo.

Exit codes: 0 success; 1 other failure (``check``: the contract is broken); 2 bad usage or
configuration (a malformed URL, a role that cannot migrate, a missing migrations folder); 3
database unreachable; 4 migrations pending (``health``).
"""

import argparse
import logging
import sys
from collections.abc import Sequence

from tenantdb import migrate as migrations
from tenantdb.checks import check
from tenantdb.config import Settings
from tenantdb.db import Database
from tenantdb.errors import ConfigurationError, TenantdbError, Unavailable

EXIT_FAILURE, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_PENDING = 1, 2, 3, 4


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    url = args.database or Settings().database_url
    try:
        if args.command == "demo":
            from tenantdb.demo import run_demo  # needs the embedded server only without a URL

            run_demo(url or None)
            return 0
        if not url:
            raise ConfigurationError("no database: pass --database or set DATABASE_URL")
        return int(args.run(args, url))
    except ConfigurationError as e:
        print(f"tenantdb: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except Unavailable as e:
        print(f"tenantdb: database unavailable: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except TenantdbError as e:
        print(f"tenantdb: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILURE


def _sources(args: argparse.Namespace) -> list[str] | None:
    """The --migrations sources; None (the configured ones) when none is given."""
    return args.migrations or None


def _migrate(args: argparse.Namespace, url: str) -> int:
    applied = migrations.migrate(url, _sources(args))
    print("\n".join(f"applied {m}" for m in applied) or "nothing to apply")
    return 0


def _rollback(args: argparse.Namespace, url: str) -> int:
    rolled_back = migrations.rollback(url, None if args.all else args.count, _sources(args))
    print("\n".join(f"rolled back {m}" for m in rolled_back) or "nothing to roll back")
    return 0


def _status(args: argparse.Namespace, url: str) -> int:
    for state in migrations.status(url, _sources(args)):
        print(f"{'applied' if state.applied else 'pending'}  {state.id}")
    return 0


def _health(args: argparse.Namespace, url: str) -> int:
    overrides = {"migrations": ",".join(args.migrations)} if args.migrations else {}
    with Database.connect(database_url=url, pool_min_size=1, connect_timeout=args.timeout,
                          **overrides) as db:
        health = db.health()
    print(f"reachable: {'yes' if health.reachable else 'no'}")
    print(f"server version: {health.server_version or '-'}")
    pending = health.pending_migrations
    print(f"pending migrations: {'unknown' if pending is None else ', '.join(pending) or 'none'}")
    print("pool: " + ", ".join(f"{k}={v}" for k, v in sorted(health.pool.items())))
    if health.error:
        print(f"error: {health.error}")
    if not health.reachable:
        return EXIT_UNAVAILABLE
    return EXIT_PENDING if pending else 0


def _check(args: argparse.Namespace, url: str) -> int:
    violations = check(url, args.schema)
    schemas = ", ".join(dict.fromkeys(["tenantdb", *args.schema]))
    if not violations:
        print(f"tenancy contract holds in schema(s) {schemas}")
        return 0
    print(f"{len(violations)} violation(s) of the tenancy contract in schema(s) {schemas}:")
    print("\n".join(f"  {violation}" for violation in violations))
    return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", metavar="URL",
                        help="postgresql:// URL (default: $DATABASE_URL)")
    common.add_argument("-v", "--verbose", action="store_true", help="log queries and timings")
    sources = argparse.ArgumentParser(add_help=False)
    sources.add_argument("--migrations", metavar="SOURCE", action="append", default=[],
                         help="a service's migrations, applied after tenantdb's: a folder or "
                         "package:resource (repeatable; default: $TENANTDB_MIGRATIONS)")
    parser = argparse.ArgumentParser(prog="tenantdb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common, sources],
                        help="create the roles (given a superuser) and apply pending migrations"
                        ).set_defaults(run=_migrate)
    rollback = commands.add_parser("rollback", parents=[common, sources],
                                   help="roll back the last migrations")
    rollback.add_argument("--count", type=int, default=1, help="how many (default 1)")
    rollback.add_argument("--all", action="store_true", help="every applied migration")
    rollback.set_defaults(run=_rollback)
    commands.add_parser("status", parents=[common, sources],
                        help="list migrations, applied or pending").set_defaults(run=_status)
    health = commands.add_parser("health", parents=[common, sources],
                                 help="reachability, version, pool, pending migrations")
    health.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (10)")
    health.set_defaults(run=_health)
    checker = commands.add_parser("check", parents=[common],
                                  help="report tables that break the tenancy contract")
    checker.add_argument("--schema", metavar="NAME", action="append", default=[],
                         help="a service schema to check besides tenantdb (repeatable)")
    checker.set_defaults(run=_check)
    commands.add_parser("demo", parents=[common],
                        help="two tenants on the embedded server (or DATABASE_URL), isolated")
    return parser


if __name__ == "__main__":
    sys.exit(main())
