drop function tenantdb.set_updated_at();
drop function tenantdb.acting_user_id();
drop function tenantdb.current_user_id();
drop function tenantdb.current_tenant_id();
drop schema tenantdb;
