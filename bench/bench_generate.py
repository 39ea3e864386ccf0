"""Generation benchmark: how fast ``credit-graph generate`` writes a province, in how much memory.

    python bench/bench_generate.py --entities 1000000 [--seed 1] [--out FILE] [--keep]

Runs the generator in this process (as the command does), prints rows, seconds, rows/s
and the peak RSS of the process (``resource.getrusage``), and writes the figures to
``bench/results/generate.json``. The target is 1,000,000 organisations in 180 s or less
on the 2-core reference machine; the peak RSS shows that memory stays bounded (the
generator keeps only compact per-code arrays, never the rows).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loaders.generator import generate  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "generate.json"
TARGET_SECONDS_PER_MILLION = 180.0


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="where to write (default: a temporary file)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()

    out: Path = args.out or Path(tempfile.gettempdir()) / f"generate-{args.entities}.jsonl"
    rss_before = _peak_rss_mib()
    ticks: list[tuple[float, int]] = []
    written = 0
    started = time.perf_counter()

    def progress(n: int) -> None:
        nonlocal written
        written += n
        if not ticks or written - ticks[-1][1] >= 1_000_000:
            ticks.append((time.perf_counter() - started, written))
            print(f"  {written:>12,} rows  {ticks[-1][0]:7.1f} s", flush=True)

    print(f"generating {args.entities:,} entities (seed {args.seed}) to {out} ...", flush=True)
    stats = generate(args.entities, args.seed, out, progress=progress)
    seconds = time.perf_counter() - started
    size = out.stat().st_size
    if not args.keep:
        out.unlink()

    result: dict[str, Any] = {
        "entities": stats.entities,
        "rows": stats.rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(stats.rows / seconds),
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": rss_before,
        "file_mib": round(size / (1024 * 1024), 1),
        "rows_per_entity": round(stats.rows / stats.entities, 3),
        "target_seconds": round(TARGET_SECONDS_PER_MILLION * stats.entities / 1_000_000, 1),
        "stats": dataclasses.asdict(stats),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(f"rows        {result['rows']:,}  ({result['rows_per_entity']} per entity)")
    print(f"seconds     {result['seconds']}  (target {result['target_seconds']})")
    print(f"rows/s      {result['rows_per_second']:,}")
    print(f"peak RSS    {result['peak_rss_mib']} MiB")
    print(f"file        {result['file_mib']} MiB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
