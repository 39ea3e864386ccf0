"""A token bucket per key (API key name, or client address for the public).

Each key may send ``burst`` requests at once and ``rate_per_s`` sustained. The state is
per process: with several uvicorn workers each worker enforces the rate on the requests
it receives, so the effective limit is up to ``workers`` times higher; a shared limit
would need a shared store, which the service does not otherwise have.

Memory stays bounded whatever the number of keys: a bucket idle long enough to be full
again is indistinguishable from a new one and is dropped for free; beyond ``max_keys``
buckets the least recently used one is dropped, which at worst hands that key a fresh
burst.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from schema.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate_per_s = float(rate_per_s)
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._refill_s = burst / self.rate_per_s
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Buckets held now (for tests and diagnostics)."""
        with self._lock:
            return len(self._buckets)

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` saying when to retry."""
        with self._lock:
            now = self._clock()
            self._evict(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(float(self.burst), now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                elapsed = max(now - bucket.at, 0.0)
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate_per_s)
                bucket.at = now
                self._buckets.move_to_end(key)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate_per_s
        raise RateLimited(
            f"too many requests: at most {self.rate_per_s:g} per second with bursts of "
            f"{self.burst}; retry after {_seconds(wait)} s"
        )

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may send again (0 when it may now); takes no token."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            elapsed = max(self._clock() - bucket.at, 0.0)
            tokens = min(self.burst, bucket.tokens + elapsed * self.rate_per_s)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate_per_s

    def _evict(self, now: float) -> None:
        """Drop buckets from the least recently used end while they are full again."""
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if now - oldest.at < self._refill_s:
                return
            del self._buckets[key]


def _seconds(wait: float) -> str:
    """Rounded up to the centisecond, so a client that waits that long is let through."""
    return f"{math.ceil(wait * 100) / 100:.2f}"
