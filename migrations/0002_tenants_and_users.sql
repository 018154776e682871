-- Tenants (workspaces) and their users. A tenant sees only its own row; users are visible to
-- everyone acting in the same tenant. Provisioning a tenant needs no superuser: the runtime role
-- may insert a tenant whose id equals the transaction's tenant context, and nothing else.
-- depends: 0001_schema_and_tenant_context

create table tenantdb.tenants (
  id uuid not null,
  name text not null,
  created_at timestamptz not null default now(),
  constraint tenants_pkey primary key (id),
  constraint tenants_name_length check (char_length(name) between 1 and 200 and name ~ '[^[:space:]]')
);
alter table tenantdb.tenants enable row level security;
alter table tenantdb.tenants force row level security;
create policy tenants_isolation on tenantdb.tenants
  using (id = (select tenantdb.current_tenant_id()))
  with check (id = (select tenantdb.current_tenant_id()));
grant select, insert, update (name) on tenantdb.tenants to tenantdb_app;

create table tenantdb.users (
  tenant_id uuid not null default tenantdb.current_tenant_id(),
  id uuid not null default gen_random_uuid(),
  email text not null,
  display_name text not null,
  created_at timestamptz not null default now(),
  constraint users_pkey primary key (tenant_id, id),
  constraint users_tenant_fkey foreign key (tenant_id)
    references tenantdb.tenants (id) on delete cascade,
  constraint users_email_format check (char_length(email) between 3 and 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  constraint users_display_name_length check (char_length(display_name) between 1 and 200 and display_name ~ '[^[:space:]]')
);
-- email is unique per tenant, case-insensitively
create unique index users_tenant_email_key on tenantdb.users (tenant_id, lower(email));
alter table tenantdb.users enable row level security;
alter table tenantdb.users force row level security;
create policy users_isolation on tenantdb.users
  using (tenant_id = (select tenantdb.current_tenant_id()))
  with check (tenant_id = (select tenantdb.current_tenant_id()));
grant select, insert, update (email, display_name) on tenantdb.users to tenantdb_app;
