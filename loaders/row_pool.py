"""Validation of a file's rows in worker processes, answered in the file's order.

Why: validating and encoding a row is about three quarters of the loader's CPU, and one
Python process runs it on one core while the engine uses the other. Chunks of rows go
round-robin to worker processes (``loaders.row_worker``, which runs the pure per-row
work of ``loaders.row_items``), and their items are taken back in the order the chunks
were read, so the pipeline sees exactly what it would see working alone. At most a few
chunks are in flight per worker: memory stays bounded.

Each worker is a fresh interpreter on a pair of pipes, not a ``multiprocessing`` pool:
the loader holds engine connections and threads that a ``fork`` would copy half-way;
``spawn`` and ``forkserver`` import the caller's ``__main__`` again in every worker, and
their fork server outlived a killed loader together with its workers. A worker here
ends at the end of its input, so when the loader dies its workers go with it.
"""

from __future__ import annotations

import collections
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from loaders.row_items import Entry, Item, RowContext, prepare_chunk
from loaders.row_worker import receive, send

#: Rows per chunk sent to a worker: big enough that the hand-over is a small share of
#: the work, small enough that little is in flight.
CHUNK_ROWS = 1000
#: Chunks in flight per worker.
IN_FLIGHT_PER_WORKER = 4
#: Files smaller than this are validated in the loader itself: starting a worker costs
#: about half a second, more than it saves on a small file.
PARALLEL_MIN_BYTES = 8 * 1024**2

Chunk = TypeVar("Chunk")
Rows = list[Entry | None]


class WorkerFailed(RuntimeError):
    """A worker died or hit a defect; the load stops (rows written so far are kept)."""


def default_workers() -> int:
    """One per core, at most 4. On two cores two workers beat one (100k province: 40 s
    against 47 s): with one, the worker was the slowest link, and the scheduler shares
    the cores out among loader, workers and engine anyway."""
    return min(4, os.cpu_count() or 1)


def workers_for(file_bytes: int, configured: int | None = None) -> int:
    """How many workers a file of this size gets (``configured``: the setting
    ``CREDIT_GRAPH_LOAD_WORKERS``; 0 keeps validation in the loader)."""
    if file_bytes < PARALLEL_MIN_BYTES:
        return 0
    return default_workers() if configured is None else configured


class _Worker:
    """One worker process; a thread feeds its input, so the loader never blocks on a
    full pipe while the worker, busy, cannot read (and cannot write its answers)."""

    def __init__(self, ctx: RowContext) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loaders.row_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._inbox: queue.Queue[Rows | None] = queue.Queue()
        self._feeder = threading.Thread(target=self._feed, args=(ctx,), daemon=True)
        self._feeder.start()

    def _feed(self, ctx: RowContext) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            send(stdin, ctx)
            while (rows := self._inbox.get()) is not None:
                send(stdin, rows)
        except OSError:
            pass  # the worker is gone; ``receive`` says so
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def send(self, rows: Rows) -> None:
        self._inbox.put(rows)

    def receive(self) -> list[Item | None]:
        assert self.proc.stdout is not None
        try:
            status, value = receive(self.proc.stdout)
        except EOFError:
            code = self.proc.wait(timeout=10)
            raise WorkerFailed(
                f"a validation worker ended unexpectedly (exit code {code})"
            ) from None
        if status != "ok":
            raise WorkerFailed(f"a validation worker failed:\n{value}")
        return value  # type: ignore[no-any-return]

    def close(self, wait: bool) -> None:
        self._inbox.put(None)
        if not wait:
            self.proc.kill()
        self._feeder.join(timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class RowPool:
    """``map`` a file's chunks to items, here (``workers=0``) or in worker processes."""

    def __init__(self, ctx: RowContext, workers: int) -> None:
        self.ctx = ctx
        self._workers = [_Worker(ctx) for _ in range(workers)]

    def map(
        self, chunks: Iterable[tuple[Chunk, Rows]]
    ) -> Iterator[tuple[Chunk, list[Item | None]]]:
        """For each ``(chunk, rows)``, ``(chunk, items)`` in the same order; ``chunk`` is
        the caller's own (it stays in this process)."""
        workers = self._workers
        if not workers:
            for chunk, rows in chunks:
                yield chunk, prepare_chunk(self.ctx, rows)
            return
        pending: collections.deque[tuple[Chunk, _Worker]] = collections.deque()
        limit = len(workers) * IN_FLIGHT_PER_WORKER
        for i, (chunk, rows) in enumerate(chunks):
            worker = workers[i % len(workers)]
            worker.send(rows)
            pending.append((chunk, worker))
            if len(pending) >= limit:
                done, by = pending.popleft()
                yield done, by.receive()
        while pending:
            done, by = pending.popleft()
            yield done, by.receive()

    def close(self, wait: bool = True) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close(wait)

    def __enter__(self) -> RowPool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # After an error or an interrupt, do not wait for chunks nobody will read.
        self.close(wait=exc_type is None)
