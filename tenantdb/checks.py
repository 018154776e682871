"""``tenantdb check``: what in a migrated database breaks the tenancy contract.

Every table in the ``tenantdb`` schema and in the service schemas asked for must have row level
security enabled and forced, a permissive policy, every permissive policy comparing with
``tenantdb.current_tenant_id()`` in USING and WITH CHECK (for the commands that write), a
``tenant_id`` column, and ``tenant_id`` first in every key, unique index, index and foreign key
(``tenantdb.tenants``, keyed by the tenant id alone, leads with ``id``). Every view must be
``security_invoker``; ``tenantdb_owner`` owns every table and view; the runtime role holds no
TRUNCATE, REFERENCES, TRIGGER or MAINTAIN grant nor CREATE on the schema, and PUBLIC nothing.
The check only reads the catalog: any role may run it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg.types.json import Jsonb

from tenantdb.errors import ConfigurationError, translate
from tenantdb.migrate import APP, OWNER

TENANTDB_SCHEMA = "tenantdb"
TENANT_KEY = {"tenantdb.tenants": "id"}  # the tenants table: its own id is the tenant id

_CATALOG_QUERIES: tuple[tuple[LiteralString, LiteralString], ...] = (
    ("row level security is not enabled", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind in ('r', 'p')
           and not c.relrowsecurity"""),
    ("row level security is not forced (the owner bypasses it)", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind in ('r', 'p')
           and not c.relforcerowsecurity"""),
    ("no permissive policy: nobody can use the table", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind in ('r', 'p')
           and not exists (select from pg_policy p where p.polrelid = c.oid and p.polpermissive)
    """),
    ("no tenant_id column", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind in ('r', 'p')
           and c.oid::regclass::text <> all(%(tenant_keyed)s)
           and not exists (select from pg_attribute a where a.attrelid = c.oid
                            and a.attname = 'tenant_id' and not a.attisdropped)"""),
    ("the policy has no WITH CHECK: writes are not checked against the tenant", """
        select format('%%s, policy %%I', p.polrelid::regclass, p.polname) from pg_policy p
          join pg_class c on c.oid = p.polrelid
         where c.relnamespace = any(%(schemas)s::oid[])
           and p.polcmd in ('*', 'a', 'w') and p.polwithcheck is null"""),
    ("the permissive policy does not compare with tenantdb.current_tenant_id()", """
        select format('%%s, policy %%I', p.polrelid::regclass, p.polname) from pg_policy p
          join pg_class c on c.oid = p.polrelid
         where c.relnamespace = any(%(schemas)s::oid[]) and p.polpermissive
           and (not exists (select from pg_depend d
                             where d.classid = 'pg_policy'::regclass and d.objid = p.oid
                               and d.refobjid = 'tenantdb.current_tenant_id()'::regprocedure)
                or pg_get_expr(p.polqual, p.polrelid)
                   not like '%%tenantdb.current_tenant_id()%%'
                or pg_get_expr(p.polwithcheck, p.polrelid)
                   not like '%%tenantdb.current_tenant_id()%%')"""),
    ("does not lead with the tenant key", """
        select format('%%s, %%s %%s', i.indrelid::regclass,
                      case when i.indisprimary then 'primary key'
                           when i.indisunique then 'unique index' else 'index' end,
                      i.indexrelid::regclass::text)
          from pg_index i join pg_class c on c.oid = i.indrelid
          left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where c.relnamespace = any(%(schemas)s::oid[])
           and a.attname is distinct from coalesce(
                 (%(tenant_keys)s::jsonb) ->> c.oid::regclass::text, 'tenant_id')"""),
    ("the foreign key does not lead with tenant_id", """
        select format('%%s, foreign key %%I', k.conrelid::regclass, k.conname)
          from pg_constraint k
          left join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
         where k.connamespace = any(%(schemas)s::oid[]) and k.contype = 'f'
           and a.attname is distinct from 'tenant_id'"""),
    ("the view is not security_invoker: it reads with its owner's rights", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind = 'v'
           and not coalesce(c.reloptions && array['security_invoker=true', 'security_invoker=on',
                                                  'security_invoker=1'], false)"""),
    ("the materialized view ignores row level security", """
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind = 'm'"""),
    ("is not owned by tenantdb_owner (the runtime role must own nothing)", """
        select format('%%s (owner %%I)', c.oid::regclass, r.rolname)
          from pg_class c join pg_roles r on r.oid = c.relowner
         where c.relnamespace = any(%(schemas)s::oid[]) and c.relkind in ('r', 'p', 'v', 'm')
           and r.rolname <> %(owner)s"""),
    ("the runtime role (or PUBLIC) holds a privilege it must not have", """
        select format('%%s: %%s to %%s', c.oid::regclass, g.privilege_type,
                      coalesce(r.rolname, 'PUBLIC'))
          from pg_class c cross join lateral aclexplode(c.relacl) g
          left join pg_roles r on r.oid = g.grantee
         where c.relnamespace = any(%(schemas)s::oid[])
           and (r.rolname = %(app)s and g.privilege_type in
                  ('TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN')
                or g.grantee = 0)"""),
    ("the runtime role may create objects in the schema", """
        select format('schema %%I', n.nspname) from pg_namespace n
         where n.oid = any(%(schemas)s::oid[])
           and has_schema_privilege(%(app)s, n.oid, 'CREATE')"""),
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One object that breaks the tenancy contract, and how."""

    subject: str
    problem: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


def check_database(conn: psycopg.Connection[Any], schemas: Sequence[str] = ()
                   ) -> list[Violation]:
    """Every violation of the tenancy contract in the ``tenantdb`` schema and ``schemas``."""
    chosen = [TENANTDB_SCHEMA, *(s for s in schemas if s != TENANTDB_SCHEMA)]
    violations = []
    with conn.transaction():
        # names print schema-qualified, and policies' functions too
        conn.execute("set local search_path = pg_catalog, pg_temp")
        found = dict(conn.execute("select nspname, oid from pg_namespace where nspname = any(%s)",
                                  [chosen]).fetchall())
        missing = [name for name in chosen if name not in found]
        if missing:
            raise ConfigurationError(f"no schema named {', '.join(missing)} in this database")
        params = {
            "schemas": list(found.values()),
            "tenant_keyed": list(TENANT_KEY),
            "tenant_keys": Jsonb(TENANT_KEY),
            "app": APP,
            "owner": OWNER,
        }
        for problem, query in _CATALOG_QUERIES:
            violations += [Violation(subject, problem)
                           for (subject,) in conn.execute(query, params).fetchall()]
    return sorted(violations, key=lambda v: (v.subject, v.problem))


def check(url: str, schemas: Sequence[str] = ()) -> list[Violation]:
    """:func:`check_database` on a new connection to ``url``."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return check_database(conn, schemas)
    except psycopg.Error as e:
        raise translate(e) from e
