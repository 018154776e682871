"""Run the embedded PostgreSQL for local development until Ctrl-C; print URLs to use with it.

    .venv/bin/python scripts/local_server.py [--data .tenantdb/dev]

The database ``tenantdb_dev`` is created and migrated; its data persists in the directory.
"""

import argparse
import contextlib
import signal
import threading
from pathlib import Path

from tenantdb.migrate import APP, OWNER, migrate
from tenantdb.testing import embedded_postgres, ensure_database
from tenantdb.urls import with_user

DATABASE = "tenantdb_dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(".tenantdb/dev"))
    args = parser.parse_args()
    with embedded_postgres(args.data / "pgdata") as server:
        url = ensure_database(server, DATABASE)
        applied = migrate(url)
        print(f"migrations applied now: {len(applied)}")
        print(f"superuser:  {url}")
        print(f"owner:      {with_user(url, OWNER)}")
        print(f"DATABASE_URL (runtime role):\n  {with_user(url, APP)}")
        print("Ctrl-C stops the server.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
