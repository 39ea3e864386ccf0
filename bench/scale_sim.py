"""What of "beyond one machine" (docs/scale.md) can be tried on one 2-core box.

    python bench/scale_sim.py [--entities 20000] [--delta 5000] [--work /tmp/credit-graph-scale]

Four experiments on a small synthetic province, each against real engines and real HTTP:

1. **Several API processes against one engine.** ``serve --workers 1/2/4``, and two
   separate ``serve`` processes on two ports sharing the data directory with the clients
   spread over both (a load balancer's round robin), under the same closed-loop client
   load: checks/s, p50/p99, RSS per API process.
2. **A read-heavy mix while a load runs.** Checks at a steady rate before, during and
   after ``credit-graph load`` of another generated file (new entities and records) into
   the same engine; the load's rows/s alone (no reads) against under reads.
3. **Read-your-writes.** Small loads, each followed at once by checks of the subjects it
   brought: every answer must already show them, and equal the answer given later.
4. **The graph split in two.** The province cut by prefecture into two graphs on two
   separate engines (a "province" each: Sunan and the rest), persons copied into every
   part where they hold a role or are named; the check answered across both (home part,
   then the parts where its officers have data) against the same check on the whole
   graph: same decisions, round trips, latency.

The clients run on the same two cores as the servers and engines; absolute throughput is
what one shared 2-core box gives, the comparisons between configurations are the point.
Results: ``bench/results/scale-sim.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_api  # noqa: E402
from bench.bench_api import CLI, QUERY, env_for, make_key, serving  # noqa: E402
from bench.bench_load import graph_memory  # noqa: E402
from bench.common import PeakRss, machine, pct, say  # noqa: E402

SEED = 11
#: Prefectures (first four digits of the division code) of the first part: Sunan.
SOUTH = frozenset({"3201", "3202", "3204", "3205", "3211"})
PARTS = ("sunan", "rest")
OFFICE_TYPES = "LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF"

# Cypher of the split check (simulation only; the service has one part and no such query).
#: The persons holding office in an organisation on $as_of, asked of its home part.
OFFICERS = f"""
MATCH (s:Entity {{code: $code}})
WITH s
MATCH (s)<-[o:{OFFICE_TYPES}]-(p:Person)
WHERE coalesce(o.since, $min_date) <= $as_of AND coalesce(o.until, $max_date) >= $as_of
RETURN p.code AS officer, o.role AS officer_role, o.since AS officer_since
"""
_REMOTE_COLUMNS = """properties(r) AS record, t.code AS record_subject,
  t.kind AS record_subject_kind, t.terminated AS record_subject_ended,
  t.name AS record_subject_name"""
#: The negative records that bar the given persons, asked of a part other than the
#: organisation's: their own, those of organisations they led on the act date, and
#: those naming them (the officer branches of queries/check.py, for many persons). Each
#: branch anchors on the person first (``WITH p``): without it FalkorDB planned the
#: branches from a label scan, 60 ms instead of about 1 ms on a 10,000-entity part.
OFFICER_RECORDS = f"""
UNWIND $codes AS code
MATCH (p:Person {{code: code}})
WITH p
MATCH (p)<-[:CONCERNS]-(r:Record)
WHERE r.decided_on <= $as_of AND r.category = $negative
WITH p, r, p AS t
RETURN p.code AS officer, [p.code] AS tail, null AS role, {_REMOTE_COLUMNS}
UNION ALL
UNWIND $codes AS code
MATCH (p:Person {{code: code}})
WITH p
MATCH (p)-[ro:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF]->(t:Entity)<-[:CONCERNS]-(r:Record)
WHERE r.decided_on <= $as_of AND r.category = $negative
  AND coalesce(ro.since, $min_date) <= coalesce(r.act_ended_on, r.decided_on)
  AND coalesce(ro.until, $max_date) >= coalesce(r.act_ended_on, r.decided_on)
RETURN p.code AS officer, [p.code, t.code] AS tail, ro.role AS role, {_REMOTE_COLUMNS}
UNION ALL
UNWIND $codes AS code
MATCH (p:Person {{code: code}})
WITH p
MATCH (p)<-[:NAMES_RESPONSIBLE]-(r:Record)-[:CONCERNS]->(t:Subject)
WHERE r.decided_on <= $as_of AND r.category = $negative
RETURN p.code AS officer, [p.code, t.code] AS tail, $named AS role, {_REMOTE_COLUMNS}
"""


# ----------------------------------------------------------------------------- helpers
def cli(data: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env_for(data), check=True, text=True,
                          stdout=subprocess.PIPE if quiet else None)


def generate(out: Path, entities: int, seed: int) -> Path:
    if not out.exists():
        say(f"generating {entities:,} entities (seed {seed}) -> {out.name}")
        partial = out.with_name(out.stem + ".partial.jsonl")
        cli(out.parent, "generate", "--entities", str(entities), "--seed", str(seed),
            "--out", str(partial))
        partial.rename(out)
    return out


def rows_of(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def load(data: Path, src: Path) -> dict[str, Any]:
    """``credit-graph load`` in its own process; rows/s over the whole command."""
    rows = sum(1 for _ in src.open(encoding="utf-8"))
    started = time.perf_counter()
    proc = subprocess.Popen([*CLI, "load", str(src), "--provider", "bench"],
                            env=env_for(data), stdout=subprocess.DEVNULL)
    peak = PeakRss(proc.pid)
    code = proc.wait()
    rss = peak.stop()
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"load of {src} exited {code}")
    return {"file": src.name, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "loader_peak_rss_mib": round(rss / 2**20)}


def engine_facts(store: Any) -> dict[str, Any]:
    """Nodes, relationships, FalkorDB's memory accounting, RSS and the AOF on disk."""
    nodes = store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
    rels = store.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    aof = store.engine.engine_dir / "appendonlydir"
    disk = sum(f.stat().st_size for f in aof.iterdir()) if aof.is_dir() else 0
    pid = store.engine.pid
    return {"nodes": nodes, "relationships": rels, "graph_memory_mib": graph_memory(store),
            "engine_rss_mib": round(psutil.Process(pid).memory_info().rss / 2**20, 1)
            if pid else None,
            "aof_mib": round(disk / 2**20, 1)}


def summary(lat: list[float]) -> dict[str, Any]:
    if not lat:
        return {"checks": 0}
    return {"checks": len(lat), "p50_ms": round(pct(lat, 50) * 1e3, 2),
            "p99_ms": round(pct(lat, 99) * 1e3, 2), "max_ms": round(max(lat) * 1e3, 1)}


def process_tree_rss_mib(pid: int) -> float:
    """RSS of a ``serve`` process and its workers (uvicorn forks one per worker)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
        return round(float(sum(p.memory_info().rss for p in procs)) / 2**20, 1)
    except psutil.Error:
        return 0.0


def worker_cpu(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process that answers requests: the ``serve``
    process itself with one worker, its worker children with several."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = root.children(recursive=True) or [root]
            for p in procs:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


@contextmanager
def served(data: Path, workers: int, port: int) -> Iterator[tuple[str, int]]:
    """``serve`` as bench_api starts it, with the pid of its process for RSS."""
    before = {p.pid for p in psutil.Process().children()}
    with serving(data, workers, port) as url:
        new = [p for p in psutil.Process().children() if p.pid not in before]
        yield url, new[0].pid if new else 0


# ------------------------------------------------------------- 1. several API processes
def closed_loop(urls: list[str], key: str, codes: list[str], clients: int, seconds: float
                ) -> dict[str, Any]:
    lat, errors, elapsed = bench_api.closed_loop(urls, key, codes, clients, seconds)
    return {"checks_per_s": round(len(lat) / elapsed, 1), "errors": errors,
            "seconds": round(elapsed, 1), **summary(lat)}


def several_processes(data: Path, key: str, codes: list[str], args: argparse.Namespace
                      ) -> list[dict[str, Any]]:
    configs: list[tuple[str, list[int]]] = [
        ("serve --workers 1", [1]), ("serve --workers 2", [2]), ("serve --workers 4", [4]),
        ("2 serve processes x 1 worker, clients round-robin", [1, 1]),
    ]
    out = []
    for rnd, (label, workers) in ((r, c) for r in range(args.rounds) for c in configs):
        with ExitStack() as stack:
            servers = [stack.enter_context(served(data, w, args.port + 10 * k + w))
                       for k, w in enumerate(workers)]
            say(f"{label} (round {rnd + 1}): {args.clients} clients, {args.seconds:g} s")
            urls = [u for u, _ in servers]
            closed_loop(urls, key, codes, args.clients, 2.0)  # warm every worker
            before = worker_cpu([p for _, p in servers])
            result = closed_loop(urls, key, codes, args.clients, args.seconds)
            after = worker_cpu([p for _, p in servers])
            # CPU seconds each process serving requests used during the measurement: shows
            # how evenly the kernel spread the clients' connections over the workers.
            # (uvicorn's helper processes, which use none, are left out.)
            result["worker_cpu_s"] = sorted(
                (c for c in (round(after[w] - before.get(w, 0.0), 1) for w in after) if c > 0),
                reverse=True)
            result["api_rss_mib"] = round(sum(process_tree_rss_mib(p) for _, p in servers), 1)
            result["api_processes"] = sum(w + (1 if w > 1 else 0) for w in workers)
        say(f"  {result['checks_per_s']} checks/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, errors {result['errors']}, "
            f"worker CPU s {result['worker_cpu_s']}")
        out.append({"config": label, "round": rnd + 1, "clients": args.clients, **result})
    return out


# --------------------------------------------------------------- 2. reads during a load
class SteadyReader:
    """Checks at a fixed rate (open loop) from ``threads`` threads, each sample stamped
    with its send time so it can be put before, during or after a load."""

    def __init__(self, url: str, key: str, codes: list[str], rate: float, threads: int
                 ) -> None:
        self.url, self.key, self.codes = url, key, codes
        self.interval = threads / rate
        self.threads = threads
        self.samples: list[tuple[float, float, bool]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "X-Purpose": "benchmark"}
        mine: list[tuple[float, float, bool]] = []
        nxt = time.monotonic() + i * self.interval / self.threads
        j = i
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as c:
            while not self._stop.is_set():
                delay = nxt - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent = time.monotonic()
                r = c.post("/graphql", json={"query": QUERY,
                                             "variables": {"c": self.codes[j % len(self.codes)]}})
                ok = r.status_code == 200 and "errors" not in r.json()
                mine.append((sent, time.monotonic() - sent, ok))
                j += self.threads
                nxt = max(nxt + self.interval, time.monotonic() - self.interval)
        with self._lock:
            self.samples.extend(mine)

    def __enter__(self) -> SteadyReader:
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for w in self._workers:
            w.join()

    def window(self, start: float, end: float) -> dict[str, Any]:
        inside = [s for s in self.samples if start <= s[0] < end]
        return {"seconds": round(end - start, 1),
                "checks_per_s": round(len(inside) / (end - start), 1) if end > start else 0,
                "errors": sum(1 for s in inside if not s[2]),
                **summary([s[1] for s in inside])}


def reads_during_load(data: Path, key: str, codes: list[str], deltas: list[Path],
                      args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"rate_per_s": args.rate, "reader_threads": 4}
    with served(data, 2, args.port + 100) as (url, _):
        say(f"load alone (server up, no reads): {deltas[0].name}")
        out["load_alone"] = load(data, deltas[0])
        say(f"  {out['load_alone']['rows_per_s']:,} rows/s")
        say(f"steady checks at {args.rate:g}/s: {args.quiet:g} s before, during a load of "
            f"{deltas[1].name}, {args.quiet:g} s after")
        with SteadyReader(url, key, codes, args.rate, 4) as reader:
            t0 = time.monotonic()
            time.sleep(args.quiet)
            t1 = time.monotonic()
            out["load_under_reads"] = load(data, deltas[1])
            t2 = time.monotonic()
            time.sleep(args.quiet)
            t3 = time.monotonic()
        out["checks_before"] = reader.window(t0, t1)
        out["checks_during"] = reader.window(t1, t2)
        out["checks_after"] = reader.window(t2, t3)
        say(f"  load under reads {out['load_under_reads']['rows_per_s']:,} rows/s; checks "
            f"p50/p99 before {out['checks_before'].get('p50_ms')}/"
            f"{out['checks_before'].get('p99_ms')} ms, during "
            f"{out['checks_during'].get('p50_ms')}/{out['checks_during'].get('p99_ms')} ms, "
            f"after {out['checks_after'].get('p50_ms')}/{out['checks_after'].get('p99_ms')} ms")
        out["read_your_writes"] = read_your_writes(data, url, key, args)
    return out


# --------------------------------------------------------------- 3. read-your-writes
def http_check(c: httpx.Client, code: str) -> tuple[str, Any]:
    r = c.post("/graphql", json={"query": QUERY, "variables": {"c": code}})
    body = r.json()
    if body.get("errors"):
        return "error:" + str(body["errors"][0].get("extensions", {}).get("code")), None
    got = body["data"]["checkSanctions"]
    return "ok", (got["restricted"],
                  sorted((m["measure"], m["basisRecordId"]) for m in got["measures"]))


def read_your_writes(data: Path, url: str, key: str, args: argparse.Namespace
                     ) -> dict[str, Any]:
    """Small loads; at once after each returns, check every entity it brought."""
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "benchmark"}
    trials = []
    first: dict[str, tuple[str, Any]] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for i in range(args.ryw_loads):
            src = generate(args.work / f"ryw-{i}.jsonl", 40, 500 + i)
            rows = rows_of(src)
            entities = [r["code"] for r in rows if r["type"] == "entity"]
            negative = {f"bench:{r['id']}" for r in rows
                        if r["type"] == "record" and r.get("category") == "negative"}
            load(data, src)
            done = time.monotonic()
            answers = {code: http_check(c, code) for code in entities}
            first_ms = round((time.monotonic() - done) * 1e3 / max(1, len(entities)), 2)
            first.update(answers)
            seen_new = sum(1 for s, a in answers.values() if s == "ok" and a
                           and any(b in negative for _, b in a[1]))
            trials.append({"subjects": len(entities),
                           "answered": sum(1 for s, _ in answers.values() if s == "ok"),
                           "not_found": sum(1 for s, _ in answers.values()
                                            if s == "error:NOT_FOUND"),
                           "measures_on_new_records": seen_new,
                           "ms_per_check_after_load": first_ms})
        time.sleep(2.0)
        later = {code: http_check(c, code) for code in first}
    same = sum(1 for code in first if first[code] == later[code])
    say(f"  read-your-writes: {same}/{len(first)} answers right after the load equal "
        f"the later ones; not found {sum(t['not_found'] for t in trials)}")
    return {"loads": trials, "subjects": len(first), "same_as_later": same}


# --------------------------------------------------------------- 4. split in two parts
def part_of_entity(code: str) -> str:
    return PARTS[0] if len(code) == 18 and code[2:6] in SOUTH else PARTS[1]


def part_of_person(code: str) -> str:
    return PARTS[0] if code[:4] in SOUTH else PARTS[1]


def split_file(src: Path, work: Path) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """Cut the province in two: an organisation with its roles and records goes to its
    prefecture's part; a person's own records to the part of the ID number's region; a
    person (or holding organisation) is copied into every part that refers to it.
    Returns the files and, per subject, the parts it is in (the directory)."""
    rows = rows_of(src)
    subjects = {r["code"]: r for r in rows if r["type"] in ("entity", "person")}
    home = {c: (part_of_entity(c) if r["type"] == "entity" else part_of_person(c))
            for c, r in subjects.items()}
    parts: dict[str, list[dict[str, Any]]] = {p: [] for p in PARTS}
    present: dict[str, set[str]] = {c: {home[c]} for c in subjects}
    for r in rows:
        t = r["type"]
        if t == "role":
            part = home[r["entity"]]
            present[r["holder"]].add(part)
        elif t == "record":
            part = home[r["subject"]]
            for person in r.get("responsible") or ():
                present[person].add(part)
        else:
            continue
        parts[part].append(r)
    files = {}
    for part in PARTS:
        out = work / f"split-{part}.jsonl"
        if not out.exists():
            with out.open("w", encoding="utf-8") as fh:
                for code, r in subjects.items():
                    if part in present[code]:
                        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                for r in parts[part]:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        files[part] = out
    return files, present


class SplitCheck:
    """The check answered across parts: what a service over one database per province
    would have to do, counted in round trips."""

    def __init__(self, stores: Mapping[str, Any], present: Mapping[str, set[str]],
                 kinds: Mapping[str, str]) -> None:
        self.stores, self.present, self.kinds = stores, present, kinds
        from schema.catalogue import load_catalogue
        from schema.policy import load_policy

        self.policy, self.catalogue = load_policy("nantong"), load_catalogue()
        from queries.check import ROLE_PARAMS

        self.role_params = ROLE_PARAMS

    def params(self, day: dt.date) -> dict[str, Any]:
        return {"as_of": day.isoformat(), "min_date": "0001-01-01", "max_date": "9999-12-31",
                "named": "responsible", "negative": "negative", **self.role_params}

    def run(self, code: str, day: dt.date) -> tuple[Any, int, int]:
        """The decision, the round trips and how many parts were asked."""
        from graph.record_versions import with_content_on
        from queries.check import CHECK_TRAVERSAL
        from schema.sanctions import evaluate

        p = self.params(day)
        rows: list[dict[str, Any]] = []
        trips = 0
        parts = sorted(self.present[code])
        if self.kinds[code] == "person":
            # A person's roles and records may be in any part it appears in: ask each.
            for part in parts:
                got = self.stores[part].read(CHECK_TRAVERSAL, {"code": code, **p})
                trips += 1
                rows += with_content_on(self.stores[part], got, day)
            return evaluate(code, rows, as_of=day, policy=self.policy,
                            catalogue=self.catalogue, check_id="split"), trips, len(parts)
        home = self.stores[parts[0]]
        rows = home.read(CHECK_TRAVERSAL, {"code": code, **p})
        officers = home.read(OFFICERS, {"code": code, **p})
        trips += 2
        rows = with_content_on(home, rows, day)
        asked = {parts[0]}
        remote: dict[str, list[str]] = {}
        for o in officers:
            for part in self.present[o["officer"]] - {parts[0]}:
                remote.setdefault(part, []).append(o["officer"])
        by_officer: dict[str, list[dict[str, Any]]] = {}
        for o in officers:
            by_officer.setdefault(o["officer"], []).append(o)
        for part, persons in sorted(remote.items()):
            store = self.stores[part]
            got = store.read(OFFICER_RECORDS, {"codes": sorted(set(persons)), **p})
            trips += 1
            asked.add(part)
            got = with_content_on(store, got, day)
            for g in got:
                for o in by_officer[g["officer"]]:
                    rows.append({
                        "reach": "officer", "record": g["record"],
                        "record_subject": g["record_subject"],
                        "record_subject_kind": g["record_subject_kind"],
                        "record_subject_ended": g["record_subject_ended"],
                        "record_subject_name": g["record_subject_name"],
                        "via": [code, *g["tail"]], "role": g["role"],
                        "officer": g["officer"], "officer_role": o["officer_role"],
                        "officer_entity": code, "officer_since": o["officer_since"],
                    })
        return evaluate(code, rows, as_of=day, policy=self.policy, catalogue=self.catalogue,
                        check_id="split"), trips, len(asked)


def decision(check: Any) -> tuple[Any, ...]:
    """Everything a caller acts on, in an order-free form."""
    return (
        check.subject_kind, check.restricted,
        tuple(sorted((m.measure, m.basis_record_id, tuple(m.via), m.role or "")
                     for m in check.measures)),
        tuple(sorted((m.measure, m.basis_record_id) for m in check.incentives)),
        tuple(sorted((c.person_code, c.entity_code, c.role, str(c.since),
                      tuple(sorted(c.basis_record_ids))) for c in check.conflicts)),
    )


def split_in_two(src: Path, whole: Any, args: argparse.Namespace, stack: ExitStack
                 ) -> dict[str, Any]:
    from api.checks import check_sanctions
    from graph.embedded_store import EmbeddedFalkorStore

    files, present = split_file(src, args.work)
    kinds = {r["code"]: r["type"] for r in rows_of(src) if r["type"] in ("entity", "person")}
    stores: dict[str, Any] = {}
    loads = {}
    for part in PARTS:
        data = args.work / f"data-{part}"
        data.mkdir(parents=True, exist_ok=True)
        store = stack.enter_context(EmbeddedFalkorStore(data))
        stores[part] = store
        if not (data / "loaded").exists():
            say(f"loading part {part} ({files[part].name}) into its own engine")
            loads[part] = load(data, files[part])
            (data / "loaded").write_text("ok")
    persons = [c for c, k in kinds.items() if k == "person"]
    entities = [c for c, k in kinds.items() if k == "entity"]
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample
    sample = {"entity": rng.sample(entities, min(args.split_checks, len(entities))),
              "person": rng.sample(persons, min(args.split_checks // 2, len(persons)))}
    split = SplitCheck(stores, present, kinds)
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    policy, catalogue = load_policy("nantong"), load_catalogue()
    day = dt.date.today()
    out: dict[str, Any] = {
        "parts": {part: {"file_rows": sum(1 for _ in files[part].open(encoding="utf-8")),
                         **engine_facts(stores[part])} for part in PARTS},
        "loads": loads,
        "persons_in_both_parts": sum(1 for c in persons if len(present[c]) > 1),
        "persons": len(persons),
        "entities_per_part": {p: sum(1 for c in entities if p in present[c]) for p in PARTS},
    }
    for kind, codes in sample.items():
        say(f"split check of {len(codes)} {kind} codes: whole graph against two parts")
        for code in codes[:50]:  # warm both paths
            check_sanctions(whole, code, policy=policy, catalogue=catalogue, as_of=day)
            split.run(code, day)
        one, two, trips, asked, same, restricted = [], [], [], [], 0, 0
        for code in codes:
            t = time.perf_counter()
            a = check_sanctions(whole, code, policy=policy, catalogue=catalogue, as_of=day)
            one.append(time.perf_counter() - t)
            t = time.perf_counter()
            b, n, k = split.run(code, day)
            two.append(time.perf_counter() - t)
            trips.append(n)
            asked.append(k)
            same += decision(a) == decision(b)
            restricted += a.restricted
        hist: dict[str, int] = {}
        for n in trips:
            hist[str(n)] = hist.get(str(n), 0) + 1
        out[kind] = {
            "checks": len(codes), "restricted": restricted, "same_decision": same,
            "whole_graph": summary(one), "split": summary(two),
            "ratio_p50": round(pct(two, 50) / pct(one, 50), 2),
            "round_trips": hist, "mean_round_trips": round(sum(trips) / len(trips), 2),
            "more_than_one_part": sum(1 for k in asked if k > 1),
        }
        say(f"  {same}/{len(codes)} same decisions; p50 {out[kind]['whole_graph']['p50_ms']} "
            f"-> {out[kind]['split']['p50_ms']} ms; round trips {hist}")
    return out


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--delta", type=int, default=5_000, help="entities in each loaded file")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "credit-graph-scale")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--rounds", type=int, default=2,
                    help="times each API configuration is measured, interleaved")
    ap.add_argument("--rate", type=float, default=60.0, help="checks/s during the load test")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds before/after the load")
    ap.add_argument("--ryw-loads", type=int, default=5)
    ap.add_argument("--split-checks", type=int, default=1000)
    ap.add_argument("--port", type=int, default=8840)
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["processes", "load", "split"])
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    from graph.embedded_store import EmbeddedFalkorStore

    src = generate(args.work / f"province-{args.entities}-{SEED}.jsonl", args.entities, SEED)
    data = args.work / "data-whole"
    result: dict[str, Any] = {"entities": args.entities, "seed": SEED, "machine": machine(),
                              "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    with ExitStack() as stack:
        # The bench holds the engine for the whole run, so every serve and load reuses it.
        data.mkdir(parents=True, exist_ok=True)
        whole = stack.enter_context(EmbeddedFalkorStore(data))
        if not (data / "loaded").exists():
            say("loading the province into the whole-graph engine")
            result["load_whole"] = load(data, src)
            (data / "loaded").write_text("ok")
        result["whole"] = engine_facts(whole)
        codes = [r["code"] for r in rows_of(src) if r["type"] in ("entity", "person")]
        random.Random(SEED).shuffle(codes)  # noqa: S311 - a reproducible order
        key = make_key(data)
        dirty = data / "more-loaded"
        if "split" not in args.skip and dirty.exists():
            say(f"skipping the split: {data} holds later loads; use a fresh --work")
        elif "split" not in args.skip:
            # Before the loads below change the whole graph, so both hold the same data.
            result["split"] = split_in_two(src, whole, args, stack)
        if "processes" not in args.skip:
            result["processes"] = several_processes(data, key, codes, args)
        if "load" not in args.skip:
            deltas = [generate(args.work / f"delta-{args.delta}-{s}.jsonl", args.delta, s)
                      for s in (SEED + 1, SEED + 2)]
            dirty.write_text("ok")
            result["reads_during_load"] = reads_during_load(data, key, codes, deltas, args)
            result["whole_after_loads"] = engine_facts(whole)
    out = ROOT / "bench" / "results" / "scale-sim.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    say(f"results in {out}")


if __name__ == "__main__":
    main()
