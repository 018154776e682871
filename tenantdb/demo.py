"""``tenantdb demo``: two tenants, their users and tasks, and what row-level security refuses."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid5

import psycopg
import pydantic

from tenantdb import tasks, tenants
from tenantdb.config import Settings
from tenantdb.db import Database, Scope
from tenantdb.errors import TenantdbError, translate
from tenantdb.migrate import APP, migrate, migration_ids
from tenantdb.tasks import TaskCreate
from tenantdb.tenants import Provisioned, TenantCreate, UserCreate
from tenantdb.testing import embedded_postgres, ensure_database
from tenantdb.urls import with_connect_timeout, with_session_role, without_password

DEMO_DATA = Path(".tenantdb") / "demo"
DEMO_DATABASE = "tenantdb_demo"
# The demo's tenants have fixed ids, so a rerun replaces them instead of adding more.
_DEMO_NAMESPACE = UUID("5b0c6f3e-7d1a-4c56-9a0e-2f8d7e1c4b39")
ACME_ID, GLOBEX_ID = (uuid5(_DEMO_NAMESPACE, name) for name in ("acme", "globex"))

Print = Callable[[str], None]


@contextmanager
def demo_server(url: str | None, out: Print) -> Iterator[str]:
    """A superuser URL: ``url`` itself, or the embedded server with its data in ``DEMO_DATA``."""
    if url:
        out(f"server: DATABASE_URL ({without_password(url)})")
        yield url
        return
    with embedded_postgres(DEMO_DATA / "pgdata") as server:
        out(f"server: embedded PostgreSQL, data in {DEMO_DATA.resolve()}/ "
            "(kept; the server stops when the demo ends)")
        yield ensure_database(server, DEMO_DATABASE)


def run_demo(url: str | None, out: Print = print, *, settings: Settings | None = None) -> None:
    """Migrate, provision two tenants, and show what each one sees and what is refused.
    ``settings`` (default: the environment's) give the connect timeout and the like."""
    settings = settings or Settings()
    with demo_server(url, out) as admin_url:
        applied = migrate(admin_url, connect_timeout=settings.connect_timeout)
        out(f"migrations: {len(applied)} applied now, {len(migration_ids())} in all")
        _remove_previous_demo(with_connect_timeout(admin_url, settings.connect_timeout))
        # The runtime role, through SET ROLE at login: the URL needs a role allowed to do that.
        app_url = with_session_role(admin_url, APP)
        with Database.connect(settings, database_url=app_url, pool_min_size=1) as db:
            _show(db, out)


def _show(db: Database, out: Print) -> None:
    with db.connection() as conn:
        role = conn.execute("select current_user, rolsuper, rolbypassrls from pg_roles"
                            " where rolname = current_user").fetchone()
    assert role is not None
    out(f"queries run as {role[0]} (superuser: {role[1]}, bypasses RLS: {role[2]})")
    acme = _tenant(db, ACME_ID, "Acme", "alice@acme.test", "Alice")
    globex = _tenant(db, GLOBEX_ID, "Globex", "carol@globex.test", "Carol")
    alice = db.as_user(acme.tenant.id, acme.user.id)
    bob_user = tenants.create_user(alice, UserCreate(email="bob@acme.test", display_name="Bob"))
    bob = db.as_user(acme.tenant.id, bob_user.id)
    carol = db.as_user(globex.tenant.id, globex.user.id)
    with alice.transaction() as tx:  # several statements, one transaction
        ship = tasks.create_task(tx, TaskCreate(title="Ship the release"))
        tasks.create_task(tx, TaskCreate(title="Write the changelog"))
        tasks.complete_task(tx, ship.id)
    tasks.create_task(bob, TaskCreate(title="Review the pull request"))
    tasks.create_task(carol, TaskCreate(title="Plan the offsite"))

    out("\nWhat each user sees (row-level security decides; the queries' bound ids help the"
        " planner):")
    users = (("alice @ Acme ", alice), ("bob   @ Acme ", bob), ("carol @ Globex", carol))
    for label, scope in users:
        titles = [f"{t.title}{' (done)' if t.completed else ''}"
                  for t in tasks.list_tasks(scope).items]
        out(f"  {label}: {len(titles)} task(s): {', '.join(titles)}")
    with db.as_tenant(acme.tenant.id).transaction() as tx:
        count = tx.execute_raw("select count(*) from tenantdb.tasks")[0][0]
        visible = tx.execute_raw("select count(*) from tenantdb.tenants")[0][0]
    out(f"  Acme, tenant-wide service mode: {count} task(s); tenants visible: {visible}")

    out("\nWhat is refused:")
    _refused(out, "carol reads alice's task by id", lambda: tasks.get_task(carol, ship.id))
    _refused(out, "bob completes alice's task", lambda: tasks.complete_task(bob, ship.id))
    _refused(out, "carol inserts a task into Acme", lambda: _insert_raw(carol, acme))
    _refused(out, "a transaction with no tenant context", lambda: _no_context(db))
    _refused(out, "a blank title", lambda: TaskCreate(title="   "))


def _remove_previous_demo(admin_url: str) -> None:
    """Delete the tenants an earlier run made (their users and tasks go with them). As the owner
    too, whom the policies bind: each delete runs in its tenant's context."""
    with psycopg.connect(admin_url) as conn:
        for tenant_id in (ACME_ID, GLOBEX_ID):
            with conn.transaction():
                conn.execute("select set_config('app.tenant_id', %s, true),"
                             " set_config('app.user_id', '*', true)", [str(tenant_id)])
                conn.execute("delete from tenantdb.tenants where id = %s", [tenant_id])


def _tenant(
    db: Database, tenant_id: UUID, name: str, email: str, display_name: str
) -> Provisioned:
    owner = UserCreate(email=email, display_name=display_name)
    new = TenantCreate(name=name, owner=owner)
    return tenants.provision_tenant(db.as_tenant(tenant_id), new)


def _insert_raw(scope: Scope, victim: Provisioned) -> None:
    with scope.transaction() as tx:
        tx.execute_raw(
            "insert into tenantdb.tasks (tenant_id, user_id, title) values (%s, %s, 'spam')",
            [victim.tenant.id, victim.user.id],
        )


def _no_context(db: Database) -> None:
    with db.connection() as conn:
        try:
            conn.execute("select count(*) from tenantdb.tasks")
        except psycopg.Error as e:
            raise translate(e) from e


def _refused(out: Print, what: str, attempt: Callable[[], object]) -> None:
    try:
        attempt()
    except pydantic.ValidationError as e:
        out(f"  {what:<38} -> pydantic.ValidationError: {e.errors()[0]['msg']} (no SQL sent)")
    except TenantdbError as e:
        state = f" [SQLSTATE {e.sqlstate}]" if e.sqlstate else ""
        out(f"  {what:<38} -> {type(e).__name__}: {str(e).splitlines()[0]}{state}")
    else:
        raise AssertionError(f"not refused: {what}")

