"""The engine killed while the service answers a steady trickle of checks.

    .venv/bin/python bench/engine_outage.py [--kills 10] [--workers 1] [--clients 2]
        [--period-ms 20] [--load FILE] [--out bench/results/engine-outage.json]

Runs ``credit-graph serve --demo`` in its own process on a temporary data directory
(``--load FILE`` loads a JSONL file too, for a larger append-only file to replay), keeps
``--clients`` threads each sending the same ``checkSanctions`` every ``--period-ms`` and
SIGKILLs the embedded engine ``--kills`` times, a few seconds apart. For each kill it
records, from the moment of the kill:

``first_unavailable_s``
    until the first answer with ``ENGINE_UNAVAILABLE`` (null when the restart was quicker
    than the trickle and no request met the outage);
``correct_again_s``
    until the first request sent after the kill that got the right answer;
``watch_outage_s``
    the outage as the service recorded it (``/healthz`` ``lastOutage.seconds``: from the
    first failure it noticed to the first probe the new engine answered);
``unavailable`` / ``other_errors``
    answers with ``ENGINE_UNAVAILABLE``, and anything else that was not the right answer
    (another code, HTTP status other than 200, a client timeout): must be 0.

The timings include the watch's probe period (0.5 s), so they show what a caller sees.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "api.cli"]
DEMO = ROOT / "loaders" / "data" / "demo.jsonl"
PERSON = "320602196805120358"  # demo scenario 1
CHECK = (
    'query($c: String!) { checkSanctions(code: $c, asOf: "2026-11-21") '
    "{ restricted measures { measure basisRecordId } } }"
)
CLIENT_TIMEOUT_S = 15.0  # an answer slower than this counts as a hang (an other error)


@dataclass
class Sample:
    sent: float
    done: float
    outcome: str  # "ok", "unavailable" or "other: ..."


@dataclass
class Trickle:
    url: str
    key: str
    expected: dict[str, Any]
    period_s: float
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "X-Purpose": "bench: engine outage"}
        body = {"query": CHECK, "variables": {"c": PERSON}}
        with httpx.Client(timeout=CLIENT_TIMEOUT_S, headers=headers) as client:
            while not self.stop.is_set():
                sent = time.monotonic()
                outcome = self._outcome(client, body)
                with self.lock:
                    self.samples.append(Sample(sent, time.monotonic(), outcome))
                self.stop.wait(self.period_s)

    def _outcome(self, client: httpx.Client, body: dict[str, Any]) -> str:
        try:
            r = client.post(f"{self.url}/graphql", json=body)
        except httpx.HTTPError as e:
            return f"other: {type(e).__name__}"
        if r.status_code != 200:
            return f"other: HTTP {r.status_code}"
        data = r.json()
        if data.get("errors"):
            codes = {e.get("extensions", {}).get("code") for e in data["errors"]}
            return "unavailable" if codes == {"ENGINE_UNAVAILABLE"} else f"other: {codes}"
        if data["data"]["checkSanctions"] != self.expected:
            return "other: wrong answer"
        return "ok"

    def since(self, t: float) -> list[Sample]:
        with self.lock:
            return [s for s in self.samples if s.done >= t]


def engine_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / "engine" / "engine.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def wait_healthy(url: str, restarts: int, within: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/healthz", timeout=CLIENT_TIMEOUT_S)
            body: dict[str, Any] = r.json()
            if r.status_code == 200 and "downSince" not in body and body["restarts"] >= restarts:
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"the service did not recover within {within:g} s")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--period-ms", type=float, default=20.0)
    ap.add_argument("--gap-s", type=float, default=2.0, help="quiet time between kills")
    ap.add_argument("--load", type=Path, help="a JSONL file loaded before serving")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "engine-outage.json")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cg-outage-") as tmp:
        data_dir = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
        env |= {"CREDIT_GRAPH_DATA_DIR": str(data_dir), "CREDIT_GRAPH_POLICY": "nantong"}
        if args.load is not None:
            # serve --demo loads the demo only into an empty graph; the check needs it.
            print(f"loading the demo data and {args.load} ...", file=sys.stderr)
            for path, provider in ((DEMO, "demo"), (args.load, "bench")):
                subprocess.run(
                    [*CLI, "load", str(path), "--provider", provider],
                    env=env, check=True, capture_output=True,
                )  # fmt: skip
        from tests.live_server import free_port

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "serve.log").open("w")
        serve = subprocess.Popen(
            [*CLI, "serve", "--demo", "--port", str(port), "--workers", str(args.workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        trickles: list[Trickle] = []
        threads: list[threading.Thread] = []
        trials: list[dict[str, Any]] = []
        try:
            wait_healthy(url, 0)
            key = (data_dir / "demo-operator.key").read_text().strip()
            r = httpx.post(
                f"{url}/graphql",
                json={"query": CHECK, "variables": {"c": PERSON}},
                headers={"Authorization": f"Bearer {key}", "X-Purpose": "bench"},
                timeout=CLIENT_TIMEOUT_S,
            )
            expected = r.json()["data"]["checkSanctions"]
            for _ in range(args.clients):
                t = Trickle(url, key, expected, args.period_ms / 1000)
                trickles.append(t)
                threads.append(threading.Thread(target=t.run, daemon=True))
            for th in threads:
                th.start()
            time.sleep(args.gap_s)
            for n in range(1, args.kills + 1):
                pid = engine_pid(data_dir)
                assert pid is not None
                killed = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                health = wait_healthy(url, n)
                # Let the trickle show a correct answer after the kill, then a quiet gap.
                deadline = time.monotonic() + 60
                while True:
                    after = [s for t in trickles for s in t.since(killed)]
                    if any(s.outcome == "ok" and s.sent > killed for s in after):
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit("no correct answer after the restart")
                    time.sleep(0.05)
                time.sleep(args.gap_s)
                window = [s for t in trickles for s in t.since(killed)]
                unavailable = [s for s in window if s.outcome == "unavailable"]
                correct = [s for s in window if s.outcome == "ok" and s.sent > killed]
                others = [s.outcome for s in window if s.outcome.startswith("other")]
                trial = {
                    "kill": n,
                    "old_pid": pid,
                    "new_pid": engine_pid(data_dir),
                    "first_unavailable_s": (
                        round(min(s.done for s in unavailable) - killed, 4) if unavailable else None
                    ),
                    "correct_again_s": round(min(s.done for s in correct) - killed, 4),
                    "watch_outage_s": health["lastOutage"]["seconds"],
                    "unavailable": len(unavailable),
                    "other_errors": len(others),
                    "other_error_kinds": sorted(set(others)),
                }
                trials.append(trial)
                print(json.dumps(trial), file=sys.stderr)
        finally:
            for t in trickles:
                t.stop.set()
            for th in threads:
                th.join(timeout=CLIENT_TIMEOUT_S + 5)
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                serve.kill()
            log.close()
            subprocess.run([*CLI, "engine", "stop"], env=env, capture_output=True, timeout=120)

    first = [t["first_unavailable_s"] for t in trials if t["first_unavailable_s"] is not None]
    again = [t["correct_again_s"] for t in trials]
    watch = [t["watch_outage_s"] for t in trials]
    requests = sum(len(t.samples) for t in trickles)
    result = {
        "what": "SIGKILL of the embedded engine under a steady trickle of checks",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "kills": args.kills,
            "workers": args.workers,
            "clients": args.clients,
            "period_ms": args.period_ms,
            "data": f"demo (1180 rows) + {args.load}" if args.load else "demo (1180 rows)",
            "probe_interval_s": 0.5,
        },
        "requests": requests,
        "summary": {
            "kills_with_unavailable_seen": len(first),
            "first_unavailable_s_p50": pct(first, 50),
            "first_unavailable_s_max": max(first) if first else None,
            "correct_again_s_p50": pct(again, 50),
            "correct_again_s_max": max(again) if again else None,
            "watch_outage_s_p50": pct(watch, 50),
            "watch_outage_s_max": max(watch) if watch else None,
            "unavailable_answers": sum(t["unavailable"] for t in trials),
            "other_errors": sum(t["other_errors"] for t in trials),
        },
        "trials": trials,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
