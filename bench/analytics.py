"""Whole-graph analytics from the store against the same computation in plain NetworkX.

    python bench/analytics.py [--entities 10000] [--seed 3] [--as-of 2026-11-21]
    python bench/analytics.py --entities 100000 --out bench/results/analytics-100000.json

Generates a synthetic province (``loaders.generator``), loads it into a private embedded
engine, then for one date:

- *service*: ``read_dishonest_subgraph`` from the store (records a month at a time, roles
  in batches of ``UNWIND $codes``), then Louvain communities, personalised PageRank and
  key persons, exactly as ``credit-graph analyze`` and the GraphQL fields run them;
- *baseline*: the same subgraph built in memory straight from the generated file, without
  the database (the same ``seeds_from_rows`` and ``build_subgraph``, fed from a dict of
  roles), and the same three computations on it.

Both graphs must be equal (nodes and edges are compared); the ratios say what the database
read costs on top of NetworkX. Memory: the process's RSS growth while each graph is built
and its peak RSS. Each phase is run ``--repeat`` times and the best is kept.
``--doc`` rewrites the "Analytics" section of ``docs/performance.md`` with the results of
this run (and of earlier runs saved with ``--out`` in ``bench/results``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.analytics import Analysis, read_dishonest_subgraph  # noqa: E402
from graph.analytics.communities import LOUVAIN_SEED, community_graph  # noqa: E402
from graph.analytics.louvain import louvain_communities  # noqa: E402
from graph.analytics.subgraph import (  # noqa: E402
    DEFAULT_CAP,
    DishonestSubgraph,
    LinkRow,
    build_subgraph,
    seeds_from_rows,
)
from graph.embedded import EmbeddedEngine  # noqa: E402
from graph.falkor_store import FalkorStore  # noqa: E402
from loaders.generator import generate  # noqa: E402
from loaders.pipeline import load_files  # noqa: E402
from queries.roles import REL_TYPES  # noqa: E402
from schema.policy import Policy, load_policy  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Analytics"
PROVIDER = "bench"


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs, in seconds, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


# -- the in-memory baseline -----------------------------------------------------------------
class FileGraph:
    """The generated file as the store would hold it: record rows and roles by subject."""

    def __init__(self, path: Path) -> None:
        subjects: dict[str, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.roles: dict[str, list[tuple[str, bool, str, str | None, str | None, Any]]] = {}
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                row = json.loads(raw)
                t = row["type"]
                if t in ("entity", "person"):
                    subjects[row["code"]] = {"kind": t, "name": row.get("name"),
                                             "terminated": row.get("terminated")}
                elif t == "role":
                    rel = REL_TYPES[row["role"]]
                    h, e = row["holder"], row["entity"]
                    s, u, share = row.get("since"), row.get("until"), row.get("share_ratio")
                    self.roles.setdefault(h, []).append((e, True, rel, s, u, share))
                    self.roles.setdefault(e, []).append((h, False, rel, s, u, share))
                elif t == "record" and row.get("action", "upsert") == "upsert":
                    self.records.append(
                        {**{k: v for k, v in row.items() if k not in ("type", "action")},
                         "uid": f"{PROVIDER}:{row['id']}"}
                    )
        self.subjects = subjects

    def record_rows(self) -> Iterator[dict[str, Any]]:
        for rec in self.records:
            s = self.subjects[rec["subject"]]
            yield {"code": rec["subject"], "subject_kind": s["kind"], "subject_name": s["name"],
                   "subject_ended": s["terminated"], "record": rec}

    def links_of(self, on: dt.date, cap: int = DEFAULT_CAP) -> Callable[
        [Sequence[str]], Iterator[tuple[str, int, Sequence[LinkRow]]]
    ]:
        day = on.isoformat()

        def links_of(codes: Sequence[str]) -> Iterator[tuple[str, int, Sequence[LinkRow]]]:
            for c in codes:
                links: list[LinkRow] = []
                for other, outgoing, rel, since, until, share in self.roles.get(c, ()):
                    if (since or "0000-01-01") <= day <= (until or "9999-12-31"):
                        o = self.subjects[other]
                        links.append((other, o["kind"], o["name"], rel, outgoing, since, until,
                                      share))
                if links:
                    yield c, len(links), links[:cap]

        return links_of


def memory_subgraph(fg: FileGraph, policy: Policy, on: dt.date) -> DishonestSubgraph:
    seeds = seeds_from_rows(fg.record_rows(), policy=policy, on=on)
    return build_subgraph(seeds, fg.links_of(on), on=on)


# -- the measurement ------------------------------------------------------------------------
def computations(sub: DishonestSubgraph, repeat: int) -> tuple[dict[str, float], dict[str, Any]]:
    times: dict[str, float] = {}
    out: dict[str, Any] = {}
    times["communities (Louvain)"], found = best(lambda: Analysis(sub).communities(3), repeat)
    # The backend choice of graph/analytics/louvain.py, measured on the same graph.
    cg = community_graph(sub)
    times["Louvain alone, igraph (the service's backend)"], _ = best(
        lambda: louvain_communities(cg, seed=LOUVAIN_SEED, backend="igraph"), repeat)
    times["Louvain alone, NetworkX's own"], by_nx = best(
        lambda: louvain_communities(cg, seed=LOUVAIN_SEED, backend="networkx"), 1)
    # Not in ``out``: NetworkX's Louvain depends on node order, which the two graphs need
    # not share; the count says how close the two backends come.
    times["_louvain_networkx_communities"] = sum(1 for c in by_nx if len(c) >= 3)
    times["risk (personalised PageRank)"], risk = best(lambda: Analysis(sub).risk(), repeat)
    times["key persons"], persons = best(lambda: Analysis(sub).key_persons(), repeat)
    out["communities"] = len(found)
    out["largest_community"] = found[0].size if found else 0
    out["top_risk"] = list(risk.ranked[:5])
    out["key_persons"] = len(persons)
    return times, out


def measure(store: FalkorStore, data: Path, on: dt.date, policy: Policy, repeat: int
            ) -> dict[str, Any]:
    before = rss_mib()
    t_read, sub = best(lambda: read_dishonest_subgraph(store, policy=policy, on=on), repeat)
    service_mem = rss_mib() - before
    service_times, service_out = computations(sub, repeat)

    before = rss_mib()
    t_parse, fg = best(lambda: FileGraph(data), 1)
    t_build, mem_sub = best(lambda: memory_subgraph(fg, policy, on), repeat)
    baseline_mem = rss_mib() - before
    baseline_times, baseline_out = computations(mem_sub, repeat)

    same_nodes = set(sub.graph.nodes) == set(mem_sub.graph.nodes)
    same_edges = set(sub.graph.edges(keys=True)) == set(mem_sub.graph.edges(keys=True))
    g = sub.graph
    rows: dict[str, Any] = {
        "subgraph: read from the store / built from the file in memory": {
            "service_s": round(t_read, 3), "baseline_s": round(t_build, 3),
            "ratio": round(t_read / t_build, 2),
        },
    }
    backends = {"igraph": service_out["communities"],
                "networkx": service_times.pop("_louvain_networkx_communities")}
    baseline_times.pop("_louvain_networkx_communities")
    for name, t in service_times.items():
        rows[name] = {"service_s": round(t, 3), "baseline_s": round(baseline_times[name], 3),
                      "ratio": round(t / baseline_times[name], 2)}
    parts = ("communities (Louvain)", "risk (personalised PageRank)", "key persons")
    total_s = t_read + sum(service_times[k] for k in parts)
    total_b = t_build + sum(baseline_times[k] for k in parts)
    rows["all three, end to end"] = {"service_s": round(total_s, 3),
                                     "baseline_s": round(total_b, 3),
                                     "ratio": round(total_s / total_b, 2)}
    return {
        "as_of": on.isoformat(),
        "policy": policy.name,
        "subgraph": {
            "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
            "dishonest": len(sub.dishonest), "blacklisted": len(sub.blacklisted),
            "hubs_capped": len(sub.capped),
        },
        "same_graph": same_nodes and same_edges,
        "same_results": service_out == baseline_out,
        "louvain_communities_of_3_or_more": backends,
        "results": service_out,
        "times": rows,
        "baseline_file_parse_s": round(t_parse, 3),
        "memory_mib": {"service_subgraph_rss_growth": round(service_mem, 1),
                       "baseline_file_and_subgraph_rss_growth": round(baseline_mem, 1),
                       "peak_rss": round(peak_rss_mib(), 1)},
    }


# -- docs/performance.md --------------------------------------------------------------------
def render(results: list[dict[str, Any]]) -> str:
    lines = [
        SECTION, "",
        "`bench/analytics.py` (issue 6, item 2): the dishonest subgraph read from the embedded",
        "FalkorDB and the three analyses of `graph/analytics`, against the same subgraph built",
        "in memory straight from the generated file (no database) and the same NetworkX",
        "calls on it. Ratio = service / in-memory baseline, same run; best of the repeats.",
        "Both graphs are checked equal, node for node and edge for edge.", "",
    ]
    for r in results:
        sg = r["subgraph"]
        lines += [
            f"### {r['entities']:,} entities (seed {r['seed']}), as of {r['as_of']}, "
            f"`{r['policy']}`", "",
            f"Subgraph: {sg['nodes']:,} nodes, {sg['edges']:,} roles; {sg['dishonest']:,} "
            f"dishonest, {sg['blacklisted']:,} black-listed; same graph and results as the "
            f"baseline: {'yes' if r['same_graph'] and r['same_results'] else 'NO'}.", "",
            "| step | service | in-memory baseline | ratio |", "|---|---:|---:|---:|",
        ]
        for name, t in r["times"].items():
            lines.append(f"| {name} | {t['service_s']:.3f} s | {t['baseline_s']:.3f} s | "
                         f"{t['ratio']:.2f}× |")
        m = r["memory_mib"]
        lines += [
            "",
            f"Memory: the subgraph read grows the process by {m['service_subgraph_rss_growth']}"
            f" MiB; parsing the file for the baseline and building its subgraph by "
            f"{m['baseline_file_and_subgraph_rss_growth']} MiB; peak RSS {m['peak_rss']} MiB. "
            f"Parsing the file itself (not counted in the baseline): "
            f"{r['baseline_file_parse_s']:.1f} s.", "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_doc(results: list[dict[str, Any]]) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = render(results)
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--as-of", default=dt.date.today().isoformat())
    ap.add_argument("--policy", default="nantong")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, help="write the result as JSON here too")
    ap.add_argument("--doc", action="store_true",
                    help="rewrite the Analytics section of docs/performance.md")
    ap.add_argument("--data-dir", type=Path,
                    help="measure a province already loaded here (with --file, its source)")
    ap.add_argument("--file", type=Path, help="the generated file loaded into --data-dir")
    ap.add_argument("--graph", default="credit", help="graph name in --data-dir")
    args = ap.parse_args()

    if args.data_dir is not None:
        if args.file is None:
            ap.error("--data-dir needs --file")
        reused = EmbeddedEngine(args.data_dir)
        started = time.perf_counter()
        reused.ensure_running()
        print(f"engine up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        try:
            store = FalkorStore.from_socket(str(reused.socket_path), graph_name=args.graph)
            result = {"entities": args.entities, "seed": args.seed,
                      **measure(store, args.file, dt.date.fromisoformat(args.as_of),
                                load_policy(args.policy), args.repeat)}
            store.close()
        finally:
            reused.stop()
        finish(args, result)
        return

    work = Path(tempfile.mkdtemp(prefix="credit-graph-analytics-"))
    data = work / f"province-{args.entities}-{args.seed}.jsonl"
    engine = EmbeddedEngine(work / "data")
    try:
        started = time.perf_counter()
        generate(args.entities, args.seed, data)
        print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        engine.ensure_running()
        store = FalkorStore.from_socket(str(engine.socket_path), graph_name="bench")
        store.bootstrap()
        policy = load_policy(args.policy)
        started = time.perf_counter()
        load_files(store, [data], policy=policy, provider=PROVIDER)
        print(f"loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        result = {"entities": args.entities, "seed": args.seed,
                  **measure(store, data, dt.date.fromisoformat(args.as_of), policy,
                            args.repeat)}
        store.close()
    finally:
        engine.stop()
        shutil.rmtree(work, ignore_errors=True)
    finish(args, result)


def finish(args: argparse.Namespace, result: dict[str, Any]) -> None:
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.doc:
        saved = [json.loads(p.read_text("utf-8")) for p in sorted(RESULTS.glob("analytics-*.json"))]
        others = [r for r in saved if r["entities"] != result["entities"]]
        write_doc(sorted([*others, result], key=lambda r: r["entities"]))


if __name__ == "__main__":
    main()
