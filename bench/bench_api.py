"""API benchmark: checkSanctions directly, through HTTP, under load, and the 1,000-code batch.

    python bench/bench_api.py --entities 100000 [--seed 7] [--work /tmp/credit-graph-api]

Generates and loads a synthetic province once (reused on the next run), makes an agency
key, then measures in one run, on the same data and the same codes:

1. the check function called directly on the store (no HTTP, no GraphQL): the baseline;
2. the same checks through ``credit-graph serve`` (1 worker) over real HTTP, one client
   with keep-alive (the standard library's ``http.client``, and again with ``httpx``):
   p50/p99, and the GraphQL layer's cost as a ratio to (1);
3. ``serve --workers 2`` with 8 concurrent clients for a fixed time: checks per second;
4. ``checkSanctionsBatch`` with 1,000 codes.

The clients run on the same machine as the server and take CPU from it; the figures are
what one 2-core box does serving and asking at once. Results go to
``bench/results/api-<N>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PeakRss, machine, pct, say  # noqa: E402

CLI = [sys.executable, "-m", "api.cli"]
QUERY = ("query C($c: String!) { checkSanctions(code: $c) { restricted "
         "measures { measure basisRecordId via } conflicts { personCode } } }")
BATCH = ("query B($codes: [String!]!) { checkSanctionsBatch(codes: $codes) { code restricted "
         "measures { measure basisRecordId } } }")


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env.update({"CREDIT_GRAPH_DATA_DIR": str(data), "CREDIT_GRAPH_POLICY": "nantong",
                "CREDIT_GRAPH_RATE_LIMIT_PER_S": "1000000",
                "CREDIT_GRAPH_RATE_LIMIT_BURST": "1000000"})
    return env


def province_file(work: Path, entities: int, seed: int) -> Path:
    """Where a province of this size and seed is kept in ``work`` (reused across runs)."""
    return work / f"province-{entities}-{seed}.jsonl"


def data_dir(work: Path, entities: int, seed: int) -> Path:
    """The service's data directory (engine files, audit log) for that province."""
    return work / f"data-{entities}-{seed}"


def generate_province(work: Path, entities: int, seed: int) -> tuple[Path, float | None]:
    """The province file, generated unless it is there; seconds spent (None: reused)."""
    work.mkdir(parents=True, exist_ok=True)
    src = province_file(work, entities, seed)
    if src.exists():
        return src, None
    say(f"generating {entities:,} entities")
    partial = src.with_name(src.stem + ".partial.jsonl")
    started = time.perf_counter()
    subprocess.run([*CLI, "generate", "--entities", str(entities), "--seed", str(seed),
                    "--out", str(partial)], check=True, stdout=subprocess.DEVNULL,
                   env=env_for(data_dir(work, entities, seed)))
    partial.rename(src)  # a run killed half-way never leaves a file that looks complete
    return src, time.perf_counter() - started


def load_province(src: Path, data: Path, log: Path | None = None) -> tuple[int, float, int]:
    """``credit-graph load`` in its own process: exit code, seconds, the loader's peak RSS
    in bytes (sampled every 50 ms)."""
    started = time.perf_counter()
    out = log.open("w") if log else None
    try:
        proc = subprocess.Popen([*CLI, "load", str(src), "--provider", "bench"],
                                env=env_for(data), stdout=out,
                                stderr=subprocess.STDOUT if out else None)
        peak = PeakRss(proc.pid)
        code = proc.wait()
        rss = peak.stop()
    finally:
        if out:
            out.close()
    return code, time.perf_counter() - started, rss


def prepare(work: Path, entities: int, seed: int) -> tuple[Path, Path]:
    src, _ = generate_province(work, entities, seed)
    data = data_dir(work, entities, seed)
    marker = data / "loaded"
    if not marker.exists():
        say("loading (once; reused by later runs)")
        data.mkdir(parents=True, exist_ok=True)
        load_province(src, data)
        marker.write_text("ok")
    return src, data


def sample_codes(src: Path, n: int, seed: int) -> list[str]:
    """Entities and persons in the proportion the file has them, every kind of answer."""
    codes: list[str] = []
    with src.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("type") in ("entity", "person"):
                codes.append(row["code"])
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    return rng.sample(codes, min(n, len(codes)))


@contextmanager
def serving(data: Path, workers: int, port: int, extra_env: dict[str, str] | None = None,
            log_prefix: str = "serve") -> Iterator[str]:
    with socket.socket() as probe:  # another server on the port would answer /healthz
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is already in use; pick another with --port")
    log = (data / f"{log_prefix}-{workers}.log").open("w")
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env_for(data) | (extra_env or {}), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if (httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                        and proc.poll() is None):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"serve did not come up; see {log.name}")
            time.sleep(0.3)
        time.sleep(1.0 if workers > 1 else 0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def make_key(data: Path) -> str:
    out = subprocess.run([*CLI, "keys", "create", "--role", "agency", "--name",
                          f"bench-{int(time.time() * 1000)}", "--unit", "finance"],
                         env=env_for(data), capture_output=True, text=True, check=True)
    return str(json.loads(out.stdout)["key"])


def direct(data: Path, codes: list[str]) -> list[float]:
    from api.engine import open_store
    from api.settings import load_settings

    os.environ.update(env_for(data))
    with open_store(load_settings()) as store:
        return direct_on(store, codes)


def direct_on(store: Any, codes: list[str], warmup: int = 200) -> list[float]:
    """The check function on the store, no HTTP or GraphQL: seconds per check."""
    from api.checks import check_sanctions
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    policy, catalogue = load_policy("nantong"), load_catalogue()
    times = []
    for code in codes[:warmup]:
        check_sanctions(store, code, policy=policy, catalogue=catalogue)
    for code in codes:
        t = time.perf_counter()
        check_sanctions(store, code, policy=policy, catalogue=catalogue)
        times.append(time.perf_counter() - t)
    return times


def http_sequential(url: str, key: str, codes: list[str]) -> list[float]:
    """One keep-alive connection, one check after another, with the standard library's
    ``http.client``: a lean client, as an integrating system in Java or Go would have,
    so the figure is the service's time plus the wire, not a Python client's overhead
    (``httpx`` adds about 0.5 ms per request on this machine: ``http_sequential_httpx``)."""
    parsed = urlsplit(url)
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "benchmark",
               "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
    times = []

    def ask(code: str) -> bytes:
        conn.request("POST", "/graphql", headers=headers,
                     body=json.dumps({"query": QUERY, "variables": {"c": code}}))
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200 and b'"errors"' not in body, body
        return body

    try:
        for code in codes[:200]:
            ask(code)
        for code in codes:
            t = time.perf_counter()
            ask(code)
            times.append(time.perf_counter() - t)
    finally:
        conn.close()
    return times


def http_sequential_httpx(url: str, key: str, codes: list[str]) -> list[float]:
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "benchmark"}
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for code in codes[:200]:
            c.post("/graphql", json={"query": QUERY, "variables": {"c": code}})
        for code in codes:
            t = time.perf_counter()
            r = c.post("/graphql", json={"query": QUERY, "variables": {"c": code}})
            times.append(time.perf_counter() - t)
            assert r.status_code == 200 and "errors" not in r.json(), r.text
    return times


def closed_loop(urls: list[str], key: str, codes: list[str], clients: int, seconds: float
                ) -> tuple[list[float], int, float]:
    """``clients`` threads, each on one keep-alive connection to ``urls[i % n]``, sending
    the next check as soon as the previous answer arrives: the latencies, the number of
    failed answers and the seconds it ran."""
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "benchmark"}
    stop = time.monotonic() + seconds
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run(i: int) -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=urls[i % len(urls)], headers=headers, timeout=30) as c:
            j = i
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = c.post("/graphql", json={"query": QUERY,
                                             "variables": {"c": codes[j % len(codes)]}})
                mine.append(time.perf_counter() - t)
                if r.status_code != 200 or "errors" in r.json():
                    bad += 1
                j += clients
        with lock:
            lat.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors[0], time.monotonic() - started


def http_concurrent(url: str, key: str, codes: list[str], clients: int, seconds: float
                    ) -> dict[str, Any]:
    lat, errors, elapsed = closed_loop([url], key, codes, clients, seconds)
    return {"checks": len(lat), "seconds": round(elapsed, 1),
            "checks_per_s": round(len(lat) / elapsed, 1), "errors": errors,
            "p50_ms": round(pct(lat, 50) * 1e3, 2), "p99_ms": round(pct(lat, 99) * 1e3, 2)}


def batch(url: str, key: str, codes: list[str], rounds: int = 5) -> list[float]:
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": "benchmark"}
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
        for k in range(rounds):
            chunk = codes[k * 1000:(k + 1) * 1000]
            t = time.perf_counter()
            r = c.post("/graphql", json={"query": BATCH, "variables": {"codes": chunk}})
            times.append(time.perf_counter() - t)
            body = r.json()
            assert body.get("data"), body.get("errors")
            items = body["data"]["checkSanctionsBatch"]
            assert [i["code"] for i in items] == chunk
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "credit-graph-api")
    ap.add_argument("--checks", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--port", type=int, default=8731)
    args = ap.parse_args()

    src, data = prepare(args.work, args.entities, args.seed)
    codes = sample_codes(src, max(args.checks, 5000), args.seed)
    key = make_key(data)
    result: dict[str, Any] = {"entities": args.entities, "machine": machine()}

    with serving(data, 1, args.port) as url:
        say(f"direct: {args.checks} checks on the store, no HTTP")
        d = direct(data, codes[:args.checks])
        say(f"HTTP, 1 worker, 1 client: {args.checks} checks")
        h = http_sequential(url, key, codes[:args.checks])
        say(f"the same with httpx as the client: {args.checks} checks")
        hx = http_sequential_httpx(url, key, codes[:args.checks])
        say("1,000-code batches")
        b = batch(url, key, codes)
    result["direct"] = {"p50_ms": round(pct(d, 50) * 1e3, 3),
                        "p99_ms": round(pct(d, 99) * 1e3, 3)}
    result["http_1_worker"] = {"p50_ms": round(pct(h, 50) * 1e3, 3),
                               "p99_ms": round(pct(h, 99) * 1e3, 3)}
    result["http_1_worker_httpx_client"] = {"p50_ms": round(pct(hx, 50) * 1e3, 3),
                                            "p99_ms": round(pct(hx, 99) * 1e3, 3)}
    result["graphql_overhead_ratio_p50"] = round(pct(h, 50) / pct(d, 50), 2)
    result["batch_1000_s"] = {"median": round(statistics.median(b), 3), "max": round(max(b), 3)}

    with serving(data, 2, args.port + 1) as url:
        say(f"HTTP, 2 workers, 8 clients, {args.seconds:g} s")
        result["http_2_workers_8_clients"] = http_concurrent(url, key, codes, 8, args.seconds)

    out = ROOT / "bench" / "results" / f"api-{args.entities}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
