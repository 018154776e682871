-- name: create_notebook
-- A notebook, shared by everyone in the tenant.
insert into notes.notebooks (name)
values (%(name)s)
returning id, name;

-- name: list_notebooks
select id, name
  from notes.notebooks
 order by name, id;

-- name: create_note
-- A note of the acting user in one of the tenant's notebooks.
insert into notes.notes (notebook_id, body)
values (%(notebook_id)s, %(body)s)
returning id, user_id, notebook_id, body, created_at;

-- name: get_note
select id, user_id, notebook_id, body, created_at
  from notes.notes
 where tenant_id = %(tenant_id)s and id = %(id)s;

-- name: list_notes
-- The acting user's notes in a notebook, newest first.
select id, user_id, notebook_id, body, created_at
  from notes.notes
 where tenant_id = %(tenant_id)s and user_id = %(user_id)s and notebook_id = %(notebook_id)s
 order by created_at desc, id desc
 limit %(limit)s;
