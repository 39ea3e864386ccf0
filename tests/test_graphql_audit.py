"""Every request made with a key leaves one audit entry; the log is a verifiable chain;
a subject sees who looked it up; a request whose entry cannot be written fails."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.audit import AuditLog
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(701)
REP = person_code(702)
DAY = (china_today() - dt.timedelta(days=10)).isoformat()
CHECK = "query Check($c: String!) { checkSanctions(code: $c) { restricted } }"


@dataclass
class Served:
    url: str
    audit_dir: Path
    agency: Client
    operator: Client
    rep: Client
    public: Client

    def log(self) -> AuditLog:
        return AuditLog(self.audit_dir)


@pytest.fixture
def served(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Served]:
    rows = [
        entity(CO, "南通审计测试有限公司"),
        person(REP, "李四"),
        role(CO, REP, "legal_representative", "2016-01-01"),
        record("A1", CO, DAY, severity="serious", list="black"),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    keys = {
        "agency": make_key(store, "agency", "bid-platform", unit="finance"),
        "operator": make_key(store, "operator", "ops"),
        "rep": make_key(store, "subject", "li-si", subject=REP),
    }
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Served(
            url,
            settings.audit_path,
            Client(url, keys["agency"], purpose="招标资格审查 2026-117"),
            Client(url, keys["operator"], purpose="platform supervision"),
            Client(url, keys["rep"], purpose="who looked me up"),
            Client(url, None, purpose=None),
        )


def test_one_entry_per_request_with_its_content(served: Served) -> None:
    served.agency.data(CHECK, {"c": REP})
    served.public.data(CHECK, {"c": CO})  # public: reads public data only, not audited
    with served.log() as log:
        entries = log.query(first=10)
        assert len(entries) == 1
        e = entries[0]
        assert (e.key_name, e.key_role) == ("bid-platform", "agency")
        assert e.operation == "Check" and e.fields == ["query.checkSanctions"]
        assert e.subjects == [mask_code(REP)]
        assert e.purpose == "招标资格审查 2026-117"
        assert e.client == "127.0.0.1" and e.results == 1 and e.outcome == "ok"
        assert log.verify().ok
    raw = b"".join(p.read_bytes() for p in served.audit_dir.iterdir() if p.is_file())
    assert REP.encode() not in raw


def test_a_check_that_shows_its_path_and_conflicts_audits_the_subjects_they_name(
    served: Served,
) -> None:
    shown = """query Why($c: String!) { checkSanctions(code: $c) {
      measures { via } conflicts { personCode entityCode } } }"""
    answer = served.agency.data(shown, {"c": REP})["checkSanctions"]
    assert [CO] in [m["via"][1:] for m in answer["measures"]]
    assert answer["conflicts"][0]["entityCode"] == CO
    served.agency.data(CHECK, {"c": REP})  # the verdict alone names no one else
    with served.log() as log:
        newest, first = log.query(first=2)
        assert first.operation == "Why" and first.subjects == sorted([mask_code(REP), CO])
        assert newest.operation == "Check" and newest.subjects == [mask_code(REP)]
        # The company can learn who read about it through its representative's check.
        assert [e.operation for e in log.query(subject_code=CO, first=5)] == ["Why"]


def test_refused_requests_are_audited_too(served: Served) -> None:
    no_purpose = Client(served.url, served.agency.key, purpose=None)
    assert no_purpose.error_code(CHECK, {"c": CO}) == "PURPOSE_REQUIRED"
    bad = served.agency.post(CHECK, {"c": CO[:-1] + ("0" if CO[-1] != "0" else "1")})
    assert bad.json()["errors"][0]["extensions"]["code"] == "INVALID_CODE"
    with served.log() as log:
        outcomes = [e.outcome for e in log.query(first=10)]
    assert outcomes == ["error:INVALID_CODE", "refused:PURPOSE_REQUIRED"]


def test_a_subject_sees_who_looked_it_up_and_nothing_else(served: Served) -> None:
    served.agency.data(CHECK, {"c": REP})
    served.agency.data(CHECK, {"c": CO})
    q = "{ auditLog(first: 20) { keyName keyRole purpose subjects outcome } }"
    mine = served.rep.data(q)["auditLog"]
    assert [(e["keyName"], e["purpose"]) for e in mine] == [
        ("bid-platform", "招标资格审查 2026-117")
    ]
    assert served.rep.error_code(
        "query($s: String) { auditLog(subjectCode: $s) { seq } }", {"s": CO}
    ) == "FORBIDDEN"
    assert served.agency.error_code(q) == "FORBIDDEN"
    everything = served.operator.data(q)["auditLog"]
    # Newest first; the operator's own request is written after it is answered.
    assert [(e["keyName"], e["outcome"]) for e in everything] == [
        ("bid-platform", "error:FORBIDDEN"),
        ("li-si", "error:FORBIDDEN"),
        ("li-si", "ok"),
        ("bid-platform", "ok"),
        ("bid-platform", "ok"),
    ]


def test_a_tampered_entry_is_found_by_audit_verify(served: Served) -> None:
    for _ in range(5):
        served.agency.data(CHECK, {"c": CO})
    db = served.audit_dir / "audit.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET purpose = 'nothing to see' WHERE seq = 3")
    env = {**os.environ, "CREDIT_GRAPH_DATA_DIR": str(served.audit_dir.parent)}
    out = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "entry 3" in out.stdout + out.stderr


def test_no_audit_no_answer(
    store: GraphStore, tmp_path: Path, served: Served
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the audit directory should be")
    settings = load_settings(data_dir=tmp_path / "data2", audit_dir=blocker / "audit",
                             policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        r = Client(url, served.agency.key, purpose="x").post(CHECK, {"c": CO})
        body = r.json()
        assert r.status_code == 200
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
        # The public, which is never audited, is still answered.
        assert Client(url).post(CHECK, {"c": CO}).json()["data"]["checkSanctions"]


def test_id_numbers_in_operation_names_are_masked_in_the_audit_log_and_metrics(
    served: Served,
) -> None:
    """The operation name is the caller's free choice, glued to letters and underscores
    (no word boundary); it is stored in the audit log and shown on the public /metrics."""
    keyed = Client(served.url, served.agency.key, purpose=f"loan for {REP}")
    keyed.data(f"query Q{REP} {{ whoami {{ role }} }}")
    served.public.data(f"query check_{REP}_v2 {{ whoami {{ role }} }}")
    shown = mask_code(REP)
    assert shown != REP
    with served.log() as log:
        [e] = log.query(first=10)
        assert e.operation == f"Q{shown}" and e.purpose == f"loan for {shown}"
    raw = b"".join(p.read_bytes() for p in served.audit_dir.iterdir() if p.is_file())
    assert REP.encode() not in raw and REP[:17].encode() not in raw

    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    assert REP[:17] not in metrics
    assert f'operation="Q{shown}"' in metrics
    assert f'operation="check_{shown}_v2"' in metrics
