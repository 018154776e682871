"""Statements whose answer needs no model: a scalar, tuples, dicts, a row count; on both sides,
on a scope and in a transaction."""

from conftest import Member

from tenantdb import Query, tasks
from tenantdb.tasks import TaskCreate

COUNT = Query.parse("count_tasks", "select count(*) from tenantdb.tasks"
                                   " where tenant_id = %(tenant_id)s and user_id = %(user_id)s")
TITLES = Query.parse("titles", "select title, completed from tenantdb.tasks"
                               " where tenant_id = %(tenant_id)s and user_id = %(user_id)s"
                               " and title like %(prefix)s || '%%' order by title")
COMPLETE_ALL = Query.parse(
    "complete_all", "update tenantdb.tasks set completed = true"
                    " where tenant_id = %(tenant_id)s and user_id = %(user_id)s")


def test_scalar_tuples_dicts_and_row_counts(alice: Member, bob: Member) -> None:
    tasks.create_tasks(alice.scope, [TaskCreate(title="b"), TaskCreate(title="a")])
    assert alice.scope.scalar(COUNT) == 2
    assert bob.scope.scalar(COUNT) == 0  # bob's own ids, bob's own rows
    assert alice.scope.tuples(TITLES, prefix="") == [("a", False), ("b", False)]
    with alice.scope.transaction() as tx:
        assert tx.run(COMPLETE_ALL) == 2
        assert tx.dicts(TITLES, prefix="a") == [{"title": "a", "completed": True}]
    assert [q.read_only for q in (COUNT, TITLES, COMPLETE_ALL)] == [True, True, False]
