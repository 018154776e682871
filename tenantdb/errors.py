"""tenantdb's exceptions, and the one place where database errors are mapped to them.

Every error carries the ``sqlstate`` and ``constraint`` it came from (``None`` when tenantdb
raised it itself); a mapped database error chains the original driver error as ``__cause__``.
Messages hold the server's primary message only, never the DETAIL with row values.
"""

import re

import psycopg
import psycopg_pool


class TenantdbError(Exception):
    """Base of every error tenantdb raises."""

    def __init__(
        self, message: str, *, sqlstate: str | None = None, constraint: str | None = None
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.constraint = constraint


class ConfigurationError(TenantdbError, ValueError):
    """tenantdb was set up wrongly: a malformed URL, a role that cannot migrate, ..."""


class NotFound(TenantdbError):
    """No such row, as far as the current tenant (and user) can see."""


class Conflict(TenantdbError):
    """A unique key already holds this value (the constraint is in ``.constraint``)."""


class InvalidReference(TenantdbError):
    """A reference to a row that does not exist in this tenant, or one still referenced."""


class ValidationError(TenantdbError, ValueError):
    """A value the database refuses: a CHECK or NOT NULL constraint, or malformed data."""


class AccessDenied(TenantdbError):
    """The runtime role may not do this: a grant is missing or a row-level policy refused."""


class MissingContext(TenantdbError):
    """The transaction lacks the tenant context a statement needs (a caller bug)."""


class NoTenantContext(MissingContext):
    """No tenant (or no user, and no explicit tenant-wide mode) is set in the transaction."""


class NoActingUser(MissingContext):
    """The operation acts for a user, but the transaction is tenant-wide."""


class SerializationFailure(TenantdbError):
    """A concurrent transaction won (serialization failure or deadlock); retrying may succeed."""


class QueryTimeout(TenantdbError):
    """The statement ran longer than the statement timeout and was cancelled."""


class Unavailable(TenantdbError):
    """The database cannot be reached or has no free connection; nothing was committed."""


class OutcomeUnknown(TenantdbError):
    """A write (or COMMIT) was sent and the connection died before the answer came: it may or may
    not have committed. Not an :class:`Unavailable`, so that retry loops do not repeat the write
    blindly: retry only an idempotent write (a create with a client-supplied ``id`` is one)."""


class DatabaseError(TenantdbError):
    """Any other database error; the driver's error is chained as ``__cause__``."""


_BY_SQLSTATE: dict[str, type[TenantdbError]] = {
    "23505": Conflict,  # unique_violation
    "23P01": Conflict,  # exclusion_violation
    "23503": InvalidReference,  # foreign_key_violation
    "23514": ValidationError,  # check_violation
    "23502": ValidationError,  # not_null_violation
    "42501": AccessDenied,  # insufficient_privilege, and row-level security refusals
    "TD000": NoTenantContext,  # raised by tenantdb.current_tenant_id()
    "TD001": NoTenantContext,  # raised by tenantdb.current_user_id()
    "TD002": NoActingUser,  # raised by tenantdb.acting_user_id()
    "40001": SerializationFailure,
    "40P01": SerializationFailure,  # deadlock_detected
    "57014": QueryTimeout,  # query_canceled
    "57P01": Unavailable,  # admin_shutdown
    "57P02": Unavailable,  # crash_shutdown
    "57P03": Unavailable,  # cannot_connect_now
}
_BY_CLASS: dict[str, type[TenantdbError]] = {
    "08": Unavailable,  # connection exception
    "22": ValidationError,  # data exception: bad uuid, NUL byte, out of range, ...
    "53": Unavailable,  # insufficient resources
}


def translate(error: Exception) -> TenantdbError:
    """The tenantdb exception for a driver or pool error (the caller chains it: ``from error``)."""
    if isinstance(error, psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed):
        return Unavailable(f"no database connection available: {error}")
    if not isinstance(error, psycopg.Error):
        return DatabaseError(f"{type(error).__name__}: {error}")
    sqlstate = error.sqlstate
    diag = error.diag
    message = diag.message_primary or (str(error).splitlines() or [repr(error)])[0]
    kind: type[TenantdbError]
    if sqlstate is None:
        kind = Unavailable if isinstance(error, psycopg.OperationalError) else DatabaseError
    else:
        kind = _BY_SQLSTATE.get(sqlstate) or _BY_CLASS.get(sqlstate[:2], DatabaseError)
    return kind(message, sqlstate=sqlstate, constraint=diag.constraint_name)


class MigrationsPending(ConfigurationError):
    """A table or schema tenantdb needs is missing: the database's migrations are not applied."""

    def __init__(
        self, message: str, *, sqlstate: str | None = None, constraint: str | None = None
    ) -> None:
        hint = "migrations are pending: run `tenantdb migrate`"
        super().__init__(f"{message} ({hint})", sqlstate=sqlstate, constraint=constraint)


_BY_SQLSTATE.update({
    "42P01": MigrationsPending,  # undefined_table: relation "tenantdb.tasks" does not exist
    "3F000": MigrationsPending,  # invalid_schema_name: schema "tenantdb" does not exist
})

# A login the server refused, by SQLSTATE, and by the text of the FATAL message for the drivers
# that (like psycopg 3.3) report no SQLSTATE for a failed connection attempt.
_LOGIN_REFUSED = (
    ("28P01", re.compile(r"password authentication failed")),  # invalid_password
    ("3D000", re.compile(r'database ".*" does not exist')),  # invalid_catalog_name
    ("28000", re.compile(  # invalid_authorization_specification
        r'role ".*" does not exist|no pg_hba\.conf entry|is not permitted to log in')),
    ("42501", re.compile(r"permission denied for database")),  # no CONNECT privilege
)


def connect_error(error: psycopg.Error) -> TenantdbError:
    """The tenantdb exception for a failed connection attempt (the caller chains it).

    A refused login (wrong password, unknown role, missing database, no CONNECT privilege:
    SQLSTATE 28P01, 28000, 3D000, 42501) is a :class:`ConfigurationError`, since retrying cannot
    help; anything else is :class:`Unavailable`.
    """
    said = str(error)
    refusal = said.partition("FATAL:")[2]
    sqlstate = error.sqlstate or next(
        (state for state, pattern in _LOGIN_REFUSED if pattern.search(refusal)), None)
    if sqlstate in {state for state, _ in _LOGIN_REFUSED}:
        return ConfigurationError(
            "the database refused the login (check the URL's user, password and database): "
            f"{said}", sqlstate=sqlstate)
    return Unavailable(f"cannot connect to the database: {said}", sqlstate=sqlstate)
