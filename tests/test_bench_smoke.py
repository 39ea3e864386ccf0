"""CI smoke run of the benchmark harness (issue 7, Benchmarks 4): a tiny province end to end.

It must work, not be fast: ``credit-graph bench`` generates 300 entities, loads them,
serves them, runs every workload and both alternatives, and writes its section and plot.
What a reader of docs/performance.md relies on is checked: every workload row has a
figure, the plot is a real PNG, the alternatives reached the service's decisions and path
lengths on every sampled subject and pair, and text outside the markers is kept.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.report import MARK_END, MARK_START, PNG_NAME, WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
HAND_WRITTEN = "Text written by hand before the generated section."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "performance.md"
    out.write_text(f"# Performance\n\n{HAND_WRITTEN}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "bench", "--entities", "300", "--quick",
         "--work", str(tmp / "work"), "--out", str(out), "--results", str(tmp / "results"),
         "--port", str(_free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp / "results" / "harness-300.json").read_text(encoding="utf-8"))
    return {"elapsed": elapsed, "doc": out.read_text(encoding="utf-8"),
            "png": tmp / PNG_NAME, "result": result}


def test_every_workload_has_a_figure_in_the_report(run: dict[str, object]) -> None:
    doc = str(run["doc"])
    section = doc[doc.index(MARK_START):doc.index(MARK_END)]
    for w in WORKLOADS:
        row = next((line for line in section.splitlines()
                    if line.startswith(f"| {w.name} |")), None)
        assert row is not None, f"no row for {w.name}"
        service = row.split("|")[2]
        assert re.search(r"\d", service), f"{w.name}: no service figure in {row!r}"
    assert "NetworkX in memory" in section and "SQLite" in section
    assert "cores" in section and "Python 3.11" in section  # the machine is described
    assert HAND_WRITTEN in doc.split(MARK_START)[0]


def test_the_plot_is_a_png(run: dict[str, object]) -> None:
    png = run["png"]
    assert isinstance(png, Path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(performance-harness.png)" in str(run["doc"])


def test_the_alternatives_agree_with_the_service_on_every_sample(run: dict[str, object]) -> None:
    result = run["result"]
    assert isinstance(result, dict)
    for alternative in ("sqlite", "networkx"):
        for what in ("check", "paths"):
            agreement = result[alternative]["agreement"][what]
            assert agreement["compared"] >= 100, (alternative, what, agreement)
            assert agreement["rate"] == 1.0, (alternative, what, agreement)
    assert "(100.0 %)" in str(run["doc"])
    # the comparison covered real decisions and real paths, not only empty answers
    assert result["samples"]["agreement_restricted"] > 0
    assert result["samples"]["agreement_pairs_linked"] > 0


def test_the_smoke_run_stays_well_under_two_minutes(run: dict[str, object]) -> None:
    elapsed = run["elapsed"]
    assert isinstance(elapsed, float)
    assert elapsed < 120, f"the 300-entity smoke run took {elapsed:.0f} s"
