"""Every database error surfaces as tenantdb's own exception, with the original chained."""

from collections.abc import Callable
from uuid import UUID, uuid4

import psycopg
import pytest
from conftest import Member

from tenantdb import (
    AccessDenied,
    Conflict,
    Database,
    DatabaseError,
    InvalidReference,
    QueryTimeout,
    ValidationError,
    tenants,
)
from tenantdb.tenants import UserCreate
from tenantdb.testing import MigratedDatabase


def test_unique_violation_is_conflict_case_insensitively(alice: Member) -> None:
    tenants.create_user(alice.scope, UserCreate(email="Dup@Example.test", display_name="A"))
    with pytest.raises(Conflict) as raised:
        tenants.create_user(alice.scope, UserCreate(email="dup@example.TEST", display_name="B"))
    assert raised.value.constraint == "users_tenant_email_key"
    assert raised.value.sqlstate == "23505"
    assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
    assert "dup@example" not in str(raised.value).lower()  # no row values in the message


def test_same_email_in_another_tenant_is_fine(alice: Member, bob: Member) -> None:
    tenants.create_user(alice.scope, UserCreate(email="same@example.test", display_name="A"))
    tenants.create_user(bob.scope, UserCreate(email="same@example.test", display_name="B"))


def test_foreign_key_violation_is_invalid_reference(db: Database, alice: Member) -> None:
    service = db.as_tenant(alice.tenant_id)  # may write any user's tasks: only the key checks
    with pytest.raises(InvalidReference) as raised, service.transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (user_id, title) values (%s, 'x')", [uuid4()])
    assert raised.value.constraint == "tasks_user_fkey"


def test_a_user_of_another_tenant_is_not_a_valid_reference(db: Database, alice: Member,
                                                           bob: Member) -> None:
    """Keys include tenant_id: even tenant-wide mode cannot point at another tenant's user."""
    with pytest.raises(InvalidReference), db.as_tenant(alice.tenant_id).transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (user_id, title) values (%s, 'x')", [bob.id])


def test_check_violation_is_validation_error(alice: Member) -> None:
    with pytest.raises(ValidationError) as raised, alice.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.users (email, display_name) values ('nope', 'x')")
    assert raised.value.constraint == "users_email_format"


def test_not_null_violation_is_validation_error(alice: Member) -> None:
    with pytest.raises(ValidationError) as raised, alice.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (title, description) values ('x', null)")
    assert raised.value.sqlstate == "23502"


def test_rls_violation_is_access_denied(alice: Member, bob: Member) -> None:
    with pytest.raises(AccessDenied) as raised, bob.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.users (tenant_id, email, display_name)"
                       " values (%s, 'x@y.z', 'x')", [alice.tenant_id])
    assert "row-level security" in str(raised.value)


def test_missing_grant_is_access_denied(alice: Member) -> None:
    with pytest.raises(AccessDenied), alice.scope.transaction() as tx:
        tx.execute_raw("truncate tenantdb.tasks")


def test_malformed_value_is_validation_error(alice: Member) -> None:
    with pytest.raises(ValidationError), alice.scope.transaction() as tx:
        tx.execute_raw("select %s::uuid", ["not-a-uuid"])


def test_bad_scope_ids_are_validation_errors(db: Database) -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        db.as_tenant("acme")
    with pytest.raises(ValidationError, match="user_id"):
        db.as_user(uuid4(), "bob")


def test_unknown_errors_are_database_errors_with_the_cause(alice: Member) -> None:
    with pytest.raises(DatabaseError) as raised, alice.scope.transaction() as tx:
        tx.execute_raw("select tenantdb.no_such_function()")
    assert type(raised.value) is DatabaseError
    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedFunction)
    assert raised.value.sqlstate == "42883"


def test_statement_timeout_is_query_timeout(database: MigratedDatabase, alice: Member) -> None:
    with Database.connect(database_url=database.app_url, pool_min_size=1,
                          statement_timeout_ms=50) as impatient:
        scope = impatient.as_user(alice.tenant_id, alice.id)
        with pytest.raises(QueryTimeout), scope.transaction() as tx:
            tx.execute_raw("select pg_sleep(5)")


def test_a_swallowed_error_still_rolls_back(
    alice: Member, committed_tasks: Callable[[UUID], int]
) -> None:
    with pytest.raises(DatabaseError, match="rolled back"), alice.scope.transaction() as tx:
        tx.execute_raw("insert into tenantdb.tasks (title) values ('kept?')")
        with pytest.raises(ValidationError):
            tx.execute_raw("insert into tenantdb.tasks (title) values ('')")
    assert committed_tasks(alice.tenant_id) == 0
