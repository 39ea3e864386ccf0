"""Validation in worker processes: the same graph, summary and rejects as one process.

``loaders.row_pool`` hands chunks of a large file to worker processes and takes their
items back in the file's order. Whatever depends on order (file order deciding the last
content of a record, references to subjects further down, withdrawals of records
earlier in the file, the line of each reject) must come out as a single process makes
it. The workers are real processes here; a killed loader must not leave them behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pytest

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from loaders import row_pool
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.snapshot import graph_snapshot

NANTONG = load_policy("nantong")
TODAY = dt.date(2026, 11, 21)


def _mixed_rows() -> list[Any]:
    """Good rows with bad ones between them, references in both directions, a record
    sent twice, a withdrawal and a line that is not JSON at all."""
    companies = [uscc_code(500 + i) for i in range(12)]
    people = [person_code(500 + i) for i in range(12)]
    rows: list[Any] = []
    # Roles and a record before the subjects they name: they wait for the second pass.
    rows.append(role(companies[0], people[0], "legal_representative", "2019-01-01"))
    rows.append(record("EARLY", companies[1], "2025-02-01", responsible=[people[1]]))
    for i, (c, p) in enumerate(zip(companies, people, strict=True)):
        rows.append(entity(c, f"测试{i}有限公司", registered_capital=1_000_000 + i))
        rows.append(person(p, f"张{i}"))
        if i % 4 == 1:
            rows.append(person(p[:-1] + ("0" if p[-1] != "0" else "1"), "坏号"))  # checksum
        if i % 4 == 2:
            rows.append({"type": "person", "code": person_code(900 + i), "宗教信仰": "某教"})
    for i, (c, p) in enumerate(zip(companies, people, strict=True)):
        rows.append(role(c, p, "director", "2020-01-01", position="董事"))
        rows.append(role(c, companies[(i + 1) % 12], "shareholder", "2021-01-01",
                         share_ratio=0.1 + i / 100))  # fmt: skip
        rows.append(record(f"R{i}", c, "2025-03-01", severity="serious", responsible=[p]))
        if i % 5 == 0:
            rows.append(record(f"R{i}", c, "2025-03-01", severity="general"))  # sent again
        if i % 3 == 0:
            rows.append(record(f"X{i}", uscc_code(990 + i), "2025-01-01"))  # no such subject
    rows.append("{this line is not json")
    rows.append({"type": "record", "id": "R3", "action": "withdraw"})
    rows.append({"type": "entity", "code": uscc_code(777), "name": "丙", "colour": "red"})
    return rows


def _write(path: Path, rows: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


class _CountedWorker(row_pool._Worker):
    """The real worker process, remembering that it answered and which process it is."""

    instances: ClassVar[list[_CountedWorker]] = []

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.answers = 0
        _CountedWorker.instances.append(self)

    def receive(self) -> list[Any]:
        self.answers += 1
        return super().receive()


def _same_run(lines: list[str]) -> list[str]:
    """A withdrawal's event is named after the run, and events and superseded versions
    are stamped with the run's second: the two loads compared are two runs, so those
    facts are set aside (a CI run failed when the two loads fell in different seconds)."""
    named = (re.sub(r"@[0-9a-f]{32}", "@run", x) for x in lines)
    return sorted(re.sub(r'"(at|superseded_at)": "[^"]*"', r'"\1": "?"', x) for x in named)


def _load(
    engine: EmbeddedEngine, path: Path, rejects: Path, workers: int
) -> tuple[dict[str, Any], list[str], list[str]]:
    store = FalkorStore.from_socket(str(engine.socket_path), f"t_{uuid.uuid4().hex[:12]}")
    store.bootstrap()
    try:
        summary = load_files(
            store,
            [path],
            policy=NANTONG,
            provider="p",
            rejects_to=rejects,
            today=TODAY,
            workers=workers,
        ).as_dict()
        nodes, edges = graph_snapshot(store)
        return summary, _same_run(nodes), _same_run(edges)
    finally:
        store.drop_all()
        store.close()


def test_workers_give_the_graph_summary_and_rejects_of_one_process(
    engine: EmbeddedEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "mixed.jsonl", _mixed_rows())

    monkeypatch.setattr(row_pool, "PARALLEL_MIN_BYTES", 0)
    alone = _load(engine, path, tmp_path / "alone.rejects.jsonl", workers=0)

    monkeypatch.setattr(row_pool, "CHUNK_ROWS", 3)  # many chunks, several in flight
    monkeypatch.setattr("loaders.pipeline.CHUNK_ROWS", 3)
    monkeypatch.setattr(row_pool, "_Worker", _CountedWorker)
    _CountedWorker.instances.clear()
    parallel = _load(engine, path, tmp_path / "workers.rejects.jsonl", workers=2)

    workers = _CountedWorker.instances
    assert len(workers) == 2 and all(w.answers > 10 for w in workers)
    assert len({w.proc.pid for w in workers} | {os.getpid()}) == 3

    summary_alone, summary_parallel = alone[0], parallel[0]
    for s in (summary_alone, summary_parallel):
        s.pop("rejects_files")
    assert summary_parallel == summary_alone
    assert summary_alone["rejected_by_reason"] == {
        "bad_code": 3,
        "malformed": 1,
        "prohibited_field": 3,
        "unknown_column": 1,
        "unknown_reference": 4,
    }
    assert summary_alone["rows_by_type"]["withdraw"] == 1
    assert parallel[1:] == alone[1:]
    assert len(alone[1]) > 30  # the comparison is about a real graph

    rejects_alone = (tmp_path / "alone.rejects.jsonl").read_text(encoding="utf-8")
    rejects_parallel = (tmp_path / "workers.rejects.jsonl").read_text(encoding="utf-8")
    assert rejects_parallel == rejects_alone
    assert "某教" not in rejects_parallel
    lines = [json.loads(x)["line"] for x in rejects_parallel.splitlines()]
    assert len(lines) == 12


def _still_running(p: psutil.Process) -> bool:
    """A zombie has exited; only whoever adopted it has yet to collect it."""
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_killed_loader_leaves_no_worker_behind(engine: EmbeddedEngine, tmp_path: Path) -> None:
    """A loader killed outright (no chance to stop its pool) must not leave processes
    that hold memory for ever: each worker notices and exits."""
    path = _write(
        tmp_path / "many.jsonl",
        [entity(uscc_code(10_000 + i), f"公司{i}") for i in range(40_000)],
    )
    graph = f"t_{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env.update(
        {
            "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
            "CREDIT_GRAPH_FALKORDB_GRAPH": graph,
            "CREDIT_GRAPH_LOAD_WORKERS": "2",
        }
    )
    # The file is below the size that starts workers on its own; the test lowers it.
    code = (
        "from loaders import row_pool; row_pool.PARALLEL_MIN_BYTES = 0; "
        "from api.cli import main; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "load", str(path), "--provider", "p"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    try:
        loader = psutil.Process(proc.pid)
        workers: list[psutil.Process] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            engine_pid = engine.pid
            workers = [c for c in loader.children(recursive=True) if c.pid != engine_pid]
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert len(workers) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=15)
        running = [p for p in alive if _still_running(p)]
        assert running == [], f"left running after the loader was killed: {running}"
    finally:
        if proc.poll() is None:
            proc.kill()
        store.drop_all()
        store.close()
