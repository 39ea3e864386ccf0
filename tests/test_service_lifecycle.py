"""The service as a user runs it: `credit-graph serve` in its own process.

It starts the embedded engine, keeps data across its own restarts, reports a killed
engine on /healthz and gets a working engine back on the next start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import CLI, engine_pid, free_port, serve_env, start_lock_held
from tests.live_server import running_service as shared_running_service

CO = uscc_code(51)
REP = person_code(52)


@contextmanager
def running_service(data_dir: Path, *extra: str) -> Iterator[str]:
    # Ready also when the engine is down: some tests start it that way.
    with shared_running_service(data_dir, *extra, ready=(200, 503), no_traceback=False) as url:
        yield url


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=serve_env(data_dir), capture_output=True, text=True, timeout=120
    )


def restricted(url: str, code: str, key: str) -> bool:
    q = 'query($c: String!) { checkSanctions(code: $c, asOf: "2026-01-15") { restricted } }'
    r = httpx.post(
        f"{url}/graphql",
        json={"query": q, "variables": {"c": code}},
        headers={"Authorization": f"Bearer {key}", "X-Purpose": "lifecycle test"},
        timeout=30,
    )
    return bool(r.json()["data"]["checkSanctions"]["restricted"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    yield d
    cli(d, "engine", "stop")


def test_serve_starts_engine_keeps_data_and_stops_it(data_dir: Path, tmp_path: Path) -> None:
    with running_service(data_dir) as url:
        pid = engine_pid(data_dir)
        assert pid is not None and Path(f"/proc/{pid}").exists()
        assert httpx.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        # A second command reuses the engine `serve` runs.
        rows = [
            entity(CO, "南通宏达建设工程有限公司"),
            person(REP, "周建国"),
            role(CO, REP, "legal_representative", "2016-04-01"),
            record("R1", CO, "2025-06-20", severity="serious"),
        ]
        sub = tmp_path / "sub.jsonl"
        sub.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        loaded = cli(data_dir, "load", str(sub), "--provider", "t")
        assert loaded.returncode == 0, loaded.stderr
        assert engine_pid(data_dir) == pid
        made = cli(data_dir, "keys", "create", "--role", "operator", "--name", "ops")
        assert made.returncode == 0, made.stderr
        key = json.loads(made.stdout)["key"]
        assert "shown once" in made.stderr
        assert restricted(url, REP, key)
    # serve owned the engine: it is gone with the service.
    time.sleep(0.5)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    with running_service(data_dir) as url:
        assert restricted(url, REP, key), "data or keys did not survive a restart"


def test_killed_engine_is_reported_and_back_on_next_start(data_dir: Path) -> None:
    with running_service(data_dir, "--demo") as url:
        pid = engine_pid(data_dir)
        assert pid is not None
        # The service restarts a dead engine by itself (tests/test_engine_outage.py);
        # holding the start lock keeps it dead long enough to be seen as such.
        with start_lock_held(data_dir):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.3)
            r = httpx.get(f"{url}/healthz", timeout=10)
            assert r.status_code == 503 and r.json()["status"] == "unavailable"
    with running_service(data_dir) as url:
        assert httpx.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        assert engine_pid(data_dir) != pid


def test_check_command_prints_the_contract_json(data_dir: Path) -> None:
    with running_service(data_dir, "--demo"):
        pass
    # Demo scenario 1: legal representative when the company's black-listed act happened.
    out = cli(data_dir, "check", "320602196805120358", "--as-of", "2026-11-21")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["restricted"] is True and result["policy"] == "nantong"
    assert {m["measure"] for m in result["measures"]} == {
        "NO_OFFICE",
        "NO_HONOURS",
        "FINANCIAL_RESTRICTION",
    }
    first = result["measures"][0]
    assert set(first) >= {"basisRecordId", "via", "role", "validFrom", "validUntil", "legalBasis"}
    assert [c["entityCode"] for c in result["conflicts"]] == ["91320612MA1X2RFQ1L"]
    only = cli(
        data_dir,
        "check",
        "320602196805120358",
        "--as-of",
        "2026-11-21",
        "--measure",
        "NO_PUBLIC_PROCUREMENT",
    )
    assert json.loads(only.stdout)["restricted"] is False
    bad = cli(data_dir, "check", "not-a-code")
    assert bad.returncode == 2 and "INVALID_CODE" in bad.stderr and "Traceback" not in bad.stderr
    # A person met on the way is masked (the output lands in tickets and logs), unless
    # asked for; the code checked is printed as typed.
    company = cli(data_dir, "check", "91320612MA1X2RFQ1L", "--as-of", "2026-11-21")
    (conflict,) = json.loads(company.stdout)["conflicts"]
    assert conflict["personCode"] == "320***********0358"
    assert "320602196805120358" not in company.stdout
    shown = cli(data_dir, "check", "91320612MA1X2RFQ1L", "--as-of", "2026-11-21",
                "--show-id-numbers")
    assert json.loads(shown.stdout)["conflicts"][0]["personCode"] == "320602196805120358"
    # A day is YYYY-MM-DD: a week date is refused, not read as 2025-12-29.
    week = cli(data_dir, "check", "91320612MA1X2RFQ1L", "--as-of", "2026-W01-1")
    assert week.returncode == 2 and "--as-of" in week.stderr


def test_unreachable_engine_stops_serve_with_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = serve_env(tmp_path / "d") | {"CREDIT_GRAPH_FALKORDB_URL": f"redis://127.0.0.1:{port}"}
    out = subprocess.run(
        [*CLI, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "ENGINE_UNAVAILABLE" in out.stderr and "Traceback" not in out.stderr


def test_bad_setting_stops_startup_with_one_line(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "d") | {"CREDIT_GRAPH_POLICY": "atlantis"}
    out = subprocess.run([*CLI, "check", CO], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "CREDIT_GRAPH_POLICY" in out.stderr


def test_check_with_an_unusable_data_dir_ends_in_one_line(
    tmp_path: Path, engine: EmbeddedEngine
) -> None:
    """A data directory that is a regular file: ``check`` says so in one line, exit 2, as
    every other command does, whether the engine lives there or elsewhere."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")

    def check(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "check", CO], env=serve_env(blocker, **env),
                              capture_output=True, text=True, timeout=120)

    embedded = check()
    assert embedded.returncode == 2, embedded.stderr
    assert embedded.stderr.strip().count("\n") == 0, embedded.stderr
    assert "ENGINE_UNAVAILABLE" in embedded.stderr
    assert f"cannot create {blocker / 'engine'}" in embedded.stderr
    assert embedded.stdout == ""

    graph = f"t_check_cli_{uuid.uuid4().hex[:8]}"
    try:
        external = check(CREDIT_GRAPH_FALKORDB_URL=f"unix://{engine.socket_path}",
                         CREDIT_GRAPH_FALKORDB_GRAPH=graph)
        assert external.returncode == 2, external.stderr
        assert external.stderr.strip().count("\n") == 0, external.stderr
        assert "CONFIG_ERROR" in external.stderr and "CREDIT_GRAPH_DATA_DIR" in external.stderr
        assert str(blocker) in external.stderr and external.stdout == ""
    finally:
        left = FalkorStore.from_socket(str(engine.socket_path), graph)
        left.drop_all()
        left.close()
