"""The wire: a batch of statements and one Sync, written in a single flush.

:func:`exchange` is sans-IO: a generator over libpq's pipeline mode (psycopg's public ``pq``
interface) that yields when it must wait for the socket. psycopg's ``Connection.wait`` drives it
for the sync side and ``AsyncConnection.wait`` for the async side, so both share every byte of
it. Named queries are prepared once per connection (Parse in the same flush as their first
execution); the names are tenantdb's own, forgotten when a connection is reset.
"""

import itertools
import logging
import select
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import abc, pq
from psycopg import errors as pg_errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, Format
from psycopg.waiting import Ready, Wait

from tenantdb.errors import ValidationError, translate
from tenantdb.statements import Rows

log = logging.getLogger("tenantdb")

_BINARY = Format.BINARY
# prepared statement does not exist (DEALLOCATE by someone else); cached plan must not change
# result type (the schema changed under a prepared statement)
STALE_PREPARED = ("26000", "0A000")
_AUTO = PyFormat.AUTO
_TEXT = PyFormat.TEXT


class PreparedNames:
    """Which of tenantdb's statements a connection has prepared, by SQL and parameter types."""

    prepared: dict[tuple[bytes, tuple[int, ...]], bytes]
    names: Iterator[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared = {}
        self.names = itertools.count()


class Connection(PreparedNames, psycopg.Connection[Any]):
    """A pooled connection that knows which of tenantdb's statements it has prepared."""


class AsyncConnection(PreparedNames, psycopg.AsyncConnection[Any]):
    """The async twin of :class:`Connection`."""


AnyConnection = Connection | AsyncConnection


@dataclass(frozen=True, slots=True)
class Command:
    """One statement to send: ``$n`` SQL and its values; ``prepare``: a named, reusable query."""

    sql: bytes
    values: Sequence[Any]
    name: str = ""  # for logs: the query's name
    prepare: bool = True
    text_params: bool = False  # dump every value as text (set_config takes text)


class ConnectionLost(Exception):
    """The connection failed during an exchange; ``sent``: the batch may have reached the server
    (so a write in it may have committed). Scopes turn it into Unavailable or OutcomeUnknown."""

    def __init__(self, cause: BaseException, *, sent: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.sent = sent


class Stalled(psycopg.OperationalError):
    """No answer from the server within the client-side deadline."""


def exchange(
    conn: AnyConnection, commands: Sequence[Command], *, prepare: bool, deadline: float
) -> Generator[Wait, Ready | int, Rows]:
    """Send ``commands`` and a Sync in one flush; the rows of the last command (the others are
    the context, BEGIN, savepoints: only their success matters).

    A database error raises the matching tenantdb error once the Sync came back (the connection
    is then idle, or in a failed transaction block); a dead connection raises ConnectionLost.
    """
    started = time.perf_counter()
    transformer = Transformer(conn)
    dumped = _dump(transformer, commands)  # before anything is sent: bad values write nothing
    pgconn = conn.pgconn
    registry = conn.prepared if prepare else None
    if pgconn.status != pq.ConnStatus.OK:
        raise ConnectionLost(psycopg.OperationalError("the connection is closed"), sent=False)
    try:
        pgconn.enter_pipeline_mode()
        # per command, in order: the name of a Parse sent now (its own result comes first)
        expect: list[tuple[tuple[bytes, tuple[int, ...]], bytes] | None] = []
        for command, (values, types, formats) in zip(commands, dumped, strict=True):
            if registry is not None and command.prepare:
                key = (command.sql, types)
                name = registry.get(key)
                if name is None:
                    name = b"_td%d" % next(conn.names)
                    pgconn.send_prepare(name, command.sql, param_types=types)
                    expect.append((key, name))
                pgconn.send_query_prepared(
                    name, values, param_formats=formats, result_format=_BINARY)
            else:
                pgconn.send_query_params(
                    command.sql, values, param_types=types, param_formats=formats,
                    result_format=_BINARY)
            expect.append(None)
        pgconn.pipeline_sync()
        yield from _flush(pgconn, deadline)
        results = yield from _read_until_sync(pgconn, deadline)
        pgconn.exit_pipeline_mode()
    except (psycopg.OperationalError, pg_errors.InterfaceError) as e:
        raise ConnectionLost(e, sent=True) from e

    error: psycopg.Error | None = None
    for result, parsed in zip(results, expect, strict=True):
        if result.status == ExecStatus.FATAL_ERROR:
            error = error or pg_errors.error_from_result(result, encoding=conn.info.encoding)
        elif parsed is not None and result.status == ExecStatus.COMMAND_OK and registry is not None:
            registry[parsed[0]] = parsed[1]
    if log.isEnabledFor(logging.DEBUG):
        names = " ".join(c.name for c in commands if c.name) or "statement"
        outcome = f"failed ({error.sqlstate})" if error else "done"
        log.debug("%s %s in %.2f ms", names, outcome, (time.perf_counter() - started) * 1000)
    if error is not None:
        if registry is not None and error.sqlstate in STALE_PREPARED:
            registry.clear()  # prepared behind tenantdb's back, or the schema changed: again
        raise translate(error) from error
    return _rows(transformer, results[-1])


def response_deadline(seconds: float) -> float:
    """The time (``time.monotonic()``) by which an exchange started now must have its answer."""
    return time.monotonic() + seconds


def alive(conn: AnyConnection) -> bool:
    """Whether an idle connection is still usable, without a round trip: an idle connection has
    nothing to read, unless the server is ending it (a terminated backend sends a FATAL error,
    then closes). Anything unexpected on the socket retires the connection."""
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        return False
    readable, _, _ = select.select([pgconn.socket], [], [], 0)
    return not readable


def _dump(
    transformer: abc.Transformer, commands: Sequence[Command]
) -> list[tuple[Sequence[Any], tuple[int, ...], list[Format]]]:
    out = []
    for command in commands:
        fmt = _TEXT if command.text_params else _AUTO
        try:
            values = transformer.dump_sequence(command.values, [fmt] * len(command.values))
        except (UnicodeError, psycopg.DataError, psycopg.ProgrammingError) as e:
            raise ValidationError(f"a value cannot be sent to the database: {e}") from e
        assert transformer.types is not None
        assert transformer.formats is not None
        out.append((values, tuple(transformer.types), list(transformer.formats)))
    return out


def _flush(pgconn: pq.abc.PGconn, deadline: float) -> Generator[Wait, Ready | int, None]:
    while pgconn.flush():
        ready = yield Wait.RW
        if not ready:
            _check(deadline)
        elif ready & Ready.R:
            pgconn.consume_input()


def _read_until_sync(
    pgconn: pq.abc.PGconn, deadline: float
) -> Generator[Wait, Ready | int, list[pq.abc.PGresult]]:
    """Every result of the batch (one per command, and one per Parse) up to the Sync."""
    results: list[pq.abc.PGresult] = []
    while True:
        while pgconn.is_busy():
            if not (yield Wait.R):
                _check(deadline)
                continue
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            continue  # the end of one command's results
        if result.status == ExecStatus.PIPELINE_SYNC:
            return results
        if result.status == ExecStatus.FATAL_ERROR and pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError(result.error_message.decode(errors="replace"))
        results.append(result)


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise Stalled("no answer from the database server in time")


def _rows(transformer: abc.Transformer, result: pq.abc.PGresult) -> Rows:
    transformer.set_pgresult(result)
    columns = tuple(
        (result.fname(i) or b"").decode() for i in range(result.nfields)
    )
    values = transformer.load_rows(0, result.ntuples, tuple)
    tag = (result.command_status or b"").split(b" ", 1)[0].decode()
    return Rows(columns, values, int(result.command_tuples or 0), tag)
