"""Where a load's time goes: the loader's CPU, the engine's CPU, and the wall clock.

Why: on two cores a load is fast only when the loader (reading and routing), its
validation workers (``loaders.row_pool``) and the engine (writing) keep both cores busy
at the same time; ``cores_used`` is their CPU time over the wall time (2.0 is the most
this machine has). The figures in ``docs/performance.md`` (loading) come from this script.

    .venv/bin/python bench/load_split.py --file province-100000-7.jsonl --work /tmp/ls
    .venv/bin/python bench/load_split.py --file ... --root /path/to/another/checkout

``--root`` runs another checkout's ``credit-graph load`` on the same file in the same
session, which is how a change is measured against the code before it. Each run loads
into a fresh data directory (its own embedded engine). Progress: one line every 5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graph.embedded import EmbeddedEngine  # noqa: E402


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _peak_mib(pid: int) -> int:
    """The kernel's own high-water mark (VmHWM), not a sample: a short peak counts too."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def measure(file: Path, data_dir: Path, root: Path) -> dict[str, Any]:
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {**os.environ, "CREDIT_GRAPH_DATA_DIR": str(data_dir), "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "api.cli", "load", "--provider", "bench", str(file)]
    out = (data_dir / "load.json").open("w")
    started = time.monotonic()
    loader = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.PIPE)
    watch = EmbeddedEngine(data_dir)
    me = psutil.Process(loader.pid)
    engine: psutil.Process | None = None
    sample = {"loader_cpu_s": 0.0, "engine_cpu_s": 0.0, "loader_peak_mib": 0,
              "engine_peak_mib": 0, "workers_cpu_s": 0.0, "workers_peak_mib": 0,
              "engine_rewrite_cpu_s": 0.0, "loader_with_workers_peak_mib": 0}  # fmt: skip
    #: validation workers (``loaders.row_pool``): their last reading, kept after they end
    workers: dict[int, tuple[float, int]] = {}
    rewrites: dict[int, float] = {}
    next_note = started + 5
    while loader.poll() is None:
        try:
            if engine is None and (pid := watch.pid) is not None:
                engine = psutil.Process(pid)
            sample["loader_cpu_s"] = _cpu_seconds(me)
            # max: a process that has just exited (a zombie) reports no high-water mark
            sample["loader_peak_mib"] = max(sample["loader_peak_mib"], _peak_mib(me.pid))
            if engine is not None:
                sample["engine_cpu_s"] = _cpu_seconds(engine)
                sample["engine_peak_mib"] = max(sample["engine_peak_mib"], _peak_mib(engine.pid))
            # The engine's own children are its append-only-file rewrites, not workers.
            engine_side = {engine.pid} if engine is not None else set()
            if engine is not None:
                engine_side |= {c.pid for c in engine.children(recursive=True)}
                for child in engine.children(recursive=True):
                    with contextlib.suppress(psutil.Error, FileNotFoundError):
                        rewrites[child.pid] = _cpu_seconds(child)
            for child in me.children(recursive=True):
                if child.pid not in engine_side:
                    with contextlib.suppress(psutil.Error, FileNotFoundError):
                        peak = max(workers.get(child.pid, (0.0, 0))[1], _peak_mib(child.pid))
                        workers[child.pid] = (_cpu_seconds(child), peak)
            sample["workers_cpu_s"] = sum(cpu for cpu, _ in workers.values())
            sample["workers_peak_mib"] = max((mib for _, mib in workers.values()), default=0)
            # An upper bound of loader and workers together (their peaks may not coincide).
            sample["loader_with_workers_peak_mib"] = sample["loader_peak_mib"] + sum(
                mib for _, mib in workers.values()
            )
            sample["engine_rewrite_cpu_s"] = sum(rewrites.values())
        except (FileNotFoundError, ProcessLookupError, psutil.Error):
            pass  # one of them just ended; the last sample stands
        if time.monotonic() >= next_note:
            print(f"  {time.monotonic() - started:6.0f} s  loader {sample['loader_cpu_s']:.0f} s "
                  f"CPU, workers {sample['workers_cpu_s']:.0f} s, "
                  f"engine {sample['engine_cpu_s']:.0f} s CPU", flush=True)  # fmt: skip
            next_note += 5
        time.sleep(0.5)
    wall = time.monotonic() - started
    out.close()
    summary = json.loads((data_dir / "load.json").read_text())
    if loader.returncode != 0:
        raise SystemExit(f"the load failed ({loader.returncode}): {loader.stderr.read()!r}")
    rows = int(summary["read"])
    return {
        "file": str(file),
        "root": str(root),
        "rows": rows,
        "wall_s": round(wall, 1),
        "rows_per_s": round(rows / wall),
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in sample.items()},
        # Cores kept busy on average by the loader, its workers and the engine together.
        "cores_used": round(
            (sample["loader_cpu_s"] + sample["workers_cpu_s"] + sample["engine_cpu_s"]
             + sample["engine_rewrite_cpu_s"]) / wall,
            2,
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, required=True)
    default_work = Path(tempfile.gettempdir()) / "credit-graph-load-split"
    ap.add_argument("--work", type=Path, default=default_work)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose loader to run")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path, help="write the result as JSON here")
    args = ap.parse_args()
    print(f"loading {args.file} with {args.root} ...", flush=True)
    result = {"label": args.label, **measure(args.file.resolve(), args.work, args.root)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
