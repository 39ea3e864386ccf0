"""Kill the embedded engine (SIGKILL) under a load or a stream of acknowledged writes.

One trial is a real ``credit-graph load`` in its own process, or a client writing one
numbered node per acknowledged ``CREATE``; the engine's process is killed at a random
point, started again from its append-only file, and what survived is judged. The
tests (``tests/test_engine_crash_*.py``) run a few trials; ``bench/crash_*.py`` run
the reliability suite's twenty and more, and record the figures. Both use this module,
so what the suite measures is exactly what CI checks.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

from graph.embedded import EmbeddedEngine
from graph.falkor_store import DEFAULT_GRAPH, FalkorStore
from queries.roles import REL_TYPES
from schema.errors import EngineUnavailable
from tests.snapshot import graph_snapshot

ROOT = Path(__file__).resolve().parent.parent
TRIALS_ENV = "CREDIT_GRAPH_CRASH_TRIALS"

#: How long a loader may take to notice its engine is gone before it counts as hung.
LOADER_EXIT_TIMEOUT = 60.0
#: A kill is asked for when this share of the clean load's nodes and edges, at most, is in.
_LATEST_TARGET = 0.9
#: Share of trials killed after a random delay instead of at a row count: they also hit
#: the moments before the loader has written anything (or even connected).
_TIMED_KILLS = 0.15

_WRITTEN = re.compile(r"stopped after (\d+) rows written")

#: One acknowledged write: a numbered node, by parameter (a stand-in for any write).
CREATE_PROBE = "CREATE (:CrashProbe {n: $n})"
READ_PROBES = "MATCH (p:CrashProbe) RETURN p.n AS n"


def trial_count(default: int) -> int:
    """CI runs a few trials; the reliability suite sets ``CREDIT_GRAPH_CRASH_TRIALS=20``."""
    raw = os.environ.get(TRIALS_ENV, "")
    return int(raw) if raw.strip() else default


def cli_env(data_dir: Path) -> dict[str, str]:
    """The command's environment: this data directory's embedded engine and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env["CREDIT_GRAPH_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    return env


def load_cmd(path: Path, rejects: Path) -> list[str]:
    return [
        sys.executable, "-m", "api.cli", "load", str(path),
        "--provider", "prov", "--rejects", str(rejects),
    ]  # fmt: skip


# -- what a graph holds ---------------------------------------------------------------
def _count(store: FalkorStore, query: str) -> int:
    rows = store.read(query)
    return int(rows[0]["n"]) if rows else 0


def objects(store: FalkorStore) -> int:
    """Nodes plus relationships: how far a load has come, seen from outside."""
    return _count(store, "MATCH (n) RETURN count(n) AS n") + _count(
        store, "MATCH ()-[r]->() RETURN count(r) AS n"
    )


def file_rows_in_graph(store: FalkorStore) -> int:
    """Rows of a submission found in the graph: one subject, role or record per row."""
    nodes = sum(
        _count(store, f"MATCH (n:{label}) RETURN count(n) AS n")
        for label in ("Entity", "Person", "Record")
    )
    by_type = store.read("MATCH ()-[r]->() RETURN type(r) AS t, count(r) AS n")
    roles = sum(int(r["n"]) for r in by_type if r["t"] in REL_TYPES.values())
    return nodes + roles


def ingestion_statuses(store: FalkorStore) -> list[str]:
    return sorted(str(r["s"]) for r in store.read("MATCH (l:IngestionLog) RETURN l.status AS s"))


def _ours_redis(pid: int) -> bool:
    """Never signal a pid that is not a redis-server (a stale state file, a reused pid)."""
    try:
        first = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return b"redis-server" in first


def _kill_engine(pid: int) -> None:
    if _ours_redis(pid):
        os.kill(pid, signal.SIGKILL)


def _wait_exit(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _ours_redis(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1]
        except OSError:
            return
        if state in (["Z"], ["X"]):
            return
        time.sleep(0.01)


# -- the clean reference ----------------------------------------------------------------
@dataclass(frozen=True)
class CleanLoad:
    nodes: list[str]
    edges: list[str]
    rows: int
    objects: int
    loaded: int
    seconds: float


def clean_load(path: Path, work: Path) -> CleanLoad:
    """The graph one uninterrupted load of ``path`` gives, node for node."""
    data_dir = work / "clean"
    engine = EmbeddedEngine(data_dir)
    engine.ensure_running()
    try:
        t0 = time.monotonic()
        done = subprocess.run(
            load_cmd(path, work / "clean.rejects.jsonl"),
            env=cli_env(data_dir), cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        seconds = time.monotonic() - t0
        if done.returncode != 0:
            raise RuntimeError(f"the clean load failed ({done.returncode}): {done.stderr}")
        store = FalkorStore.from_socket(str(engine.socket_path), DEFAULT_GRAPH)
        try:
            nodes, edges = graph_snapshot(store)
            return CleanLoad(
                nodes=nodes,
                edges=edges,
                rows=file_rows_in_graph(store),
                objects=objects(store),
                loaded=int(json.loads(done.stdout)["loaded"]),
                seconds=seconds,
            )
        finally:
            store.close()
    finally:
        engine.stop(force=True)


# -- one load trial -----------------------------------------------------------------------
@dataclass
class LoadTrial:
    trial: int
    #: "serve": the engine was started by another process (as under ``serve``) and the
    #: load reused it; "load": the load started the engine itself.
    engine_owner: str
    kill_target_objects: int | None
    kill_delay_s: float | None
    objects_seen_at_kill: int = 0
    killed_after_load_finished: bool = False
    loader_exit: int | None = None  # None: it did not exit within LOADER_EXIT_TIMEOUT
    loader_message: str = ""
    loader_traceback: bool = False
    loader_exit_after_kill_s: float = 0.0
    #: Rows the loader had written when the engine died (from its message), or all it
    #: loaded when it finished regardless.
    acknowledged_rows: int | None = None
    #: The kill point in rows: rows of the file found in the graph after the restart.
    rows_kept: int = 0
    objects_kept: int = 0
    restart_s: float = 0.0
    reload_exit: int | None = None
    reload_s: float = 0.0
    equal_to_clean: bool = False
    missing_nodes: int = 0
    extra_nodes: int = 0
    missing_edges: int = 0
    extra_edges: int = 0
    log_before_reload: list[str] = field(default_factory=list)
    log_after_reload: list[str] = field(default_factory=list)

    def problems(self, clean: CleanLoad) -> list[str]:
        """Everything a user would notice as wrong; empty for a good trial."""
        out: list[str] = []
        if self.loader_exit is None:
            out.append("the loader hung after the engine died")
        elif self.loader_exit != 0:
            if self.loader_traceback:
                out.append("the loader printed a traceback")
            if "\n" in self.loader_message.strip() or "ENGINE_UNAVAILABLE" not in (
                self.loader_message
            ) or "engine" not in self.loader_message.replace("ENGINE_UNAVAILABLE", ""):
                out.append(f"the loader's message is not one line naming the engine: "
                           f"{self.loader_message!r}")
            if self.acknowledged_rows is None:
                out.append("the loader did not say how many rows were written")
        elif self.acknowledged_rows != clean.loaded:
            out.append(f"the loader exited 0 having loaded {self.acknowledged_rows} rows")
        if self.acknowledged_rows is not None and self.rows_kept < self.acknowledged_rows:
            out.append(f"acknowledged rows lost: {self.acknowledged_rows} written, "
                       f"{self.rows_kept} found after the restart")
        if self.reload_exit != 0:
            out.append(f"the second load exited {self.reload_exit}")
        if not self.equal_to_clean:
            out.append(
                f"graph differs from a clean load: nodes -{self.missing_nodes} "
                f"+{self.extra_nodes}, edges -{self.missing_edges} +{self.extra_edges}"
            )
        # A finished load left one finished entry; a killed one its unfinished entry
        # ("started"), or nothing when it died before writing it. History is not rewritten.
        allowed = [["finished"]] if self.loader_exit == 0 else [[], ["started"]]
        if self.log_before_reload not in allowed:
            out.append(f"ingestion log before the reload: {self.log_before_reload}")
        if self.log_after_reload != sorted([*self.log_before_reload, "finished"]):
            out.append(f"ingestion log after the reload: {self.log_after_reload}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _diff(got: list[str], want: list[str]) -> tuple[int, int]:
    g, w = Counter(got), Counter(want)
    return sum((w - g).values()), sum((g - w).values())


def _wait_engine(data_dir: Path, loader: subprocess.Popen[str], timeout: float = 60) -> int:
    """The pid of the engine a loader starts for itself, once it answers."""
    deadline = time.monotonic() + timeout
    probe = EmbeddedEngine(data_dir)
    while time.monotonic() < deadline:
        pid = probe.pid
        if pid is not None and probe.is_alive():
            return pid
        if loader.poll() is not None:
            raise RuntimeError(f"the load exited ({loader.returncode}) before its engine started")
        time.sleep(0.01)
    raise RuntimeError("the load's engine did not start")


def _watch_until(
    store: FalkorStore, loader: subprocess.Popen[str], target: int | None, delay: float | None
) -> int:
    """Return when the graph holds ``target`` objects, ``delay`` has passed, or the load ended."""
    start = time.monotonic()
    seen = 0
    while loader.poll() is None:
        if delay is not None:
            if time.monotonic() - start >= delay:
                break
        else:
            try:
                seen = objects(store)
            except (EngineUnavailable, redis.RedisError):
                seen = 0  # the graph does not exist before the first write
            if target is not None and seen >= target:
                break
        time.sleep(0.005)
    return seen


def run_load_trial(
    trial: int, path: Path, clean: CleanLoad, work: Path, *, seed: int,
    early_kill: float | None = None,
) -> LoadTrial:
    """Load ``path`` into a fresh data directory, SIGKILL the engine, restart, load again.

    ``early_kill`` (seconds) kills the engine the loader itself starts that soon: the
    moments of its start-up and bootstrap, which random trials seldom hit.
    """
    rng = random.Random(seed * 1_000_003 + trial)
    owner = "serve" if trial % 2 == 0 and early_kill is None else "load"
    if early_kill is not None:
        target, delay = None, early_kill
    elif rng.random() < _TIMED_KILLS:
        target, delay = None, round(rng.uniform(0.0, 1.5), 3)
    else:
        target, delay = rng.randint(1, max(1, int(clean.objects * _LATEST_TARGET))), None
    # Past the target, a little more: the kill then also lands inside a batch in flight.
    lag = rng.uniform(0.0, 0.05)
    result = LoadTrial(trial, owner, target, delay)
    data_dir = work / f"trial-{trial:03d}"
    rejects = work / f"trial-{trial:03d}.rejects.jsonl"
    env = cli_env(data_dir)

    serving: EmbeddedEngine | None = None
    if owner == "serve":
        serving = EmbeddedEngine(data_dir)
        serving.ensure_running()
    out, err = "", ""
    loader = subprocess.Popen(
        load_cmd(path, rejects), env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        pid = serving.pid if serving is not None else _wait_engine(data_dir, loader)
        assert pid is not None
        watch = FalkorStore.from_socket(str(EmbeddedEngine(data_dir).socket_path), DEFAULT_GRAPH)
        try:
            result.objects_seen_at_kill = _watch_until(watch, loader, target, delay)
        finally:
            watch.close()
        if target is not None:
            time.sleep(lag)
        result.killed_after_load_finished = loader.poll() is not None
        _kill_engine(pid)
        killed_at = time.monotonic()
        try:
            out, err = loader.communicate(timeout=LOADER_EXIT_TIMEOUT)
            result.loader_exit = loader.returncode
        except subprocess.TimeoutExpired:
            loader.kill()
            out, err = loader.communicate()
        result.loader_exit_after_kill_s = round(time.monotonic() - killed_at, 3)
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()
    if serving is not None:
        _wait_exit(pid)
        serving.stop()  # reaps our killed child and clears its state file
    result.loader_traceback = "Traceback" in err
    result.loader_message = err.strip()
    if result.loader_exit == 0:
        result.acknowledged_rows = int(json.loads(out)["loaded"])
    else:
        m = _WRITTEN.search(err)
        result.acknowledged_rows = int(m.group(1)) if m else None

    t0 = time.monotonic()
    engine = EmbeddedEngine(data_dir)
    engine.ensure_running()
    result.restart_s = round(time.monotonic() - t0, 3)
    store = FalkorStore.from_socket(str(engine.socket_path), DEFAULT_GRAPH)
    try:
        result.rows_kept = file_rows_in_graph(store)
        result.objects_kept = objects(store)
        result.log_before_reload = ingestion_statuses(store)
        t0 = time.monotonic()
        again = subprocess.run(
            load_cmd(path, rejects), env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        result.reload_s = round(time.monotonic() - t0, 3)
        result.reload_exit = again.returncode
        nodes, edges = graph_snapshot(store)
        result.missing_nodes, result.extra_nodes = _diff(nodes, clean.nodes)
        result.missing_edges, result.extra_edges = _diff(edges, clean.edges)
        result.equal_to_clean = nodes == clean.nodes and edges == clean.edges
        result.log_after_reload = ingestion_statuses(store)
    finally:
        store.close()
        engine.stop(force=True)
    return result


# -- acknowledged writes --------------------------------------------------------------------
@dataclass
class AckTrial:
    trial: int
    appendfsync: str
    kill_after_s: float
    acknowledged: int = 0
    #: Acknowledged numbers missing after the restart: must stay 0.
    lost: int = 0
    #: The smallest lost number: with ``everysec`` only a tail of the newest writes may go.
    lost_from: int | None = None
    duplicated: int = 0
    #: The one write in flight at the kill: it may or may not have been kept.
    in_flight_kept: bool = False
    #: Numbers present that no client ever sent (must stay 0).
    unexpected: int = 0
    restart_s: float = 0.0
    writes_per_s: float = 0.0
    #: The engine's ``INFO persistence`` a moment before the kill: bytes of acknowledged
    #: writes still in its memory buffer, a background fsync still running.
    aof_buffer_length_before_kill: int | None = None
    aof_pending_bio_fsync_before_kill: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _persistence_info(socket_path: str) -> dict[str, Any]:
    client = redis.Redis(unix_socket_path=socket_path, socket_timeout=1)
    try:
        return dict(client.info("persistence"))
    except redis.RedisError:
        return {}
    finally:
        client.close()


def run_ack_trial(
    trial: int,
    data_dir: Path,
    *,
    seed: int,
    appendfsync: str = "everysec",
    kill_window: tuple[float, float] = (0.2, 1.2),
) -> AckTrial:
    """Write numbered nodes one acknowledged write at a time; SIGKILL the engine at a
    random moment; restart it from its files and count what came back."""
    rng = random.Random(seed * 1_000_003 + trial)
    result = AckTrial(trial, appendfsync, round(rng.uniform(*kill_window), 3))
    engine = EmbeddedEngine(data_dir, appendfsync=appendfsync)
    engine.ensure_running()
    pid = engine.pid
    assert pid is not None
    graph = f"acks_{trial}"
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    acked = 0
    done = threading.Event()

    def write() -> None:
        nonlocal acked
        n = 0
        try:
            while True:
                n += 1
                store.write_one(CREATE_PROBE, {"n": n})
                acked = n  # the engine answered: this write is acknowledged
        except (EngineUnavailable, redis.RedisError):
            pass
        finally:
            done.set()

    writer = threading.Thread(target=write, name="acked-writer", daemon=True)
    t0 = time.monotonic()
    writer.start()
    time.sleep(result.kill_after_s)
    info = _persistence_info(str(engine.socket_path))
    _kill_engine(pid)
    result.aof_buffer_length_before_kill = info.get("aof_buffer_length")
    result.aof_pending_bio_fsync_before_kill = info.get("aof_pending_bio_fsync")
    killed = time.monotonic()
    done.wait(LOADER_EXIT_TIMEOUT)
    writer.join(1)
    store.close()
    result.acknowledged = acked
    result.writes_per_s = round(acked / max(killed - t0, 1e-9), 1)
    engine.stop()  # reaps the killed child

    t1 = time.monotonic()
    again = EmbeddedEngine(data_dir, appendfsync=appendfsync)
    again.ensure_running()
    result.restart_s = round(time.monotonic() - t1, 3)
    back = FalkorStore.from_socket(str(again.socket_path), graph)
    try:
        try:
            found = Counter(int(r["n"]) for r in back.read(READ_PROBES))
        except redis.ResponseError:
            found = Counter()  # nothing was ever written: the graph does not exist
        lost = [n for n in range(1, acked + 1) if n not in found]
        result.lost = len(lost)
        result.lost_from = lost[0] if lost else None
        result.duplicated = sum(c - 1 for c in found.values() if c > 1)
        result.in_flight_kept = (acked + 1) in found
        result.unexpected = sum(1 for n in found if n < 1 or n > acked + 1)
        back.drop_all()
    finally:
        back.close()
        again.stop(force=True)
    return result


def summarise(trials: list[Any], keys: list[str]) -> dict[str, Any]:
    """Totals of numeric fields over trials, for the results files."""
    rows = [t.as_dict() for t in trials]
    return {k: sum(r[k] for r in rows) for k in keys}

