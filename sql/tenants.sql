-- name: provision_tenant
-- A new tenant and its first user, in one statement. The transaction's tenant context is the
-- new tenant's id: the runtime role can create it, but never read or write another tenant.
with tenant as (
  insert into tenantdb.tenants (id, name)
  values ((select tenantdb.current_tenant_id()), %(name)s)
  returning id, name, created_at
), first_user as (
  insert into tenantdb.users (tenant_id, email, display_name)
  select id, %(email)s, %(display_name)s from tenant
  returning tenant_id, id, email, display_name, created_at
)
select tenant.id as tenant_id, tenant.name as tenant_name, tenant.created_at as tenant_created_at,
       first_user.id as user_id, first_user.email, first_user.display_name,
       first_user.created_at as user_created_at
  from tenant, first_user;

-- name: get_tenant
-- The tenant of the transaction.
select id, name, created_at
  from tenantdb.tenants;

-- name: create_user
-- A new user in the transaction's tenant.
insert into tenantdb.users (email, display_name)
values (%(email)s, %(display_name)s)
returning tenant_id, id, email, display_name, created_at;

-- name: get_user
select tenant_id, id, email, display_name, created_at
  from tenantdb.users
 where id = %(id)s;
