-- The one-line way to make a table tenant-isolated, used by tenantdb's own tables and by every
-- service's migrations (which run as tenantdb_owner, after tenantdb's):
--   call tenantdb.enable_tenant_isolation('myservice.notes', 'user_private');
--   call tenantdb.enable_tenant_isolation('myservice.notebooks', 'tenant_shared');
-- It checks the table's shape (tenant_id uuid not null, and user_id uuid not null for
-- user-private tables; a primary key that starts with tenant_id), enables and forces row level
-- security and (re)creates the one standard policy, <table>_isolation, for all commands with
-- USING and WITH CHECK. Idempotent. SECURITY INVOKER: only the table's owner can call it
-- successfully. Grants to tenantdb_app stay the migration's own job. A procedure, not a
-- function: `call` returns no rows for yoyo to print.
-- depends: 0003_tasks

create procedure tenantdb.enable_tenant_isolation(target regclass, visibility text)
language plpgsql security invoker set search_path = pg_catalog, pg_temp as $$
declare
  tenant_only constant text := 'tenant_id = (select tenantdb.current_tenant_id())';
  user_too constant text := ' and (user_id = (select tenantdb.current_user_id())'
                            ' or (select tenantdb.current_user_id()) is null)';
  table_name name;
  kind "char";
  policy_name text;
  predicate text;
  key_first name;
begin
  if visibility is null or visibility not in ('user_private', 'tenant_shared') then
    raise exception 'tenant isolation of %: visibility must be ''user_private'' or '
      '''tenant_shared'', not %', target, coalesce(quote_literal(visibility), 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  select c.relname, c.relkind into table_name, kind from pg_class c where c.oid = target;
  if kind not in ('r', 'p') then
    raise exception 'tenant isolation of %: not a table', target
      using errcode = 'wrong_object_type';
  end if;
  if not exists (select from pg_attribute a
                  where a.attrelid = target and a.attname = 'tenant_id' and not a.attisdropped
                    and a.atttypid = 'uuid'::regtype and a.attnotnull) then
    raise exception 'tenant isolation of %: needs a column tenant_id uuid not null', target
      using errcode = 'invalid_table_definition';
  end if;
  if visibility = 'user_private' and not exists (
      select from pg_attribute a
       where a.attrelid = target and a.attname = 'user_id' and not a.attisdropped
         and a.atttypid = 'uuid'::regtype and a.attnotnull) then
    raise exception 'tenant isolation of %: a user-private table needs a column user_id uuid '
      'not null', target using errcode = 'invalid_table_definition';
  end if;
  select a.attname into key_first
    from pg_constraint k join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
   where k.conrelid = target and k.contype = 'p';
  if key_first is distinct from 'tenant_id' then
    raise exception 'tenant isolation of %: the primary key must start with tenant_id', target
      using errcode = 'invalid_table_definition';
  end if;
  policy_name := table_name || '_isolation';
  if octet_length(policy_name) > 63 then
    raise exception 'tenant isolation of %: the policy name % would be truncated', target,
      policy_name using errcode = 'name_too_long';
  end if;
  predicate := tenant_only || case visibility when 'user_private' then user_too else '' end;

  -- regclass prints as a quoted, schema-qualified name here (search_path is pg_catalog only)
  execute format('alter table %s enable row level security', target);
  execute format('alter table %s force row level security', target);
  execute format('drop policy if exists %I on %s', policy_name, target);
  execute format('create policy %I on %s as permissive for all using (%s) with check (%s)',
                 policy_name, target, predicate, predicate);
end $$;

-- tenantdb_owner owns it (and so may execute it); nobody else needs it
revoke all on procedure tenantdb.enable_tenant_isolation(regclass, text) from public;

-- tenantdb's own tables, through the same helper (the policies are the same as before)
call tenantdb.enable_tenant_isolation('tenantdb.users', 'tenant_shared');
call tenantdb.enable_tenant_isolation('tenantdb.tasks', 'user_private');
