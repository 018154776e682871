"""Named SQL, loaded from ``.sql`` files in the style of aiosql.

A file is a sequence of queries, each introduced by ``-- name: <identifier>`` and optionally
followed by comment lines that document it. Parameters are named, ``%(name)s``; ``%%`` is a
literal ``%``. A malformed file fails when it is loaded (at import of its domain module), not at
the first call. tenantdb's own files are found by domain name (``QueryFile("tasks")``); a
service's by path (``QueryFile(Path("sql/notes.sql"))``) or as a package resource
(``QueryFile.from_package("myservice", "sql/notes.sql")``).
"""

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tenantdb.paths import SQL_DIR

_HEADER = re.compile(r"^--\s*name:\s*(\S*)\s*$", re.MULTILINE)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")
# A statement is read-only when it starts as a query and has no data-modifying part. One-shot
# read-only statements run in a read-only transaction, so a wrong guess fails, never writes twice.
_QUERY_START = re.compile(r"\s*(select|with|values|table)\b", re.IGNORECASE)
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|call|copy|lock|nextval|setval)\b"
    r"|\bfor\s+(update|share|no\s+key|key\s+share)\b",
    re.IGNORECASE,
)


class QueryFileError(Exception):
    """A SQL file that cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Query:
    """One named, parameterised statement.

    ``sql`` has PostgreSQL's ``$1, $2, ...`` placeholders (what tenantdb sends); ``params`` names
    them in order. ``text`` is the statement as written, with ``%(name)s`` placeholders (what
    psycopg's ``execute`` and other tools take).
    """

    name: str
    sql: bytes
    params: tuple[str, ...]
    read_only: bool = False
    text: str = ""

    @classmethod
    def parse(cls, name: str, text: str) -> "Query":
        """A query from SQL with ``%(name)s`` placeholders."""
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            param = match.group(1)
            if param is None:
                if match.group(0) == "%":
                    raise QueryFileError(f"query {name!r}: use %(name)s placeholders or %% for %")
                return "%"
            if param not in order:
                order.append(param)
            return f"${order.index(param) + 1}"

        sql = _PLACEHOLDER.sub(number, text)
        read_only = bool(_QUERY_START.match(text)) and not _WRITES.search(text)
        return cls(name, sql.encode(), tuple(order), read_only, text)


class QueryFile:
    """The queries of one SQL file, as attributes: ``Q = QueryFile("tasks"); Q.get_task``.

    ``source`` is the name of one of tenantdb's own files (``"tasks"``) or the path of any file.
    """

    def __init__(self, source: str | Path) -> None:
        path = source if isinstance(source, Path) else SQL_DIR / f"{source}.sql"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise QueryFileError(f"cannot read {path}: {e}") from e
        self._queries = parse_queries(text, str(path))

    @classmethod
    def from_package(cls, package: str, resource: str) -> "QueryFile":
        """The SQL file ``resource`` (a path inside ``package``), as installed."""
        try:
            with resources.as_file(resources.files(package).joinpath(resource)) as path:
                return cls(path)
        except ModuleNotFoundError as e:
            raise QueryFileError(f"no package {package!r}: {e}") from e

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
        try:
            queries[name] = Query.parse(name, sql)
        except QueryFileError as e:
            raise QueryFileError(f"{source}: {e}") from None
    if not queries:
        raise QueryFileError(f"{source}: no '-- name:' headers")
    return queries


def _code(text: str) -> str:
    """The SQL of a block, without its comment lines."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()
