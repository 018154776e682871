-- The policies as 0002 and 0003 created them, then the helper goes.
drop policy tasks_isolation on tenantdb.tasks;
create policy tasks_isolation on tenantdb.tasks
  using (tenant_id = (select tenantdb.current_tenant_id())
         and (user_id = (select tenantdb.current_user_id()) or (select tenantdb.current_user_id()) is null))
  with check (tenant_id = (select tenantdb.current_tenant_id())
              and (user_id = (select tenantdb.current_user_id()) or (select tenantdb.current_user_id()) is null));
drop policy users_isolation on tenantdb.users;
create policy users_isolation on tenantdb.users
  using (tenant_id = (select tenantdb.current_tenant_id()))
  with check (tenant_id = (select tenantdb.current_tenant_id()));
drop procedure tenantdb.enable_tenant_isolation(regclass, text);
