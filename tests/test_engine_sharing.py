"""Several commands on one data directory at once, each a real process with its own
embedded engine handling: found by probing, a load's end stopped the engine under
``serve``, and two loads at once doubled role relationships for good."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from graph.embedded import EmbeddedEngine
from graph.embedded_store import EmbeddedFalkorStore

CLI = [sys.executable, "-m", "api.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    return env | {"CREDIT_GRAPH_DATA_DIR": str(data_dir), "CREDIT_GRAPH_LOAD_WORKERS": "0"}


def _province(tmp_path: Path, entities: int) -> Path:
    out = tmp_path / f"province-{entities}.jsonl"
    subprocess.run([*CLI, "generate", "--entities", str(entities), "--seed", "5", "--out",
                    str(out)], env=_env(tmp_path / "gen"), check=True, capture_output=True)
    return out


def _role_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if json.loads(line)["type"] == "role")


def test_two_loads_at_once_give_the_graph_of_one(tmp_path: Path) -> None:
    data = _province(tmp_path, 300)
    data_dir = tmp_path / "data"
    loads = [
        subprocess.Popen([*CLI, "load", str(data), "--provider", "p1"], env=_env(data_dir),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in loads]
    assert [p.returncode for p in loads] == [0, 0], outs
    assert any("waiting for the load already running" in err for _, err in outs)
    summaries = [json.loads(out) for out, _ in outs]
    assert sorted(s["loaded"] for s in summaries)[0] == 0  # the second changed nothing
    with EmbeddedFalkorStore(data_dir) as store:
        edges = store.read(
            "MATCH (:Subject)-[r]->(:Entity) WHERE r.role IS NOT NULL RETURN count(r) AS n"
        )[0]["n"]
    assert edges == _role_rows(data)


def test_a_loads_end_leaves_the_engine_to_those_still_using_it(tmp_path: Path) -> None:
    """The load starts the engine; this process joins while it runs (as ``serve`` does).
    The load's end must not stop the engine under it; this process, the last user, stops
    it when it closes."""
    data = _province(tmp_path, 3000)
    data_dir = tmp_path / "data"
    load = subprocess.Popen([*CLI, "load", str(data)], env=_env(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = EmbeddedEngine(data_dir)
    deadline = time.monotonic() + 60
    while not engine.is_alive():
        assert load.poll() is None and time.monotonic() < deadline, "the load ended first"
        time.sleep(0.05)
    store = EmbeddedFalkorStore(data_dir)
    try:
        assert not store.engine.owned  # joined the load's engine, did not start one
        out, err = load.communicate(timeout=300)
        assert load.returncode == 0, err
        loaded = json.loads(out)["loaded"]
        assert "left running for" in err or engine.is_alive()
        count = store.read("MATCH (n:Subject) RETURN count(n) AS n")[0]["n"]
        assert count > 0 and loaded > 0  # still answering after the load ended
    finally:
        store.close()
    assert engine.pid is None and not engine.is_alive()  # the last user stopped it


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_workers_of_a_killed_serve_end_with_it(tmp_path: Path) -> None:
    """``kill -9`` of ``serve --workers 2``: its workers went on answering on the port,
    unsupervised, and the next ``serve`` could not bind it."""
    import httpx

    from tests.live_server import free_port

    port = free_port()
    serve = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"], env=_env(tmp_path / "data"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while True:
            assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        # uvicorn's workers, not the engine (which runs in its own session and is reused)
        workers = {p for p in _children(serve.pid)
                   if "redis-server" not in Path(f"/proc/{p}/cmdline").read_text()}
        assert len(workers) >= 2
        serve.kill()
        serve.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)
    finally:
        for p in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        EmbeddedEngine(tmp_path / "data").stop(force=True)
