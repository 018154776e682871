"""Validators shared by the domain models; each mirrors a CHECK constraint in the migrations.

Use them in ``Annotated`` types: ``Annotated[str, StringConstraints(max_length=500), NoNul]``.
"""

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (PostgreSQL text cannot hold them)")
    return value


def _not_blank(value: str) -> str:
    if value.isspace():
        raise ValueError("must not be blank")
    return value


NoNul = AfterValidator(_no_nul)
NotBlank = AfterValidator(_not_blank)

Email = Annotated[
    str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"), NoNul
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul, NotBlank]

def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


# An id argument: a UUID, or its string form (converted); anything else is refused.
Id = Annotated[UUID | str, AfterValidator(_uuid)]
