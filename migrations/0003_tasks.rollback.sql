drop table tenantdb.tasks;
