"""The sample service's notes: its own tables, queries and models on tenantdb's engine."""

from pathlib import Path
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tenantdb import NotFound, QueryFile, Tx

Q = QueryFile(Path(__file__).with_name("notes.sql"))


class Notebook(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    name: str


class Note(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    user_id: UUID
    notebook_id: UUID
    body: str
    created_at: AwareDatetime


def create_notebook(tx: Tx, name: str) -> Notebook:
    notebook = tx.one(Q.create_notebook, Notebook, name=name)
    assert notebook is not None  # insert ... returning returns its row
    return notebook


def list_notebooks(tx: Tx) -> list[Notebook]:
    return tx.all(Q.list_notebooks, Notebook)


def create_note(tx: Tx, notebook_id: UUID, body: str) -> Note:
    note = tx.one(Q.create_note, Note, notebook_id=notebook_id, body=body)
    assert note is not None
    return note


def get_note(tx: Tx, note_id: UUID) -> Note:
    note = tx.one(Q.get_note, Note, id=note_id)
    if note is None:
        raise NotFound(f"no note {note_id}")
    return note


def list_notes(tx: Tx, notebook_id: UUID, limit: int = 50) -> list[Note]:
    return tx.all(Q.list_notes, Note, notebook_id=notebook_id, limit=limit)
