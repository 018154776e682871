-- Cluster roles and per-database grants that must exist before the migrations run.
-- Needs a superuser (or CREATEROLE and the database's owner). Idempotent and safe to run
-- concurrently: `tenantdb migrate` runs it when given a superuser URL; operators may run it with
--   psql "$SUPERUSER_URL" -v ON_ERROR_STOP=1 -f sql/bootstrap.sql
-- and then apply the migrations with plain yoyo as tenantdb_owner.
do $$
begin
  begin
    create role tenantdb_owner login;
  exception when duplicate_object or unique_violation then null;  -- exists (maybe just now)
  end;
  begin
    create role tenantdb_app login;
  exception when duplicate_object or unique_violation then null;
  end;
  -- least privilege, even for roles that existed before
  alter role tenantdb_owner nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
  alter role tenantdb_app nosuperuser nocreatedb nocreaterole nobypassrls noreplication noinherit;
  execute format('grant connect, create on database %I to tenantdb_owner', current_database());
  execute format('grant connect on database %I to tenantdb_app', current_database());
end $$;

-- yoyo keeps its bookkeeping tables in the migrating role's "$user" schema. The runtime role may
-- read them, so that health() can report pending migrations.
create schema if not exists tenantdb_owner authorization tenantdb_owner;
grant usage on schema tenantdb_owner to tenantdb_app;
alter default privileges for role tenantdb_owner in schema tenantdb_owner
  grant select on tables to tenantdb_app;
