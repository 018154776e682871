"""tenantdb: raw-SQL persistence for a multi-tenant PostgreSQL application.

The database enforces tenant isolation (row-level security on a transaction-local context); this
package is the thin, typed layer over it::

    db = Database.connect()                      # DATABASE_URL names the tenantdb_app role
    me = db.as_user(tenant_id, user_id)
    task = tasks.create_task(me, TaskCreate(title="Ship it"))   # one round trip
    with me.transaction() as tx:                 # several statements, one transaction
        tasks.complete_task(tx, task.id)

The same domain functions, awaited, on an :class:`AsyncDatabase`'s scopes.
"""

from tenantdb.aio import AsyncDatabase, AsyncScope, AsyncTransaction, AsyncTx
from tenantdb.config import Settings
from tenantdb.connections import Health
from tenantdb.db import Database, Scope, Transaction, Tx
from tenantdb.errors import (
    AccessDenied,
    ConfigurationError,
    Conflict,
    DatabaseError,
    InvalidReference,
    MigrationsPending,
    MissingContext,
    NoActingUser,
    NoTenantContext,
    NotFound,
    OutcomeUnknown,
    QueryTimeout,
    SerializationFailure,
    TenantdbError,
    Unavailable,
    ValidationError,
)
from tenantdb.pagination import Cursor, Page
from tenantdb.queries import Query, QueryFile
from tenantdb.scope import Isolation
from tenantdb.statements import Rows, Statement, operation

__all__ = [
    "AccessDenied",
    "AsyncDatabase",
    "AsyncScope",
    "AsyncTransaction",
    "AsyncTx",
    "ConfigurationError",
    "Conflict",
    "Cursor",
    "Database",
    "DatabaseError",
    "Health",
    "InvalidReference",
    "Isolation",
    "MigrationsPending",
    "MissingContext",
    "NoActingUser",
    "NoTenantContext",
    "NotFound",
    "OutcomeUnknown",
    "Page",
    "Query",
    "QueryFile",
    "QueryTimeout",
    "Rows",
    "Scope",
    "SerializationFailure",
    "Settings",
    "Statement",
    "TenantdbError",
    "Transaction",
    "Tx",
    "Unavailable",
    "ValidationError",
    "operation",
]
