"""Named SQL, loaded from ``sql/<domain>.sql`` files in the style of aiosql.

A file is a sequence of queries, each introduced by ``-- name: <identifier>`` and optionally
followed by comment lines that document it. A malformed file fails when its domain module is
imported, not at the first call.
"""

import re
from dataclasses import dataclass

from tenantdb.paths import SQL_DIR

_HEADER = re.compile(r"^--\s*name:\s*(\S*)\s*$", re.MULTILINE)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class QueryFileError(Exception):
    """A SQL file that cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Query:
    """One named, parameterised statement (``%(name)s`` placeholders)."""

    name: str
    sql: bytes


class QueryFile:
    """The queries of one SQL file, as attributes: ``Q = QueryFile("tasks"); Q.get_task``."""

    def __init__(self, domain: str) -> None:
        path = SQL_DIR / f"{domain}.sql"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise QueryFileError(f"cannot read {path}: {e}") from e
        self._queries = parse_queries(text, str(path))

    def __getattr__(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no query named {name!r}") from None

    def names(self) -> list[str]:
        return list(self._queries)


def parse_queries(text: str, source: str) -> dict[str, Query]:
    parts = _HEADER.split(text)
    if _code(parts[0]):
        raise QueryFileError(f"{source}: SQL before the first '-- name:' header")
    queries: dict[str, Query] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if not _IDENTIFIER.fullmatch(name):
            raise QueryFileError(f"{source}: {name!r} is not a valid query name")
        if name in queries:
            raise QueryFileError(f"{source}: query {name!r} is defined twice")
        sql = _code(body)
        if not sql:
            raise QueryFileError(f"{source}: query {name!r} has no SQL")
        queries[name] = Query(name, sql.encode())
    if not queries:
        raise QueryFileError(f"{source}: no '-- name:' headers")
    return queries


def _code(text: str) -> str:
    """The SQL of a block, without its comment lines."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()
