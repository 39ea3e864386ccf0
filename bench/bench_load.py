"""Load benchmark: the loader end to end against the raw engine write of the same rows.

    python bench/bench_load.py --entities 100000 [--seed 7] [--keep]

Generates (or reuses) a synthetic province, starts a private embedded engine, then:
1. loads the file end to end with ``credit-graph load`` in its own process (parse,
   validate, reference checks, write), sampling the loader's and the engine's RSS;
2. writes the same rows into a fresh graph with no validation at all (JSON -> the same
   UNWIND MERGE statements), the baseline for the cost of validation;
and writes the figures to ``bench/results/load-<N>.json`` for ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PeakRss, machine  # noqa: E402  (shared with the harness)
from graph.embedded import EmbeddedEngine  # noqa: E402
from graph.falkor_store import FalkorStore  # noqa: E402
from loaders import graph_rows  # noqa: E402
from queries import records, roles, subjects  # noqa: E402
from schema.record_life import state_tail  # noqa: E402

RAW_BATCH = 2000


def raw_rows(line: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The interchange row as the writer's row map, with no validation whatsoever."""
    t = line.pop("type")
    if t == "entity":
        code = line.pop("code")
        props = {**line, "kind": "entity"}
        return subjects.MERGE_ENTITIES, {
            "code": code, "row_hash": "raw", "said": props, "props": {},
        }
    if t == "person":
        return subjects.MERGE_PERSONS, {
            "code": line["code"],
            "row_hash": "raw",
            "said": {"name": line["name"], "kind": "person"},
            "props": {},
        }
    if t == "role":
        props = {k: line.get(k) for k in ("role", "position", "share_ratio", "since", "until")}
        key = f"{line['role']}|{line.get('since') or ''}"
        # a fresh graph has no withdrawn role: the statement the loader sends there
        return roles.merge_roles(line["role"], withdrawn_roles=False), {
            "holder": line["holder"],
            "entity": line["entity"],
            "key": key,
            "row_hash": "raw",
            "props": props,
        }
    if t == "record" and line.get("action", "upsert") == "upsert":
        responsible = line.pop("responsible", [])
        line.pop("action", None)
        uid = graph_rows.record_uid("raw", line["id"])
        return records.MERGE_RECORDS, {
            "uid": uid,
            "subject": line["subject"],
            "responsible": responsible,
            "row_hash": "raw",
            "props": line,
        }
    return None


RAW_DAY = "2026-01-01"


def raw_write(store: FalkorStore, path: Path) -> tuple[int, float]:
    """Subjects first, then the rest, as the loader does, in batches of the same size."""
    # Every parameter MERGE_RECORDS names (a missing one is an error on FalkorDB): the
    # run's and the first arrival's day, and the state entry a revival appends.
    extra = {
        "active": "active", "withdrawn": "withdrawn", "now": "raw", "src": "raw",
        "today": RAW_DAY, "first": RAW_DAY, "revived": state_tail("active", "raw"),
    }
    started = time.perf_counter()
    sent = 0
    for wanted in ({"entity", "person"}, {"role", "record"}):
        pending: dict[str, list[dict[str, Any]]] = {}
        with path.open("rb") as fh:
            for raw in fh:
                line = json.loads(raw)
                if line.get("type") not in wanted:
                    continue
                routed = raw_rows(line)
                if routed is None:
                    continue
                query, row = routed
                batch = pending.setdefault(query, [])
                batch.append(row)
                if len(batch) >= RAW_BATCH:
                    store.write_one(query, {**extra, "rows": batch})
                    sent += len(batch)
                    pending[query] = []
        for query, batch in pending.items():
            if batch:
                store.write_one(query, {**extra, "rows": batch})
                sent += len(batch)
    return sent, time.perf_counter() - started


def graph_memory(store: FalkorStore) -> dict[str, float]:
    """FalkorDB's own accounting (GRAPH.MEMORY USAGE), split into nodes, edges, indices."""
    reply = store._db.connection.execute_command("GRAPH.MEMORY", "USAGE", store.graph_name)
    usage = dict(zip(reply[::2], reply[1::2], strict=True))

    def total(value: Any) -> float:
        return float(sum(value[1::2])) if isinstance(value, list) else float(value)

    nodes = sum(
        total(usage[k])
        for k in (
            "label_matrices_sz_mb",
            "amortized_node_block_sz_mb",
            "amortized_node_attributes_by_label_sz_mb",
            "amortized_unlabeled_nodes_attributes_sz_mb",
        )
    )
    edges = sum(
        total(usage[k])
        for k in (
            "relation_matrices_sz_mb",
            "amortized_edge_block_sz_mb",
            "amortized_edge_attributes_by_type_sz_mb",
        )
    )
    return {
        "total_mib": total(usage["total_graph_sz_mb"]),
        "nodes_mib": nodes,
        "relationships_mib": edges,
        "indices_mib": total(usage["indices_sz_mb"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "credit-graph-bench"
    )
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"province-{args.entities}-{args.seed}.jsonl"
    cli = [sys.executable, "-m", "api.cli"]
    if not data.exists():
        print(f"generating {args.entities:,} entities ...", flush=True)
        subprocess.run(
            [
                *cli,
                "generate",
                "--entities",
                str(args.entities),
                "--seed",
                str(args.seed),
                "--out",
                str(data),
            ],
            check=True,
            cwd=ROOT,
        )
    rows = sum(1 for _ in data.open("rb"))

    engine_dir = work / f"engine-{args.entities}"
    engine = EmbeddedEngine(engine_dir)
    sock = engine.ensure_running()
    try:
        for g in ("load", "raw"):
            FalkorStore.from_socket(sock, g).drop_all()
        engine_pid = engine.pid
        assert engine_pid is not None
        base_rss = psutil.Process(engine_pid).memory_info().rss
        env = {
            **os.environ,
            "CREDIT_GRAPH_FALKORDB_URL": f"unix://{sock}",
            "CREDIT_GRAPH_FALKORDB_GRAPH": "load",
        }
        print(f"loading {rows:,} rows end to end ...", flush=True)
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                *cli,
                "load",
                str(data),
                "--provider",
                "bench",
                "--rejects",
                str(work / "rejects.jsonl"),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        loader_peak, engine_peak = PeakRss(proc.pid), PeakRss(engine_pid)
        out, _ = proc.communicate()
        load_seconds = time.perf_counter() - started
        loader_rss, engine_rss = loader_peak.stop(), engine_peak.stop()
        summary = json.loads(out)
        store = FalkorStore.from_socket(sock, "load")
        nodes = store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
        rels = store.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
        engine_after = psutil.Process(engine_pid).memory_info().rss
        usage = graph_memory(store)

        print("writing the same rows raw, without validation ...", flush=True)
        raw_store = FalkorStore.from_socket(sock, "raw")
        raw_store.bootstrap()  # the same indexes the loader's graph has
        raw_sent, raw_seconds = raw_write(raw_store, data)
        result = {
            "entities": args.entities,
            "rows": rows,
            "loaded": summary["loaded"],
            "rejected": summary["rejected"],
            "load_seconds": round(load_seconds, 2),
            "load_rows_per_s": round(rows / load_seconds),
            "loader_peak_rss_mib": round(loader_rss / 2**20),
            "engine_peak_rss_mib": round(engine_rss / 2**20),
            "engine_rss_growth_mib": round((engine_after - base_rss) / 2**20),
            "nodes": nodes,
            "relationships": rels,
            "graph_memory_mib": usage,
            "engine_bytes_per_node": round(usage["nodes_mib"] * 2**20 / max(1, nodes)),
            "engine_bytes_per_relationship": round(
                usage["relationships_mib"] * 2**20 / max(1, rels)
            ),
            "engine_index_mib": usage["indices_mib"],
            "raw_rows": raw_sent,
            "raw_seconds": round(raw_seconds, 2),
            "raw_rows_per_s": round(raw_sent / raw_seconds),
            "validation_cost_ratio": round(load_seconds / raw_seconds, 2),
            "machine": machine(),
        }
        out_file = ROOT / "bench" / "results" / f"load-{args.entities}.json"
        out_file.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        engine.stop(force=True)


if __name__ == "__main__":
    main()
