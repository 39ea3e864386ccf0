"""Pause Python's cyclic garbage collector while a bulk read builds many objects.

A read of a few hundred thousand rows allocates millions of small lists and dicts (the
reply, then the rows), all alive until the read ends. Each 700 allocations start a
collection, and the older generations are walked again and again as the live set grows:
on the 1,000,000-entity province the analytics' record read took 29 s with the collector
on and 10.5 s with it paused, for the same rows (``docs/performance.md``). Nothing such a
read builds is cyclic, so reference counting frees it all and the collector has nothing
to find.

The collector is process-wide: the pause is counted, so overlapping pauses (two analytics
requests on two threads) end when the last one does, and the collector is left as it was
found (a caller that had turned it off keeps it off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
