-- The tenantdb schema and the functions through which row-level security policies read the
-- transaction-local tenant context (app.tenant_id, app.user_id). Roles exist already: they are
-- cluster-wide and created by `tenantdb migrate` (as a superuser) or sql/bootstrap.sql.
--
-- app.user_id holds the acting user's uuid, or '*' for the explicit tenant-wide service mode.
-- An unset or empty setting is a bug in the caller and raises, never "sees everything":
--   TD000 no tenant   TD001 no user and no explicit tenant-wide mode   TD002 needs an acting user
-- Policies call these functions as `(select f())` so Postgres runs them once per statement.

create schema tenantdb;
revoke all on schema tenantdb from public;
grant usage on schema tenantdb to tenantdb_app;

create function tenantdb.current_tenant_id() returns uuid
language plpgsql stable as $$
declare
  setting text := current_setting('app.tenant_id', true);
begin
  if coalesce(setting, '') = '' then
    raise exception 'no tenant context: app.tenant_id is not set in this transaction'
      using errcode = 'TD000';
  end if;
  return setting::uuid;
end $$;

create function tenantdb.current_user_id() returns uuid
language plpgsql stable as $$
declare
  setting text := current_setting('app.user_id', true);
begin
  if coalesce(setting, '') = '' then
    raise exception 'no user context: app.user_id is neither a user id nor ''*'' (tenant-wide)'
      using errcode = 'TD001';
  end if;
  if setting = '*' then
    return null;  -- tenant-wide service mode
  end if;
  return setting::uuid;
end $$;

create function tenantdb.acting_user_id() returns uuid
language plpgsql stable as $$
declare
  user_id uuid := tenantdb.current_user_id();
begin
  if user_id is null then
    raise exception 'this operation acts for a user, but the transaction is tenant-wide'
      using errcode = 'TD002';
  end if;
  return user_id;
end $$;

create function tenantdb.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end $$;

revoke all on function tenantdb.current_tenant_id(), tenantdb.current_user_id(),
  tenantdb.acting_user_id(), tenantdb.set_updated_at() from public;
grant execute on function tenantdb.current_tenant_id(), tenantdb.current_user_id(),
  tenantdb.acting_user_id(), tenantdb.set_updated_at() to tenantdb_app;
