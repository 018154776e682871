-- name: provision_tenant
-- A new tenant and its first user, in one statement. The transaction's tenant context is the
-- new tenant's id: the runtime role can create it, but never read or write another tenant.
-- Safe to retry: when the tenant exists already, it is returned with its first user.
with tenant as (
  insert into tenantdb.tenants (id, name)
  values (%(tenant_id)s, %(name)s)
  on conflict (id) do nothing
  returning id, name, created_at
), first_user as (
  insert into tenantdb.users (tenant_id, email, display_name)
  select id, %(email)s, %(display_name)s from tenant
  returning tenant_id, id, email, display_name, created_at
)
select tenant.id as tenant_id, tenant.name as tenant_name, tenant.created_at as tenant_created_at,
       first_user.id as user_id, first_user.email, first_user.display_name,
       first_user.created_at as user_created_at
  from tenant, first_user
union all
(select t.id, t.name, t.created_at, u.id, u.email, u.display_name, u.created_at
   from tenantdb.tenants t
   join tenantdb.users u on u.tenant_id = t.id
  where t.id = %(tenant_id)s and u.tenant_id = %(tenant_id)s and not exists (select from tenant)
  order by u.created_at, u.id
  limit 1);

-- name: get_tenant
-- The tenant of the transaction.
select id, name, created_at
  from tenantdb.tenants
 where id = %(tenant_id)s;

-- name: create_user
-- A new user in the transaction's tenant; with a client-supplied id, safe to retry.
with created as (
  insert into tenantdb.users (tenant_id, id, email, display_name)
  values (%(tenant_id)s, coalesce(%(id)s::uuid, gen_random_uuid()), %(email)s, %(display_name)s)
  on conflict (tenant_id, id) do nothing
  returning tenant_id, id, email, display_name, created_at
)
select tenant_id, id, email, display_name, created_at from created
union all
select tenant_id, id, email, display_name, created_at
  from tenantdb.users
 where tenant_id = %(tenant_id)s and id = %(id)s::uuid and not exists (select from created);

-- name: get_user
select tenant_id, id, email, display_name, created_at
  from tenantdb.users
 where tenant_id = %(tenant_id)s and id = %(id)s;
