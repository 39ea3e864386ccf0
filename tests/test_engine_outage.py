"""The engine gone while the service runs (issue 7, reliability item 2).

`credit-graph serve` runs in its own process on a temporary data directory with the demo
data. The engine is killed with SIGKILL. Callers must get ``ENGINE_UNAVAILABLE`` (HTTP
200, never a 500 or a hang), ``/healthz`` must say so, and the service must start the
engine again by itself and answer the same check as before, without being restarted.

The restart is fast (tens of milliseconds on the demo data), so to see the outage
deterministically the test holds the engine's start lock (``engine/engine.lock``, the
``flock`` every start takes) while it kills the engine: the service cannot start a new
engine until the test lets go, and the outage lasts as long as the test needs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.embedded import EmbeddedEngine
from tests.live_server import (
    CLI,
    engine_pid,
    running_service,
    serve_env,
    start_lock_held,
)

# Demo scenario 1: a legal representative when the company was black-listed.
PERSON = "320602196805120358"
CHECK = (
    'query($c: String!) { checkSanctions(code: $c, asOf: "2026-11-21") '
    "{ restricted measures { measure basisRecordId } } }"
)
HANG_GUARD_S = 15.0  # a request that takes this long counts as a hang


def dead(pid: int) -> bool:
    """Gone or a zombie its parent (the service) has not reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "zombie" in status or "\tX (dead)" in status


def assert_engine_stopped_with_service(data_dir: Path) -> None:
    """The engine the service started (or restarted) is gone once the service has
    stopped; its shutdown may still be finishing when ``serve`` itself has exited, so
    this waits for it a while rather than look once."""
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        last = engine_pid(data_dir)
        if last is None or dead(last):
            return
        assert time.monotonic() < deadline, f"engine {last} still running after serve stopped"
        time.sleep(0.1)


def ask(url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": CHECK, "variables": {"c": PERSON}},
        headers={"Authorization": f"Bearer {key}", "X-Purpose": "engine outage test"},
        timeout=HANG_GUARD_S,
    )


def answer(url: str, key: str) -> dict[str, Any]:
    r = ask(url, key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    out: dict[str, Any] = body["data"]["checkSanctions"]
    return out


def wait_until_healthy(
    url: str, within: float = 90.0, restarts: int | None = None
) -> dict[str, Any]:
    """Wait (no timing assertion, a generous deadline) for /healthz 200 with the outage
    recorded; ``restarts``, when given, is the count the record must reach."""
    deadline = time.monotonic() + within
    while True:
        r = httpx.get(f"{url}/healthz", timeout=HANG_GUARD_S)
        body: dict[str, Any] = r.json()
        if (
            r.status_code == 200
            and "downSince" not in body
            and (restarts is None or body["restarts"] >= restarts)
        ):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"the service did not recover: {r.text}")
        time.sleep(0.1)


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=HANG_GUARD_S).text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    ]
    return sum(values)


def assert_outage_answers(url: str, key: str, n: int) -> None:
    """Every request during the outage: HTTP 200, one ENGINE_UNAVAILABLE error, no data."""
    for _ in range(n):
        r = ask(url, key)
        assert r.status_code == 200, r.text
        errors = r.json().get("errors")
        assert errors, r.text
        assert {e["extensions"]["code"] for e in errors} == {"ENGINE_UNAVAILABLE"}, r.text
        assert (r.json().get("data") or {}).get("checkSanctions") is None


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    yield d
    subprocess.run([*CLI, "engine", "stop"], env=serve_env(d), capture_output=True, timeout=120)


def test_killed_engine_is_restarted_and_the_check_answers_again(data_dir: Path) -> None:
    with running_service(data_dir, "--demo") as url:
        key = (data_dir / "demo-operator.key").read_text().strip()
        before = answer(url, key)
        assert before["restricted"] is True
        health = httpx.get(f"{url}/healthz", timeout=HANG_GUARD_S).json()
        assert health["recovery"] == "restart"
        assert health["restarts"] == 0 and health["lastOutage"] is None
        pid = engine_pid(data_dir)
        assert pid is not None

        with start_lock_held(data_dir):
            os.kill(pid, signal.SIGKILL)
            while not dead(pid):
                time.sleep(0.01)
            assert_outage_answers(url, key, 5)
            down = httpx.get(f"{url}/healthz", timeout=HANG_GUARD_S)
            assert down.status_code == 503, down.text
            assert down.json()["status"] == "unavailable"

        health = wait_until_healthy(url)
        new_pid = engine_pid(data_dir)
        assert new_pid is not None and new_pid != pid and not dead(new_pid)
        assert answer(url, key) == before, "the restarted engine lost data"
        assert health["restarts"] == 1
        outage = health["lastOutage"]
        assert outage["restarted"] is True and outage["enginePid"] == new_pid
        assert outage["seconds"] > 0 and outage["downAt"] < outage["upAt"]
        assert metric(url, "credit_graph_engine_restarts_total") == 1
        assert metric(url, "credit_graph_engine_up") == 1

        # Unhindered, the restart needs no help either.
        os.kill(new_pid, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while engine_pid(data_dir) in (new_pid, None) or not answer_ok(url, key, before):
            assert time.monotonic() < deadline, "the engine was not restarted"
            time.sleep(0.1)
        assert wait_until_healthy(url, restarts=2)["restarts"] == 2
    # serve stopped the engine it had restarted.
    assert_engine_stopped_with_service(data_dir)


def answer_ok(url: str, key: str, expected: dict[str, Any]) -> bool:
    """The check answers as expected, or (during the outage) ENGINE_UNAVAILABLE; else fail."""
    r = ask(url, key)
    assert r.status_code == 200, r.text
    body = r.json()
    if "errors" in body:
        assert {e["extensions"]["code"] for e in body["errors"]} == {"ENGINE_UNAVAILABLE"}, body
        return False
    return bool(body["data"]["checkSanctions"] == expected)


@pytest.mark.skipif(
    not os.environ.get("CREDIT_GRAPH_RELIABILITY"),
    reason="make reliability only: under CI load one of two workers sometimes never sees "
    "the outage and the restart is not attributed (docs/reliability.md, known issue)",
)
def test_two_workers_restart_the_engine_once(data_dir: Path) -> None:
    with running_service(data_dir, "--demo", "--workers", "2") as url:
        key = (data_dir / "demo-operator.key").read_text().strip()
        before = answer(url, key)
        pid = engine_pid(data_dir)
        assert pid is not None
        with start_lock_held(data_dir):
            os.kill(pid, signal.SIGKILL)
            while not dead(pid):
                time.sleep(0.01)
            # New connections each time, so both workers answer some of them.
            assert_outage_answers(url, key, 8)
            assert httpx.get(f"{url}/healthz", timeout=HANG_GUARD_S).status_code == 503
        wait_until_healthy(url, restarts=1)
        for _ in range(8):
            assert answer(url, key) == before
        new_pid = engine_pid(data_dir)
        assert new_pid is not None and new_pid != pid
        # Both workers saw the outage; the lock let exactly one of them start the engine.
        for _ in range(4):
            health = wait_until_healthy(url)
            assert health["restarts"] == 1 and health["lastOutage"]["enginePid"] == new_pid
        assert metric(url, "credit_graph_engine_restarts_total") == 1
    assert_engine_stopped_with_service(data_dir)


def test_an_external_engine_is_reported_not_restarted(tmp_path: Path) -> None:
    """Given by URL, the engine is someone else's: the service waits for it to come back."""
    engine = EmbeddedEngine(tmp_path / "external")
    sock = engine.ensure_running()
    try:
        with running_service(
            tmp_path / "data", "--demo", CREDIT_GRAPH_FALKORDB_URL=f"unix://{sock}"
        ) as url:
            key = (tmp_path / "data" / "demo-operator.key").read_text().strip()
            before = answer(url, key)
            pid = engine.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            while engine.is_alive():
                time.sleep(0.01)
            assert_outage_answers(url, key, 3)
            down = httpx.get(f"{url}/healthz", timeout=HANG_GUARD_S)
            assert down.status_code == 503 and down.json()["recovery"] == "report"
            time.sleep(1.5)  # several probe periods: nobody starts it
            assert not engine.is_alive()

            engine.ensure_running()  # its operator brings it back
            health = wait_until_healthy(url)
            assert answer(url, key) == before
            assert health["restarts"] == 0
            assert health["lastOutage"] is not None and health["lastOutage"]["restarted"] is False
    finally:
        engine.stop(force=True)


def test_a_worker_that_notices_late_counts_the_same_outage(data_dir: Path) -> None:
    """Two workers' watches, one dead engine: one outage and one restart in /healthz.

    The worker that did not start the new engine may notice the death only after the
    other one has already started the next engine and recorded its pid (a large graph
    takes minutes to load, and it is not answering meanwhile). It used to take that new
    pid for the one that died, and record a second outage, "not restarted". Real
    schedulers make that order rare, so the late worker's two steps are called here in
    that order rather than waited for.
    """
    from api.engine_watch import EngineWatch
    from graph.embedded_store import EmbeddedFalkorStore

    first, late = EmbeddedFalkorStore(data_dir), EmbeddedFalkorStore(data_dir)
    starter = EngineWatch(first, interval_s=0.05)
    bystander = EngineWatch(late, interval_s=3600)
    try:
        bystander._recovered()  # its probe saw the engine answer: this is the pid it knows
        old = engine_pid(data_dir)
        assert old is not None
        starter.start()
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + HANG_GUARD_S
        while starter.status()["outages"] < 1:
            assert time.monotonic() < deadline, starter.status()
            time.sleep(0.05)
        new = engine_pid(data_dir)
        assert new is not None and new != old
        bystander._went_down("the embedded engine does not answer")  # noticed late
        bystander._recovered()
        for watch in (starter, bystander):
            status = watch.status()
            assert (status["outages"], status["restarts"]) == (1, 1), status
            assert status["lastOutage"]["enginePid"] == new and status["lastOutage"]["restarted"]
    finally:
        starter.stop()
        late.close()
        first.close()
