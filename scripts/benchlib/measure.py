"""Timing: calls in a loop (one thread, several threads, or asyncio tasks), and the statistics
of interleaved rounds."""

import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import cast

from benchlib.registry import Operation


@dataclass
class Sample:
    """One timed run of a variant: how many calls, over how long, and each call's latency."""

    calls: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0


def _calls_until(op: Operation, deadline: float, calls: int | None, into: list[float]) -> float:
    """Call ``op`` until ``deadline`` (or ``calls`` times); latencies go ``into``; the end time."""
    clock = time.perf_counter
    end = clock()
    while (calls is None and end < deadline) or (calls is not None and len(into) < calls):
        started = clock()
        op()
        end = clock()
        into.append(end - started)
    return end


def time_threads(op: Operation, threads: int, seconds: float, calls: int | None) -> Sample:
    """``threads`` threads calling ``op`` for ``seconds`` each (or ``calls`` calls in all)."""
    if threads == 1:
        started = time.perf_counter()
        latencies: list[float] = []
        end = _calls_until(op, started + seconds, calls, latencies)
        return Sample(len(latencies), end - started, latencies)
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    ends = [0.0] * threads
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    share = None if calls is None else -(-calls // threads)

    def worker(i: int) -> None:
        start.wait()
        try:
            ends[i] = _calls_until(op, time.perf_counter() + seconds, share, per_thread[i])
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    latencies = [x for lat in per_thread for x in lat]
    return Sample(len(latencies), max(ends) - started, latencies)


async def time_tasks(op: Operation, tasks: int, seconds: float, calls: int | None) -> Sample:
    """``tasks`` asyncio tasks awaiting ``op()`` for ``seconds`` (or ``calls`` calls in all)."""
    clock = time.perf_counter
    started = clock()
    deadline = started + seconds
    share = None if calls is None else -(-calls // tasks)
    per_task: list[list[float]] = [[] for _ in range(tasks)]

    async def worker(into: list[float]) -> float:
        end = clock()
        while (share is None and end < deadline) or (share is not None and len(into) < share):
            began = clock()
            await cast(Awaitable[object], op())
            end = clock()
            into.append(end - began)
        return end

    ends = await asyncio.gather(*(worker(lat) for lat in per_task))
    latencies = [x for lat in per_task for x in lat]
    return Sample(len(latencies), max(ends) - started, latencies)


@dataclass
class Outcome:
    """A variant's samples over the rounds, or why it did not run."""

    samples: list[Sample] = field(default_factory=list)
    unavailable: str | None = None

    def rate(self) -> float:
        """Calls per second: the median of the rounds."""
        return statistics.median(s.rate for s in self.samples) if self.samples else 0.0

    def latency(self, quantile: float) -> float:
        """Seconds, over every call of every round (nearest rank)."""
        everything = sorted(x for s in self.samples for x in s.latencies)
        if not everything:
            return 0.0
        return everything[min(len(everything) - 1, int(quantile * len(everything)))]

    def calls(self) -> int:
        return sum(s.calls for s in self.samples)


def ratio(variant: Outcome, baseline: Outcome) -> float | None:
    """The median over rounds of the variant's rate over the baseline's in the same round."""
    pairs = [
        v.rate / b.rate
        for v, b in zip(variant.samples, baseline.samples, strict=False)
        if b.rate > 0
    ]
    return statistics.median(pairs) if pairs else None

