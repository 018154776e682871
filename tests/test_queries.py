"""The SQL loader: a malformed file fails at load; every packaged query parses and is named."""

import importlib
from pathlib import Path

import pytest

from tenantdb.queries import QueryFile, QueryFileError, parse_queries


def test_parses_names_docs_and_sql() -> None:
    queries = parse_queries(
        "-- name: get_thing\n-- The thing.\nselect 1;\n\n-- name: other\nselect 2\n", "x.sql"
    )
    assert list(queries) == ["get_thing", "other"]
    assert queries["get_thing"].sql == b"select 1;"
    assert queries["other"].name == "other"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("select 1;\n-- name: a\nselect 2", "before the first"),
        ("-- name: a\nselect 1\n-- name: a\nselect 2", "defined twice"),
        ("-- name: a\n-- only a comment\n", "has no SQL"),
        ("-- name: Bad-Name\nselect 1", "not a valid query name"),
        ("-- just comments\n", "no '-- name:' headers"),
    ],
)
def test_malformed_files_fail_at_load(text: str, problem: str) -> None:
    with pytest.raises(QueryFileError, match=problem):
        parse_queries(text, "bad.sql")


def test_unknown_query_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no query named 'nope'"):
        QueryFile("tasks").nope  # noqa: B018


@pytest.mark.parametrize("domain", ["tasks", "tenants"])
def test_every_query_is_used_by_its_module(domain: str) -> None:
    module = importlib.import_module(f"tenantdb.{domain}")
    code = Path(str(module.__file__)).read_text()
    for name in QueryFile(domain).names():
        assert f"Q.{name}" in code, f"{domain}.sql: {name} is never used"
