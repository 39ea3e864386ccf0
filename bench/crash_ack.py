"""What the engine's persistence settings promise, measured: acknowledged writes survive
a SIGKILL of the engine.

    python bench/crash_ack.py [--trials 30] [--fsync everysec] [--fsync always] [--seed 5]

A client writes numbered nodes (``CREATE (:CrashProbe {n: $n})`` through the project's
``FalkorStore``), one acknowledged write at a time; the engine is killed at a random
moment, started again from its append-only file, and every number the engine
acknowledged is looked for. Only the write in flight at the kill may go either way.
One progress line per trial; the figures go to ``bench/results/crash-ack.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, say  # noqa: E402
from tests.crash_trials import AckTrial, run_ack_trial  # noqa: E402

RESULT = ROOT / "bench" / "results" / "crash-ack.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--fsync", action="append", choices=["always", "everysec", "no"])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    policies: list[str] = args.fsync or ["everysec"]

    by_policy: dict[str, dict[str, object]] = {}
    lost_total = 0
    with tempfile.TemporaryDirectory(prefix="crash-ack-") as tmp:
        for policy in policies:
            trials: list[AckTrial] = []
            for i in range(args.trials):
                t = run_ack_trial(i, Path(tmp) / f"{policy}-{i}", seed=args.seed,
                                  appendfsync=policy)
                trials.append(t)
                say(
                    f"{policy:<8} trial {i + 1:>2}/{args.trials}: killed after "
                    f"{t.kill_after_s:.2f}s, {t.acknowledged} acknowledged, lost {t.lost}, "
                    f"duplicated {t.duplicated}, in-flight kept: "
                    f"{'yes' if t.in_flight_kept else 'no'}, restart {t.restart_s:.2f}s"
                )
            lost = sum(t.lost for t in trials)
            lost_total += lost
            by_policy[policy] = {
                "trials": len(trials),
                "acknowledged_writes": sum(t.acknowledged for t in trials),
                "lost_acknowledged_writes": lost,
                "duplicated": sum(t.duplicated for t in trials),
                "unexpected": sum(t.unexpected for t in trials),
                "in_flight_kept": sum(t.in_flight_kept for t in trials),
                "writes_per_s_median": statistics.median(t.writes_per_s for t in trials),
                "restart_s_median": statistics.median(t.restart_s for t in trials),
                "per_trial": [t.as_dict() for t in trials],
            }

    result = {
        "what": "one acknowledged CREATE at a time through FalkorStore, SIGKILL of the "
                "embedded engine at a random moment, restart from the append-only file",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "settings": {"appendonly": "yes", "save": ""},
        "not_measured": "loss of the machine (power, kernel panic): the page cache "
                        "survives a killed process, so only a real power cut tests that",
        "by_appendfsync": by_policy,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    say(f"lost acknowledged writes: {lost_total}; written to {args.out}")
    return 1 if lost_total else 0


if __name__ == "__main__":
    raise SystemExit(main())
