-- Tenant-wide listing of tasks (service mode), newest first: every user's tasks of a tenant.
-- depends: 0004_tenancy_helper

create index tasks_tenant_created_idx
  on tenantdb.tasks (tenant_id, created_at desc, id desc);
