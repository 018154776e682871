"""``tenantdb dev``: the embedded PostgreSQL for local development, until Ctrl-C or SIGTERM.

The database ``tenantdb_dev`` is created and migrated; its data stays in the data directory
(``.tenantdb/dev/`` by default) for the next run, and the server stops when the command does.
"""

import contextlib
import shlex
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from tenantdb.migrate import APP, OWNER, migrate
from tenantdb.testing import embedded_postgres, ensure_database
from tenantdb.urls import with_user

DEV_DATABASE = "tenantdb_dev"

Print = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)  # a reader waiting for the URLs gets them at once


def run_dev_server(data: Path, out: Print = _print) -> None:
    """Start the server on ``data``, migrate ``tenantdb_dev``, print its URLs, and wait for
    Ctrl-C (SIGINT) or SIGTERM; the server is stopped on the way out."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with embedded_postgres(data / "pgdata") as server:
            url = ensure_database(server, DEV_DATABASE)
            applied = migrate(url)
            app_url = with_user(url, APP)
            out(f"data directory: {data.resolve()}")
            out(f"migrations applied now: {len(applied)}")
            out(f"superuser:      {url}")
            out(f"owner:          {with_user(url, OWNER)}")
            out(f"runtime role:   {app_url}")
            out(f"export DATABASE_URL={shlex.quote(app_url)}")
            out("Ctrl-C stops the server.")
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            out("stopping the server")
    finally:
        signal.signal(signal.SIGTERM, previous)
