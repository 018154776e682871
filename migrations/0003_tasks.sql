-- Tasks: private to the user who owns them (or tenant-wide in the explicit service mode).
-- The runtime role may change only title, description and completed; updated_at is the database's.
-- depends: 0002_tenants_and_users

create table tenantdb.tasks (
  tenant_id uuid not null default tenantdb.current_tenant_id(),
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default tenantdb.acting_user_id(),
  title text not null,
  description text not null default '',
  completed boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tasks_pkey primary key (tenant_id, id),
  constraint tasks_user_fkey foreign key (tenant_id, user_id)
    references tenantdb.users (tenant_id, id) on delete cascade,
  constraint tasks_title_length check (char_length(title) between 1 and 500),
  constraint tasks_title_not_blank check (title ~ '[^[:space:]]'),
  constraint tasks_description_length check (char_length(description) <= 5000)
);
-- the user's tasks, newest first; the same by completion; and tenant-wide by completion
create index tasks_user_created_idx
  on tenantdb.tasks (tenant_id, user_id, created_at desc, id desc);
create index tasks_user_completed_created_idx
  on tenantdb.tasks (tenant_id, user_id, completed, created_at desc, id desc);
create index tasks_completed_created_idx
  on tenantdb.tasks (tenant_id, completed, created_at desc, id desc);

create trigger tasks_set_updated_at before update on tenantdb.tasks
  for each row execute function tenantdb.set_updated_at();

alter table tenantdb.tasks enable row level security;
alter table tenantdb.tasks force row level security;
create policy tasks_isolation on tenantdb.tasks
  using (tenant_id = (select tenantdb.current_tenant_id())
         and (user_id = (select tenantdb.current_user_id()) or (select tenantdb.current_user_id()) is null))
  with check (tenant_id = (select tenantdb.current_tenant_id())
              and (user_id = (select tenantdb.current_user_id()) or (select tenantdb.current_user_id()) is null));
grant select, insert, delete, update (title, description, completed) on tenantdb.tasks to tenantdb_app;
