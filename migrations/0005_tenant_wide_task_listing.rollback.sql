drop index tenantdb.tasks_tenant_created_idx;
