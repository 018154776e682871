"""Page cursors: opaque tokens for HTTP APIs, validated, and unable to reach another user's rows."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from conftest import Member

from tenantdb import Cursor, Page, ValidationError, tasks
from tenantdb.tasks import TaskCreate


@pytest.mark.parametrize("cursor", [
    Cursor(created_at=datetime(2026, 11, 26, 10, 30, 0, 123456, tzinfo=UTC), id=uuid4()),
    Cursor(created_at=datetime(1, 1, 1, tzinfo=UTC), id=UUID(int=0)),
    Cursor(created_at=datetime.max.replace(tzinfo=UTC), id=UUID(int=(1 << 128) - 1)),
    Cursor(created_at=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(hours=5), id=uuid4()),
])
def test_a_cursor_survives_its_token(cursor: Cursor) -> None:
    token = str(cursor)
    assert token == cursor.token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe as it is
    assert Cursor.parse(token) == cursor


def _token_with(token: str, index: int, char: str) -> str:
    return token[:index] + char + token[index + 1:]


GOOD = Cursor(created_at=datetime(2026, 11, 26, tzinfo=UTC), id=UUID(int=7)).token()


@pytest.mark.parametrize("token", [
    "", "not a cursor", GOOD[:-1], GOOD + "A", GOOD + "=", GOOD.replace("A", "+"),
    _token_with(GOOD, 0, "B"),  # an unknown version
    "AX__________________________________"[:34],  # a time beyond year 9999
    GOOD + "\udcff", "\x00" * 34,
])
def test_a_malformed_token_is_a_validation_error(alice: Member, token: str) -> None:
    with pytest.raises(ValidationError, match="malformed page cursor"):
        Cursor.parse(token)
    with pytest.raises(ValidationError, match="malformed page cursor"):
        tasks.list_tasks(alice.scope, before=token)


@pytest.mark.parametrize("before", [
    {"created_at": "2026-01-01T00:00:00Z", "id": str(UUID(int=1))}, 42, b"bytes", [GOOD],
])
def test_before_must_be_a_cursor_its_token_or_none(alice: Member, before: Any) -> None:
    with pytest.raises(ValidationError, match="before"):
        tasks.list_tasks(alice.scope, before=before)


def test_a_forged_cursor_never_reaches_another_users_rows(
    alice: Member, colleague: Member, bob: Member
) -> None:
    """A cursor is a point in the newest-first order, nothing more: whatever it names, the
    policy and the acting user's filter keep the page to the caller's own rows."""
    mine = {tasks.create_task(alice.scope, TaskCreate(title=f"a{i}")).id for i in range(3)}
    others = [tasks.create_task(m.scope, TaskCreate(title="not alice's"))
              for m in (colleague, bob) for _ in range(2)]
    forged = [Cursor(created_at=t.created_at + timedelta(microseconds=1), id=t.id)
              for t in others]
    forged += [
        Cursor(created_at=datetime.max.replace(tzinfo=UTC), id=uuid4()),
        Cursor(created_at=datetime.now(UTC) + timedelta(days=1), id=UUID(int=0)),
    ]
    for cursor in forged:
        for before in (cursor, cursor.token()):
            page = tasks.list_tasks(alice.scope, before=before, limit=1000)
            assert {t.user_id for t in page.items} <= {alice.id}
            assert {t.id for t in page.items} <= mine
    assert {t.id for t in tasks.list_tasks(alice.scope, before=forged[-1]).items} == mine


def test_cursor_and_page_are_exported() -> None:
    page: Page[int] = Page(items=[1], next=None)
    assert page.next_token is None
