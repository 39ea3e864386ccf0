"""A small time-limited memo for whole-graph analyses.

An analysis reads every negative record and the roles around them; answering each request
afresh would repeat that for every page a caller turns. Results are kept ``ttl`` seconds
under a key the caller chooses (the date, the caller's visibility class, the parameters),
at most ``max_entries`` of them (oldest dropped first), and two requests for the same key
at once compute it once: the second waits for the first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TtlCache"]

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(
        self, ttl: float, max_entries: int = 16, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[bool, V | None]:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > self._clock():
                return True, hit[1]
            self._entries.pop(key, None)
            return False, None

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        found, value = self._fresh(key)
        if found:
            return value  # type: ignore[return-value]
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found, value = self._fresh(key)  # computed while this one waited
            if found:
                return value  # type: ignore[return-value]
            result = compute()
            with self._lock:
                self._entries[key] = (self._clock() + self.ttl, result)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
            return result

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
