"""A GraphQL request's work in threads, stopped when the request times out.

The router answers ``TIMEOUT`` after ``request_timeout_s`` by cancelling the request's
task; but a resolver's blocking work runs in a worker thread, and cancelling the task
only abandons the thread: a 1,000-code batch (or a document of many) went on reading the
engine for minutes after its caller was told it "was stopped", and the fair share
handed the key its next turn at once, so a key could keep any number of such threads
running. So each request opens a ``RequestWork``:

- resolvers start their blocking work with ``in_thread`` (instead of Starlette's
  ``run_in_threadpool``), which counts the request's threads;
- on timeout the router calls ``cancel``; every engine read made for the request after
  that raises ``RequestTimeout`` (``StoppableStore``), so a batch or a walk of many
  queries stops at its next read. A single engine query already sent runs to its end,
  and pure-Python work between reads (an analysis's graph algorithm) is not interrupted;
- ``after_threads`` runs a callback once the request's last thread has ended: the fair
  share releases the key's turn then, and charges it the time the threads really took.

Writes are not stopped: a mutation that timed out between two writes would be left half
done, and its writes are few and short.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from graph.store import DelegatingStore, Params, Row
from schema.errors import RequestTimeout

T = TypeVar("T")

_current: ContextVar[RequestWork | None] = ContextVar("credit_graph_request_work", default=None)


class RequestWork:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._threads = 0
        self._when_idle: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def threads(self) -> int:
        with self._lock:
            return self._threads

    def cancel(self) -> None:
        self._cancelled.set()

    def stop_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise RequestTimeout("the request timed out and its remaining work was stopped")

    def after_threads(self, callback: Callable[[], None]) -> None:
        """``callback`` now when no thread of this request runs, else on the event loop
        when the last one ends."""
        with self._lock:
            if self._threads:
                self._when_idle.append(callback)
                return
        callback()

    def _started(self) -> None:
        with self._lock:
            self._threads += 1

    def _ended(self) -> None:
        with self._lock:
            self._threads -= 1
            due = self._when_idle if self._threads == 0 else []
            if due:
                self._when_idle = []
        for callback in due:
            self._loop.call_soon_threadsafe(callback)


@contextlib.contextmanager
def opened() -> Iterator[RequestWork]:
    """The work of the request being served in this task (and the tasks and threads it
    starts, which copy the context)."""
    work = RequestWork(asyncio.get_running_loop())
    token = _current.set(work)
    try:
        yield work
    finally:
        _current.reset(token)


def current() -> RequestWork | None:
    return _current.get()


def stop_if_cancelled() -> None:
    """Raise ``RequestTimeout`` when the request this code runs for has timed out."""
    work = _current.get()
    if work is not None:
        work.stop_if_cancelled()


def after_threads(callback: Callable[[], None]) -> None:
    """``callback`` once the current request's threads have ended (now outside one)."""
    work = _current.get()
    if work is None:
        callback()
    else:
        work.after_threads(callback)


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``run_in_threadpool``, counted as the current request's work.

    A call cancelled while it still waits for a free thread never runs ``fn``: it is
    marked abandoned under the lock, so the count cannot wait for a thread that never
    starts.
    """
    work = _current.get()
    if work is None:
        return await run_in_threadpool(fn, *args, **kwargs)
    work.stop_if_cancelled()
    state = ["waiting"]
    lock = threading.Lock()
    work._started()

    def body() -> T:
        with lock:
            if state[0] == "abandoned":
                raise RequestTimeout("the request timed out before this work started")
            state[0] = "running"
        try:
            return fn(*args, **kwargs)
        finally:
            work._ended()

    try:
        return await run_in_threadpool(body)
    except BaseException:
        with lock:
            never_ran = state[0] == "waiting"
            if never_ran:
                state[0] = "abandoned"
        if never_ran:
            work._ended()
        raise


class StoppableStore(DelegatingStore):
    """Refuses an engine read made for a request that has timed out."""

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        stop_if_cancelled()
        return self.inner.read(query, params)
