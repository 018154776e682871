-- name: create_task
-- A new task owned by the acting user (tenant and user come from the transaction's context).
insert into tenantdb.tasks (title, description)
values (%(title)s, %(description)s)
returning id, user_id, title, description, completed, created_at, updated_at;

-- name: get_task
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where id = %(id)s;

-- name: list_tasks
-- The acting user's tasks, newest first, keyset-paginated: rows strictly before the cursor.
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where user_id = (select tenantdb.acting_user_id())
   and (created_at, id) < (%(before_created_at)s::timestamptz, %(before_id)s::uuid)
 order by created_at desc, id desc
 limit %(limit)s;

-- name: list_tasks_by_completion
-- The same, only tasks whose completed flag equals the argument (its own query: its own index).
select id, user_id, title, description, completed, created_at, updated_at
  from tenantdb.tasks
 where user_id = (select tenantdb.acting_user_id())
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
 where id = %(id)s
returning id, user_id, title, description, completed, created_at, updated_at;

-- name: delete_task
delete from tenantdb.tasks
 where id = %(id)s;
