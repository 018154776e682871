"""Tenants (workspaces) and their users, and provisioning a new tenant with its first user."""

from datetime import datetime
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tenantdb.errors import Conflict, NotFound
from tenantdb.fields import Email, Id, Name
from tenantdb.queries import QueryFile
from tenantdb.statements import Rows, Statement, operation, required

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
    id: UUID | None = None


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


@operation
def provision_tenant(new: TenantCreate) -> Statement[Provisioned]:
    """Create the tenant of the scope (its id is the scope's tenant id) and its first user, in
    one statement, as the runtime role: ``provision_tenant(db.as_tenant(uuid4()), new)``.

    The row-level policies let the runtime role insert only the tenant whose id is the
    transaction's context: it cannot see or touch other tenants. Safe to retry with the same id:
    when the tenant exists, it is returned with its first user.
    """

    def shape(rows: Rows) -> Provisioned:
        row = required(_ProvisionedRow, lambda: NotFound("the new tenant was not returned"))(rows)
        return Provisioned(
            tenant=Tenant(id=row.tenant_id, name=row.tenant_name, created_at=row.tenant_created_at),
            user=User(
                tenant_id=row.tenant_id, id=row.user_id, email=row.email,
                display_name=row.display_name, created_at=row.user_created_at,
            ),
        )

    return Statement(Q.provision_tenant, {
        "name": new.name, "email": new.owner.email, "display_name": new.owner.display_name,
    }, shape)


@operation
def get_tenant() -> Statement[Tenant]:
    """The tenant of the scope."""
    return Statement(Q.get_tenant, {}, required(
        Tenant, lambda: NotFound("the tenant of this context does not exist")))


@operation
def create_user(new: UserCreate) -> Statement[User]:
    """A new user in the scope's tenant (email unique per tenant, ignoring case). Give ``id``
    to make it safe to retry."""
    taken = Conflict(f"the user id {new.id} is taken") if new.id else None
    return Statement(Q.create_user, {
        "id": new.id, "email": new.email, "display_name": new.display_name,
    }, required(User, lambda: taken or NotFound("the new user was not returned")))


@operation
def get_user(user_id: Id) -> Statement[User]:
    """A user of the scope's tenant; :class:`NotFound` otherwise."""
    return Statement(Q.get_user, {"id": user_id}, required(
        User, lambda: NotFound(f"no user {user_id}")))
