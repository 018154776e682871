"""The notes service's isolation, proven as tenantdb_app with nothing but tenantdb's fixtures
and the ``tenantdb_migrations`` ini option."""

from uuid import uuid4

import psycopg
import pytest
from notes import Note, create_note, create_notebook, get_note, list_notebooks, list_notes

from tenantdb import AccessDenied, Database, NoActingUser, NoTenantContext, NotFound, Scope, tenants
from tenantdb.checks import check
from tenantdb.errors import translate
from tenantdb.migrate import migration_ids
from tenantdb.testing import MigratedDatabase


def _new_tenant(db: Database, name: str) -> Scope:
    made = tenants.provision_tenant(db.as_tenant(uuid4()), tenants.TenantCreate(
        name=name, owner=tenants.UserCreate(
        email=f"owner-{uuid4().hex[:8]}@example.test", display_name="Owner")))
    return db.as_user(made.tenant.id, made.user.id)


@pytest.fixture
def alice(tenantdb_db: Database) -> Scope:
    return _new_tenant(tenantdb_db, "Acme")


@pytest.fixture
def stranger(tenantdb_db: Database) -> Scope:
    """A user of another tenant."""
    return _new_tenant(tenantdb_db, "Globex")


@pytest.fixture
def colleague(tenantdb_db: Database, alice: Scope) -> Scope:
    """Another user of alice's tenant."""
    user = tenants.create_user(alice, tenants.UserCreate(
        email=f"c-{uuid4().hex[:8]}@example.test", display_name="Carl"))
    return tenantdb_db.as_user(alice.tenant_id, user.id)


@pytest.fixture
def alice_note(alice: Scope) -> Note:
    notebook = create_notebook(alice, "Plans")
    return create_note(alice, notebook.id, "Alice's secret plan")


def test_the_service_runs_as_the_runtime_role(tenantdb_db: Database) -> None:
    with tenantdb_db.connection() as conn:
        assert conn.execute("select current_user").fetchone() == ("tenantdb_app",)


def test_the_author_sees_her_note(alice: Scope, alice_note: Note) -> None:
    assert get_note(alice, alice_note.id) == alice_note
    assert list_notes(alice, alice_note.notebook_id) == [alice_note]
    assert alice_note.user_id == alice.user_id


def test_a_stranger_sees_nothing(stranger: Scope, alice_note: Note) -> None:
    with pytest.raises(NotFound):
        get_note(stranger, alice_note.id)
    assert list_notes(stranger, alice_note.notebook_id) == []
    assert list_notebooks(stranger) == []
    with stranger.transaction() as tx:  # even without the service's queries
        assert tx.execute_raw("select count(*) from notes.notes") == [(0,)]
        assert tx.execute_raw("select count(*) from notes.notebooks") == [(0,)]


def test_a_colleague_shares_the_notebook_but_not_the_note(colleague: Scope,
                                                          alice_note: Note) -> None:
    assert [n.id for n in list_notebooks(colleague)] == [alice_note.notebook_id]
    with pytest.raises(NotFound):
        get_note(colleague, alice_note.id)
    assert list_notes(colleague, alice_note.notebook_id) == []
    with colleague.transaction() as tx:
        assert tx.execute_raw("update notes.notes set body = 'x' where id = %s returning id",
                              [alice_note.id]) == []


def test_writing_into_another_tenant_is_denied(stranger: Scope, alice: Scope,
                                              alice_note: Note) -> None:
    with pytest.raises(AccessDenied), stranger.transaction() as tx:
        tx.execute_raw("insert into notes.notebooks (tenant_id, name) values (%s, 'x')",
                       [alice.tenant_id])
    with pytest.raises(AccessDenied), stranger.transaction() as tx:
        tx.execute_raw(
            "insert into notes.notes (tenant_id, user_id, notebook_id, body)"
            " values (%s, %s, %s, 'x')", [alice.tenant_id, alice.user_id, alice_note.notebook_id])
    assert list_notes(alice, alice_note.notebook_id) == [alice_note]


def test_writing_as_a_colleague_is_denied(colleague: Scope, alice: Scope,
                                          alice_note: Note) -> None:
    with pytest.raises(AccessDenied), colleague.transaction() as tx:
        tx.execute_raw("insert into notes.notes (user_id, notebook_id, body) values (%s, %s, 'x')",
                       [alice.user_id, alice_note.notebook_id])


def test_a_missing_context_raises(tenantdb_db: Database, alice_note: Note) -> None:
    with tenantdb_db.connection() as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute("select count(*) from notes.notes")
    assert isinstance(translate(raised.value), NoTenantContext)


def test_a_note_needs_an_acting_user(tenantdb_db: Database, alice: Scope,
                                     alice_note: Note) -> None:
    with pytest.raises(NoActingUser):
        create_note(tenantdb_db.as_tenant(alice.tenant_id), alice_note.notebook_id, "whose?")


def test_the_service_migrations_are_applied_and_keep_the_contract(
    tenantdb_db: Database, tenantdb_database: MigratedDatabase
) -> None:
    assert "notes_0001_notebooks_and_notes" in migration_ids(tenantdb_database.migrations)
    assert tenantdb_db.health().pending_migrations == []
    assert check(tenantdb_database.app_url, ["notes"]) == []
