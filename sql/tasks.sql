-- Every query names the scope's ids (%(tenant_id)s, %(user_id)s), which the scope fills in. The
-- policy is the guarantee (a mismatching id returns nothing, never another tenant's rows); the
-- ids give the planner the selectivity it cannot see through the policy's InitPlans, so every
-- plan (custom, generic, unprepared) is an index scan on an index leading with tenant_id.

-- name: create_task
-- A new task owned by the acting user. With a client-supplied id, a retry returns the row the
-- first attempt made instead of a duplicate (the CTE's select sees the table as it was before
-- the insert, so exactly one branch returns a row; none: the id is taken by a task not visible).
with created as (
  insert into tenantdb.tasks (tenant_id, id, user_id, title, description)
  values (%(tenant_id)s, coalesce(%(id)s::uuid, gen_random_uuid()), %(user_id)s,
          %(title)s, %(description)s)
  on conflict (tenant_id, id) do nothing
  returning id, user_id, title, description, completed, created_at, updated_at
)
select id, user_id, title, description, completed, created_at, updated_at from created
union all
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s and id = %(id)s::uuid and user_id = %(user_id)s
   and not exists (select from created);

-- name: create_tasks
-- Many new tasks of the acting user in one statement (ids, titles and descriptions as arrays),
-- returned in the order given; idempotent like create_task. An id taken by a task the caller
-- cannot see fails the whole statement (require_all), so nothing of the batch is written.
with given as (
  select coalesce(id, gen_random_uuid()) as id, title, description, ord
    from unnest(%(ids)s::uuid[], %(titles)s::text[], %(descriptions)s::text[])
         with ordinality as g (id, title, description, ord)
), created as (
  insert into tenantdb.tasks (tenant_id, id, user_id, title, description)
  select %(tenant_id)s, id, %(user_id)s, title, description from given order by ord
  on conflict (tenant_id, id) do nothing
  returning id, user_id, title, description, completed, created_at, updated_at
), answered as (
  -- the rows made now, and those that existed before (the statement's snapshot cannot see
  -- the rows it inserts, so none is in both)
  select id, user_id, title, description, completed, created_at, updated_at from created
  union all
  select t.id, t.user_id, t.title, t.description, t.completed, t.created_at, t.updated_at
    from given g
    join tenantdb.tasks t on t.tenant_id = %(tenant_id)s and t.id = g.id
   where t.user_id = %(user_id)s
)
select a.id, a.user_id, a.title, a.description, a.completed, a.created_at, a.updated_at
  from answered a join given g on g.id = a.id
 where tenantdb.require_all((select count(*) from given), (select count(*) from answered))
 order by g.ord;

-- name: create_fresh_tasks
-- create_tasks when no task has a client id: nothing can conflict, so a plain insert (rows come
-- back in the order inserted, which is the order given).
insert into tenantdb.tasks (tenant_id, user_id, title, description)
select %(tenant_id)s, %(user_id)s, title, description
  from unnest(%(titles)s::text[], %(descriptions)s::text[]) with ordinality as g (title, description, ord)
 order by ord
returning id, user_id, title, description, completed, created_at, updated_at;

-- name: get_task
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s and id = %(id)s;

-- name: list_tasks
-- The acting user's tasks, newest first, keyset-paginated: rows strictly before the cursor.
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s and user_id = %(user_id)s
   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)
 order by created_at desc, id desc
 limit %(limit)s;

-- name: list_tasks_by_completion
-- The same, only tasks whose completed flag equals the argument (its own query: its own index).
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s and user_id = %(user_id)s
   and completed = %(completed)s
   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)
 order by created_at desc, id desc
 limit %(limit)s;

-- name: list_tenant_tasks
-- Tenant-wide service mode: every user's tasks of the tenant, newest first.
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s
   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)
 order by created_at desc, id desc
 limit %(limit)s;

-- name: list_tenant_tasks_by_completion
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where tenant_id = %(tenant_id)s
   and completed = %(completed)s
   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)
 order by created_at desc, id desc
 limit %(limit)s;

-- name: update_task
-- Partial update: a null argument keeps the column as it is.
update tenantdb.tasks
   set title = coalesce(%(title)s::text, title),
       description = coalesce(%(description)s::text, description),
       completed = coalesce(%(completed)s::boolean, completed)
 where tenant_id = %(tenant_id)s and id = %(id)s
returning id, user_id, title, description, completed, created_at, updated_at;

-- name: delete_task
delete from tenantdb.tasks
 where tenant_id = %(tenant_id)s and id = %(id)s;
