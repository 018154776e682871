"""Keyset pagination: a page of rows and the cursor that continues after its last row.

A :class:`Cursor` travels through HTTP APIs as an opaque token (``str(cursor)``, parsed back by
:meth:`Cursor.parse`). The token is validated, not signed: a forged one names a point in the
newest-first order and nothing more, since the query and the row-level policy still return only
the caller's own rows.
"""

import base64
import binascii
import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tenantdb.errors import ValidationError

T = TypeVar("T")


class Keyed(Protocol):
    """A row that pages are cut by: newest first, ties broken by id."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


K = TypeVar("K", bound=Keyed)

MAX_LIMIT = 1000

# The first page continues from "after the end of time", so one plan serves every page.
_FIRST = (datetime.max.replace(tzinfo=UTC), UUID(int=(1 << 128) - 1))

# A token: base64url (unpadded) of a version byte, microseconds since the epoch and the id.
_TOKEN = struct.Struct(">Bq16s")
_TOKEN_VERSION = 1
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]{34}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Cursor(BaseModel):
    """Where the next page starts: strictly before this (created_at, id) in newest-first order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    created_at: AwareDatetime
    id: UUID

    def token(self) -> str:
        """The cursor as an opaque, URL-safe string; :meth:`parse` reads it back."""
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        packed = _TOKEN.pack(_TOKEN_VERSION, micros, self.id.bytes)
        return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")

    def __str__(self) -> str:
        return self.token()

    @classmethod
    def parse(cls, token: str) -> "Cursor":
        """The cursor a :meth:`token` stands for; :class:`ValidationError` for anything else."""
        if not isinstance(token, str) or not _TOKEN_TEXT.fullmatch(token):
            raise ValidationError(f"malformed page cursor: {token!r}")
        try:
            version, micros, id_bytes = _TOKEN.unpack(base64.urlsafe_b64decode(token + "=="))
            if version != _TOKEN_VERSION:
                raise ValueError(f"unknown version {version}")
            created_at = _EPOCH + timedelta(microseconds=micros)
        except (binascii.Error, struct.error, ValueError, OverflowError) as e:
            raise ValidationError(f"malformed page cursor: {token!r}") from e
        return cls(created_at=created_at, id=UUID(bytes=id_bytes))


class Page(BaseModel, Generic[T]):
    """Up to ``limit`` rows, and the cursor of the next page (None on the last page)."""

    model_config = ConfigDict(frozen=True)
    items: list[T]
    next: Cursor | None

    @property
    def next_token(self) -> str | None:
        """The next page's cursor as an opaque string (for an HTTP API), or None."""
        return None if self.next is None else self.next.token()


def cursor_args(before: Cursor | str | None, limit: int) -> dict[str, Any]:
    """Query parameters for a page of ``limit`` rows after ``before`` (a :class:`Cursor`, its
    token, or None for the first page); one extra row is fetched to tell whether another page
    follows. Anything else is a :class:`ValidationError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    if isinstance(before, str):
        before = Cursor.parse(before)
    elif before is not None and not isinstance(before, Cursor):
        raise ValidationError(
            f"before must be a Cursor, its token or None, not {type(before).__name__}")
    created_at, id_ = (before.created_at, before.id) if before else _FIRST
    return {"before_created_at": created_at, "before_id": id_, "limit": limit + 1}


def page_of(rows: list[K], limit: int) -> "Page[K]":  # quoted: pydantic cannot build Page[K]
    """The page for rows fetched with :func:`cursor_args` (at most ``limit + 1`` of them)."""
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if more else None
    next_page = Cursor(created_at=last.created_at, id=last.id) if last else None
    return Page(items=items, next=next_page)
