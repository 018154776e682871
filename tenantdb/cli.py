"""The ``tenantdb`` command: migrate, rollback, status, health, check, dev, demo.

Exit codes: 0 success; 1 other failure (``check``: the contract is broken); 2 bad usage or
configuration (a malformed URL, a refused login, a role that cannot migrate, a missing
migrations folder, pending migrations an operation needs, an unconfirmed rollback); 3 database
unreachable; 4 migrations pending (``health``).

The settings of :class:`~tenantdb.config.Settings` apply: ``DATABASE_URL`` names the database
(``--database`` overrides it), ``TENANTDB_MIGRATIONS`` a service's migrations (``--migrations``
overrides it) and ``TENANTDB_CONNECT_TIMEOUT`` bounds every connection attempt.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pydantic

from tenantdb import migrate as migrations
from tenantdb.checks import check
from tenantdb.config import Settings
from tenantdb.db import Database
from tenantdb.errors import ConfigurationError, TenantdbError, Unavailable
from tenantdb.urls import with_connect_timeout

EXIT_FAILURE, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_PENDING = 1, 2, 3, 4
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args, _settings(args.database)))
    except ConfigurationError as e:
        print(f"tenantdb: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except Unavailable as e:
        print(f"tenantdb: database unavailable: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except TenantdbError as e:
        print(f"tenantdb: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _settings(database: str | None) -> Settings:
    """The environment's settings, with ``--database`` as the URL when given."""
    try:
        settings = Settings()
    except pydantic.ValidationError as e:
        raise ConfigurationError(f"invalid settings: {e}") from e
    return settings.model_copy(update={"database_url": database}) if database else settings


def _url(settings: Settings) -> str:
    if not settings.database_url:
        raise ConfigurationError("no database: pass --database or set DATABASE_URL")
    return settings.database_url


def _sources(args: argparse.Namespace) -> list[str] | None:
    """The --migrations sources; None (the configured ones) when none is given."""
    return args.migrations or None


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = migrations.migrate(_url(settings), _sources(args),
                                 connect_timeout=settings.connect_timeout)
    print("\n".join(f"applied {m}" for m in applied) or "nothing to apply")
    return 0


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    count = None if args.all else args.count
    url = _url(settings)
    if (count is None or count > 1) and not args.yes:
        what = "every applied migration" if count is None else f"the last {count} migrations"
        _confirm(f"roll back {what}, dropping their tables and every row in them")
    rolled_back = migrations.rollback(url, count, _sources(args),
                                      connect_timeout=settings.connect_timeout)
    print("\n".join(f"rolled back {m}" for m in rolled_back) or "nothing to roll back")
    return 0


def _confirm(action: str) -> None:
    """Ask on the terminal before ``action``; refuse when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        raise ConfigurationError(f"refusing to {action}: pass --yes to confirm")
    answer = input(f"tenantdb: {action}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise ConfigurationError("not confirmed: nothing was rolled back")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    for state in migrations.status(_url(settings), _sources(args),
                                   connect_timeout=settings.connect_timeout):
        print(f"{'applied' if state.applied else 'pending'}  {state.id}")
    return 0


def _health(args: argparse.Namespace, settings: Settings) -> int:
    timeout = settings.connect_timeout if args.timeout is None else args.timeout
    url = with_connect_timeout(_url(settings), timeout)  # the pool's connections: keepalives
    overrides = {"migrations": ",".join(args.migrations)} if args.migrations else {}
    with Database.connect(settings, database_url=url, pool_min_size=1,
                          connect_timeout=timeout, **overrides) as db:
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


def _check(args: argparse.Namespace, settings: Settings) -> int:
    violations = check(with_connect_timeout(_url(settings), settings.connect_timeout),
                       args.schema)
    schemas = ", ".join(dict.fromkeys(["tenantdb", *args.schema]))
    if not violations:
        print(f"tenancy contract holds in schema(s) {schemas}")
        return 0
    print(f"{len(violations)} violation(s) of the tenancy contract in schema(s) {schemas}:")
    print("\n".join(f"  {violation}" for violation in violations))
    return EXIT_FAILURE


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from tenantdb.dev import run_dev_server  # needs the embedded server

    run_dev_server(args.data)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from tenantdb.demo import run_demo  # needs the embedded server only without a URL

    run_demo(settings.database_url or None, settings=settings)
    return 0


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
    rollback = commands.add_parser(
        "rollback", parents=[common, sources], help="roll back the last migrations",
        description="Roll back the last migrations. More than one (--all, or --count above 1) "
                    "asks for confirmation on a terminal and needs --yes otherwise.")
    rollback.add_argument("--count", type=int, default=1, help="how many (default 1)")
    rollback.add_argument("--all", action="store_true", help="every applied migration")
    rollback.add_argument("--yes", action="store_true",
                          help="confirm rolling back more than one migration without asking")
    rollback.set_defaults(run=_rollback)
    commands.add_parser("status", parents=[common, sources],
                        help="list migrations, applied or pending").set_defaults(run=_status)
    health = commands.add_parser("health", parents=[common, sources],
                                 help="reachability, version, pool, pending migrations")
    health.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait (default: TENANTDB_CONNECT_TIMEOUT)")
    health.set_defaults(run=_health)
    checker = commands.add_parser("check", parents=[common],
                                  help="report tables that break the tenancy contract")
    checker.add_argument("--schema", metavar="NAME", action="append", default=[],
                         help="a service schema to check besides tenantdb (repeatable)")
    checker.set_defaults(run=_check)
    dev = commands.add_parser(
        "dev", parents=[common], help="run the embedded server with a migrated tenantdb_dev "
                                      "database until Ctrl-C; print its URLs")
    dev.add_argument("--data", type=Path, default=Path(".tenantdb") / "dev",
                     help="data directory (default .tenantdb/dev)")
    dev.set_defaults(run=_dev)
    commands.add_parser("demo", parents=[common],
                        help="two tenants on the embedded server (or DATABASE_URL), isolated"
                        ).set_defaults(run=_demo)
    return parser


if __name__ == "__main__":
    sys.exit(main())
