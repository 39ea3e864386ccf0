"""The benchmark harness: every workload of the service, and the same check and paths by
the alternatives, on one province, in one run (``credit-graph bench``).

    credit-graph bench --entities 10000 [--work DIR] [--seed 7] [--quick] [--skip-load]
    credit-graph bench --sizes 10000,100000,1000000 --work /data/cg-bench

For each size, in this order and on the same data:

1. generate the province (``credit-graph generate``), or reuse ``<work>/province-N-S.jsonl``;
2. load it with ``credit-graph load`` in its own process into a fresh data directory
   (``<work>/data-N-S``), the harness's embedded engine serving it: rows/s and the peak
   RSS of the loader and the engine; ``--skip-load`` reuses a loaded directory and the
   figures its load recorded;
3. the service: the check called directly on the store, the same checks through
   ``credit-graph serve`` over HTTP, the 1,000-code batch, ``paths``, ``neighborhood``,
   ``controlChain`` (the functions the resolvers call), the dishonest subgraph with
   communities and risk scores (``graph/analytics``);
4. SQLite (``bench/sqlite_baseline.py``) and NetworkX in memory
   (``bench/networkx_baseline.py``) loaded from the same file: the same check and the
   same paths (NetworkX also the neighbourhood and control chain), timed on the same
   samples; their check decisions and shortest path lengths compared with the service's;
5. the results to ``<results>/harness-N.json``, and the report (``bench/report.py``):
   tables and a PNG in the marked section of ``docs/performance.md``.

Every figure of one size comes from the same run; the ratios are service / alternative.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import random
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bench import bench_api, report
from bench.common import (
    PeakRss,
    each,
    falkordb_module_version,
    latency_ms,
    machine,
    rss_mib,
    timed,
)
from bench.explore_latency import Sample, draw_samples
from bench.networkx_baseline import NetworkxBaseline
from bench.province import decision
from bench.sqlite_baseline import SqliteBaseline

POLICY = "nantong"
#: Above this size the in-memory analytics baseline (which parses the whole file into
#: Python objects, several GiB at 1M) is not built; the service side is still measured.
ANALYTICS_BASELINE_MAX = 100_000


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    seed: int = 7
    work: Path = Path(tempfile.gettempdir()) / "credit-graph-bench"
    results: Path = report.ROOT / "bench" / "results"
    out: Path = report.ROOT / "docs" / "performance.md"
    skip_load: bool = False
    quick: bool = False
    port: int = 0  # 0: a free port chosen at the start of each size
    command: str = ""

    @property
    def checks(self) -> int:
        return 300 if self.quick else 3000

    @property
    def http_checks(self) -> int:
        return 200 if self.quick else 2000

    @property
    def batches(self) -> int:
        return 2 if self.quick else 5

    @property
    def samples(self) -> int:
        return 50 if self.quick else 200

    @property
    def agreement(self) -> int:
        """Checks and pairs compared between the service and each alternative."""
        return 200 if self.quick else 1000


@dataclass
class Phases:
    """One line per phase with its elapsed time; a bar where a phase has a known size."""

    progress: Progress
    console: Console
    log: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        task = self.progress.add_task(name, total=total)
        started = time.perf_counter()

        def advance(n: int = 1) -> None:
            self.progress.advance(task, n)

        try:
            yield advance
        except BaseException:
            self.progress.console.log(f"{name}: failed after {time.perf_counter() - started:.1f} s")
            raise
        seconds = time.perf_counter() - started
        self.progress.update(task, completed=total or 1, total=total or 1)
        self.progress.console.log(f"{name}: {seconds:.1f} s")
        self.log.append({"phase": name, "seconds": round(seconds, 2)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                    transient=False)


# -- the service ------------------------------------------------------------------------------
def _load(opts: Options, n: int, src: Path, data: Path, ph: Phases) -> dict[str, Any]:
    """A fresh load, or the figures of the load that filled a reused directory."""
    from graph.embedded import EmbeddedEngine

    recorded = data / "load.json"
    if opts.skip_load and recorded.exists():
        ph.console.log(f"reusing the loaded {data} (--skip-load)")
        return {**json.loads(recorded.read_text()), "reused": True}
    if opts.skip_load and (data / "loaded").exists():  # loaded by bench/bench_api.py
        ph.console.log(f"reusing {data} loaded by bench_api.py; its load was not timed")
        return {"rows": sum(1 for _ in src.open("rb")), "reused": True}
    if opts.skip_load:
        ph.console.log(f"--skip-load: no loaded directory at {data}; loading it")
    engine = EmbeddedEngine(data)
    if data.exists() and engine.pid is not None:
        raise RuntimeError(f"an engine is running on {data}; stop it (credit-graph engine stop "
                           "with CREDIT_GRAPH_DATA_DIR) or pass --skip-load to reuse it")
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    engine.ensure_running()
    try:
        assert engine.pid is not None
        engine_peak = PeakRss(engine.pid)
        rows = sum(1 for _ in src.open("rb"))
        with ph.phase(f"load {rows:,} rows (credit-graph load)"):
            code, seconds, loader_rss = bench_api.load_province(src, data, data / "load.log")
        engine_rss = engine_peak.stop()
    finally:
        engine.stop()
    if code not in (0, 1):
        raise RuntimeError(f"credit-graph load failed (exit {code}); see {data / 'load.log'}")
    result = {"rows": rows, "exit_code": code, "seconds": round(seconds, 2),
              "rows_per_s": round(rows / seconds), "loader_peak_rss_mib": round(loader_rss / 2**20),
              "engine_peak_rss_mib": round(engine_rss / 2**20)}
    recorded.write_text(json.dumps(result, indent=2) + "\n")
    return {**result, "reused": False}


def _service_checks(opts: Options, store: Any, data: Path, codes: list[str],
                    ph: Phases) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with ph.phase(f"checkSanctions direct ({opts.checks:,} checks)"):
        out["check_direct"] = latency_ms(bench_api.direct_on(store, codes[:opts.checks],
                                                             warmup=min(200, opts.checks)))
    key = bench_api.make_key(data)
    with bench_api.serving(data, 1, opts.port or _free_port()) as url:
        with ph.phase(f"checkSanctions over HTTP ({opts.http_checks:,} checks)"):
            out["check_http"] = latency_ms(bench_api.http_sequential(url, key,
                                                                     codes[:opts.http_checks]))
        batch_codes = (codes * (1 + 1000 * opts.batches // len(codes)))[:1000 * opts.batches]
        with ph.phase(f"checkSanctionsBatch, 1,000 codes x {opts.batches}"):
            times = bench_api.batch(url, key, batch_codes, rounds=opts.batches)
        out["batch_1000"] = {"median_s": round(sorted(times)[len(times) // 2], 3),
                             "max_s": round(max(times), 3), "samples": len(times)}
    return out


def _service_explore(opts: Options, store: Any, samples: Any, ph: Phases) -> dict[str, Any]:
    from api.explore import control_chain, find_paths, neighborhood

    n = opts.samples
    out: dict[str, Any] = {}
    with ph.phase(f"paths, neighborhood, controlChain ({n} samples each)"):
        out["paths"] = timed(each(samples.linked, lambda p: find_paths(
            store, p[0], p[1], max_hops=4, first=5)), n)
        out["neighborhood"] = timed(each(samples.centres, lambda c: neighborhood(
            store, c, hops=2)), n)
        if samples.deep:
            out["control_chain"] = timed(each(samples.deep, lambda c: control_chain(store, c)), n)
    return out


def _service_analytics(src: Path, store: Any, n: int, ph: Phases) -> dict[str, Any]:
    from bench import analytics
    from graph.analytics import read_dishonest_subgraph
    from schema.policy import load_policy

    policy, today = load_policy(POLICY), dt.date.today()
    with ph.phase("dishonest subgraph, communities, risk scores"):
        if n <= ANALYTICS_BASELINE_MAX:
            # best of 2: the first call also pays for importing scipy's sparse code
            return {"with_baseline": True, **analytics.measure(store, src, today, policy, 2)}
        started = time.perf_counter()
        sub = read_dishonest_subgraph(store, policy=policy, on=today)
        read_s = time.perf_counter() - started
        times, results = analytics.computations(sub, 1)
    results["louvain_networkx_communities"] = times.pop("_louvain_networkx_communities")
    rows = {"subgraph: read from the store / built from the file in memory": {"service_s": read_s}}
    rows.update({k: {"service_s": round(v, 3)} for k, v in times.items()})
    return {"with_baseline": False, "times": rows, "results": results,
            "subgraph": {"nodes": sub.graph.number_of_nodes(),
                         "edges": sub.graph.number_of_edges()}}


# -- the alternatives ---------------------------------------------------------------------
def _agreement(service: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    same = [k for k in service if other.get(k) == service[k]]
    differ = [k for k in service if other.get(k) != service[k]]
    return {"compared": len(service), "equal": len(same),
            "rate": round(len(same) / max(1, len(service)), 4), "first_differences": differ[:5]}


def _baselines(opts: Options, n: int, src: Path, codes: list[str], pairs: list[tuple[str, str]],
               samples: Any, truth: dict[str, Any], ph: Phases) -> dict[str, Any]:
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    policy, catalogue, today = load_policy(POLICY), load_catalogue(), dt.date.today()
    agree_codes, agree_pairs = codes[:opts.agreement], pairs[:opts.agreement]
    out: dict[str, Any] = {}

    db = opts.work / f"sqlite-{n}-{opts.seed}.sqlite"
    rows = truth["rows"]
    with ph.phase("SQLite: load the same file", total=rows) as adv:
        sq, stats = SqliteBaseline.load(src, db, progress=adv)
    try:
        with ph.phase("SQLite: check (one SQL statement) and paths (recursive CTE)"):
            check = latency_ms(_each_timed(codes[:opts.checks], lambda c: sq.check(
                c, day=today, policy=policy, catalogue=catalogue)))
            paths = timed(each(samples.linked, lambda p: sq.path_length(p[0], p[1], 4)),
                          opts.samples)
            decisions = {c: decision(sq.check(c, day=today, policy=policy, catalogue=catalogue))
                         for c in agree_codes}
            lengths = {f"{a} {b}": sq.path_length(a, b, 4) for a, b in agree_pairs}
        out["sqlite"] = {
            "load": {"rows": stats.rows, "seconds": round(stats.seconds, 2),
                     "rows_per_s": round(stats.rows / stats.seconds),
                     "file_mib": round(stats.file_mib, 1),
                     "rss_growth_mib": round(stats.rss_growth_mib, 1)},
            "check": check, "paths": paths,
            "agreement": {"check": _agreement(truth["decisions"], _plain(decisions)),
                          "paths": _agreement(truth["lengths"], lengths)},
        }
    finally:
        sq.close()

    gc.collect()
    with ph.phase("NetworkX: build the in-memory graphs", total=rows) as adv:
        nxb, built = NetworkxBaseline.build(src, today, progress=adv)
    with ph.phase("NetworkX: check, paths, neighborhood, controlChain"):
        check = latency_ms(_each_timed(codes[:opts.checks], lambda c: nxb.check(
            c, day=today, policy=policy, catalogue=catalogue)))
        paths = timed(each(samples.linked, lambda p: nxb.paths(p[0], p[1], 4, 5)), opts.samples)
        hood = timed(each(samples.centres, nxb.neighborhood), opts.samples)
        control = (timed(each(samples.deep, nxb.control_chain), opts.samples)
                   if samples.deep else None)
        decisions = {c: decision(nxb.check(c, day=today, policy=policy, catalogue=catalogue))
                     for c in agree_codes}
        lengths = {f"{a} {b}": nxb.path_length(a, b, 4) for a, b in agree_pairs}
    out["networkx"] = {
        "build": {"rows": built.rows, "seconds": round(built.seconds, 2),
                  "rows_per_s": round(built.rows / built.seconds),
                  "rss_growth_mib": round(built.rss_growth_mib, 1),
                  "nodes": built.nodes, "edges": built.edges},
        "check": check, "paths": paths, "neighborhood": hood, "control_chain": control,
        "agreement": {"check": _agreement(truth["decisions"], _plain(decisions)),
                      "paths": _agreement(truth["lengths"], lengths)},
    }
    return out


def _each_timed(items: list[str], call: Callable[[str], Any]) -> list[float]:
    for item in items[:min(50, len(items))]:
        call(item)
    times = []
    for item in items:
        started = time.perf_counter()
        call(item)
        times.append(time.perf_counter() - started)
    return times


def _plain(decisions: dict[str, Any]) -> dict[str, Any]:
    """Decisions as JSON would hold them, so saved and fresh ones compare equal."""
    plain: dict[str, Any] = json.loads(json.dumps(decisions))
    return plain


# -- one size -----------------------------------------------------------------------------
def run_size(opts: Options, n: int, ph: Phases) -> dict[str, Any]:
    from api.checks import check_sanctions
    from api.explore import find_paths
    from graph.embedded import EmbeddedEngine
    from graph.falkor_store import DEFAULT_GRAPH, FalkorStore
    from schema.catalogue import load_catalogue
    from schema.errors import CreditGraphError
    from schema.policy import load_policy

    ph.console.rule(f"{n:,} entities, seed {opts.seed}")
    with ph.phase(f"generate {n:,} entities (or reuse)"):
        src, gen_s = bench_api.generate_province(opts.work, n, opts.seed)
    data = bench_api.data_dir(opts.work, n, opts.seed)
    load = _load(opts, n, src, data, ph)

    rng = random.Random(opts.seed)  # noqa: S311 - reproducible samples, not secrets
    with ph.phase("draw samples from the file"):
        codes = bench_api.sample_codes(src, max(opts.checks, opts.agreement), opts.seed)
        sample = Sample(src)
        samples = draw_samples(sample, rng, opts.samples)
        subjects = len(sample.subjects)
        pairs = samples.linked + sample.linked_pairs(
            rng, max(0, opts.agreement - len(samples.linked)))
        del sample

    engine = EmbeddedEngine(data)
    engine.ensure_running()
    store = FalkorStore.from_socket(str(engine.socket_path), DEFAULT_GRAPH)
    try:
        assert engine.pid is not None
        engine_peak = PeakRss(engine.pid)
        service: dict[str, Any] = _service_checks(opts, store, data, codes, ph)
        service.update(_service_explore(opts, store, samples, ph))
        service["analytics"] = _service_analytics(src, store, n, ph)
        policy, catalogue, today = load_policy(POLICY), load_catalogue(), dt.date.today()
        with ph.phase("service answers for the agreement sample"):
            decisions = {c: decision(check_sanctions(store, c, policy=policy,
                                                     catalogue=catalogue, as_of=today))
                         for c in codes[:opts.agreement]}
            lengths: dict[str, int | None] = {}
            for a, b in pairs[:opts.agreement]:
                try:
                    found = find_paths(store, a, b, max_hops=4, first=1)
                except CreditGraphError:
                    found = []
                lengths[f"{a} {b}"] = found[0].length if found else None
        engine_rss = engine_peak.stop()
        service["memory"] = {"engine_peak_rss_mib": round(engine_rss / 2**20),
                             "engine_rss_mib": round(rss_mib(engine.pid)),
                             "harness_rss_mib": round(rss_mib())}
        from bench.bench_load import graph_memory

        with contextlib.suppress(Exception):  # FalkorDB's own accounting: a bonus figure
            service["memory"]["graph_mib"] = round(graph_memory(store)["total_mib"], 1)
        engine_version = falkordb_module_version(store)
    finally:
        store.close()
        engine.stop()

    truth = {"rows": load["rows"], "decisions": _plain(decisions), "lengths": lengths}
    baselines = _baselines(opts, n, src, codes, pairs, samples, truth, ph)
    result = {
        "entities": n, "seed": opts.seed, "subjects": subjects, "rows": load["rows"],
        "measured_at": time.strftime("%Y-%m-%d %H:%M"), "quick": opts.quick,
        "command": opts.command, "machine": {**machine(), "falkordb": engine_version},
        "generate_s": round(gen_s, 2) if gen_s is not None else None,
        "load": load, "service": service, **baselines,
        "samples": {"checks": min(opts.checks, len(codes)), "http_checks":
                    min(opts.http_checks, len(codes)), "explore": opts.samples,
                    "agreement_checks": len(decisions), "agreement_pairs": len(lengths),
                    "agreement_restricted": sum(1 for d in decisions.values() if d[0]),
                    "agreement_pairs_linked": sum(1 for v in lengths.values() if v),
                    "deepest_ownership_levels": samples.deepest},
        "phases": list(ph.log),
    }
    ph.log.clear()
    return result


def run(opts: Options, console: Console | None = None) -> list[dict[str, Any]]:
    """Every size in turn, then the report over them and earlier saved sizes."""
    console = console or Console(stderr=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per benchmark request
    opts.work.mkdir(parents=True, exist_ok=True)
    opts.results.mkdir(parents=True, exist_ok=True)
    results = []
    with _progress(console) as progress:
        ph = Phases(progress, console)
        for n in opts.sizes:
            result = run_size(opts, n, ph)
            path = opts.results / f"harness-{n}.json"
            path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
            results.append(result)
    everything = report.collect(opts.results, results)
    png = report.write(everything, opts.out, opts.results)
    console.log(f"wrote {opts.out} and {png}")
    return results
