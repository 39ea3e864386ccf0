"""A real uvicorn server in a thread, on a free loopback port, for HTTP tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from api.file_lock import flocked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def start_lock_held(data_dir: Path) -> Iterator[None]:
    """Hold the engine's start lock: nobody can start (or restart) it meanwhile."""
    with flocked(data_dir / "engine" / "engine.lock"):
        yield


CLI = [sys.executable, "-m", "api.cli"]


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``credit-graph`` subprocess on ``data_dir``, nothing inherited
    from the caller's own ``CREDIT_GRAPH_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env.update({"CREDIT_GRAPH_DATA_DIR": str(data_dir), "CREDIT_GRAPH_POLICY": "nantong"})
    env.update(extra)
    return env


@contextmanager
def running_service(
    data_dir: Path,
    *args: str,
    ready: tuple[int, ...] = (200,),
    no_traceback: bool = True,
    **env: str,
) -> Iterator[str]:
    """``credit-graph serve`` in its own process on a free port, until ``/healthz``
    answers one of ``ready``; stopped with SIGTERM as an operator would."""
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *args],
            env=serve_env(data_dir, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited: {log_path.read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=2).status_code in ready:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not come up: {log_path.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if no_traceback:
        assert "Traceback" not in log_path.read_text(), log_path.read_text()


def engine_pid(data_dir: Path) -> int | None:
    state = data_dir / "engine" / "engine.json"
    return int(json.loads(state.read_text())["pid"]) if state.exists() else None

