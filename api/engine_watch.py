"""Keeps the service serving when its graph engine goes away.

A killed or crashed embedded engine used to stay dead until someone restarted the whole
service: every request answered ``ENGINE_UNAVAILABLE`` forever. ``EngineWatch`` is a
thread the app's lifespan starts. It probes the engine (a fresh connection, PING and
GRAPH.LIST, about a millisecond) every ``interval_s`` and at once when a request has just
met ``EngineUnavailable``; when the embedded engine no longer answers it starts it again
(``EmbeddedEngine.restart_if_dead``; the append-only file brings the data back) and
records the outage, which ``/healthz`` and ``/metrics`` report.

Requests are never held back during an outage: they fail fast with
``ENGINE_UNAVAILABLE`` (connecting to a dead Unix socket is refused at once) and the
pooled connections reconnect by themselves once the engine is back (redis-py checks a
pooled connection when it hands it out).

Several workers (``serve --workers N``): each worker runs its own watch. They all notice
the outage, and the engine's file lock makes exactly one of them start the new engine;
the others find it running and reuse it. The starting worker owns the new engine and
stops it when it shuts down, as ``serve`` did with the first one. The first worker that
sees the engine answer again writes the outage to ``<data_dir>/engine-outages.json``
(once per dead engine pid), so ``/healthz`` reports the same history whichever worker
answers.

An engine that was stopped cleanly (``credit-graph engine stop``, or the owning worker
shutting down) removes its ``engine.json``; that is a deliberate stop and is reported but
not undone. A killed, crashed or hung engine leaves the file behind and is restarted.

Neo4j and a FalkorDB given by URL belong to someone else: the watch only reports them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.file_lock import flocked
from graph.embedded import EmbeddedEngine
from graph.store import DelegatingStore, GraphStore, Params, Row, Statement
from schema.errors import CreditGraphError, EngineUnavailable

__all__ = ["OUTAGES_FILE", "EngineWatch", "Outage", "WatchedStore"]

log = logging.getLogger("credit_graph.api")

OUTAGES_FILE = "engine-outages.json"

_MIN_GAP_S = 0.05  # a burst of failing requests wakes the watch at most this often
_MAX_BACKOFF_S = 30.0  # an engine that cannot start is tried again at most this rarely


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="milliseconds") if t is not None else None


@dataclass(frozen=True)
class Outage:
    """One time the engine did not answer, as this service saw it.

    ``seconds`` runs from the first failure noticed (a probe or a request) to the first
    probe that got an answer again. ``restarted`` says whether a new engine process ended
    it (its pid differs from the one that stopped answering), whichever worker started it.
    """

    down_at: datetime
    up_at: datetime
    seconds: float
    restarted: bool
    engine_pid: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "downAt": _iso(self.down_at),
            "upAt": _iso(self.up_at),
            "seconds": round(self.seconds, 3),
            "restarted": self.restarted,
            "enginePid": self.engine_pid,
            "reason": self.reason,
        }


class EngineWatch:
    """Probes the engine, restarts the embedded one, remembers outages.

    ``interval_s`` is the probe period while the engine is restartable or down;
    ``idle_interval_s`` the period for engines the watch only reports on while they are
    up (a Neo4j connectivity check is not free).
    """

    def __init__(
        self,
        store: GraphStore,
        *,
        interval_s: float = 0.5,
        idle_interval_s: float = 5.0,
        on_restart: Callable[[], None] | None = None,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self.store = store
        engine = getattr(store, "engine", None)
        self.engine: EmbeddedEngine | None = engine if isinstance(engine, EmbeddedEngine) else None
        self.interval_s = interval_s
        self.idle_interval_s = idle_interval_s
        self._on_restart = on_restart
        self._on_state = on_state
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # State, guarded by _lock.
        self._suspect_at: tuple[datetime, float] | None = None
        self._down: tuple[datetime, float, str] | None = None
        #: The pid of the engine that died, as this process knew it: the one it last saw
        #: answering (``_alive_pid``), not what the state file says when it notices. By
        #: then another worker may have started the next engine and recorded its pid
        #: (a large graph takes minutes to load), and this process would have counted a
        #: second outage, "not restarted", for the same dead engine.
        self._down_pid: int | None = None
        self._alive_pid: int | None = None
        self._attempted = False
        self._failures = 0
        self._next_attempt = 0.0
        self._outages = 0
        self._restarts = 0
        self._last: Outage | None = None

    @property
    def restartable(self) -> bool:
        return self.engine is not None

    @property
    def engine_owned(self) -> bool:
        return self.engine is not None and self.engine.owned

    @property
    def outages_path(self) -> Path | None:
        return self.engine.data_dir / OUTAGES_FILE if self.engine is not None else None

    # -- lifetime ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="engine-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop probing before the store is closed, or the watch would restart the engine
        its own shutdown is stopping. A restart in progress is let finish (bounded)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("engine watch: still restarting the engine after %.0f s", timeout)

    def nudge(self) -> None:
        """A request has just met ``EngineUnavailable``: probe now rather than later."""
        now = (datetime.now(UTC), time.monotonic())
        with self._lock:
            if self._suspect_at is None and self._down is None:
                self._suspect_at = now
        self._wake.set()

    # -- what /healthz shows -----------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``restarts``, ``outages``, ``lastOutage`` and, while down, ``downSince``.

        For the embedded engine the figures come from the shared file, so every worker
        reports the same; otherwise they are this process's own.
        """
        with self._lock:
            down = self._down
            out: dict[str, Any] = {
                "recovery": "restart" if self.restartable else "report",
                "restarts": self._restarts,
                "outages": self._outages,
                "lastOutage": self._last.as_dict() if self._last is not None else None,
            }
        shared = self._read_shared()
        if shared is not None:
            out["restarts"] = shared.get("restarts", out["restarts"])
            out["outages"] = shared.get("outages", out["outages"])
            out["lastOutage"] = shared.get("last", out["lastOutage"])
        if down is not None:
            out["downSince"] = _iso(down[0])
        return out

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._check()
            except Exception:  # the watch must outlive any surprise, or nobody restarts
                log.exception("engine watch: unexpected error")
            with self._lock:
                calm = self._down is None and self._suspect_at is None
            period = self.interval_s if (self.restartable or not calm) else self.idle_interval_s
            self._wake.wait(period)
            self._wake.clear()
            self._stop.wait(_MIN_GAP_S)

    def _probe(self) -> str | None:
        """None when the engine answers, else why not."""
        try:
            if self.engine is not None:
                return None if self.engine.is_alive() else "the embedded engine does not answer"
            self.store.ping()
        except CreditGraphError as e:
            return e.message
        except Exception as e:  # a driver's unexpected exception means "not answering" too
            return f"{type(e).__name__}: {e}"
        return None

    def _check(self) -> None:
        reason = self._probe()
        if reason is None:
            self._recovered()
            return
        self._went_down(reason)
        if self.engine is None or self._stop.is_set():
            return
        with self._lock:
            if time.monotonic() < self._next_attempt:
                return
            deliberate = not self._attempted and not self.engine.state_path.exists()
            if deliberate:
                return  # stopped cleanly on purpose: report, do not fight the operator
            self._attempted = True
        try:
            self.engine.restart_if_dead()
        except CreditGraphError as e:
            with self._lock:
                self._failures += 1
                backoff = min(self.interval_s * 2**self._failures, _MAX_BACKOFF_S)
                self._next_attempt = time.monotonic() + backoff
            log.error("engine watch: restart failed (next try in %.1f s): %s", backoff, e.message)
            return
        if self._probe() is None:
            self._recovered()

    def _went_down(self, reason: str) -> None:
        with self._lock:
            if self._down is not None:
                return
            at = self._suspect_at or (datetime.now(UTC), time.monotonic())
            self._down = (at[0], at[1], reason)
            self._down_pid = self._alive_pid
            if self._down_pid is None and self.engine is not None:
                self._down_pid = self.engine.recorded_pid
            self._suspect_at = None
        log.error("engine watch: the graph engine is unavailable: %s", reason)
        if self._on_state is not None:
            self._on_state(False)

    def _recovered(self) -> None:
        alive_pid = self.engine.pid if self.engine is not None else None
        with self._lock:
            self._alive_pid = alive_pid
            down = self._down
            self._suspect_at = None
            self._attempted = False
            self._failures = 0
            self._next_attempt = 0.0
            down_pid = self._down_pid
            if down is None:
                return
        new_pid = alive_pid
        outage = Outage(
            down_at=down[0],
            up_at=datetime.now(UTC),
            seconds=time.monotonic() - down[1],
            restarted=down_pid is not None and new_pid is not None and new_pid != down_pid,
            engine_pid=new_pid,
            reason=down[2],
        )
        # Before "down" is cleared, so whoever sees this process up sees the record. Each
        # worker that saw the outage offers it; the first one records it (and counts the
        # restart), whichever worker started the new engine.
        counted = self._write_shared(outage, down_pid) if self.engine is not None else True
        with self._lock:
            self._down = None
            self._outages += 1
            self._restarts += int(outage.restarted and counted)
            self._last = outage
        log.warning(
            "engine watch: the graph engine answers again after %.2f s%s",
            outage.seconds,
            # The flock let one process start the engine; it owns it, the others adopted it.
            " (restarted by this process)" if outage.restarted and self.engine_owned else "",
        )
        if outage.restarted and counted and self._on_restart is not None:
            self._on_restart()
        if self._on_state is not None:
            self._on_state(True)

    # -- the record every worker reads -------------------------------------------------
    def _read_shared(self) -> dict[str, Any] | None:
        path = self.outages_path
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_shared(self, outage: Outage, down_pid: int | None) -> bool:
        """Record ``outage`` once for all workers; False when another worker already did.

        One outage is one dead engine: every worker that saw it die offers it under the
        pid that died, and the first one records it."""
        path = self.outages_path
        if path is None:
            return True
        try:
            with flocked(path.with_name(f".{OUTAGES_FILE}.lock")):
                old = self._read_shared() or {}
                if down_pid is not None and down_pid == old.get("lastDownPid"):
                    return False
                data = {
                    "restarts": int(old.get("restarts", 0)) + int(outage.restarted),
                    "outages": int(old.get("outages", 0)) + 1,
                    "last": outage.as_dict(),
                    "lastDownPid": down_pid,
                }
                tmp = path.with_name(f".{OUTAGES_FILE}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data), encoding="utf-8")
                os.replace(tmp, path)
        except OSError as e:
            log.warning("engine watch: cannot write %s: %s", path, e)
        return True


class WatchedStore(DelegatingStore):
    """Passes every call through; a call that meets ``EngineUnavailable`` nudges the watch,
    so the restart starts with the first failed request instead of the next probe."""

    def __init__(self, inner: GraphStore, watch: EngineWatch) -> None:
        super().__init__(inner)
        self.watch = watch

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        try:
            return self.inner.read(query, params)
        except EngineUnavailable:
            self.watch.nudge()
            raise

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        try:
            return self.inner.write(statements)
        except EngineUnavailable:
            self.watch.nudge()
            raise

    def ping(self) -> None:
        try:
            self.inner.ping()
        except EngineUnavailable:
            self.watch.nudge()
            raise
