drop table tenantdb.users;
drop table tenantdb.tenants;
