"""Tenants (workspaces) and their users, and provisioning a new tenant with its first user."""

from datetime import datetime
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tenantdb.db import Database, Tx
from tenantdb.errors import NotFound
from tenantdb.fields import Email, Name
from tenantdb.queries import QueryFile

Q = QueryFile("tenants")


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    name: str
    created_at: AwareDatetime


class User(BaseModel):
    model_config = ConfigDict(frozen=True)
    tenant_id: UUID
    id: UUID
    email: str
    display_name: str
    created_at: AwareDatetime


class UserCreate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    email: Email
    display_name: Name


class TenantCreate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Name
    owner: UserCreate


class Provisioned(BaseModel):
    """A new tenant and its first user."""

    model_config = ConfigDict(frozen=True)
    tenant: Tenant
    user: User


class _ProvisionedRow(BaseModel):
    tenant_id: UUID
    tenant_name: str
    tenant_created_at: datetime
    user_id: UUID
    email: str
    display_name: str
    user_created_at: datetime


def provision_tenant(
    db: Database, new: TenantCreate, *, tenant_id: UUID | None = None
) -> Provisioned:
    """Create a tenant and its first user in one transaction, as the runtime role.

    The tenant's id (``tenant_id``, or a new one) becomes the transaction's tenant context, which
    is all the row-level policies let the runtime role insert: it cannot see or touch others.
    """
    row = db.as_tenant(tenant_id or uuid4()).one(
        Q.provision_tenant, _ProvisionedRow,
        name=new.name, email=new.owner.email, display_name=new.owner.display_name,
    )
    assert row is not None  # an insert ... returning always returns its row
    return Provisioned(
        tenant=Tenant(id=row.tenant_id, name=row.tenant_name, created_at=row.tenant_created_at),
        user=User(
            tenant_id=row.tenant_id, id=row.user_id, email=row.email,
            display_name=row.display_name, created_at=row.user_created_at,
        ),
    )


def get_tenant(tx: Tx) -> Tenant:
    """The tenant of the transaction."""
    tenant = tx.one(Q.get_tenant, Tenant)
    if tenant is None:
        raise NotFound("the tenant of this context does not exist")
    return tenant


def create_user(tx: Tx, new: UserCreate) -> User:
    """A new user in the transaction's tenant (email unique per tenant, ignoring case)."""
    user = tx.one(Q.create_user, User, email=new.email, display_name=new.display_name)
    assert user is not None
    return user


def get_user(tx: Tx, user_id: UUID) -> User:
    """A user of the transaction's tenant; :class:`NotFound` otherwise."""
    user = tx.one(Q.get_user, User, id=user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user
