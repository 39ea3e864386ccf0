"""Load: concurrent clients mixing checks, batches, searches and paths; and one key's flood.

    python bench/load_mix.py [--entities 10000] [--clients 8] [--seconds 60]
                             [--workers 1,2] [--weights check=70,batch=5,search=15,paths=10]
    python bench/load_mix.py --flood [--flood-seconds 30] [--ordinary-keys 4]
                             [--ordinary-rate 10] [--flood-connections 6]

Both modes run ``credit-graph serve`` as a separate process on a generated province
(generated and loaded once into ``--work``, shared with ``bench/bench_api.py``).

**Mix** (issue 7, reliability item 4): ``--clients`` threads, each with its own agency
key (as separate integrating systems would be) and one keep-alive connection, send
requests back to back for ``--seconds``, choosing each by ``--weights``:
``checkSanctions`` of one code, ``checkSanctionsBatch`` of 100 codes, ``searchSubjects``
by a fragment of a real name or a code prefix, and ``paths`` (``maxHops: 4``) between
two subjects known to be linked within four roles. Per operation: requests, requests/s,
p50/p95/p99 and errors by ``extensions.code`` (HTTP failures as ``HTTP_<status>``,
connection failures as ``TRANSPORT``), which must all be 0. Once per ``--workers`` value.

**Flood** (``--flood``): four ordinary keys each send ``--ordinary-rate`` checks a second
(paced, one connection each) throughout; quiet windows alternate with windows in which
one more key, in a separate process, sends expensive queries back to back from
``--flood-connections`` connections: ``paths`` with ``maxHops: 6, first: 20``,
``neighborhood`` three hops out (2,000 nodes), 1,000-code batches, and ``communities`` /
``riskScores`` for a date that changes on every request (so the analytics cache never
answers). Alternating (``--rounds``) makes a change in what else the machine runs weigh
on both alike; the seconds spent switching are not counted. The ordinary keys' check
p95 quiet vs flooded is the figure, measured on a server with the fair share
(``api/fair_share.py``) off and on. The server keeps its deployed request-rate limits
here (200/s per key per worker); the mix lifts them.

The clients share the 2-core machine with the server, so absolute figures are what one
box does serving and asking at once; the flood's client runs in its own process so its
response parsing does not stall the ordinary clients' threads. Results go to
``bench/results/load-mix-<entities>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_api  # noqa: E402
from bench.bench_api import env_for, prepare  # noqa: E402
from bench.common import machine, pct, say  # noqa: E402

CLI = [sys.executable, "-m", "api.cli"]

CHECK = ("query C($c: String!) { checkSanctions(code: $c) { restricted "
         "measures { measure basisRecordId via } conflicts { personCode } } }")
BATCH = ("query B($codes: [String!]!) { checkSanctionsBatch(codes: $codes) { code restricted "
         "measures { measure basisRecordId } } }")
SEARCH = "query S($t: String!) { searchSubjects(text: $t, first: 20) { code name kind } }"
PATHS = ("query P($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b, maxHops: 4) "
         "{ length nodes { code name } edges { type fromCode toCode since } } }")

# The flood: the most expensive documents the schema lets one request ask for.
DEEP_PATHS = ("query DP($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b, "
              "maxHops: 6, first: 20) { length nodes { code } edges { type } } }")
BIG_HOOD = ("query BH($c: String!) { neighborhood(code: $c, hops: 3, limit: 2000) "
            "{ truncated nodes { code kind } edges { fromCode toCode type } } }")
COMMUNITIES = ("query CO($d: Date!) { communities(asOf: $d, first: 20) "
               "{ rank size members { code } } }")
RISK = "query RS($d: Date!) { riskScores(asOf: $d, first: 100) { code score rank } }"

DEFAULT_WEIGHTS = "check=70,batch=5,search=15,paths=10"
OPERATIONS = ("check", "batch", "search", "paths")


# ---------------------------------------------------------------------------------------
# What the requests ask about, read from the province file


@dataclass
class Workload:
    codes: list[str]
    entities: list[str]
    texts: list[str]
    pairs: list[tuple[str, str]]


def read_workload(src: Path, seed: int, n_pairs: int = 2000) -> Workload:
    """Codes, search texts, and pairs linked within four roles (so ``paths`` finds one)."""
    codes: list[str] = []
    entities: list[str] = []
    names: list[str] = []
    adj: dict[str, list[str]] = defaultdict(list)
    with src.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            kind = row.get("type")
            if kind in ("entity", "person"):
                codes.append(row["code"])
                if kind == "entity":
                    entities.append(row["code"])
                    names.append(row["name"])
            elif kind == "role":
                adj[row["entity"]].append(row["holder"])
                adj[row["holder"]].append(row["entity"])
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    texts: list[str] = []
    for name in rng.sample(names, min(500, len(names))):
        core = name.removesuffix("有限公司").removesuffix("集团")
        start = rng.randrange(max(1, len(core) - 2))
        texts.append(core[start:start + 2] or name[:2])
    texts += [c[:8] for c in rng.sample(entities, min(100, len(entities)))]
    linked = [c for c in entities if adj.get(c)]
    pairs: list[tuple[str, str]] = []
    tries = 0
    while len(pairs) < n_pairs and linked and tries < n_pairs * 20:
        tries += 1
        a = rng.choice(linked)
        here, seen = a, {a}
        for _ in range(rng.randint(2, 4)):
            nxt = [n for n in adj[here] if n not in seen]
            if not nxt:
                break
            here = rng.choice(nxt)
            seen.add(here)
        if here != a:
            pairs.append((a, here))
    return Workload(rng.sample(codes, len(codes)), entities, texts, pairs)


def parse_weights(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in OPERATIONS:
            raise SystemExit(f"--weights: unknown operation {name!r}; use {', '.join(OPERATIONS)}")
        out[name.strip()] = float(value)
    if not any(v > 0 for v in out.values()):
        raise SystemExit("--weights: at least one weight must be positive")
    return out


def request_for(op: str, w: Workload, rng: random.Random) -> dict[str, Any]:
    if op == "check":
        return {"query": CHECK, "variables": {"c": rng.choice(w.codes)}}
    if op == "batch":
        start = rng.randrange(max(1, len(w.codes) - 100))
        return {"query": BATCH, "variables": {"codes": w.codes[start:start + 100]}}
    if op == "search":
        return {"query": SEARCH, "variables": {"t": rng.choice(w.texts)}}
    a, b = rng.choice(w.pairs)
    return {"query": PATHS, "variables": {"a": a, "b": b}}


FLOOD_KINDS = ("deep_paths", "neighborhood_3", "batch_1000", "communities", "risk_scores")


def flood_request(kind: int, w: Workload, rng: random.Random) -> dict[str, Any]:
    if kind == 0:
        a, b = rng.choice(w.pairs)
        return {"query": DEEP_PATHS, "variables": {"a": a, "b": b}}
    if kind == 1:
        return {"query": BIG_HOOD, "variables": {"c": rng.choice(w.entities)}}
    if kind == 2:
        start = rng.randrange(max(1, len(w.codes) - 1000))
        return {"query": BATCH, "variables": {"codes": w.codes[start:start + 1000]}}
    # A different day every time: the analytics cache (per day) never answers.
    day = (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))).isoformat()
    return {"query": COMMUNITIES if kind == 3 else RISK, "variables": {"d": day}}


# ---------------------------------------------------------------------------------------
# Outcomes


def error_codes(r: httpx.Response) -> list[str]:
    """Empty when answered without errors; else one code per error."""
    if r.status_code != 200:
        return [f"HTTP_{r.status_code}"]
    try:
        body = r.json()
    except ValueError:
        return ["NOT_JSON"]
    return [str((e.get("extensions") or {}).get("code", "UNCODED"))
            for e in body.get("errors") or []]


@dataclass
class Tally:
    """Latencies and error codes per operation, filled by several threads."""

    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, seconds: float, codes: list[str]) -> None:
        with self.lock:
            self.lat[op].append(seconds)
            for c in codes:
                self.errors[op][c] += 1

    def count(self) -> tuple[int, int]:
        with self.lock:
            return (sum(len(v) for v in self.lat.values()),
                    sum(sum(c.values()) for c in self.errors.values()))

    def summary(self, elapsed: float) -> dict[str, Any]:
        with self.lock:
            ops = {op: _stats(v, dict(self.errors.get(op, {})), elapsed)
                   for op, v in sorted(self.lat.items())}
            every = [x for v in self.lat.values() for x in v]
            errs: Counter[str] = Counter()
            for c in self.errors.values():
                errs.update(c)
        return {"operations": ops, "total": _stats(every, dict(errs), elapsed)}


def _stats(lat: list[float], errors: dict[str, int], elapsed: float) -> dict[str, Any]:
    if not lat:
        return {"requests": 0, "per_s": 0.0, "errors": errors}
    return {"requests": len(lat), "per_s": round(len(lat) / elapsed, 1),
            "p50_ms": round(pct(lat, 50) * 1e3, 1), "p95_ms": round(pct(lat, 95) * 1e3, 1),
            "p99_ms": round(pct(lat, 99) * 1e3, 1), "max_ms": round(max(lat) * 1e3, 1),
            "errors": errors}


def send(c: httpx.Client, body: dict[str, Any]) -> tuple[float, list[str]]:
    t = time.perf_counter()
    try:
        r = c.post("/graphql", json=body)
        codes = error_codes(r)
    except httpx.HTTPError:
        codes = ["TRANSPORT"]
    return time.perf_counter() - t, codes


class Progress:
    """Prints what has been done every ``every`` seconds until stopped."""

    def __init__(self, label: str, tally: Tally, every: float = 5.0) -> None:
        self.label, self.tally, self.every = label, tally, every
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = 0
        while not self._stop.wait(self.every):
            done, errors = self.tally.count()
            spent = time.monotonic() - self._started
            say(f"{self.label}: {spent:4.0f} s, {done} requests "
                f"({(done - last) / self.every:.0f}/s now), {errors} errors")
            last = done


# ---------------------------------------------------------------------------------------
# The server and the keys


def make_keys(data: Path, names: list[str]) -> dict[str, str]:
    """Agency keys made directly in the store (one engine start, not one per key)."""
    from api.engine import open_store
    from api.keys import create_key
    from api.settings import load_settings

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env_for(data))
    try:
        with open_store(load_settings()) as store:
            stamp = int(time.time())
            return {n: create_key(store, role="agency", name=f"{n}-{stamp}",
                                  unit="finance")[0] for n in names}
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def serving(data: Path, workers: int, port: int, extra_env: dict[str, str]) -> Iterator[str]:
    with bench_api.serving(data, workers, port, extra_env, log_prefix="load-mix-serve") as url:
        yield url


def client(url: str, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "load test"}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


# ---------------------------------------------------------------------------------------
# Mix


def warm(url: str, key: str, w: Workload) -> None:
    """Each document once, so parse caches and the engine's plans are warm."""
    rng = random.Random(0)  # noqa: S311
    with client(url, key) as c:
        for op in OPERATIONS:
            for _ in range(3):
                send(c, request_for(op, w, rng))


def run_mix(url: str, keys: list[str], w: Workload, weights: dict[str, float],
            seconds: float, seed: int, label: str) -> dict[str, Any]:
    tally = Tally()
    ops = list(weights)
    wts = [weights[o] for o in ops]
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        rng = random.Random(seed * 1000 + i)  # noqa: S311
        with client(url, keys[i]) as c:
            while time.monotonic() < stop:
                op = rng.choices(ops, wts)[0]
                spent, codes = send(c, request_for(op, w, rng))
                tally.add(op, spent, codes)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(keys))]
    with Progress(label, tally):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return tally.summary(time.monotonic() - started)


# ---------------------------------------------------------------------------------------
# Flood


class Phase:
    """Which window the ordinary checks are in: ``quiet``, ``flood`` or ``between``
    (switching; not counted). A sample counts for a window only if it started and ended
    in it."""

    def __init__(self) -> None:
        self.name = "between"
        self.serial = 0

    def set(self, name: str) -> None:
        self.name, self.serial = name, self.serial + 1


def ordinary_checks(url: str, keys: list[str], w: Workload, rate: float, seed: int,
                    phase: Phase, tallies: dict[str, Tally], done: threading.Event) -> None:
    """Each key sends ``rate`` checks a second on its own connection, paced (a late
    answer delays the next request, never adds a burst), until ``done``."""
    gap = 1.0 / rate

    def loop(i: int) -> None:
        rng = random.Random(seed * 7919 + i)  # noqa: S311
        nxt = time.monotonic() + rng.random() * gap
        with client(url, keys[i]) as c:
            while not done.is_set():
                now = time.monotonic()
                if nxt > now:
                    time.sleep(nxt - now)
                nxt = max(nxt + gap, time.monotonic())
                name, serial = phase.name, phase.serial
                spent, codes = send(c, request_for("check", w, rng))
                if name in tallies and phase.serial == serial:
                    tallies[name].add("check", spent, codes)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    done.wait()
    for t in threads:
        t.join()


def flood_main(url: str, key: str, w: Workload, kinds_asked: list[int], connections: int,
               go: Any, stop: Any, busy: Any, out: Any) -> None:
    """The flooding key, in its own process: back to back from several connections
    while ``go`` is set; ``busy`` counts its requests in flight."""
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    lock = threading.Lock()
    def loop(i: int) -> None:
        rng = random.Random(i)  # noqa: S311
        n = i
        with client(url, key) as c:
            while not stop.is_set():
                if not go.wait(0.1):
                    continue
                with busy.get_lock():
                    busy.value += 1
                try:
                    kind = kinds_asked[n % len(kinds_asked)]
                    _, codes = send(c, flood_request(kind, w, rng))
                finally:
                    with busy.get_lock():
                        busy.value -= 1
                with lock:
                    outcomes.update(codes or ["ok"])
                    kinds[FLOOD_KINDS[kind]] += 1
                n += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({"outcomes": dict(outcomes), "sent": dict(kinds)})


def run_flood(url: str, keys: dict[str, str], w: Workload, args: argparse.Namespace,
              label: str) -> dict[str, Any]:
    """Quiet and flooded windows alternate (``--rounds`` of each), so a change in what
    else the machine runs weighs on both alike; switching time is not counted."""
    ordinary = [keys[f"ordinary{i}"] for i in range(args.ordinary_keys)]
    ctx = mp.get_context("spawn")
    go, stop, busy, queue = ctx.Event(), ctx.Event(), ctx.Value("i", 0), ctx.Queue()
    kinds = [FLOOD_KINDS.index(k.strip()) for k in args.flood_kinds.split(",") if k.strip()]
    proc = ctx.Process(target=flood_main, args=(url, keys["flooder"], w, kinds,
                                                 args.flood_connections, go, stop, busy, queue))
    proc.start()
    phase = Phase()
    tallies = {"quiet": Tally(), "flood": Tally()}
    done = threading.Event()
    checker = threading.Thread(target=ordinary_checks, args=(
        url, ordinary, w, args.ordinary_rate, args.seed, phase, tallies, done))
    checker.start()
    window = args.flood_seconds / args.rounds
    spent = {"quiet": 0.0, "flood": 0.0}
    try:
        time.sleep(3)  # warm-up, not counted
        for r in range(args.rounds):
            go.clear()
            deadline = time.monotonic() + 120
            while busy.value > 0 and time.monotonic() < deadline:
                time.sleep(0.05)  # the flood's last requests finish before quiet starts
            time.sleep(0.5)
            for name in ("quiet", "flood"):
                if name == "flood":
                    phase.set("between")
                    go.set()
                    time.sleep(2.0)  # the flood ramps up
                phase.set(name)
                started = time.monotonic()
                time.sleep(window)
                phase.set("between")
                spent[name] += time.monotonic() - started
                q = tallies[name].summary(max(spent[name], 1e-9))["total"]
                say(f"{label} round {r + 1}/{args.rounds} {name}: {q.get('requests')} checks "
                    f"so far, p95 {q.get('p95_ms')} ms, errors {sum(q['errors'].values())}")
    finally:
        go.clear()
        stop.set()
        done.set()
        checker.join()
        flood = queue.get(timeout=180)
        proc.join(timeout=60)
    quiet = tallies["quiet"].summary(spent["quiet"])["total"]
    flooded = tallies["flood"].summary(spent["flood"])["total"]
    ratio = flooded["p95_ms"] / quiet["p95_ms"] if quiet.get("p95_ms") else None
    flood["per_s"] = round(sum(flood["sent"].values()) / max(spent["flood"], 1e-9), 1)
    return {"quiet": quiet, "flooded": flooded,
            "p95_ratio": round(ratio, 2) if ratio else None, "flood": flood}


# ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "credit-graph-loadmix")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS)
    ap.add_argument("--port", type=int, default=8741)
    ap.add_argument("--flood", action="store_true", help="run the flood experiment instead")
    ap.add_argument("--flood-seconds", type=float, default=30.0,
                    help="flood: seconds of quiet and as many of flood, per server")
    ap.add_argument("--rounds", type=int, default=3,
                    help="flood: quiet and flood windows alternate this many times")
    ap.add_argument("--ordinary-keys", type=int, default=4)
    ap.add_argument("--ordinary-rate", type=float, default=10.0, help="checks/s per key")
    ap.add_argument("--flood-connections", type=int, default=6)
    ap.add_argument("--flood-kinds", default=",".join(FLOOD_KINDS),
                    help="flood: which expensive queries, comma-separated")
    ap.add_argument("--fair-share", default="off,on",
                    help="flood: run with the fair share off, on, or both (off,on)")
    ap.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting for the server, e.g. CREDIT_GRAPH_FAIR_SHARE_WAIT_S=1")
    args = ap.parse_args()
    extra = dict(e.split("=", 1) for e in args.server_env)
    weights = parse_weights(args.weights)
    workers = [int(x) for x in args.workers.split(",") if x.strip()]

    src, data = prepare(args.work, args.entities, args.seed)
    say("reading the workload")
    w = read_workload(src, args.seed)
    out = ROOT / "bench" / "results" / f"load-mix-{args.entities}.json"
    result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    result.update({"entities": args.entities, "machine": machine()})

    if not args.flood:
        names = [f"client{i}" for i in range(args.clients)]
        keys = make_keys(data, names)
        runs = []
        for n, wk in enumerate(workers):
            with serving(data, wk, args.port + n, extra) as url:
                warm(url, keys["client0"], w)
                say(f"mix: {wk} worker(s), {args.clients} clients, {args.seconds:g} s")
                s = run_mix(url, [keys[k] for k in names], w, weights, args.seconds,
                            args.seed, f"{wk} worker(s)")
            runs.append({"workers": wk, **s})
        result["mix"] = {"clients": args.clients, "seconds": args.seconds,
                         "weights": weights, "runs": runs}
    else:
        names = [f"ordinary{i}" for i in range(args.ordinary_keys)] + ["flooder"]
        keys = make_keys(data, names)
        runs = []
        port = args.port + 10
        for wk in workers:
            for mode in [m.strip() for m in args.fair_share.split(",") if m.strip()]:
                # The service's own request-rate limits, as deployed (the mix lifts them).
                env = {"CREDIT_GRAPH_FAIR_SHARE": "true" if mode == "on" else "false",
                       "CREDIT_GRAPH_RATE_LIMIT_PER_S": "200",
                       "CREDIT_GRAPH_RATE_LIMIT_BURST": "400"} | extra
                with serving(data, wk, port, env) as url:
                    warm(url, keys["ordinary0"], w)
                    say(f"flood: {wk} worker(s), fair share {mode}")
                    r = run_flood(url, keys, w, args, f"{wk}w fair share {mode}")
                port += 1
                runs.append({"workers": wk, "fair_share": mode, **r})
                say(f"p95 quiet {r['quiet'].get('p95_ms')} ms, flooded "
                    f"{r['flooded'].get('p95_ms')} ms, ratio {r['p95_ratio']}")
        result["flood"] = {"seconds_per_phase": args.flood_seconds,
                           "ordinary_keys": args.ordinary_keys,
                           "ordinary_rate_per_key": args.ordinary_rate,
                           "flood_connections": args.flood_connections, "runs": runs}
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
