"""The link queries against the same computation in plain NetworkX in memory.

    python bench/explore_networkx.py --data province.jsonl --socket ENGINE.sock [--graph credit]

The graph must already hold ``--data`` (for example the province ``bench/bench_api.py``
loaded). In the same run this script builds, from the same file, the graph a team would
otherwise keep in memory (every role held today, as an undirected ``networkx.Graph``,
shareholdings also as a directed graph with ratios) and times, on the same samples as
``bench/explore_latency.py``:

- ``paths``: the service's ``find_paths`` (maxHops 4, first 5) against
  ``networkx.all_simple_paths`` with ``cutoff=4``, the five shortest kept;
- ``neighborhood`` 2 hops: the service against ``networkx.ego_graph`` of radius 2;
- ``controlChain``: the service against the same penetration (products along chains,
  summed, cycles cut) computed over the in-memory ownership graph.

The service also masks, filters by access and caps hubs; the in-memory side does none of
that and holds the whole graph in the process's memory, which is reported too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.explore import control_chain, find_paths, neighborhood  # noqa: E402
from bench.common import each, timed  # noqa: E402
from bench.explore_latency import Sample, draw_samples  # noqa: E402
from graph.falkor_store import FalkorStore  # noqa: E402


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def build(path: Path) -> tuple[nx.Graph[str], nx.DiGraph[str], float]:
    """Every role held today (undirected) and today's shareholdings (holder -> company)."""
    today = dt.date.today().isoformat()
    g: nx.Graph[str] = nx.Graph()
    own: nx.DiGraph[str] = nx.DiGraph()
    started = time.perf_counter()
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if '"type": "role"' not in raw and '"type":"role"' not in raw:
                continue
            row = json.loads(raw)
            if not (row.get("since") or "") <= today <= (row.get("until") or "9999"):
                continue
            h, e = row["holder"], row["entity"]
            g.add_edge(h, e)
            if row["role"] == "shareholder":
                own.add_edge(h, e, ratio=float(row.get("share_ratio") or 0.0))
            if n % 1_000_000 == 0:
                say(f"  {n:,} lines read")
    return g, own, time.perf_counter() - started


def nx_paths(g: nx.Graph[str], a: str, b: str) -> list[list[str]]:
    if a not in g or b not in g:
        return []
    found = list(itertools.islice(nx.all_simple_paths(g, a, b, cutoff=4), 200))
    return sorted(found, key=len)[:5]


def nx_shortest_paths(g: nx.Graph[str], a: str, b: str, max_hops: int = 4,
                      first: int = 5, budget: int = 100_000) -> list[list[str]]:
    """The ``first`` shortest simple paths of at most ``max_hops`` edges, ordered by
    length then codes, as the service's ``find_paths`` answers. ``all_simple_paths``
    yields in no particular order, so every path within the cutoff is read (the walk is
    bounded by the ball of radius ``max_hops``), up to ``budget`` of them."""
    if a not in g or b not in g:
        return []
    found = list(itertools.islice(nx.all_simple_paths(g, a, b, cutoff=max_hops), budget))
    return sorted(found, key=lambda p: (len(p), p))[:first]


def nx_neighborhood(g: nx.Graph[str], c: str) -> int:
    return nx.ego_graph(g, c, radius=2).number_of_nodes() if c in g else 0


def nx_control(own: nx.DiGraph[str], company: str) -> dict[str, float]:
    """Effective share of every ultimate holder: product along each chain, summed over
    chains, a chain stopped where it would revisit a company."""
    shares: dict[str, float] = {}

    def walk(node: str, product: float, seen: frozenset[str]) -> None:
        holders = [h for h in own.predecessors(node) if h not in seen] if node in own else []
        if not holders and node != company:
            shares[node] = shares.get(node, 0.0) + product
            return
        for h in holders:
            walk(h, product * own.edges[h, node]["ratio"], seen | {h})

    walk(company, 1.0, frozenset({company}))
    return shares


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--graph", default="credit")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    store = FalkorStore.from_socket(args.socket, graph_name=args.graph)
    rng = random.Random(args.seed)  # noqa: S311 - reproducible samples, not secrets
    say("sampling from the data file")
    s = Sample(args.data)
    drawn = draw_samples(s, rng, args.samples)
    linked, random_pairs, centres = drawn.linked, drawn.random_pairs, drawn.centres
    deep, deepest = drawn.deep, drawn.deepest
    del s
    gc.collect()

    say("building the in-memory baseline from the same file")
    before = rss_mib()
    g, own, build_s = build(args.data)
    memory = rss_mib() - before
    say(f"  {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges, {build_s:.0f} s, "
        f"{memory:,.0f} MiB")

    pairs = {"linked pairs": linked, "random pairs": random_pairs}
    rows: dict[str, Any] = {}
    for label, sample in pairs.items():
        svc = timed(each(sample, lambda p: find_paths(store, p[0], p[1], max_hops=4, first=5)),
                    args.samples)
        mem = timed(each(sample, lambda p: nx_paths(g, p[0], p[1])), args.samples)
        rows[f"paths maxHops=4 first=5, {label}"] = (svc, mem)
    rows["neighborhood hops=2"] = (
        timed(each(centres, lambda c: neighborhood(store, c, hops=2)), args.samples),
        timed(each(centres, lambda c: nx_neighborhood(g, c)), args.samples),
    )
    rows[f"controlChain, {deepest}-level groups"] = (
        timed(each(deep, lambda c: control_chain(store, c)), args.samples),
        timed(each(deep, lambda c: nx_control(own, c)), args.samples),
    )
    store.close()
    result = {
        "data": args.data.name,
        "in_memory_graph": {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
                            "build_s": round(build_s, 1), "rss_growth_mib": round(memory)},
        "queries": {
            name: {"service": svc, "networkx_in_memory": mem,
                   "ratio_p50": round(svc["p50_ms"] / max(mem["p50_ms"], 1e-3), 2)}
            for name, (svc, mem) in rows.items()
        },
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
