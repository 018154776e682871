"""Scenarios as data: each names its baseline and its variants, and the registry runs them all.

A domain adds its own in a few lines (``scenarios/tasks.py`` is the example)::

    register(Scenario(
        "messages: list a page", group="point", baseline=raw_page,
        variants=[Variant("tenantdb messages.list_messages", make=api_page)],
    ))

``make(fixture, stack)`` builds the operation to time (a plain function, or with ``is_async`` a
coroutine function) from the scenario's :class:`~benchlib.fixture.Fixture`; it registers what it
opens on ``stack`` and raises :class:`NotAvailable` when it cannot run here.
"""

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchlib.fixture import Fixture

Operation = Callable[[], object]  # one timed call; with Variant.is_async it returns an awaitable


class NotAvailable(Exception):
    """A variant that cannot run with this version or these packages; the message says why."""


@dataclass(frozen=True)
class Variant:
    """One way to do a scenario's work.

    ``threads``: threads (or asyncio tasks) calling at once. ``rows``: rows one call handles
    (reported as rows/s). ``fresh_calls``: measure the first calls on new connections: ``make``
    runs again for every round and exactly that many calls are timed, with no warm-up.
    ``per_round``: ``make`` runs again for every round (e.g. a pool of 64 connections that must
    not outlive the round). ``warmup_calls``: untimed calls right after ``make``, besides the
    short warm-up before each round.
    """

    name: str
    make: "Callable[[Fixture, ExitStack], Operation]"
    threads: int = 1
    rows: int = 1
    is_async: bool = False
    fresh_calls: int | None = None
    per_round: bool = False
    warmup_calls: int = 0


@dataclass(frozen=True)
class Scenario:
    """What is compared: ratios are each variant's throughput over the ``baseline``'s."""

    name: str
    group: str
    baseline: Variant
    variants: list[Variant] = field(default_factory=list)
    seeded: bool = False  # needs the large seeded tenants (the scale scenarios)
    note: str = ""

    def all_variants(self) -> list[Variant]:
        return [self.baseline, *self.variants]


SCENARIOS: list[Scenario] = []


def register(*scenarios: Scenario) -> None:
    for scenario in scenarios:
        if any(s.name == scenario.name for s in SCENARIOS):
            raise ValueError(f"scenario {scenario.name!r} is registered twice")
        SCENARIOS.append(scenario)


def select(pattern: str | None) -> list[Scenario]:
    """The scenarios of the group ``pattern``, else those whose name contains it (all when
    None)."""
    if not pattern:
        return list(SCENARIOS)
    wanted = pattern.lower()
    return ([s for s in SCENARIOS if s.group == wanted]
            or [s for s in SCENARIOS if wanted in s.name.lower()])
