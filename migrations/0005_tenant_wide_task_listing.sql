-- Tenant-wide listing of tasks (service mode), newest first: every user's tasks of a tenant.
-- And statistics on (tenant_id, user_id): a user's id determines the tenant, which the planner
-- cannot know from per-column statistics. Without them it multiplies the two selectivities, so
-- a user with 10,000 tasks is estimated at a few hundred rows and a page sorts them all instead
-- of reading the first 50 from tasks_user_created_idx.
-- And tenantdb.require_all(): a batch insert that skipped a conflicting id fails as a whole.
-- depends: 0004_tenancy_helper

create index tasks_tenant_created_idx
  on tenantdb.tasks (tenant_id, created_at desc, id desc);
create statistics tenantdb.tasks_tenant_user_stats (dependencies, ndistinct, mcv)
  on tenant_id, user_id from tenantdb.tasks;
analyze tenantdb.tasks;

-- Raises unique_violation (23505) unless a batch returned a row for every row it was given:
-- an id taken by a row the caller cannot see. Called once per statement (a one-time filter).
create function tenantdb.require_all(given bigint, returned bigint) returns boolean
language plpgsql stable as $$
begin
  if given <> returned then
    raise exception 'an id in the batch is taken by a row not visible here'
      using errcode = '23505';
  end if;
  return true;
end $$;
revoke all on function tenantdb.require_all(bigint, bigint) from public;
grant execute on function tenantdb.require_all(bigint, bigint) to tenantdb_app;
