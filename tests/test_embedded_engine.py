"""The embedded engine manager against real redis-server processes, no mocks.

Every test has its own data directory under ``tmp_path``; the ``engines`` fixture stops
every engine a test made, then kills any redis-server still working under ``tmp_path``,
so a failing test never leaves a server behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from falkordb import FalkorDB

from graph.embedded import SUN_PATH_MAX, EmbeddedEngine, default_binaries, socket_path_for
from graph.embedded_store import EmbeddedFalkorStore
from schema.errors import EngineUnavailable

ROOT = Path(__file__).resolve().parents[1]

MakeEngine = Callable[..., EmbeddedEngine]


# -- helpers ---------------------------------------------------------------------------
def _servers_under(directory: Path) -> list[int]:
    """Pids of redis-server processes whose working directory (their --dir) is under it."""
    root = os.path.realpath(directory)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv0 = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0", 1)[0]
            cwd = os.readlink(f"/proc/{entry}/cwd")
            status = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        name = os.path.basename(argv0.split(b" ", 1)[0])
        if name.startswith(b"redis-server") and status != "Z":
            if cwd == root or cwd.startswith(root + os.sep):
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return status != "Z"


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.02)


def _query(sock: str | Path, query: str, graph: str = "g") -> list[list[Any]]:
    db = FalkorDB(unix_socket_path=str(sock), socket_timeout=10)
    try:
        return list(db.select_graph(graph).query(query).result_set)
    finally:
        db.connection.close()


def _count(sock: str | Path) -> int:
    rows = _query(sock, "MATCH (n:N) RETURN count(n)")
    return int(rows[0][0])


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[MakeEngine]:
    made: list[EmbeddedEngine] = []

    def make(data_dir: Path | None = None, **kwargs: Any) -> EmbeddedEngine:
        engine = EmbeddedEngine(data_dir or tmp_path / "data", **kwargs)
        made.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in made:
            try:
                engine.stop(force=True)
            except Exception:  # the safety net below still runs
                pass
        for pid in _servers_under(tmp_path):
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass


# -- start, layout, socket ---------------------------------------------------------------
@pytest.mark.parametrize("depth", ["short", "long"])
def test_start_creates_and_matches(engines: MakeEngine, tmp_path: Path, depth: str) -> None:
    data_dir = tmp_path / "data" if depth == "short" else tmp_path / ("d" * 100) / "data"
    engine = engines(data_dir)
    sock = engine.ensure_running()

    assert engine.owned and engine.is_alive()
    assert sock == str(engine.socket_path) == str(socket_path_for(data_dir))
    assert len(os.fsencode(sock)) <= SUN_PATH_MAX
    if depth == "short":
        assert sock == str(data_dir / "engine" / "falkordb.sock")
    else:
        assert Path(sock).name.startswith("credit-graph-")

    _query(sock, "CREATE (:N {name: 'acme'})")
    assert _query(sock, "MATCH (n:N) RETURN n.name") == [["acme"]]

    engine_dir = data_dir / "engine"
    assert stat.S_IMODE(engine_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o700
    assert (engine_dir / "appendonlydir").is_dir()
    assert engine.log_path == engine_dir / "engine.log" and engine.log_path.is_file()
    state = json.loads((engine_dir / "engine.json").read_text())
    assert state["pid"] == engine.pid
    assert state["socket"] == sock
    assert state["redis_server"] == default_binaries()[0]
    assert state["started_at"]

    client = redis.Redis(unix_socket_path=sock)
    try:
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        assert client.config_get("save") == {"save": ""}
        modules = client.module_list()
        graph = [m for m in modules if m[b"name"] == b"graph"]
        assert graph and not any(b"BOLT" in bytes(a).upper() for a in graph[0][b"args"])
    finally:
        client.close()

    engine.stop()
    assert not engine.is_alive()
    assert not os.path.exists(sock)
    assert not (engine_dir / "engine.json").exists()
    assert _servers_under(tmp_path) == []
    engine.stop()  # twice is fine


def test_socket_path_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    short = tmp_path / "s"
    if len(os.fsencode(short / "engine" / "falkordb.sock")) <= SUN_PATH_MAX:
        assert socket_path_for(short) == short / "engine" / "falkordb.sock"
    deep_a = tmp_path / ("a" * 120)
    deep_b = tmp_path / ("b" * 120)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    path_a = socket_path_for(deep_a)
    assert path_a.parent == Path("/tmp") and path_a.name.startswith("credit-graph-")
    assert path_a == socket_path_for(deep_a)  # every process computes the same one
    assert path_a != socket_path_for(deep_b)
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert socket_path_for(deep_a) == runtime / path_a.name


def test_not_started_engine_has_no_side_effects(engines: MakeEngine, tmp_path: Path) -> None:
    engine = engines(tmp_path / "fresh")
    assert not engine.is_alive()
    assert engine.pid is None
    engine.stop(force=True)
    assert not (tmp_path / "fresh").exists()


def test_context_manager_stops(engines: MakeEngine, tmp_path: Path) -> None:
    with engines() as engine:
        pid = engine.pid
        assert pid is not None and engine.is_alive()
    _wait_dead(pid)
    assert not engine.is_alive()


# -- persistence, reuse ------------------------------------------------------------------
@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_data_survives_stop_and_start(engines: MakeEngine, fsync: str) -> None:
    first = engines(appendfsync=fsync)
    sock = first.ensure_running()
    _query(sock, "CREATE (:N {v: 1}), (:N {v: 2})")
    old_pid = first.pid
    first.stop()
    assert old_pid is not None
    _wait_dead(old_pid)

    second = engines(appendfsync=fsync)
    sock = second.ensure_running()
    assert second.owned and second.pid != old_pid
    assert _count(sock) == 2


def test_bad_fsync_policy_is_one_line() -> None:
    with pytest.raises(EngineUnavailable, match="appendfsync must be one of"):
        EmbeddedEngine(Path("/nonexistent"), appendfsync="sometimes")


def test_second_engine_reuses_and_plain_stop_leaves_it(engines: MakeEngine) -> None:
    serve = engines()
    sock = serve.ensure_running()
    cli = engines()
    assert cli.ensure_running() == sock
    assert cli.owned is False
    assert cli.pid == serve.pid
    cli.stop()
    assert serve.is_alive() and cli.is_alive()
    _query(sock, "CREATE (:N)")

    # `credit-graph engine stop`: a fresh object with force stops the one serve runs.
    pid = serve.pid
    assert pid is not None
    engines().stop(force=True)
    _wait_dead(pid)
    assert not serve.is_alive()
    serve.stop()  # owner's own stop after that is harmless


# -- stale state -----------------------------------------------------------------------
def test_killed_engine_is_replaced_and_data_kept(engines: MakeEngine, tmp_path: Path) -> None:
    first = engines()
    sock = first.ensure_running()
    _query(sock, "CREATE (:N {v: 1})")  # acknowledged before the kill
    pid = first.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_dead(pid)
    assert os.path.exists(sock)  # a stale socket file is left behind
    assert not first.is_alive()

    second = engines()
    sock2 = second.ensure_running()
    assert second.owned and second.pid not in (None, pid)
    assert _count(sock2) == 1
    assert _servers_under(tmp_path) == [second.pid]

    first.stop()  # the dead owner must not stop its successor
    assert second.is_alive()


def test_restart_if_dead(engines: MakeEngine) -> None:
    engine = engines()
    sock = engine.ensure_running()
    _query(sock, "CREATE (:N {v: 1})")
    assert engine.restart_if_dead() is False
    pid = engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_dead(pid)

    assert engine.restart_if_dead() is True
    assert engine.is_alive() and engine.owned
    assert engine.pid not in (None, pid)
    assert _count(engine.socket_path) == 1


@pytest.mark.parametrize("who", ["pytest", "sleep"])
def test_state_naming_another_live_process(engines: MakeEngine, who: str) -> None:
    sleeper = subprocess.Popen(["sleep", "60"]) if who == "sleep" else None
    try:
        foreign = sleeper.pid if sleeper else os.getpid()
        engine = engines()
        engine.engine_dir.mkdir(parents=True, mode=0o700)
        (engine.engine_dir / "engine.json").write_text(
            json.dumps(
                {
                    "pid": foreign,
                    "socket": str(engine.socket_path),
                    "started_at": "2020-01-01T00:00:00+00:00",
                    "redis_server": "x",
                }
            )
        )
        sock = engine.ensure_running()
        assert engine.owned
        assert engine.pid not in (None, foreign)
        assert _alive(foreign)  # the other program was left alone
        if sleeper:
            assert sleeper.poll() is None
        _query(sock, "CREATE (:N)")
    finally:
        if sleeper:
            sleeper.kill()
            sleeper.wait()


def test_hung_engine_is_stopped_and_replaced(
    engines: MakeEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = engines()
    sock = first.ensure_running()
    _query(sock, "CREATE (:N {v: 1})")
    pid = first.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, a redis-server of ours, but silent

    second = engines()
    with caplog.at_level(logging.WARNING, logger="credit_graph.engine"):
        second.ensure_running()
    assert second.owned and second.pid != pid
    assert not _alive(pid)
    # Killing an engine someone may be using is never silent.
    assert any(
        f"embedded engine pid {pid} of {second.data_dir} did not answer" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    assert _servers_under(tmp_path) == [second.pid]
    assert _count(second.socket_path) == 1


def _silent_process(busy: bool, seconds: float) -> subprocess.Popen[bytes]:
    """A process that answers nobody for ``seconds``, burning CPU or asleep, then exits."""
    body = (
        f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
        if busy
        else f"import time\ntime.sleep({seconds})"
    )
    return subprocess.Popen([sys.executable, "-c", body])


@pytest.mark.parametrize("busy", [True, False], ids=["working", "idle"])
def test_a_silent_engine_is_judged_hung_only_if_it_does_nothing(
    tmp_path: Path, busy: bool
) -> None:
    """Before an engine that does not answer is killed as hung (and a whole graph is
    reloaded), its main thread is looked at: one that uses CPU (a long command, or a
    flood of writes) is waited for, up to ``_BUSY_LIMIT``; one that does nothing is
    hung after ``within``. Tested on plain processes: the only way a client can hold a
    Redis 8 main thread, a long script, stalls unpredictably while other clients wait.
    """
    from graph.embedded import _BUSY_LIMIT

    within, lasts = 1.0, 5.0
    assert lasts < _BUSY_LIMIT
    proc = _silent_process(busy, lasts)
    try:
        engine = EmbeddedEngine(tmp_path / "d")
        started = time.monotonic()
        answer = engine._wait_for_answer(tmp_path / "nothing.sock", proc.pid, within)
        waited = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    assert answer is None
    if busy:
        assert waited >= lasts - 0.5  # waited until it ended, not killed after 1 s
    else:
        assert waited < lasts - 2  # hung after about ``within``


def test_a_busy_engine_gets_time_to_answer_and_a_dead_one_none(tmp_path: Path) -> None:
    """Silent for longer than one probe's second (here: stopped for 2.5 s) is not gone:
    the second worker of ``serve --workers 2`` once failed its start-up ping, and took
    the service down, on such a miss. A killed engine is reported at once."""
    store = EmbeddedFalkorStore(tmp_path / "data")
    pid = store.engine.pid
    assert pid is not None
    try:
        os.kill(pid, signal.SIGSTOP)
        resume = threading.Timer(2.5, os.kill, (pid, signal.SIGCONT))
        resume.start()
        started = time.monotonic()
        try:
            store.ping()  # one probe used to decide: "embedded engine is not running"
            assert time.monotonic() - started >= 2.5
        finally:
            resume.join()
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(EngineUnavailable, match="not running"):
            store.ping()
        assert time.monotonic() - started < 2
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        store.close()


def test_state_file_garbage_is_ignored(engines: MakeEngine) -> None:
    engine = engines()
    engine.engine_dir.mkdir(parents=True, mode=0o700)
    (engine.engine_dir / "engine.json").write_text("{not json")
    engine.ensure_running()
    assert engine.owned and engine.is_alive()


# -- binaries that cannot start --------------------------------------------------------------
def _script(path: Path, text: str, mode: int = 0o755) -> str:
    path.write_text(textwrap.dedent(text).lstrip())
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_executable", "Permission denied"),
        ("exec_format", "Exec format error"),
        ("missing", "No such file or directory"),
        ("fails", "exited during start-up: fatal: cannot open the vault"),
        ("bad_module", "failed to load"),
    ],
)
def test_binary_that_cannot_start(
    engines: MakeEngine, tmp_path: Path, case: str, expected: str
) -> None:
    real_server, real_module = default_binaries()
    server, module = real_server, real_module
    if case == "not_executable":
        server = _script(tmp_path / "redis-server", "#!/bin/sh\nexit 0\n", mode=0o644)
    elif case == "exec_format":
        server = str(tmp_path / "redis-server")
        Path(server).write_bytes(b"\x7fELF\x02\x01\x01garbage-not-for-this-machine")
        Path(server).chmod(0o755)
    elif case == "missing":
        server = str(tmp_path / "no-such-redis-server")
    elif case == "fails":
        server = _script(
            tmp_path / "redis-server",
            """
            #!/bin/sh
            echo "starting..."
            echo "fatal: cannot open the vault" >&2
            exit 1
            """,
        )
    elif case == "bad_module":
        module = _script(tmp_path / "falkordb.so", "not a shared object\n")
    engine = engines(redis_server=server, module=module, start_timeout=10)

    with pytest.raises(EngineUnavailable) as info:
        engine.ensure_running()
    message = str(info.value)
    assert "\n" not in message and message == info.value.message
    assert expected in message
    if case in ("not_executable", "exec_format", "missing"):
        assert message.startswith(f"embedded engine: cannot run {server}: [Errno ")
    if case == "bad_module":
        assert message.startswith(f"embedded engine exited during start-up: Module {module}")
    assert not engine.owned and engine.pid is None
    assert not (engine.engine_dir / "engine.json").exists()
    assert not os.path.exists(engine.socket_path)


def test_server_that_never_answers_times_out(engines: MakeEngine, tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    server = _script(tmp_path / "redis-server", f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    engine = engines(redis_server=server, module=default_binaries()[1], start_timeout=1)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match=r"did not answer on .* within 1s") as info:
        engine.ensure_running()
    assert "\n" not in str(info.value)
    assert time.monotonic() - started < 10
    assert not _alive(int(pid_file.read_text()))  # the silent child was killed, not left
    assert not (engine.engine_dir / "engine.json").exists()


# -- concurrency ---------------------------------------------------------------------------
def test_concurrent_threads_start_one_server(engines: MakeEngine, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    workers = [engines(data_dir) for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    results: dict[int, tuple[str, int | None, bool]] = {}
    errors: list[BaseException] = []

    def run(i: int, engine: EmbeddedEngine) -> None:
        try:
            barrier.wait()
            sock = engine.ensure_running()
            results[i] = (sock, engine.pid, engine.owned)
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len({r[0] for r in results.values()}) == 1
    assert len({r[1] for r in results.values()}) == 1
    assert sum(r[2] for r in results.values()) == 1
    assert _servers_under(tmp_path) == [next(iter(results.values()))[1]]


_CHILD = """
import json, sys, time
from pathlib import Path
from graph.embedded import EmbeddedEngine

data_dir, go = Path(sys.argv[1]), Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
engine = EmbeddedEngine(data_dir)
sock = engine.ensure_running()
print(json.dumps({"pid": engine.pid, "owned": engine.owned, "socket": sock}), flush=True)
sys.stdin.readline()
"""  # exits normally: an owner's atexit hook stops the engine


def test_concurrent_processes_start_one_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(data_dir), str(go)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        time.sleep(0.5)  # let every child reach the starting line
        go.touch()
        reports = []
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line, "a child died before reporting"
            reports.append(json.loads(line))
        assert len({r["pid"] for r in reports}) == 1
        assert len({r["socket"] for r in reports}) == 1
        assert sum(r["owned"] for r in reports) == 1
        assert _servers_under(tmp_path) == [reports[0]["pid"]]

        owner = next(c for c, r in zip(children, reports, strict=True) if r["owned"])
        others = [c for c in children if c is not owner]
        for child in others:
            child.communicate("\n", timeout=30)
        assert _servers_under(tmp_path) == [reports[0]["pid"]]  # non-owners left it running
        owner.communicate("\n", timeout=30)
        _wait_dead(reports[0]["pid"])  # the owner's exit stopped it
        assert not (data_dir / "engine" / "engine.json").exists()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        for pid in _servers_under(tmp_path):
            os.kill(pid, signal.SIGKILL)


def test_stop_lets_a_running_compaction_finish(tmp_path: Path) -> None:
    """A load compacts its writes and stops its own engine; if SHUTDOWN killed the
    rewrite, the next start replayed every write (longer than the load had taken)."""
    from graph.falkor_store import FalkorStore

    engine = EmbeddedEngine(tmp_path)
    store = FalkorStore.from_socket(str(engine.ensure_running()), "g")
    store.write_one(
        "UNWIND range(1, 300000) AS i "
        "CREATE (:Subject {code: toString(i), name: 'n' + toString(i)})"
    )
    store.compact()
    engine.stop()
    aof = tmp_path / "engine" / "appendonlydir"
    base = max(aof.glob("*.base.rdb"), key=lambda p: p.stat().st_mtime)
    incr = sorted(aof.glob("*.incr.aof"))
    assert base.stat().st_size > 1_000_000  # the snapshot holds the graph
    assert sum(p.stat().st_size for p in incr) == 0  # nothing left to replay
    again = EmbeddedEngine(tmp_path)
    store = FalkorStore.from_socket(str(again.ensure_running()), "g")
    assert store.read("MATCH (s:Subject) RETURN count(s) AS n")[0]["n"] == 300000
    again.stop()
