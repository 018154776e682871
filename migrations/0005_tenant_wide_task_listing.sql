-- Tenant-wide listing of tasks (service mode), newest first: every user's tasks of a tenant.
-- And statistics on (tenant_id, user_id): a user's id determines the tenant, which the planner
-- cannot know from per-column statistics. Without them it multiplies the two selectivities, so
-- a user with 10,000 tasks is estimated at a few hundred rows and a page sorts them all instead
-- of reading the first 50 from tasks_user_created_idx.
-- depends: 0004_tenancy_helper

create index tasks_tenant_created_idx
  on tenantdb.tasks (tenant_id, created_at desc, id desc);
create statistics tenantdb.tasks_tenant_user_stats (dependencies, ndistinct, mcv)
  on tenant_id, user_id from tenantdb.tasks;
analyze tenantdb.tasks;
