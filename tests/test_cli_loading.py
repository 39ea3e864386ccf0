"""The loading commands as an operator runs them: generate, load, providers report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore

CLI = [sys.executable, "-m", "api.cli"]


def test_generate_load_and_report(engine: EmbeddedEngine, tmp_path: Path) -> None:
    graph = f"t_cli_{uuid.uuid4().hex[:8]}"
    run = _runner(engine, graph)

    data = tmp_path / "province.jsonl"
    gen = run("generate", "--entities", "300", "--seed", "3", "--out", str(data))
    assert gen.returncode == 0, gen.stderr
    stats = json.loads(gen.stdout)
    lines = sum(1 for _ in data.open("rb"))
    assert stats["entities"] == 300 and stats["rows"] == lines

    loaded = run("load", str(data), "--provider", "gen-bureau", "--channel", "sftp")
    assert loaded.returncode == 0, loaded.stderr
    summary = json.loads(loaded.stdout)
    assert summary["read"] == lines and summary["loaded"] == lines and summary["rejected"] == 0
    again = json.loads(run("load", str(data), "--provider", "gen-bureau").stdout)
    assert again["loaded"] == 0 and again["unchanged"] == lines

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "person", "code": "123", "name": "x"}\n', "utf-8")
    rejected = run("load", str(bad), "--provider", "gen-bureau")
    assert rejected.returncode == 1
    rejects = Path(json.loads(rejected.stdout)["rejects_files"][0])
    assert "length 3" in json.loads(rejects.read_text("utf-8"))["reason"]

    report = run("providers", "report", "--json")
    assert report.returncode == 0, report.stderr
    [row] = json.loads(report.stdout)
    assert row["provider"] == "gen-bureau" and row["runs"] == 3 and row["rows_rejected"] == 1
    # The synthetic licences and penalties were decided years before this load: all late.
    assert row["late_records"] == row["deadline_records"] > 0
    assert row["light"] == "red" and any("late" in r for r in row["reasons"])
    FalkorStore.from_socket(str(engine.socket_path), graph).drop_all()


def test_load_with_no_engine_says_nothing_was_written_and_what_to_do(tmp_path: Path) -> None:
    """An engine that is down before the first row gives the same advice as one lost
    mid-file: how many rows are safe (none) and that the same load is to be run again."""
    data = tmp_path / "one.jsonl"
    data.write_text(
        '{"type": "entity", "code": "91350100M000100Y43", "name": "福州某某有限公司"}\n', "utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env["CREDIT_GRAPH_FALKORDB_URL"] = f"unix://{tmp_path / 'no-engine.sock'}"
    out = subprocess.run(
        [*CLI, "load", str(data), "--provider", "p"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    message = out.stderr.strip()
    assert "\n" not in message
    assert message.startswith("credit-graph: ENGINE_UNAVAILABLE: ")
    assert f"the load of {data} stopped after 0 rows written" in message
    assert "run the same load again" in message


def _runner(engine: EmbeddedEngine, graph: str):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env |= {
        "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
        "CREDIT_GRAPH_FALKORDB_GRAPH": graph,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)

    return run


CO = "91320500609510924U"


def _penalty_file(path: Path, decided_on: str) -> Path:
    rows = [
        {"type": "entity", "code": CO, "name": "苏州某某有限公司"},
        {"type": "record", "id": "X1", "subject": CO, "category": "negative",
         "kind": "penalty", "severity": "general", "title": "处罚", "decided_on": decided_on},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_a_submission_time_in_the_future_is_refused_before_anything_is_written(
    engine: EmbeddedEngine, tmp_path: Path
) -> None:
    """--submitted-at 2125-01-01 stopped the load with a traceback after it had stored the
    submission with that time, so every later load of the file failed too."""
    graph = f"t_cli_{uuid.uuid4().hex[:8]}"
    run = _runner(engine, graph)
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    data = _penalty_file(tmp_path / "base.jsonl", "2025-03-03")
    try:
        out = run("load", str(data), "--provider", "p1", "--submitted-at", "2125-01-01")
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr and "\n" not in out.stderr.strip()
        assert out.stderr.startswith("credit-graph: INVALID_INPUT: --submitted-at: 2125-01-01")
        assert "future" in out.stderr
        assert store.read("MATCH (n) RETURN count(n) AS n") in ([], [{"n": 0}])
        ok = run("load", str(data), "--provider", "p1", "--submitted-at", "2025-03-05")
        assert ok.returncode == 0, ok.stderr
        [rec] = store.read("MATCH (r:Record) RETURN r.late AS late, r.late_working_days AS days")
        assert rec == {"late": False, "days": 2}
    finally:
        store.drop_all()


@pytest.mark.parametrize("at", ["2025-W10-3", "20250305T1000", "2025-03-05T10"])
def test_a_submission_time_in_another_iso_form_is_refused(
    engine: EmbeddedEngine, tmp_path: Path, at: str
) -> None:
    """Python reads ISO week dates and compact forms as times too: 2025-W10-3 was stored
    as 5 March, a typo of another form another day that lateness counted from."""
    graph = f"t_cli_{uuid.uuid4().hex[:8]}"
    run = _runner(engine, graph)
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    data = _penalty_file(tmp_path / "base.jsonl", "2025-03-03")
    try:
        out = run("load", str(data), "--provider", "p1", "--submitted-at", at)
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip() == (
            f"credit-graph: INVALID_INPUT: --submitted-at: {at!r} is not a time as "
            "YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"
        )
        assert store.read("MATCH (n) RETURN count(n) AS n") in ([], [{"n": 0}])
    finally:
        store.drop_all()


def test_a_submission_time_is_counted_in_china_time(
    engine: EmbeddedEngine, tmp_path: Path
) -> None:
    """The regulations count China's days. 23:30 UTC on 13 October is 07:30 on the 14th in
    Beijing: 8 working days after a penalty of Fri 2025-09-26, late; it counted as the
    13th (7, on time). A time without an offset is Beijing time: 23:30 is still the 13th."""
    graph = f"t_cli_{uuid.uuid4().hex[:8]}"
    run = _runner(engine, graph)
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    data = _penalty_file(tmp_path / "penalty.jsonl", "2025-09-26")
    try:
        for provider, at, late in (
            ("utc", "2025-10-13T23:30:00Z", 1),
            ("naive", "2025-10-13T23:30:00", 0),
        ):
            out = run("load", str(data), "--provider", provider, "--submitted-at", at)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["late_records"] == late, provider
        got = {
            r["uid"]: (r["late"], r["days"])
            for r in store.read(
                "MATCH (r:Record) RETURN r.uid AS uid, r.late AS late, r.late_working_days AS days"
            )
        }
        assert got == {"utc:X1": (True, 8), "naive:X1": (False, 7)}
        [naive] = store.read(
            "MATCH (s:Submission {provider: $p}) RETURN s.submitted_at AS at", {"p": "naive"}
        )
        assert naive["at"] == "2025-10-13T23:30:00+08:00"
    finally:
        store.drop_all()
