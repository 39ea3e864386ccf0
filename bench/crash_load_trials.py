"""Reliability suite, crash during load: SIGKILL the embedded engine at random points of a
load, restart it, load again, and compare with a clean load node for node.

    python bench/crash_load_trials.py [--trials 20] [--entities 500] [--seed 11]

One progress line per trial on stderr; the figures go to ``bench/results/crash-load.json``
(per trial: kill point in rows, the loader's exit code and message, time to restart,
time of the reload, equal to the clean load or not) for ``docs/reliability.md``. The
trial itself is ``tests/crash_trials.py``, the code the CI test runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, say  # noqa: E402
from graph.embedded import DEFAULT_APPENDFSYNC  # noqa: E402
from tests.crash_trials import clean_load, run_load_trial  # noqa: E402

RESULT = ROOT / "bench" / "results" / "crash-load.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--entities", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="crash-load-") as tmp:
        work = Path(tmp)
        path = work / "province.jsonl"
        subprocess.run(
            [sys.executable, "-m", "api.cli", "generate", "--entities", str(args.entities),
             "--seed", str(args.seed), "--out", str(path)],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        clean = clean_load(path, work)
        say(f"clean load: {clean.loaded} rows, {len(clean.nodes)} nodes, "
            f"{len(clean.edges)} relationships, {clean.seconds:.2f}s")
        trials: list[dict[str, Any]] = []
        failures = 0
        for i in range(args.trials):
            t = run_load_trial(i, path, clean, work, seed=args.seed)
            problems = t.problems(clean)
            failures += bool(problems)
            row = {**t.as_dict(), "problems": problems}
            trials.append(row)
            say(
                f"trial {i + 1:>2}/{args.trials} engine of {t.engine_owner:<5} "
                f"killed at {t.rows_kept:>5}/{clean.rows} rows"
                f"{' (after the load)' if t.killed_after_load_finished else ''}; "
                f"loader exit {t.loader_exit} in {t.loader_exit_after_kill_s:.2f}s; "
                f"restart {t.restart_s:.2f}s; reload {t.reload_s:.2f}s; "
                f"equal to clean: {'yes' if t.equal_to_clean else 'NO'}"
                f"{'; ' + '; '.join(problems) if problems else ''}"
            )

    cut = [t for t in trials if t["loader_exit"] not in (0, None)]
    result = {
        "what": "SIGKILL of the embedded engine at random points of `credit-graph load`, "
                "restart from the append-only file, the same load again, compared with "
                "a clean load node for node and relationship for relationship",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "settings": {"appendonly": "yes", "appendfsync": DEFAULT_APPENDFSYNC, "save": ""},
        "province": {"entities": args.entities, "seed": args.seed, "rows": clean.rows,
                     "nodes": len(clean.nodes), "relationships": len(clean.edges),
                     "clean_load_s": round(clean.seconds, 3)},
        "summary": {
            "trials": len(trials),
            "equal_to_clean": sum(t["equal_to_clean"] for t in trials),
            "failed_trials": failures,
            "loads_cut_short": len(cut),
            "loads_finished_anyway": sum(t["loader_exit"] == 0 for t in trials),
            "loader_hung": sum(t["loader_exit"] is None for t in trials),
            "acknowledged_rows_lost": sum(
                max(0, (t["acknowledged_rows"] or 0) - t["rows_kept"]) for t in trials
            ),
            "rows_kept_beyond_acknowledged": sum(
                max(0, t["rows_kept"] - (t["acknowledged_rows"] or 0)) for t in cut
            ),
            "duplicated_nodes_or_edges": sum(t["extra_nodes"] + t["extra_edges"] for t in trials),
            "missing_nodes_or_edges": sum(
                t["missing_nodes"] + t["missing_edges"] for t in trials
            ),
            "loader_exit_after_kill_s_median": round(
                statistics.median(t["loader_exit_after_kill_s"] for t in cut), 3
            ) if cut else None,
            "restart_s_median": round(statistics.median(t["restart_s"] for t in trials), 3),
            "restart_s_max": max(t["restart_s"] for t in trials),
            "reload_s_median": round(statistics.median(t["reload_s"] for t in trials), 3),
        },
        "trials": trials,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    say(f"{len(trials) - failures}/{len(trials)} trials good; written to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
