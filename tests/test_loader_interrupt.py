"""A load killed half-way, then run again, leaves exactly the graph of one clean load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.snapshot import graph_snapshot

N = 6000  # organisations; about 30,000 rows


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(N):
        rows.append(entity(uscc_code(100_000 + i), f"公司{i}"))
    for i in range(N):
        rows.append(person(person_code(i, region=f"3206{i % 90 + 10:02d}"), f"人{i}"))
    for i in range(N):
        c, p = uscc_code(100_000 + i), person_code(i, region=f"3206{i % 90 + 10:02d}")
        rows.append(role(c, p, "legal_representative", "2015-01-01", "2022-12-31"))
        q = person_code((i + 1) % N, region=f"3206{(i + 1) % N % 90 + 10:02d}")
        rows.append(role(c, q, "legal_representative", "2023-01-01"))
        rows.append(
            record(
                f"R{i}",
                c,
                "2025-03-01",
                severity="serious" if i % 7 else "general",
                responsible=[p],
            )
        )
    return rows


def _env(socket_path: str, graph: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env.update(
        {"CREDIT_GRAPH_FALKORDB_URL": f"unix://{socket_path}", "CREDIT_GRAPH_FALKORDB_GRAPH": graph}
    )
    return env


def _load_cmd(path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "api.cli",
        "load",
        str(path),
        "--provider",
        "prov",
        "--rejects",
        str(path.with_suffix(".rejects.jsonl")),
    ]


def test_killed_load_then_full_load_equals_a_clean_load(
    engine: EmbeddedEngine, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows()), "utf-8")
    sock = str(engine.socket_path)
    interrupted, clean = f"t_int_{uuid.uuid4().hex[:8]}", f"t_clean_{uuid.uuid4().hex[:8]}"
    store_i = FalkorStore.from_socket(sock, interrupted)
    store_c = FalkorStore.from_socket(sock, clean)
    try:
        proc = subprocess.Popen(
            _load_cmd(path),
            env=_env(sock, interrupted),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        # Kill it once roles or records have started to land: the middle of the second pass.
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                n = store_i.read("MATCH (r:Record) RETURN count(r) AS n")[0]["n"]
            except Exception:  # the graph does not exist before the first write
                n = 0
            if n > 0:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the load finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        partial = store_i.read("MATCH (r:Record) RETURN count(r) AS n")[0]["n"]
        assert 0 < partial < N

        again = subprocess.run(
            _load_cmd(path),
            env=_env(sock, interrupted),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr
        once = subprocess.run(
            _load_cmd(path), env=_env(sock, clean), capture_output=True, text=True, timeout=300
        )
        assert once.returncode == 0, once.stderr
        assert json.loads(once.stdout)["loaded"] == len(_rows())

        nodes_i, edges_i = graph_snapshot(store_i)
        nodes_c, edges_c = graph_snapshot(store_c)
        assert len(nodes_c) > 3 * N and len(edges_c) > 3 * N
        assert nodes_i == nodes_c
        assert edges_i == edges_c
        # The interrupted run stays in the ingestion log, unfinished: history is not rewritten.
        statuses = sorted(
            r["s"] for r in store_i.read("MATCH (l:IngestionLog) RETURN l.status AS s")
        )
        assert statuses == ["finished", "started"]
    finally:
        for s in (store_i, store_c):
            s.drop_all()
            s.close()
