drop function tenantdb.require_all(bigint, bigint);
drop statistics tenantdb.tasks_tenant_user_stats;
drop index tenantdb.tasks_tenant_created_idx;
