-- The notes service's schema: notebooks shared by a tenant, notes private to their author.
-- Runs as tenantdb_owner after tenantdb's migrations; the one-line helper isolates each table.
-- depends: 0004_tenancy_helper

create schema notes authorization tenantdb_owner;
grant usage on schema notes to tenantdb_app;

create table notes.notebooks (
  tenant_id uuid not null default tenantdb.current_tenant_id(),
  id uuid not null default gen_random_uuid(),
  name text not null,
  constraint notebooks_pkey primary key (tenant_id, id),
  constraint notebooks_tenant_fkey foreign key (tenant_id)
    references tenantdb.tenants (id) on delete cascade,
  constraint notebooks_name_length check (char_length(name) between 1 and 200)
);
call tenantdb.enable_tenant_isolation('notes.notebooks', 'tenant_shared');
grant select, insert, delete, update (name) on notes.notebooks to tenantdb_app;

create table notes.notes (
  tenant_id uuid not null default tenantdb.current_tenant_id(),
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default tenantdb.acting_user_id(),
  notebook_id uuid not null,
  body text not null,
  created_at timestamptz not null default now(),
  constraint notes_pkey primary key (tenant_id, id),
  constraint notes_user_fkey foreign key (tenant_id, user_id)
    references tenantdb.users (tenant_id, id) on delete cascade,
  constraint notes_notebook_fkey foreign key (tenant_id, notebook_id)
    references notes.notebooks (tenant_id, id) on delete cascade,
  constraint notes_body_length check (char_length(body) between 1 and 10000)
);
create index notes_user_notebook_created_idx
  on notes.notes (tenant_id, user_id, notebook_id, created_at desc, id desc);
create index notes_notebook_idx on notes.notes (tenant_id, notebook_id);
call tenantdb.enable_tenant_isolation('notes.notes', 'user_private');
grant select, insert, delete, update (body) on notes.notes to tenantdb_app;
